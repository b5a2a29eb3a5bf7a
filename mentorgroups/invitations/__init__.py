"""Opening and accepting an invitation link."""

from flask import Blueprint

bp = Blueprint("invitations", __name__, url_prefix="/invitations")

from mentorgroups.invitations import routes  # noqa: E402,F401
