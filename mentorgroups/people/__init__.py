"""Home > People: the mentor's groups, a group's members, a learner's profile card; and the
notification bell's list."""

from flask import Blueprint

bp = Blueprint("mentor", __name__)

from mentorgroups.people import routes  # noqa: E402,F401
