"""Fault drills with the real parts: worker.py and `flask scheduler` processes, Redis, an
aiosmtpd server that refuses or stalls. Each prints expected / delivered / lost / duplicated
and fails on any loss or duplicate."""

from __future__ import annotations

import logging
import os
import signal
import time

import pytest
from sqlalchemy import select

from mentorgroups.extensions import db
from mentorgroups.models import OutboxJob, SentEmail
from mentorgroups.services import learning
from tests.conftest import BACKEND, Client
from tests.drills import (
    FAST,
    Processes,
    drill_school,
    expected_message_ids,
    notification_count,
    tally,
    wait_for,
)
from tests.factories import PASSWORD

pytestmark = pytest.mark.redis


@pytest.fixture
def processes(database_url, redis_url, smtp_server):
    procs = Processes(database_url, redis_url, smtp_server.port)
    yield procs
    procs.stop_all()


def drill_app(make_app, redis_url, smtp_server, **extra):
    return make_app(REDIS_URL=redis_url, MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_server.port,
                    **{**FAST, **extra})


def submit_all(people, path):
    for person in people:
        for step in path.steps:
            learning.submit_for_review(person, path.account_id, step.id, "my work")
            db.session.commit()


def test_smtp_refusing_longer_than_the_old_retry_window(make_app, redis_url, smtp_server,
                                                        processes):
    """Old behaviour: 5 attempts over ~7 s with these intervals, then given up for good.
    Now the row keeps retrying until its horizon, and the bell comes first."""
    app = drill_app(make_app, redis_url, smtp_server)
    with app.app_context():
        _account, staff, people, path = drill_school(learners=2, steps=3, teachers=2)
        smtp_server.refuse_until = time.monotonic() + 15
        processes.scheduler()
        processes.worker()
        submit_all(people, path)
        expected = expected_message_ids()
        assert len(expected) == 12
        # Every in-app notification exists while SMTP still refuses: none waits for an email.
        assert wait_for(lambda: notification_count() == 12, 10)
        assert smtp_server.messages == [] and time.monotonic() < smtp_server.refuse_until
        wait_for(lambda: len(smtp_server.messages) >= len(expected), 60)
        time.sleep(2)  # anything sent twice would arrive now
        result = tally("smtp 451 for 15 s", expected, smtp_server.messages)
        db.session.rollback()  # a new snapshot (SQLite keeps the old one)
        attempts = db.session.scalars(select(OutboxJob.attempts).where(
            OutboxJob.name == "send_email")).all()
    assert result["lost"] == 0 and result["duplicated"] == 0 and result["unexpected"] == 0
    assert max(attempts) > 5, attempts  # more tries than the old JOB_MAX_ATTEMPTS allowed


def _one_email_mid_send(app, smtp_server, processes):
    """Submit once (one reviewer); the email's RCPT TO stalls, so the send is in progress
    when the drill kills something. Returns (worker process, expected ids)."""
    _account, _staff, people, path = drill_school(learners=1, steps=1, teachers=1)
    smtp_server.stall_next_rcpt = 0.8  # under MAIL_TIMEOUT: a slow server, not a dead one
    processes.scheduler()
    worker = processes.worker()
    submit_all(people, path)

    def sending():
        db.session.rollback()  # a new snapshot (SQLite keeps the old one)
        return db.session.scalar(select(SentEmail.status)) == "sending"

    assert wait_for(sending, 20, step=0.02)
    return worker, expected_message_ids()


def _redelivered(name: str, smtp_server, expected: set[str], killed_at: float):
    """Wait for the email after a kill; print the tally and how long it took. Returns
    (tally, seconds, the email's outbox row)."""
    lease = FAST["JOB_LEASE_SECONDS"]
    wait_for(lambda: smtp_server.messages, lease + 10)
    took = time.monotonic() - killed_at
    time.sleep(2)  # a second copy would arrive now
    result = tally(name, expected, smtp_server.messages)
    print(f"delivered {took:.1f} s after the kill (lease {lease} s, sweep 1 s)")
    job = db.session.scalar(select(OutboxJob).where(OutboxJob.name == "send_email")
                            .execution_options(populate_existing=True))
    assert result["lost"] == 0 and result["duplicated"] == 0
    assert took <= lease + 1 + 3  # within the lease plus one sweep (and process start-up)
    return result, took, job


def test_worker_killed_right_after_taking_a_job(make_app, redis_url, smtp_server, processes):
    app = drill_app(make_app, redis_url, smtp_server)
    with app.app_context():
        worker, expected = _one_email_mid_send(app, smtp_server, processes)
        Processes.kill_group(worker)  # the worker and its work-horse, like a crash
        killed_at = time.monotonic()
        processes.worker()
        _result, _took, job = _redelivered("worker SIGKILLed mid-send", smtp_server,
                                           expected, killed_at)
    assert job.status == "done" and "lease expired" in job.errors[0]["error"]


