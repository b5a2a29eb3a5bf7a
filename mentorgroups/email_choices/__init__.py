"""Email choices on the site: the preferences page and the one-click unsubscribe links."""

from flask import Blueprint

bp = Blueprint("email_choices", __name__)

from mentorgroups.email_choices import routes  # noqa: E402,F401
