"""In-app notifications: creating them once per key, counting and marking them read."""

from __future__ import annotations

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError

from mentorgroups.extensions import db
from mentorgroups.models import Notification, User, utcnow
from mentorgroups.paging import Page, PageRequest, clamp
from mentorgroups.request_cache import cached


def notify(user_id: int, account_id: int, key: str, kind: str, text: str, link: str) -> bool:
    """Create the notification unless one with this key exists. True when created."""
    if db.session.scalar(select(Notification.id).where(Notification.key == key)) is not None:
        return False
    try:
        with db.session.begin_nested():  # a savepoint: a concurrent run may make it first
            db.session.add(Notification(user_id=user_id, account_id=account_id, key=key,
                                        kind=kind, text=text[:500], link=link))
    except IntegrityError:
        return False
    return True


def unread_count_column(user_id: int, account_id: int):
    """The bell's count as a scalar subquery (services.signed_in reads it with the person)."""
    return (select(func.count()).select_from(Notification).where(
        Notification.user_id == user_id, Notification.account_id == account_id,
        Notification.read_at.is_(None)).scalar_subquery())


def unread_key(user_id: int, account_id: int) -> tuple:
    return ("unread", user_id, account_id)


def unread_count(user: User, account_id: int) -> int:
    """Unread notifications, once per request (a commit or rollback forgets it, so a page
    that marks some read and counts again sees the change)."""
    return cached(unread_key(user.id, account_id),
                  lambda: db.session.scalar(select(unread_count_column(user.id, account_id))))


def notifications_page(user: User, account_id: int, request: PageRequest) -> Page:
    """This person's notifications in this school, newest first, one page, with the count."""
    mine = (Notification.user_id == user.id, Notification.account_id == account_id)
    total = db.session.scalar(select(func.count()).select_from(Notification).where(*mine))
    request = clamp(request, total)
    items = list(db.session.scalars(
        select(Notification).where(*mine)
        .order_by(Notification.created_at.desc(), Notification.id.desc())
        .limit(request.size).offset(request.offset)))
    return Page(items, total, request.number, request.size)


def mark_read(user: User, account_id: int, notification_id: int | None = None) -> int:
    """Mark one (or, without an id, all) of this person's notifications read."""
    query = update(Notification).where(
        Notification.user_id == user.id, Notification.account_id == account_id,
        Notification.read_at.is_(None))
    if notification_id is not None:
        query = query.where(Notification.id == notification_id)
    return db.session.execute(query.values(read_at=utcnow())).rowcount or 0


def submission_key(submission_id: int, round: int, user_id: int,
                   version: int | None = None) -> str:
    """The key of a reviewer's notification about a submission: round 1's keeps the form it
    had before rounds existed; an update's names its version."""
    prefix = f"submission:{submission_id}:" + ("" if round == 1 and version is None
                                                 else f"round:{round}:")
    return prefix + (f"version:{version}:" if version is not None else "") + f"user:{user_id}"


def _round_keys(submission_id: int, round: int):
    patterns = [f"submission:{submission_id}:round:{round}:%"]
    if round == 1:
        patterns.append(f"submission:{submission_id}:user:%")
    return or_(*(Notification.key.like(p) for p in patterns))


def settle_submission(submission_id: int, reviewer_name: str, round: int = 1) -> int:
    """A submission's round was reviewed: every reviewer's notification about that round
    (that it waits, that it changed) says by whom and stops counting as unread (nobody else
    needs to act). Runs in the review's transaction."""
    now = utcnow()
    suffix = f" \u00b7 reviewed by {reviewer_name}"
    changed = 0
    for item in db.session.scalars(select(Notification).where(
            Notification.kind.in_(("submission", "submission_changed")),
            _round_keys(submission_id, round))):
        if suffix not in item.text:
            item.text = (item.text + suffix)[:500]
        if item.read_at is None:
            item.read_at = now
        changed += 1
    return changed


def unread_about_submission(submission_id: int):
    """SQL condition on a person (a user id column): they have an unread notification that
    this submission waits or changed."""
    return select(Notification.user_id).where(
        Notification.kind.in_(("submission", "submission_changed")),
        Notification.key.like(f"submission:{submission_id}:%"),
        Notification.read_at.is_(None))
