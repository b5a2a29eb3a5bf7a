"""The outbox: jobs are rows written in the same transaction as their cause.

After the transaction commits, the staged rows are pushed to RQ (REDIS_URL set) or run
in-process right away (no REDIS_URL). If Redis is down at that moment the rows simply stay
'staged' and the periodic sweep pushes them later: nothing is lost.

The sweep (`sweep()`, every OUTBOX_SWEEP_SECONDS from `flask scheduler`, or `flask jobs sweep`
from cron) is the only thing that makes a retry happen: it takes back the rows of workers that
died (expired leases), pushes every row that is due (staged, or failed with its next attempt
time passed) and re-pushes rows RQ lost. Pushing flips the row to 'enqueued' with one
conditional UPDATE before RQ sees it, so racing sweeps never push a row twice.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import current_app
from flask_sqlalchemy.session import Session
from sqlalchemy import case, event, select, update

from mentorgroups.extensions import db
from mentorgroups.jobs.claims import claim_rows
from mentorgroups.jobs.registry import JOBS
from mentorgroups.jobs.retry import expire_leases, horizon
from mentorgroups.models import OutboxJob, utcnow

log = logging.getLogger(__name__)

_PENDING = "mentorgroups.outbox_ids"
SWEEP_BATCH = 500
WAITING = ("staged", "failed")


def stage_job(name: str, **payload) -> OutboxJob:
    """Stage job `name` in the current transaction; it runs only if the transaction commits."""
    spec = JOBS[name]
    now = utcnow()
    row = OutboxJob(name=name, queue=spec.queue, payload=payload, status="staged",
                    created_at=now, next_attempt_at=now, give_up_at=horizon(now), errors=[])
    db.session.add(row)
    return row


@event.listens_for(Session, "after_flush")
def _remember_staged(session, flush_context):
    ids = [obj.id for obj in session.new if isinstance(obj, OutboxJob)]
    if ids:
        session.info.setdefault(_PENDING, []).extend(ids)


# Both events also fire when a SAVEPOINT (begin_nested) is released or rolled back, while the
# real transaction is still open: only the outermost commit may dispatch (a row dispatched
# earlier is not visible to the worker yet), and a savepoint's rollback keeps the ids staged
# before it (ids of rows it undid find nothing to claim).
@event.listens_for(Session, "after_rollback")
def _forget_staged(session):
    if not session.in_nested_transaction():
        session.info.pop(_PENDING, None)


@event.listens_for(Session, "after_commit")
def _dispatch_staged(session):
    if session.in_nested_transaction():
        return
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


def push_to_queue(app, ids: list[int] | None = None) -> int:
    """Push waiting rows to RQ: the given ids, or (None) every row that is due. Each row is
    first flipped to 'enqueued' (pushes + 1) by one conditional UPDATE, so only one of any
    number of racing callers pushes it; a row RQ then refuses (Redis down) goes back to
    waiting, still due, for the next sweep. Returns how many were pushed."""
    from redis.exceptions import RedisError

    from mentorgroups.jobs.queues import enqueue_outbox_job

    now = utcnow()
    if ids is None:
        due = (select(OutboxJob.id)
               .where(OutboxJob.status.in_(WAITING), OutboxJob.next_attempt_at <= now)
               .order_by(OutboxJob.next_attempt_at).limit(SWEEP_BATCH)
               .with_for_update(skip_locked=True))
        where = [OutboxJob.id.in_(due.scalar_subquery())]
    else:
        where = [OutboxJob.id.in_(ids)]
    where.append(OutboxJob.status.in_(WAITING))
    taken = claim_rows(where, {"status": "enqueued", "pushes": OutboxJob.pushes + 1,
                               "enqueued_at": now},
                       (OutboxJob.id, OutboxJob.queue, OutboxJob.pushes))
    return _enqueue_taken(app, taken, enqueue_outbox_job, RedisError)


def _enqueue_taken(app, taken, enqueue_outbox_job, redis_error) -> int:
    pushed = 0
    for index, (outbox_id, queue, push) in enumerate(taken):
        try:
            enqueue_outbox_job(app, outbox_id, push, queue)
            pushed += 1
        except redis_error as exc:
            log.warning("Redis unavailable, %d job(s) left waiting for the sweep: %s",
                        len(taken) - index, exc)
            _unpush(taken[index:])
            break
    return pushed


def _unpush(rows) -> None:
    with db.engine.begin() as conn:
        for outbox_id, _queue, push in rows:
            conn.execute(
                update(OutboxJob)
                .where(OutboxJob.id == outbox_id, OutboxJob.status == "enqueued",
                       OutboxJob.pushes == push)
                .values(status=case((OutboxJob.attempts > 0, "failed"), else_="staged"),
                        enqueued_at=None))


def repush_lost(app) -> int:
    """'enqueued' rows older than OUTBOX_STALE_SECONDS whose RQ job is gone (Redis restarted
    empty), finally failed, stopped, or started by a worker that died before taking the row:
    push them again under a new push number (the old RQ copy, if any, can no longer take the
    row)."""
    from redis.exceptions import RedisError

    from mentorgroups.jobs.queues import enqueue_outbox_job, rq_job_lost

    cutoff = utcnow() - timedelta(seconds=app.config["OUTBOX_STALE_SECONDS"])
    rows = db.session.execute(
        select(OutboxJob.id, OutboxJob.pushes).where(
            OutboxJob.status == "enqueued", OutboxJob.enqueued_at <= cutoff)
        .limit(SWEEP_BATCH)).all()
    db.session.commit()
    taken = []
    for outbox_id, push in rows:
        if not rq_job_lost(app, outbox_id, push):
            continue
        taken += claim_rows(
            [OutboxJob.id == outbox_id, OutboxJob.status == "enqueued", OutboxJob.pushes == push],
            {"pushes": OutboxJob.pushes + 1, "enqueued_at": utcnow()},
            (OutboxJob.id, OutboxJob.queue, OutboxJob.pushes))
    return _enqueue_taken(app, taken, enqueue_outbox_job, RedisError)


def run_in_process(app, outbox_id: int) -> None:
    """Run a job now, in a fresh app context (and so a fresh session). A failure must not
    break the request whose commit caused it: the row records it and the sweep retries."""
    from mentorgroups.jobs.runner import run_outbox_job

    with app.app_context():
        try:
            run_outbox_job(outbox_id)
        except Exception:
            log.exception("in-process job %s failed; the sweep will retry it", outbox_id)


def sweep(app=None) -> int:
    """One pass of the outbox: expired leases become due, due rows are pushed (or run
    in-process without Redis), rows RQ lost are pushed again. Safe to run from any number of
    processes at once. Returns how many rows were dispatched."""
    app = app or current_app._get_current_object()
    expire_leases()
    if not app.config.get("REDIS_URL"):
        due = list(db.session.scalars(
            select(OutboxJob.id)
            .where(OutboxJob.status.in_(WAITING), OutboxJob.next_attempt_at <= utcnow())
            .order_by(OutboxJob.next_attempt_at).limit(SWEEP_BATCH)))
        db.session.commit()
        for outbox_id in due:
            run_in_process(app, outbox_id)
        return len(due)
    from redis.exceptions import RedisError

    from mentorgroups.jobs.queues import redis_connection

    try:
        redis_connection(app).ping()
    except RedisError as exc:
        log.warning("sweep: Redis unavailable, nothing pushed this time: %s", exc)
        return 0
    return push_to_queue(app) + repush_lost(app)
