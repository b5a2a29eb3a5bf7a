"""Routes of /api/v1/."""

from __future__ import annotations

from flask import g

from mentorgroups.api import bp
from mentorgroups.extensions import db
from mentorgroups.models import Account


@bp.get("/school")
def school():
    """The token's school and the token itself."""
    account = db.session.get(Account, g.api_account_id)
    return {"id": account.id, "name": account.name, "plan": account.plan,
            "token": {"name": g.api_token.name, "scope": g.api_token.scope}}
