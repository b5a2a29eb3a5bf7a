"""Who wants the weekly Mentor Digest for which group, and the signed links that turn it off
without signing in.

The article: "By default, the digest will be turned on for each Group you're directly
managing or mentoring", and "you can turn the Mentor Digest off or on for any Group where
you're a Mentor or Group Admin". Becoming a group's Mentor or Group Admin turns it on; being
made a Member turns it off; a change between Mentor and Group Admin keeps the person's own
choice. A Group Admin may also turn it on for a group below one they administer."""

from __future__ import annotations

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import select

from mentorgroups.extensions import db
from mentorgroups.models import STAFF_ROLES, DigestSubscription, MentorGroup, User, utcnow
from mentorgroups.services.errors import NotFound
from mentorgroups.upserts import upsert

UNSUBSCRIBE_SALT = "mentor-digest-unsubscribe"


def _row(user_id: int, group_id: int) -> DigestSubscription | None:
    return db.session.scalar(select(DigestSubscription).where(
        DigestSubscription.user_id == user_id, DigestSubscription.group_id == group_id))


def _set(user_id: int, group_id: int, on: bool) -> DigestSubscription:
    upsert(DigestSubscription, {"user_id": user_id, "group_id": group_id},
           {"subscribed": on, "updated_at": utcnow()})
    return db.session.scalar(select(DigestSubscription).where(
        DigestSubscription.user_id == user_id, DigestSubscription.group_id == group_id)
        .execution_options(populate_existing=True))


def follow_role_change(user_id: int, group_id: int, before: str | None, after: str) -> None:
    """Called wherever a group role is given or changed (added, promoted, demoted, invited
    and accepted): staff from non-staff turns the digest on, Member turns it off, and a move
    between Mentor and Group Admin leaves the person's choice alone."""
    was_staff, is_staff = before in STAFF_ROLES, after in STAFF_ROLES
    if is_staff and not was_staff:
        _set(user_id, group_id, True)
    elif was_staff and not is_staff:
        _set(user_id, group_id, False)


def is_subscribed(user_id: int, group_id: int) -> bool:
    row = _row(user_id, group_id)
    return bool(row and row.subscribed)


def set_subscription(actor: User, account_id: int, group_id, on: bool) -> DigestSubscription:
    """The Group options switch: only for a group this person mentors or manages."""
    from mentorgroups.services.mentoring import mentored_group

    group = mentored_group(actor, account_id, group_id)
    return _set(actor.id, group.id, bool(on))


# ---- unsubscribing from an email, without signing in ------------------------------------------

def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=UNSUBSCRIBE_SALT)


def unsubscribe_token(user_id: int, group_ids: list[int]) -> str:
    """A signed token naming a person and the groups it turns off; nothing else."""
    return _serializer().dumps({"u": user_id, "g": sorted(group_ids)})


def read_unsubscribe_token(token: str) -> tuple[User, list[MentorGroup]]:
    max_age = current_app.config["DIGEST_UNSUBSCRIBE_TTL_DAYS"] * 86400
    try:
        data = _serializer().loads(token, max_age=max_age)
        user_id, group_ids = int(data["u"]), [int(g) for g in data["g"]]
    except (BadSignature, KeyError, TypeError, ValueError):
        raise NotFound("This unsubscribe link is not valid or has expired. Turn the digest "
                       "off from the group's Group options menu instead.") from None
    user = db.session.get(User, user_id)
    groups = list(db.session.scalars(select(MentorGroup).where(MentorGroup.id.in_(group_ids))
                                     .order_by(MentorGroup.name))) if group_ids else []
    if user is None or not groups:
        raise NotFound("This unsubscribe link is not valid any more.")
    return user, groups


def unsubscribe(token: str) -> tuple[User, list[MentorGroup]]:
    """Turn the digest off for the groups the token names (the person's switch only)."""
    user, groups = read_unsubscribe_token(token)
    for group in groups:
        _set(user.id, group.id, False)
    return user, groups
