"""Who belongs where: the account-level checks every other service builds on."""

from __future__ import annotations

from sqlalchemy import select

from mentorgroups.extensions import db
from mentorgroups.models import AccountMembership, User
from mentorgroups.request_cache import cached
from mentorgroups.services.errors import PermissionDenied


def active_membership(user: User | None, account_id: int) -> AccountMembership | None:
    """The person's active membership of the school (looked up once per request). An API
    token's actor has an admin membership of its own school and of no other."""
    if getattr(user, "api_token_id", None) is not None:
        from mentorgroups.services.api_tokens import token_membership

        return token_membership(user, account_id)
    if user is None or not getattr(user, "id", None) or not user.active:
        return None
    user_id = user.id
    return cached(membership_key(user_id, account_id), lambda: db.session.scalar(
        select(AccountMembership).where(
            AccountMembership.user_id == user_id,
            AccountMembership.account_id == account_id,
            AccountMembership.status == "active",
        )
    ))


def membership_key(user_id: int, account_id: int) -> tuple:
    return ("membership", user_id, account_id)


def is_account_admin(user: User | None, account_id: int) -> bool:
    membership = active_membership(user, account_id)
    return membership is not None and membership.role == "admin"


def require_account_admin(user: User | None, account_id: int) -> AccountMembership:
    membership = active_membership(user, account_id)
    if membership is None or membership.role != "admin":
        raise PermissionDenied("Only this school's admins can do that.")
    return membership


def require_active_member(user: User | None, account_id: int) -> AccountMembership:
    membership = active_membership(user, account_id)
    if membership is None:
        raise PermissionDenied("You are not an active member of this school.")
    return membership
