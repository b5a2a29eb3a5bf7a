"""`GET /healthz`: is the database reachable, is Redis, and how is the outbox doing.

200 while the database answers (Redis down is reported, and jobs wait in the outbox), 503 when
it does not. Only booleans, counts and ages: no URLs, hosts or error texts."""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

from mentorgroups.extensions import db, limiter

log = logging.getLogger(__name__)
bp = Blueprint("health", __name__)


def _redis_status() -> dict:
    if not current_app.config.get("REDIS_URL"):
        return {"configured": False, "ok": None}
    from redis.exceptions import RedisError

    from mentorgroups.jobs.queues import redis_connection

    try:
        return {"configured": True, "ok": bool(redis_connection(current_app).ping())}
    except RedisError as exc:
        log.warning("healthz: Redis unreachable: %s", exc)
        return {"configured": True, "ok": False}


@bp.get("/healthz")
@limiter.exempt
def healthz():
    from mentorgroups.jobs.ops import backlog

    body = {"redis": _redis_status()}
    try:
        db.session.execute(text("SELECT 1"))
        outbox = backlog()
        db.session.commit()
    except Exception as exc:  # any driver error means the same thing: no database
        db.session.rollback()
        log.warning("healthz: database unreachable: %s", exc.__class__.__name__)
        body.update(status="down", database={"ok": False})
        return jsonify(body), 503
    body.update(
        database={"ok": True},
        outbox={key: outbox[key] for key in ("due", "oldest_due_age_seconds", "dead",
                                             "failed", "stuck")},
    )
    redis_ok = body["redis"]["ok"] is not False
    body["status"] = "ok" if redis_ok and not outbox["stuck"] else "degraded"
    return jsonify(body), 200
