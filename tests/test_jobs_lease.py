"""A job's lease, seen from the row: how long a claim lasts, what happens when the row was
taken back (or taken again) while the job ran, and how RQ's copy of a push is recognised and
judged lost."""

from datetime import timedelta

import pytest
from sqlalchemy import update

from mentorgroups.extensions import db
from mentorgroups.jobs import registry
from mentorgroups.jobs.queues import enqueue_outbox_job, parse_rq_job_id, rq_job_id, rq_job_lost
from mentorgroups.jobs.runner import claim, run_outbox_job
from mentorgroups.models import Account, OutboxJob, utcnow


def row(status="staged", attempts=0, pushes=0, name="lease_probe", **payload) -> OutboxJob:
    job = OutboxJob(name=name, queue="default", payload=payload, status=status,
                    attempts=attempts, pushes=pushes)
    db.session.add(job)
    db.session.flush()
    db.session.info.pop("mentorgroups.outbox_ids", None)  # not pushed: run by hand here
    db.session.commit()
    return job


def state(job_id):
    db.session.expire_all()
    job = db.session.get(OutboxJob, job_id)
    return job.status, job.attempts


@pytest.fixture
def probe(app):
    """A job that opens a school, and meanwhile has its row changed by `meanwhile`
    (what a sweep or another worker would do while it runs)."""
    calls = []

    def lease_probe(meanwhile=None, **_):
        db.session.add(Account(name="Probe school", slug=f"probe-{len(calls)}", plan="trial"))
        if meanwhile:
            with db.engine.begin() as conn:
                conn.execute(update(OutboxJob).where(OutboxJob.name == "lease_probe")
                             .values(**meanwhile))
        calls.append(meanwhile)

    registry.JOBS["lease_probe"] = registry.JobSpec(name="lease_probe", queue="default",
                                                    func=lease_probe)
    yield calls
    registry.JOBS.pop("lease_probe", None)


def probe_events() -> int:
    """The schools the probe opened and kept."""
    from sqlalchemy import func, select

    return db.session.scalar(select(func.count()).select_from(Account).where(
        Account.name == "Probe school"))


def test_a_claim_holds_the_row_for_the_configured_lease(app):
    job = row()
    before = utcnow()
    assert claim(job.id, None) == ("lease_probe", {}, 1)
    db.session.expire_all()
    held = db.session.get(OutboxJob, job.id)
    lease = timedelta(seconds=app.config["JOB_LEASE_SECONDS"])
    assert (held.status, held.attempts) == ("running", 1)
    assert before + lease <= held.locked_until <= utcnow() + lease


def test_a_finished_job_marks_its_own_row_done_and_no_other(app, probe):
    job = row()
    other = row(status="running", attempts=1, name="someone_elses")  # another worker's
    assert run_outbox_job(job.id) == "done"
    assert state(job.id) == ("done", 1)
    assert state(other.id) == ("running", 1)
    assert probe_events() == 1


@pytest.mark.parametrize("meanwhile, after", [
    ({"status": "failed"}, ("failed", 1)),  # the sweep took the expired lease back
    ({"attempts": 2}, ("running", 2)),  # ... and another worker took it again
])
def test_a_job_that_outlived_its_lease_keeps_none_of_its_writes(app, probe, meanwhile, after):
    job = row(meanwhile=meanwhile)
    assert run_outbox_job(job.id) == "lease lost"
    assert state(job.id) == after
    assert probe_events() == 0  # rolled back: the attempt that holds the row decides


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
