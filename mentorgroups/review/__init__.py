"""Reviewing submitted work: the queue of what waits and the review form."""

from flask import Blueprint

bp = Blueprint("review", __name__, url_prefix="/review")

from mentorgroups.review import routes  # noqa: E402,F401