def test_work_horse_killed_mid_send(make_app, redis_url, smtp_server, processes):
    app = drill_app(make_app, redis_url, smtp_server)
    with app.app_context():
        worker, expected = _one_email_mid_send(app, smtp_server, processes)
        [horse] = Processes.children(worker.pid) or [None]
        assert horse is not None
        os.kill(horse, signal.SIGKILL)  # as the kernel's out-of-memory killer would
        _result, _took, job = _redelivered("work-horse SIGKILLed mid-send", smtp_server,
                                           expected, time.monotonic())
    assert job.status == "done" and "process died" in job.errors[0]["error"]
    assert worker.poll() is None  # the worker itself carried on


def test_redis_down_during_submissions_and_sign_ins(make_app, database_url, private_redis,
                                                    smtp_server, caplog):
    """100 submissions made through the web by 10 learners, each signing in; Redis (this
    test's own server) stops after the first 30 and starts again after 70."""
    caplog.set_level(logging.WARNING)
    app = make_app(REDIS_URL=private_redis.url, RATELIMIT_STORAGE_URI=private_redis.url,
                   LOGIN_RATE_LIMIT="1000/minute", MAIL_SERVER="127.0.0.1",
                   MAIL_PORT=smtp_server.port, **FAST)
    procs = Processes(database_url, private_redis.url, smtp_server.port)
    statuses = []
    try:
        with app.app_context():
            _account, _staff, people, path = drill_school(learners=10, steps=10, teachers=1)
            emails = [(p.email, p.id) for p in people]
            steps = [s.id for s in path.steps]
            path_id = path.id
        procs.scheduler()
        procs.worker()
        made = 0
        for email, _user_id in emails:
            with app.test_client() as raw:
                client = Client(raw)
                if made == 30:
                    private_redis.stop()  # learners 4 to 7 sign in and submit without it
                    statuses.append("stopped")
                if made == 70:
                    private_redis.start()
                    statuses.append("started")
                statuses.append(client.login(email, PASSWORD).status_code)
                for step_id in steps:
                    response = client.post_form(f"/steps/{step_id}/submit",
                                                {"content": f"work {made}"},
                                                token_page=f"/paths/{path_id}")
                    statuses.append(response.status_code)
                    made += 1
        codes = [s for s in statuses if isinstance(s, int)]
        assert codes and max(codes) < 500, statuses
        assert codes.count(302) == 110  # 10 sign-ins and 100 submissions
        assert "falling back to in-memory storage" in caplog.text
        # A worker that lost its Redis exits; its supervisor starts it again.
        for proc in list(procs.procs):
            if proc.poll() is not None:
                procs.worker() if "worker.py" in str(proc.args) else procs.scheduler()
        with app.app_context():
            expected = expected_message_ids()
            assert len(expected) == 100
            wait_for(lambda: len(smtp_server.messages) >= 100, 90)
            time.sleep(2)
            result = tally("redis down during 100 submissions", expected, smtp_server.messages)
    finally:
        procs.stop_all()
    assert result["lost"] == 0 and result["duplicated"] == 0 and result["unexpected"] == 0


@pytest.mark.skipif(BACKEND != "postgresql", reason="row locks race for real on PostgreSQL")
def test_two_sweeps_and_two_workers_race_over_100_staged_rows(make_app, redis_url,
                                                              smtp_server, processes):
    from sqlalchemy import insert

    from mentorgroups.jobs.retry import horizon
    from mentorgroups.models import utcnow
    from mentorgroups.services.smtp import stable_message_id

    app = drill_app(make_app, redis_url, smtp_server)
    with app.app_context():
        now = utcnow()
        keys = [f"race:{n}" for n in range(100)]
        # Core inserts: staged rows nobody has pushed yet (no after-commit push).
        db.session.execute(insert(OutboxJob), [
            {"name": "send_email", "queue": "emails", "status": "staged", "attempts": 0,
             "pushes": 0, "errors": [], "created_at": now, "next_attempt_at": now,
             "give_up_at": horizon(now),
             "payload": {"key": key, "recipient": f"r{n}@race.test", "subject": "race",
                         "body": "race"}} for n, key in enumerate(keys)])
        db.session.commit()
        expected = {stable_message_id(key) for key in keys}
        racers = [processes.sweep_once(), processes.sweep_once(), processes.worker(),
                  processes.worker()]
        for sweeper in racers[:2]:
            assert sweeper.wait(60) == 0
        wait_for(lambda: len(smtp_server.messages) >= 100, 60)
        time.sleep(2)
        result = tally("2 sweeps + 2 workers, 100 rows", expected, smtp_server.messages)
        db.session.rollback()  # a new snapshot (SQLite keeps the old one)
        rows = db.session.execute(select(OutboxJob.status, OutboxJob.pushes,
                                         OutboxJob.attempts)).all()
    assert result["lost"] == 0 and result["duplicated"] == 0
    assert {tuple(row) for row in rows} == {("done", 1, 1)}  # each pushed once, run once
