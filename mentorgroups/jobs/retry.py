"""When a failed job runs again, and when it is given up: decided by the outbox row alone.

Every failed attempt is appended to the row's error history; the next attempt is due after an
exponential back-off with jitter (JOB_RETRY_BASE_SECONDS doubling up to JOB_RETRY_MAX_SECONDS),
never later than the row's horizon (`give_up_at`, JOB_RETRY_HORIZON_SECONDS after staging). A
failure at or after the horizon makes the row 'dead': kept, with its history, for an operator
to re-drive (`flask jobs retry`). The periodic sweep pushes rows that are due; nothing here
depends on RQ's scheduler or on Redis remembering anything.
"""

from __future__ import annotations

import logging
import random
import traceback
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select, update

from mentorgroups.extensions import db
from mentorgroups.models import OutboxJob, SentEmail, utcnow

log = logging.getLogger(__name__)

MAX_ERROR_CHARS = 2000
MAX_ERRORS_KEPT = 200  # a day of retries is ~30; a runaway row keeps its first and last ones


def backoff_seconds(attempt: int, config) -> float:
    """Delay after failed attempt number `attempt` (1-based): base x 2^(attempt-1), capped,
    with 'equal jitter' (half fixed, half random) so a burst of failures spreads out."""
    base = max(config["JOB_RETRY_BASE_SECONDS"], 0)
    delay = min(base * 2 ** max(attempt - 1, 0), config["JOB_RETRY_MAX_SECONDS"])
    return delay / 2 + random.uniform(0, delay / 2)


def horizon(now: datetime | None = None) -> datetime:
    return (now or utcnow()) + timedelta(seconds=current_app.config["JOB_RETRY_HORIZON_SECONDS"])


def error_text(exc: BaseException) -> str:
    return "".join(traceback.format_exception_only(exc)).strip()[:MAX_ERROR_CHARS]


def record_failure(outbox_id: int, attempt: int, error: str, *,
                   retry_at: datetime | None = None, immediate: bool = False,
                   expired_lease: datetime | None = None) -> str | None:
    """Record that attempt `attempt` of a running row failed; schedule the next attempt or
    give the row up. Conditional on the row still being 'running' under that attempt (and,
    for a lease taken back by the sweep, on that lease), so of two parties that both think
    the attempt ended, only one records it. Returns the new status, or None when somebody
    else recorded it first. Commits."""
    db.session.rollback()
    row = db.session.get(OutboxJob, outbox_id, populate_existing=True)
    if row is None or row.status != "running" or row.attempts != attempt:
        db.session.rollback()
        return None
    now = utcnow()
    errors = list(row.errors or [])
    errors.append({"at": now.isoformat(timespec="seconds"), "attempt": attempt, "error": error})
    if len(errors) > MAX_ERRORS_KEPT:
        errors = errors[:10] + errors[-(MAX_ERRORS_KEPT - 10):]
    give_up_at = row.give_up_at or horizon(row.created_at)
    if now >= give_up_at:
        status, next_at = "dead", now
    else:
        delay = 0 if immediate else backoff_seconds(attempt, current_app.config)
        next_at = now + timedelta(seconds=delay)
        if retry_at is not None and retry_at > next_at:
            next_at = retry_at
        next_at = min(next_at, give_up_at)
        status = "failed"
    where = [OutboxJob.id == outbox_id, OutboxJob.status == "running",
             OutboxJob.attempts == attempt]
    if expired_lease is not None:
        where.append(OutboxJob.locked_until == expired_lease)
    result = db.session.execute(
        update(OutboxJob).where(*where).values(
            status=status, errors=errors, last_error=error, next_attempt_at=next_at,
            locked_until=None, finished_at=now if status == "dead" else None))
    if result.rowcount != 1:
        db.session.rollback()
        return None
    if status == "dead":
        db.session.execute(
            update(SentEmail).where(SentEmail.outbox_job_id == outbox_id,
                                    SentEmail.status == "failed").values(status="dead"))
    db.session.commit()
    level = logging.ERROR if status == "dead" else logging.WARNING
    log.log(level, "job %s attempt %s failed (%s, next at %s): %s", outbox_id, attempt,
            status, next_at.isoformat(timespec="seconds"), error)
    return status


def expire_leases(now: datetime | None = None) -> int:
    """Rows whose worker died (its lease ran out) become due now. Returns how many."""
    now = now or utcnow()
    expired = db.session.execute(
        select(OutboxJob.id, OutboxJob.attempts, OutboxJob.locked_until).where(
            OutboxJob.status == "running", OutboxJob.locked_until < now)
    ).all()
    db.session.commit()
    taken = 0
    for outbox_id, attempt, locked_until in expired:
        status = record_failure(
            outbox_id, attempt,
            f"lease expired at {locked_until.isoformat(timespec='seconds')}: the worker "
            "stopped before finishing this attempt", immediate=True, expired_lease=locked_until)
        taken += status is not None
    return taken
