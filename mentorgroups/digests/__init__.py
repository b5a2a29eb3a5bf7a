"""The weekly Mentor Digest on the site: the Group options switch, the preview, and the
unsubscribe links of the email."""

from flask import Blueprint

bp = Blueprint("digests", __name__)

from mentorgroups.digests import routes  # noqa: E402,F401
