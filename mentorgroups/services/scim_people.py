"""People of a school as SCIM Users (mentorgroups.scim): read only. People join a school by
invitation and leave it in the product; an identity provider reads them to find the ids it
names group members by."""

from __future__ import annotations

from sqlalchemy import func, select

from mentorgroups.extensions import db
from mentorgroups.input_guard import parse_id
from mentorgroups.models import AccountMembership, User
from mentorgroups.services.errors import NotFound
from mentorgroups.services.permissions import require_account_admin


def _people(account_id: int):
    """Active people of the school (id, name, email): revoked access is no longer a user."""
    return (select(User.id, User.full_name, User.email)
            .join(AccountMembership, AccountMembership.user_id == User.id)
            .where(AccountMembership.account_id == account_id,
                   AccountMembership.status == "active"))


def list_people(actor, account_id: int, user_name: str | None, offset: int,
                limit: int) -> tuple[int, list[tuple[int, str, str]]]:
    """(how many match, one page of them by id): two statements whatever the school's size.
    `user_name` (an email address) matches in any case."""
    require_account_admin(actor, account_id)
    rows = _people(account_id)
    if user_name is not None:
        rows = rows.where(User.email == user_name.strip().lower())
    total = db.session.scalar(select(func.count()).select_from(rows.subquery()))
    page = db.session.execute(rows.order_by(User.id).offset(offset).limit(limit)).all()
    return total, [tuple(row) for row in page]


def get_person(actor, account_id: int, user_id) -> tuple[int, str, str]:
    require_account_admin(actor, account_id)
    uid = parse_id(user_id)
    row = db.session.execute(_people(account_id).where(User.id == uid)).first() \
        if uid is not None else None
    if row is None:
        raise NotFound("No person of this school has that id.")
    return tuple(row)
