"""Runs one outbox row: the function RQ calls, and the in-process runner's body.

A run first *claims* the row with one conditional UPDATE (status -> 'running', attempts + 1,
a lease until now + JOB_LEASE_SECONDS). Only one run can win it; a duplicate push, a stale RQ
copy of an earlier push, or a second worker finds nothing to claim and does nothing. The job's
own database writes and the row's 'done' are committed together, and only while the lease is
still ours: a run whose lease was taken back (its worker looked dead) commits nothing.
"""

from __future__ import annotations

import contextvars
import logging

from flask import current_app
from sqlalchemy import update

from mentorgroups.extensions import db
from mentorgroups.jobs.claims import claim_rows
from mentorgroups.jobs.registry import JOBS, load_job_modules
from mentorgroups.jobs.retry import error_text, record_failure
from mentorgroups.models import OutboxJob, utcnow

log = logging.getLogger(__name__)

# The outbox row the current job runs for (email records link back to it).
current_outbox_id: contextvars.ContextVar[int | None] = contextvars.ContextVar(
    "current_outbox_id", default=None)


def lease_until():
    from datetime import timedelta

    return utcnow() + timedelta(seconds=current_app.config["JOB_LEASE_SECONDS"])


def claim(outbox_id: int, push: int | None):
    """Take the row for one attempt. From RQ (`push` given) only the row as pushed that time;
    in-process, a row that is waiting (staged or failed)."""
    where = [OutboxJob.id == outbox_id]
    if push is None:
        where.append(OutboxJob.status.in_(("staged", "failed")))
    else:
        where += [OutboxJob.status == "enqueued", OutboxJob.pushes == push]
    rows = claim_rows(where, {"status": "running", "attempts": OutboxJob.attempts + 1,
                              "locked_until": lease_until()},
                      (OutboxJob.name, OutboxJob.payload, OutboxJob.attempts))
    return rows[0] if rows else None


def run_outbox_job(outbox_id: int, push: int | None = None) -> str:
    """Run the job behind an outbox row, once. A failure is recorded on the row (which
    decides the retry) and re-raised, so RQ's failed registry and the logs show it too."""
    load_job_modules()
    claimed = claim(outbox_id, push)
    if claimed is None:
        return "not claimed"
    name, payload, attempt = claimed
    token = current_outbox_id.set(outbox_id)
    try:
        JOBS[name].func(**dict(payload or {}))
    except Exception as exc:
        db.session.rollback()
        retry_at = getattr(exc, "retry_at", None)
        record_failure(outbox_id, attempt, error_text(exc), retry_at=retry_at)
        raise
    finally:
        current_outbox_id.reset(token)
    finished = db.session.execute(
        update(OutboxJob)
        .where(OutboxJob.id == outbox_id, OutboxJob.status == "running",
               OutboxJob.attempts == attempt)
        .values(status="done", finished_at=utcnow(), locked_until=None, last_error=None))
    if finished.rowcount != 1:
        db.session.rollback()
        log.warning("job %s attempt %s outlived its lease; its writes were rolled back",
                    outbox_id, attempt)
        return "lease lost"
    db.session.commit()
    return "done"
