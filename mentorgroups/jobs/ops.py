"""What an operator needs from the outbox: the backlog at a glance, the rows that failed, were
given up or are stuck, and re-driving them. Used by `flask jobs ...` and `GET /healthz`."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import and_, func, or_, select, update

from mentorgroups.extensions import db
from mentorgroups.jobs.outbox import WAITING, dispatch
from mentorgroups.jobs.retry import horizon
from mentorgroups.models import OutboxJob, SentEmail, utcnow

LISTABLE = ("failed", "dead", "stuck", "staged", "enqueued", "running")
# Every status but 'done': named, so counting them reads index ranges, not the done rows.
OPEN = ("staged", "enqueued", "running", "failed", "dead")


def stuck_condition(now: datetime):
    """Rows that should have moved on by now: a worker's lease ran out, or a row waited or sat
    in RQ for more than OUTBOX_STALE_SECONDS past its time (no sweep running? Redis down?)."""
    stale = now - timedelta(seconds=current_app.config["OUTBOX_STALE_SECONDS"])
    return or_(
        and_(OutboxJob.status == "running", OutboxJob.locked_until < now),
        and_(OutboxJob.status == "enqueued", OutboxJob.enqueued_at < stale),
        and_(OutboxJob.status.in_(WAITING), OutboxJob.next_attempt_at < stale),
    )


def backlog(now: datetime | None = None) -> dict:
    """Counts and ages, in seconds, for dashboards and /healthz."""
    now = now or utcnow()
    by_status = {status: {"count": n, "oldest_age_seconds": _age(now, oldest)}
                 for status, n, oldest in db.session.execute(
                     select(OutboxJob.status, func.count(), func.min(OutboxJob.created_at))
                     .where(OutboxJob.status.in_(OPEN)).group_by(OutboxJob.status))}
    due_count, oldest_due = db.session.execute(
        select(func.count(), func.min(OutboxJob.next_attempt_at)).where(
            OutboxJob.status.in_(WAITING), OutboxJob.next_attempt_at <= now)).one()
    next_due = db.session.scalar(select(func.min(OutboxJob.next_attempt_at)).where(
        OutboxJob.status.in_(WAITING), OutboxJob.next_attempt_at > now))
    stuck = db.session.scalar(select(func.count()).select_from(OutboxJob).where(
        stuck_condition(now)))
    return {
        "by_status": by_status,
        "due": due_count,
        "oldest_due_at": _iso(oldest_due),
        "oldest_due_age_seconds": _age(now, oldest_due),
        "next_due_at": _iso(next_due),
        "stuck": stuck,
        "dead": by_status.get("dead", {}).get("count", 0),
        "failed": by_status.get("failed", {}).get("count", 0),
    }


def list_jobs(status: str, limit: int = 50) -> list[OutboxJob]:
    now = utcnow()
    where = stuck_condition(now) if status == "stuck" else OutboxJob.status == status
    return list(db.session.scalars(
        select(OutboxJob).where(where).order_by(OutboxJob.created_at, OutboxJob.id).limit(limit)))


def retry_jobs(ids: list[int] | None = None, all_dead: bool = False) -> list[int]:
    """Re-drive failed or dead rows now, with a new retry horizon; their undelivered emails
    go back to waiting. Returns the ids re-driven (others were neither failed nor dead)."""
    now = utcnow()
    where = [OutboxJob.status == "dead"] if all_dead else [
        OutboxJob.id.in_(ids or []), OutboxJob.status.in_(("failed", "dead"))]
    chosen = list(db.session.scalars(select(OutboxJob.id).where(*where)))
    if not chosen:
        return []
    db.session.execute(update(OutboxJob).where(OutboxJob.id.in_(chosen), *where[-1:]).values(
        status="staged", next_attempt_at=now, give_up_at=horizon(now), finished_at=None))
    db.session.execute(update(SentEmail).where(
        SentEmail.outbox_job_id.in_(chosen), SentEmail.status == "dead").values(status="failed"))
    db.session.commit()
    dispatch(chosen)
    return chosen


def _age(now: datetime, then: datetime | None) -> int | None:
    return None if then is None else max(int((now - then).total_seconds()), 0)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat(timespec="seconds")
