"""The outbox: jobs are rows written in the same transaction as their cause.

After the transaction commits, the staged rows are pushed to RQ (REDIS_URL set) or run
in-process right away (no REDIS_URL). If Redis is down at that moment the rows simply stay
'staged' and the periodic sweep pushes them later: nothing is lost.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import current_app
from flask_sqlalchemy.session import Session
from sqlalchemy import event, select, update

from mentorgroups.extensions import db
from mentorgroups.jobs.registry import JOBS
from mentorgroups.models import OutboxJob, utcnow

log = logging.getLogger(__name__)

_PENDING = "mentorgroups.outbox_ids"


def stage_job(name: str, **payload) -> OutboxJob:
    """Stage job `name` in the current transaction; it runs only if the transaction commits."""
    spec = JOBS[name]
    row = OutboxJob(name=name, queue=spec.queue, payload=payload, status="staged")
    db.session.add(row)
    return row


@event.listens_for(Session, "after_flush")
def _remember_staged(session, flush_context):
    ids = [obj.id for obj in session.new if isinstance(obj, OutboxJob)]
    if ids:
        session.info.setdefault(_PENDING, []).extend(ids)


@event.listens_for(Session, "after_rollback")
def _forget_staged(session):
    session.info.pop(_PENDING, None)


@event.listens_for(Session, "after_commit")
def _dispatch_staged(session):
    ids = session.info.pop(_PENDING, None)
    if ids:
        dispatch(ids)


def dispatch(ids: list[int]) -> None:
    """Hand committed outbox rows to whichever runner this app uses."""
    app = current_app._get_current_object()
    if app.config.get("REDIS_URL"):
        push_to_queue(app, ids)
    else:
        for outbox_id in ids:
            run_in_process(app, outbox_id)


def push_to_queue(app, ids: list[int]) -> int:
    """Enqueue rows in RQ and mark them 'enqueued'. A Redis failure is logged and the rows
    stay 'staged' for the sweep. Returns how many were pushed."""
    from redis.exceptions import RedisError

    from mentorgroups.jobs.queues import enqueue_outbox_job

    with db.engine.connect() as conn:
        rows = conn.execute(
            select(OutboxJob.id, OutboxJob.queue).where(OutboxJob.id.in_(ids))
        ).all()
    pushed: list[int] = []
    try:
        for outbox_id, queue in rows:
            enqueue_outbox_job(app, outbox_id, queue)
            pushed.append(outbox_id)
    except RedisError as exc:
        log.warning("Redis unavailable, %d job(s) left staged for the sweep: %s",
                    len(ids) - len(pushed), exc)
    if pushed:
        # A connection of its own: the session that staged the rows is mid-commit.
        with db.engine.begin() as conn:
            conn.execute(
                update(OutboxJob)
                .where(OutboxJob.id.in_(pushed), OutboxJob.status == "staged")
                .values(status="enqueued", enqueued_at=utcnow())
            )
    return len(pushed)


def run_in_process(app, outbox_id: int) -> None:
    """Run a job now, in a fresh app context (and so a fresh session). A failure must not
    break the request whose commit caused it: it is logged and left for the sweep."""
    from mentorgroups.jobs.runner import run_outbox_job

    with app.app_context():
        try:
            run_outbox_job(outbox_id)
        except Exception:
            log.exception("in-process job %s failed; the sweep will retry it", outbox_id)


def sweep(app=None) -> int:
    """Re-dispatch jobs that never ran: rows still 'staged' after OUTBOX_STALE_SECONDS
    (Redis was down, or an in-process run failed), and 'enqueued' rows that RQ no longer
    knows (Redis lost its data). Returns how many rows were re-dispatched."""
    app = app or current_app._get_current_object()
    cutoff = utcnow() - timedelta(seconds=app.config["OUTBOX_STALE_SECONDS"])
    stale = list(
        db.session.scalars(
            select(OutboxJob.id)
            .where(OutboxJob.status == "staged", OutboxJob.created_at <= cutoff)
            .order_by(OutboxJob.id)
        )
    )
    db.session.commit()
    if app.config.get("REDIS_URL"):
        from mentorgroups.jobs.queues import lost_outbox_jobs

        lost = lost_outbox_jobs(app, cutoff)
        return push_to_queue(app, stale + lost)
    for outbox_id in stale:
        run_in_process(app, outbox_id)
    return len(stale)
