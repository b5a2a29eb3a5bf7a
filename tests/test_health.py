"""`GET /healthz` tells the truth at once: `ok`, or `degraded` with every reason that holds
(a dead job, jobs failing, no live worker, a due job waiting too long, stuck jobs, Redis down),
`503` when the database is down; counts and ages only, in a few statements."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from mentorgroups.extensions import db
from mentorgroups.models import OutboxJob, utcnow
from mentorgroups.services import learning
from tests.conftest import free_port, statements_of
from tests.factories import school
from tests.outbox_rows import outbox_row as job

DUE_AGE = 60  # HEALTH_DUE_AGE_SECONDS
STALE = 600  # OUTBOX_STALE_SECONDS: well past DUE_AGE, so a late row alone is a backlog


@pytest.fixture
def health_app(make_app):
    app = make_app(HEALTH_DUE_AGE_SECONDS=DUE_AGE, OUTBOX_STALE_SECONDS=STALE)
    with app.app_context():
        yield app


def health(app) -> tuple[int, dict]:
    response = app.test_client().get("/healthz")
    return response.status_code, response.get_json()


def codes(body: dict) -> list[str]:
    return [reason["code"] for reason in body["reasons"]]


def test_ok_while_jobs_flow(health_app):
    now = utcnow()
    job("done", now, created=-7200, due=-7200)
    job("staged", now, due=-(DUE_AGE - 30))  # due, not waiting long yet
    job("staged", now, due=300)
    job("enqueued", now, due=-5, pushed=-5)
    job("running", now, due=-5, pushed=-5, lease=100)
    db.session.commit()
    status, body = health(health_app)
    assert (status, body["status"], body["reasons"]) == (200, "ok", [])
    assert body["redis"] == {"configured": False, "ok": None}  # jobs run in-process


@pytest.mark.parametrize(("row", "reason"), [
    (dict(status="dead", due=-7200), "dead_jobs"),
    (dict(status="failed", due=300), "jobs_failing"),
    (dict(status="staged", due=-(DUE_AGE + 30)), "backlog"),
    (dict(status="running", due=-60, pushed=-60, lease=-10), "jobs_stuck"),
])
def test_each_reason_alone_makes_it_degraded(health_app, row, reason):
    job(row.pop("status"), utcnow(), **row)
    db.session.commit()
    status, body = health(health_app)
    assert (status, body["status"], codes(body)) == (200, "degraded", [reason])
    assert all(detail["detail"] for detail in body["reasons"])


def test_every_reason_that_holds_is_listed(health_app):
    now = utcnow()
    job("dead", now, due=-7200)
    job("failed", now, due=-(DUE_AGE + 30))  # failing, and waiting to be pushed too long
    db.session.commit()
    _status, body = health(health_app)
    assert codes(body) == ["backlog", "jobs_failing", "dead_jobs"]
    assert body["outbox"]["dead"] == 1 and body["outbox"]["failed"] == 1


def test_a_few_statements_whatever_the_outbox_holds(health_app):
    def statements():
        return statements_of(lambda: health(health_app))

    few = statements()
    now = utcnow()
    for n in range(30):
        job(("done", "dead", "failed", "staged")[n % 4], now, due=-n)
    db.session.commit()
    assert statements() == few <= 5


def test_redis_down_is_degraded_and_nothing_secret_is_shown(make_app):
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port(),
                   REDIS_URL=f"redis://:hunter2@127.0.0.1:{free_port()}/0",
                   OUTBOX_STALE_SECONDS=STALE)
    with app.app_context():
        s = school()
        learning.submit_for_review(s.learner, s.account.id, s.path.steps[1].id, "work")
        db.session.commit()  # Redis is down: the fan-out stays staged
        assert db.session.scalar(select(OutboxJob.status)) == "staged"
        status, body = health(app)
    assert status == 200
    assert body["database"] == {"ok": True}
    assert body["redis"] == {"configured": True, "ok": False}
    assert (body["status"], codes(body)) == ("degraded", ["redis_down"])
    assert set(body["outbox"]) == {"due", "oldest_due_age_seconds", "dead", "failed", "stuck"}
    text = json.dumps(body)
    for secret in ("hunter2", "test-secret", "sqlite", "postgresql", "127.0.0.1"):
        assert secret not in text


def test_503_when_the_database_is_down(make_app):
    app = make_app(SQLALCHEMY_DATABASE_URI=(
        f"postgresql+psycopg://postgres:pw@127.0.0.1:{free_port()}/nothing?connect_timeout=2"))
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    body = response.get_json()
    assert (body["status"], body["database"], codes(body)) == (
        "down", {"ok": False}, ["database_down"])
    assert "pw" not in response.get_data(as_text=True)


@pytest.mark.redis
def test_no_worker_until_one_reports_and_again_once_it_died(make_app, database_url,
                                                            redis_url):
    """A real `python worker.py` registers in RQ's worker registry: /healthz is ok while it
    reports, and says `no_worker` within WORKER_TTL_SECONDS of it being killed."""
    from tests.drills import FAST, Processes, patience, wait_for

    ttl = 20
    app = make_app(REDIS_URL=redis_url, WORKER_TTL_SECONDS=ttl, **FAST)
    procs = Processes(database_url, redis_url, free_port(), WORKER_TTL_SECONDS=ttl)
    try:
        with app.app_context():
            status, body = health(app)
            assert (status, codes(body)) == (200, ["no_worker"])
            assert body["redis"] == {"configured": True, "ok": True, "live_workers": 0}
            worker = procs.worker()
            wait_for(lambda: health(app)[1]["status"] == "ok", patience(),
                     "the worker to report", progress=lambda: health(app)[1]["reasons"])
            assert health(app)[1]["redis"]["live_workers"] == 1
            Processes.kill_group(worker)  # no chance to unregister: its key outlives it
            wait_for(lambda: codes(health(app)[1]) == ["no_worker"], patience(ttl),
                     "no_worker once the dead worker's heartbeat is older than the TTL",
                     progress=lambda: health(app)[1]["reasons"])
    finally:
        procs.stop_all()
