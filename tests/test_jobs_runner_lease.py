"""Running one outbox row: the run holds a lease while the job works, marks only its own row
done, and commits nothing once the lease was taken back from it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from mentorgroups.extensions import db
from mentorgroups.jobs import registry
from mentorgroups.jobs.runner import current_outbox_id, run_outbox_job
from mentorgroups.models import OutboxJob, SentEmail, utcnow
from tests.outbox_rows import fresh, outbox_row

LEASE = 300


@pytest.fixture
def runner_app(make_app):
    app = make_app(JOB_LEASE_SECONDS=LEASE)
    with app.app_context():
        yield app


@pytest.fixture
def test_job():
    """Registers `test_only_job`, whose body is whatever the test sets as `.body`."""
    saved = dict(registry.JOBS)
    holder = {"body": lambda **payload: None, "seen": []}

    @registry.job("test_only_job")
    def test_only_job(**payload):
        holder["seen"].append(payload)
        holder["body"](**payload)

    yield holder
    registry.JOBS.clear()
    registry.JOBS.update(saved)


def staged(**extra) -> int:
    row = outbox_row("staged", utcnow(), name="test_only_job", **extra)
    db.session.commit()
    return row.id


def elsewhere(outbox_id: int, **values) -> None:
    """What another process (the sweep, another worker) commits meanwhile."""
    with db.engine.begin() as conn:
        conn.execute(update(OutboxJob).where(OutboxJob.id == outbox_id).values(**values))


def test_a_running_job_holds_a_lease_of_job_lease_seconds(runner_app, test_job):
    outbox_id = staged()
    leases = []

    def body():
        with db.engine.connect() as conn:
            leases.append(conn.scalar(OutboxJob.__table__.select().with_only_columns(
                OutboxJob.locked_until).where(OutboxJob.id == current_outbox_id.get())))

    test_job["body"] = body
    before = utcnow()
    assert run_outbox_job(outbox_id) == "done"
    after = utcnow()

    [lease] = leases
    assert before + timedelta(seconds=LEASE) <= lease <= after + timedelta(seconds=LEASE)
    row = fresh(OutboxJob, outbox_id)
    assert (row.status, row.attempts, row.locked_until) == ("done", 1, None)


def test_finishing_marks_only_this_row_done(runner_app, test_job):
    other_worker = outbox_row("running", utcnow(), lease=LEASE, attempts=1,
                              name="test_only_job")
    db.session.commit()
    outbox_id = staged()

    assert run_outbox_job(outbox_id) == "done"
    assert fresh(OutboxJob, other_worker.id).status == "running"


def sends_an_email_while(happens):
    def body():
        happens()
        db.session.add(SentEmail(idempotency_key="lease-test", recipient="lia@example.test",
                                 subject="Your step was reviewed", body="...", status="sent"))
    return body


def test_a_run_whose_lease_the_sweep_took_back_commits_nothing(runner_app, test_job):
    outbox_id = staged()
    test_job["body"] = sends_an_email_while(lambda: elsewhere(
        outbox_id, status="failed", locked_until=None, last_error="lease expired"))

    assert run_outbox_job(outbox_id) == "lease lost"

    row = fresh(OutboxJob, outbox_id)
    assert (row.status, row.finished_at) == ("failed", None)
    assert db.session.query(SentEmail).count() == 0


def test_a_run_whose_row_another_worker_took_again_commits_nothing(runner_app, test_job):
    outbox_id = staged()
    test_job["body"] = sends_an_email_while(lambda: elsewhere(
        outbox_id, status="running", attempts=2, locked_until=utcnow() + timedelta(minutes=5)))

    assert run_outbox_job(outbox_id) == "lease lost"

    row = fresh(OutboxJob, outbox_id)
    assert (row.status, row.attempts, row.finished_at) == ("running", 2, None)
    assert db.session.query(SentEmail).count() == 0
