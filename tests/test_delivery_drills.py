"""Fault drills with the real parts: worker.py and `flask scheduler` processes, Redis, an
aiosmtpd server that refuses or stalls. Each prints expected / delivered / lost / duplicated
and fails on any loss or duplicate.

No drill measures speed: each waits for a condition (the email arrived, the rows settled)
with a deadline derived from the configured intervals plus process start-up (drills.patience),
so a busy machine makes a drill slower, never red. A drill that does time out says what it
was still waiting for."""

from __future__ import annotations

import logging
import os
import signal
import time

import pytest
from sqlalchemy import func, select

from mentorgroups.extensions import db
from mentorgroups.models import OutboxJob, SentEmail
from mentorgroups.services import learning
from tests.conftest import BACKEND, Client
from tests.drills import (
    CYCLE,
    FAST,
    Processes,
    drill_school,
    expected_message_ids,
    notification_count,
    patience,
    tally,
    wait_for,
    wait_settled,
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


def email_attempts() -> int:
    """The most attempts any email job has made so far."""
    db.session.rollback()  # a new snapshot (SQLite keeps the old one)
    return db.session.scalar(select(func.max(OutboxJob.attempts)).where(
        OutboxJob.name == "send_email")) or 0


def test_smtp_refusing_longer_than_the_old_retry_window(make_app, redis_url, smtp_server,
                                                        processes):
    """Old behaviour: 5 attempts over ~7 s with these intervals, then given up for good.
    Now the row keeps retrying until its horizon, and the bell comes first. SMTP refuses
    until some email has been tried a sixth time, however long that takes."""
    app = drill_app(make_app, redis_url, smtp_server)
    with app.app_context():
        _account, staff, people, path = drill_school(learners=2, steps=3, teachers=2)
        smtp_server.refuse_until = float("inf")
        processes.scheduler()
        processes.worker()
        submit_all(people, path)
        expected = expected_message_ids()
        assert len(expected) == 12
        # Every in-app notification exists while SMTP still refuses: none waits for an email.
        wait_for(lambda: notification_count() == 12, patience(CYCLE, jobs=6),
                 "12 in-app notifications",
                 progress=notification_count)
        assert smtp_server.messages == []
        wait_for(lambda: email_attempts() > 5, patience(6 * CYCLE, jobs=12 * 6),
                 "an email tried more often than the old limit of 5", progress=email_attempts)
        db.session.rollback()
        assert db.session.scalar(select(func.count()).select_from(OutboxJob).where(
            OutboxJob.status == "dead")) == 0  # nothing given up while SMTP refused
        assert smtp_server.messages == []
        smtp_server.refuse_until = 0.0
        wait_for(lambda: len(smtp_server.messages) >= len(expected), patience(2 * CYCLE, jobs=12),
                 f"{len(expected)} emails once SMTP accepts",
                 progress=lambda: f"{len(smtp_server.messages)} arrived")
        wait_settled(patience(CYCLE))
        result = tally("smtp 451 until a 6th attempt", expected, smtp_server.messages)
    assert result["lost"] == 0 and result["duplicated"] == 0 and result["unexpected"] == 0


# The mid-send drills give SMTP 3 s per round trip, so the RCPT TO can stall 2.5 s: a wide
# window in which the test, woken by the server itself, kills the sender mid-conversation.
MID_SEND = {"MAIL_TIMEOUT": 3, "JOB_LEASE_SECONDS": 3 * 6 + 5 + 2}


def _one_email_mid_send(app, smtp_server, procs):
    """Submit once (one reviewer); the email's RCPT TO stalls, so the send is in progress
    when the drill kills something. Returns (worker process, expected ids)."""
    _account, _staff, people, path = drill_school(learners=1, steps=1, teachers=1)
    smtp_server.stall_next_rcpt = 2.5  # under MAIL_TIMEOUT: a slow server, not a dead one
    procs.scheduler()
    worker = procs.worker()
    submit_all(people, path)
    wait_for(lambda: smtp_server.rcpt_arrived.wait(0.5), patience(CYCLE, jobs=2),
             "the worker to start sending the email", step=0)
    db.session.rollback()  # a new snapshot (SQLite keeps the old one)
    assert db.session.scalar(select(SentEmail.status)) == "sending"
    return worker, expected_message_ids()


def _redelivered(name: str, smtp_server, expected: set[str], killed_at: float):
    """Wait for the email after a kill; print the tally and how long it took. Returns
    (tally, the email's outbox row)."""
    lease = MID_SEND["JOB_LEASE_SECONDS"]
    wait_for(lambda: smtp_server.messages, patience(lease, CYCLE, jobs=2),
             "the email to arrive after the kill")
    took = time.monotonic() - killed_at
    wait_settled(patience(CYCLE))
    result = tally(name, expected, smtp_server.messages)
    print(f"delivered {took:.1f} s after the kill (lease {lease} s, sweep 1 s)")
    job = db.session.scalar(select(OutboxJob).where(OutboxJob.name == "send_email")
                            .execution_options(populate_existing=True))
    assert result["lost"] == 0 and result["duplicated"] == 0
    return result, job


@pytest.fixture
def mid_send(make_app, database_url, redis_url, smtp_server):
    """The app and its processes with MID_SEND's intervals."""
    procs = Processes(database_url, redis_url, smtp_server.port, **MID_SEND)
    app = drill_app(make_app, redis_url, smtp_server, **MID_SEND)
    yield app, procs
    procs.stop_all()


def test_worker_killed_right_after_taking_a_job(mid_send, smtp_server):
    """The whole worker dies mid-send: the row waits out its lease, then the sweep hands it
    to the worker started in its place."""
    app, procs = mid_send
    with app.app_context():
        worker, expected = _one_email_mid_send(app, smtp_server, procs)
        Processes.kill_group(worker)  # the worker and its work-horse, like a crash
        killed_at = time.monotonic()
        procs.worker()
        _result, job = _redelivered("worker SIGKILLed mid-send", smtp_server, expected,
                                    killed_at)
    assert job.status == "done" and "lease expired" in job.errors[0]["error"]


def test_work_horse_killed_mid_send(mid_send, smtp_server):
    """Only the process running the job dies: its worker hands the row back at once (the
    error says so; a lease running out would say "lease expired") and carries on."""
    app, procs = mid_send
    with app.app_context():
        worker, expected = _one_email_mid_send(app, smtp_server, procs)
        [horse] = Processes.children(worker.pid) or [None]
        assert horse is not None
        os.kill(horse, signal.SIGKILL)  # as the kernel's out-of-memory killer would
        _result, job = _redelivered("work-horse SIGKILLed mid-send", smtp_server, expected,
                                    time.monotonic())
    assert job.status == "done" and "process died" in job.errors[0]["error"]
    assert worker.poll() is None  # the worker itself carried on


# The double kill gives the row a lease far longer than the drill waits: a row that comes
# back at all came back because its worker handed it back, not because the lease ran out.
DOUBLE_KILL = {"MAIL_TIMEOUT": 3, "JOB_LEASE_SECONDS": 900}


def handed_back() -> list[str]:
    """Every error recorded on an email row that says its process died."""
    db.session.rollback()  # a new snapshot (SQLite keeps the old one)
    return [error["error"] for errors in db.session.scalars(
                select(OutboxJob.errors).where(OutboxJob.name == "send_email"))
            for error in errors or [] if "process died" in error["error"]]


def test_two_work_horses_of_one_worker_killed_in_a_row(make_app, database_url, redis_url,
                                                       smtp_server):
    """The job process is killed mid-send twice in one worker's life. Each time the worker
    hands the row back at once. Before job processes dropped the connections they inherited,
    the second hand-back failed ("can't change 'autocommit' now: connection in transaction
    status INTRANS": the killed child had left the shared connection mid-transaction), and
    the row waited out its lease."""
    procs = Processes(database_url, redis_url, smtp_server.port, **DOUBLE_KILL)
    app = drill_app(make_app, redis_url, smtp_server, **DOUBLE_KILL)
    lease = DOUBLE_KILL["JOB_LEASE_SECONDS"]
    try:
        with app.app_context():
            _account, _staff, people, path = drill_school(learners=1, steps=1, teachers=2)
            smtp_server.stall_next_rcpt = 2.5
            procs.scheduler()
            worker = procs.worker()
            submit_all(people, path)
            expected = expected_message_ids()
            assert len(expected) == 2
            for kill in (1, 2):
                wait_for(lambda: smtp_server.rcpt_arrived.wait(0.5),
                         patience(CYCLE, jobs=2), f"the work-horse to be sending (kill {kill})",
                         step=0)
                smtp_server.rcpt_arrived.clear()
                smtp_server.stall_next_rcpt = 2.5 if kill == 1 else 0.0
                [horse] = Processes.children(worker.pid) or [None]
                assert horse is not None
                os.kill(horse, signal.SIGKILL)
                wait_for(lambda kill=kill: len(handed_back()) >= kill, patience(CYCLE, jobs=2),
                         f"the worker to hand back the row after kill {kill} (its lease is "
                         f"{lease} s: waiting for it would mean the hand-back failed)",
                         progress=lambda: f"{len(handed_back())} handed back")
            wait_for(lambda: len(smtp_server.messages) >= len(expected),
                     patience(2 * CYCLE, jobs=6), "both emails after the kills",
                     progress=lambda: f"{len(smtp_server.messages)} arrived")
            wait_settled(patience(CYCLE))
            result = tally("two work-horses killed in a row", expected, smtp_server.messages)
            errors = [error["error"] for errors in db.session.scalars(select(OutboxJob.errors))
                      for error in errors or []]
            handed_back_errors = handed_back()
            worker_carried_on = worker.poll() is None
    finally:
        procs.stop_all()
    assert result["lost"] == 0 and result["duplicated"] == 0 and result["unexpected"] == 0
    assert len(handed_back_errors) == 2 and not [e for e in errors if "lease expired" in e]
    assert worker_carried_on


# The database outage lasts 30 s, as in the drill. An email's claim must outlast it
# (MAIL_TIMEOUT x 6 + 5 = 41 s): a send the server accepted just before the cut is recorded
# when the database is back, before anyone else may send it.
DB_OUTAGE = {"MAIL_TIMEOUT": 6, "JOB_LEASE_SECONDS": 45}
OUTAGE_SECONDS = 30


@pytest.mark.skipif(BACKEND != "postgresql",
                    reason="a TCP proxy cuts the workers off PostgreSQL; SQLite is a local file")
def test_workers_lose_the_database_while_delivering(make_app, database_url, redis_url,
                                                   smtp_server):
    """Two workers and the scheduler reach PostgreSQL through a proxy that the drill cuts for
    OUTAGE_SECONDS while 40 emails are being delivered (open connections dropped, new ones
    turned away); the test itself keeps its own connection. Afterwards every email has
    arrived exactly once, and every process is still running."""
    from sqlalchemy.engine import make_url

    from tests.drills import TcpProxy

    direct = make_url(database_url)
    proxy = TcpProxy((direct.host, direct.port))
    proxied = direct.set(port=proxy.port).render_as_string(hide_password=False)
    procs = Processes(proxied, redis_url, smtp_server.port, **DB_OUTAGE)
    app = drill_app(make_app, redis_url, smtp_server, **DB_OUTAGE)
    lease, claim = DB_OUTAGE["JOB_LEASE_SECONDS"], DB_OUTAGE["MAIL_TIMEOUT"] * 6 + 5
    try:
        with app.app_context():
            _account, _staff, people, path = drill_school(learners=5, steps=4, teachers=2)
            procs.scheduler()
            procs.worker()
            procs.worker()
            # The cut comes as the server accepts the third email, before its sender hears
            # the "250": the worst moment, the email is out and not yet recorded as sent.
            smtp_server.on_accept = lambda count: proxy.cut() if count == 3 else None
            submit_all(people, path)
            expected = expected_message_ids()
            assert len(expected) == 40
            wait_for(proxy.down.is_set, patience(CYCLE, jobs=2 + 20 + 3),
                     "the third email (the cut comes with it)", step=0.05)
            print(f"\ndatabase cut for {OUTAGE_SECONDS} s as the server accepted email 3 "
                  f"of {len(expected)}")
            time.sleep(OUTAGE_SECONDS)  # the fault itself, not a wait for the processes
            proxy.restore()
            # Rows running at the cut wait out their lease; emails claimed then, their claim.
            wait_for(lambda: len(smtp_server.messages) >= len(expected),
                     patience(max(lease, claim), CYCLE, jobs=40 + 20),
                     f"{len(expected)} emails after the database came back",
                     progress=lambda: f"{len(smtp_server.messages)} arrived")
            wait_settled(patience(lease, CYCLE))
            result = tally("database cut for 30 s mid-delivery", expected, smtp_server.messages)
            exited = [proc.args[1:] for proc in procs.procs if proc.poll() is not None]
    finally:
        procs.stop_all()
        proxy.close()
    assert result["lost"] == 0 and result["duplicated"] == 0 and result["unexpected"] == 0
    assert not exited, f"exited while the database was away: {exited}"


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
        # The worker and the scheduler outlived the outage: nobody restarts them here.
        exited = [proc.args[1:] for proc in procs.procs if proc.poll() is not None]
        assert not exited, f"exited when Redis went away: {exited}"
        with app.app_context():
            expected = expected_message_ids()
            assert len(expected) == 100
            wait_for(lambda: len(smtp_server.messages) >= 100, patience(CYCLE, jobs=100 + 100),
                     "100 emails", progress=lambda: f"{len(smtp_server.messages)} arrived")
            wait_settled(patience(CYCLE))
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
            assert sweeper.wait(patience()) == 0
        wait_for(lambda: len(smtp_server.messages) >= 100, patience(CYCLE, jobs=100 + 100),
                 "100 emails", progress=lambda: f"{len(smtp_server.messages)} arrived")
        wait_settled(patience(CYCLE))
        result = tally("2 sweeps + 2 workers, 100 rows", expected, smtp_server.messages)
        db.session.rollback()  # a new snapshot (SQLite keeps the old one)
        rows = db.session.execute(select(OutboxJob.status, OutboxJob.pushes,
                                         OutboxJob.attempts)).all()
    assert result["lost"] == 0 and result["duplicated"] == 0
    assert {tuple(row) for row in rows} == {("done", 1, 1)}  # each pushed once, run once
