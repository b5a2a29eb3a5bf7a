"""`GET /healthz`: whether jobs are being delivered, told at once.

`ok`, or `degraded` with every reason that holds now (README, Runbook):

- `redis_down`: Redis is configured and does not answer (jobs wait in the outbox);
- `no_worker`: Redis answers but no RQ worker of this app's queues reported within
  WORKER_TTL_SECONDS (RQ's worker registry and each worker's heartbeat);
- `backlog`: a due job has waited longer than HEALTH_DUE_AGE_SECONDS to be run;
- `jobs_failing`: jobs whose last attempt failed and that are retrying;
- `dead_jobs`: jobs given up at their horizon, waiting for an operator;
- `jobs_stuck`: a worker's lease ran out, or a job is late by OUTBOX_STALE_SECONDS.

503 with `status: down` and the reason `database_down` when the database does not answer.
Only booleans, counts and ages: no URLs, hosts or error texts. Cheap: a ping, Redis' worker
registry (a few keys per worker), and the outbox counts, each an index range on status."""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

from mentorgroups.extensions import db, limiter

log = logging.getLogger(__name__)
bp = Blueprint("health", __name__)


def _redis_status() -> dict:
    """Whether Redis answers and how many workers of this app's queues reported lately."""
    if not current_app.config.get("REDIS_URL"):
        return {"configured": False, "ok": None}
    from redis.exceptions import RedisError

    try:
        return {"configured": True, "ok": True, "live_workers": _live_workers(current_app)}
    except RedisError as exc:
        log.warning("healthz: Redis unreachable: %s", exc.__class__.__name__)
        return {"configured": True, "ok": False}


def _live_workers(app) -> int:
    from rq import Worker
    from rq.utils import now

    from mentorgroups.jobs.queues import get_queue, redis_connection

    redis_connection(app).ping()
    ttl = app.config["WORKER_TTL_SECONDS"]
    moment = now()
    return sum(1 for worker in Worker.all(queue=get_queue(app, "emails"))
               if worker.last_heartbeat is not None
               and (moment - worker.last_heartbeat).total_seconds() <= ttl)


def reasons_for(redis: dict, outbox: dict, config) -> list[dict]:
    """What makes delivery degraded now, each with a code and a count or an age."""
    reasons = []
    if redis["ok"] is False:
        reasons.append({"code": "redis_down",
                        "detail": "Redis does not answer: jobs wait in the outbox"})
    elif redis["configured"] and not redis["live_workers"]:
        reasons.append({"code": "no_worker", "detail": (
            f"no worker reported in the last {config['WORKER_TTL_SECONDS']} s")})
    age = outbox["oldest_due_age_seconds"]
    if age is not None and age > config["HEALTH_DUE_AGE_SECONDS"]:
        reasons.append({"code": "backlog", "detail": (
            f"{outbox['due']} job(s) due, the oldest waiting {age} s "
            f"(more than {config['HEALTH_DUE_AGE_SECONDS']} s)")})
    if outbox["failed"]:
        reasons.append({"code": "jobs_failing",
                        "detail": f"{outbox['failed']} job(s) failed and are retrying"})
    if outbox["dead"]:
        reasons.append({"code": "dead_jobs",
                        "detail": f"{outbox['dead']} job(s) given up (dead)"})
    if outbox["stuck"]:
        reasons.append({"code": "jobs_stuck", "detail": f"{outbox['stuck']} job(s) stuck"})
    return reasons


@bp.get("/healthz")
@limiter.exempt
def healthz():
    from mentorgroups.jobs.ops import backlog

    redis = _redis_status()
    try:
        db.session.execute(text("SELECT 1"))
        outbox = backlog()
        db.session.commit()
    except Exception as exc:  # any driver error means the same thing: no database
        db.session.rollback()
        log.warning("healthz: database unreachable: %s", exc.__class__.__name__)
        return jsonify(status="down", database={"ok": False}, redis=redis, reasons=[
            {"code": "database_down", "detail": "the database does not answer"}]), 503
    reasons = reasons_for(redis, outbox, current_app.config)
    return jsonify(
        status="degraded" if reasons else "ok",
        reasons=reasons,
        database={"ok": True},
        redis=redis,
        outbox={key: outbox[key] for key in ("due", "oldest_due_age_seconds", "dead",
                                             "failed", "stuck")},
    ), 200
