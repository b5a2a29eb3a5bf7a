"""The learner's screens: my paths, a path's steps, completing and submitting work."""

from flask import Blueprint

bp = Blueprint("learner", __name__)

from mentorgroups.learner import routes  # noqa: E402,F401
