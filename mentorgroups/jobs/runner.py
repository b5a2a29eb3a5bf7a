"""Runs one outbox row: the function RQ calls, and the in-process runner's body."""

from __future__ import annotations

import logging
import traceback

from flask import current_app

from mentorgroups.extensions import db
from mentorgroups.jobs.registry import JOBS, load_job_modules
from mentorgroups.models import OutboxJob, utcnow

log = logging.getLogger(__name__)


def run_outbox_job(outbox_id: int) -> str:
    """Run the job behind an outbox row, once.

    A row already 'done' is skipped, so a duplicate push or a second worker is harmless; the
    job functions themselves are idempotent for the window where two runs overlap. A failure
    is recorded on the row and re-raised so that RQ retries it and keeps the last failure.
    """
    load_job_modules()
    row = db.session.get(OutboxJob, outbox_id)
    if row is None:
        return "missing"
    if row.status == "done":
        return "already done"
    name, payload = row.name, dict(row.payload or {})
    db.session.commit()
    try:
        JOBS[name].func(**payload)
    except Exception as exc:
        db.session.rollback()
        row = db.session.get(OutboxJob, outbox_id)
        row.attempts += 1
        row.last_error = "".join(traceback.format_exception_only(exc)).strip()[:2000]
        if row.attempts >= current_app.config["JOB_MAX_ATTEMPTS"]:
            row.status = "failed"
        db.session.commit()
        log.warning("job %s (%s) failed, attempt %s: %s", outbox_id, name, row.attempts, exc)
        raise
    row = db.session.get(OutboxJob, outbox_id)
    row.attempts += 1
    row.status = "done"
    row.finished_at = utcnow()
    row.last_error = None
    db.session.commit()
    return "done"
