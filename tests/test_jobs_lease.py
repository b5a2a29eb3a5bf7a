"""A job's lease, seen from the row: a run claims its row and holds it JOB_LEASE_SECONDS while
the job works, marks only its own row done (with the job's writes), and commits nothing once
the row was taken back (or taken again) meanwhile; and how RQ's copy of a push is recognised
and judged lost."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from mentorgroups.extensions import db
from mentorgroups.jobs import registry
from mentorgroups.jobs.queues import enqueue_outbox_job, parse_rq_job_id, rq_job_id, rq_job_lost
from mentorgroups.jobs.runner import claim, current_outbox_id, run_outbox_job
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


def sends_an_email_while(happens=lambda: None):
    """A job body that records an email (its own write), after `happens` happened."""
    def body():
        happens()
        db.session.add(SentEmail(idempotency_key="lease-test", recipient="lia@example.test",
                                 subject="Your step was reviewed", body="...", status="sent"))
    return body


def emails_kept() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(SentEmail))


def test_a_running_job_holds_its_row_for_job_lease_seconds_and_lets_go_when_done(runner_app,
                                                                                  test_job):
    """A worker first claims the row for one attempt: it is 'running', held for the
    configured lease (300 s here), seen as such by everybody while the job works; done, the
    row keeps no lease."""
    claimed = staged()
    before = utcnow()
    assert claim(claimed, None) == ("test_only_job", {}, 1)
    held = fresh(OutboxJob, claimed)
    lease = timedelta(seconds=runner_app.config["JOB_LEASE_SECONDS"])
    assert (held.status, held.attempts) == ("running", 1)
    assert before + lease <= held.locked_until <= utcnow() + lease

    outbox_id = staged()
    seen_meanwhile = []

    def body():
        with db.engine.connect() as conn:
            seen_meanwhile.append(conn.execute(
                select(OutboxJob.status, OutboxJob.attempts, OutboxJob.locked_until)
                .where(OutboxJob.id == current_outbox_id.get())).one())

    test_job["body"] = body
    before = utcnow()
    assert run_outbox_job(outbox_id) == "done"
    after = utcnow()

    [(status, attempts, lease_end)] = seen_meanwhile
    assert (status, attempts) == ("running", 1)
    assert before + timedelta(seconds=LEASE) <= lease_end <= after + timedelta(seconds=LEASE)
    row = fresh(OutboxJob, outbox_id)
    assert (row.status, row.attempts, row.locked_until) == ("done", 1, None)


def test_a_finished_job_marks_its_own_row_done_and_no_other(runner_app, test_job):
    """Another worker's row, running meanwhile, stays running; the job's own email is kept."""
    other_worker = outbox_row("running", utcnow(), lease=LEASE, attempts=1,
                              name="test_only_job")
    db.session.commit()
    outbox_id = staged()
    test_job["body"] = sends_an_email_while()

    assert run_outbox_job(outbox_id) == "done"

    mine, others = fresh(OutboxJob, outbox_id), fresh(OutboxJob, other_worker.id)
    assert (mine.status, mine.attempts) == ("done", 1)
    assert (others.status, others.attempts) == ("running", 1)
    assert emails_kept() == 1


@pytest.mark.parametrize("meanwhile, after", [
    # the sweep took the expired lease back
    (lambda: {"status": "failed", "locked_until": None, "last_error": "lease expired"},
     ("failed", 1, None)),
    # ... and another worker took it again
    (lambda: {"status": "running", "attempts": 2,
              "locked_until": utcnow() + timedelta(minutes=5)},
     ("running", 2, None)),
], ids=["taken_back_by_the_sweep", "taken_again_by_another_worker"])
def test_a_job_that_outlived_its_lease_keeps_none_of_its_writes(runner_app, test_job,
                                                              meanwhile, after):
    """The attempt that holds the row decides: the late run's email is rolled back and the
    row is left as the sweep (or the other worker) made it."""
    outbox_id = staged()
    test_job["body"] = sends_an_email_while(lambda: elsewhere(outbox_id, **meanwhile()))

    assert run_outbox_job(outbox_id) == "lease lost"

    row = fresh(OutboxJob, outbox_id)
    assert (row.status, row.attempts, row.finished_at) == after
    assert emails_kept() == 0


def test_rq_job_ids_name_the_row_and_the_push():
    assert rq_job_id(12, 3) == "outbox-12-3"
    assert parse_rq_job_id("outbox-12-3") == (12, 3)
    for foreign in ("rq-12-3", "outbox-x-3", "outbox-12-", "outbox-12-x", "outbox--3", ""):
        assert parse_rq_job_id(foreign) is None, foreign


@pytest.mark.redis
def test_a_push_is_lost_when_rq_no_longer_means_to_run_it(make_app, redis_url):
    from rq.job import JobStatus

    app = make_app(REDIS_URL=redis_url, RQ_QUEUE_PREFIX="mg-lease-")
    with app.app_context():
        assert rq_job_lost(app, 10_000_000, 1) is True  # never pushed, or expired
        pushed = enqueue_outbox_job(app, 10_000_000, 2, "emails")
        assert rq_job_lost(app, 10_000_000, 2) is False  # waiting in its queue
        assert rq_job_lost(app, 10_000_000, 1) is True  # an older push
        for status, lost in ((JobStatus.DEFERRED, False), (JobStatus.SCHEDULED, False),
                             (JobStatus.STARTED, True), (JobStatus.FAILED, True),
                             (JobStatus.STOPPED, True)):
            pushed.set_status(status)
            assert rq_job_lost(app, 10_000_000, 2) is lost, status
        app.extensions.pop("mentorgroups.redis").close()
