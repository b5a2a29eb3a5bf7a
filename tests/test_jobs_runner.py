"""The runner and the queues, called directly."""

import pytest

from mentorgroups.jobs.queues import all_queues
from mentorgroups.jobs.runner import run_outbox_job


def test_a_row_that_is_gone_or_not_this_push_is_not_claimed(app):
    from mentorgroups.extensions import db
    from mentorgroups.models import OutboxJob

    assert run_outbox_job(10_000_000) == "not claimed"
    done, enqueued = (OutboxJob(name="notify_submission", queue="notifications",
                                payload={"submission_id": 10_000_000}, status=status,
                                attempts=1, pushes=2) for status in ("done", "enqueued"))
    db.session.add_all([done, enqueued])
    db.session.flush()
    db.session.info.pop("mentorgroups.outbox_ids", None)
    db.session.commit()
    assert run_outbox_job(done.id) == "not claimed"
    assert run_outbox_job(enqueued.id) == "not claimed"  # in-process: only a waiting row
    assert run_outbox_job(enqueued.id, 1) == "not claimed"  # an older push of it
    db.session.expire_all()
    assert [(r.status, r.attempts) for r in (db.session.get(OutboxJob, done.id),
                                             db.session.get(OutboxJob, enqueued.id))] == [
        ("done", 1), ("enqueued", 1)]
    assert run_outbox_job(enqueued.id, 2) == "done"  # the push it was enqueued under
    db.session.expire_all()
    assert db.session.get(OutboxJob, enqueued.id).attempts == 2


def test_the_worker_listens_to_every_queue_with_the_prefix_fan_outs_first(make_app):
    """A worker takes the fan-outs (the bell) before emails: while a mail server refuses,
    email retries never hold back the notification of new work."""
    from mentorgroups.jobs.registry import QUEUES

    app = make_app(REDIS_URL="redis://127.0.0.1:6379/12", RQ_QUEUE_PREFIX="mg-")
    with app.app_context():
        queues = all_queues(app)
        assert [q.name for q in queues] == ["mg-notifications", "mg-digests", "mg-emails",
                                            "mg-default"]
        assert {q.name.removeprefix("mg-") for q in queues} == set(QUEUES)
        assert len({id(q.connection) for q in queues}) == 1  # one connection for all
        app.extensions.pop("mentorgroups.redis").close()


@pytest.mark.redis
def test_a_job_is_enqueued_once_per_push_with_the_lease_as_timeout(make_app, redis_url):
    from mentorgroups.jobs.queues import enqueue_outbox_job

    app = make_app(REDIS_URL=redis_url, JOB_LEASE_SECONDS=321, RQ_QUEUE_PREFIX="mg-")
    with app.app_context():
        job = enqueue_outbox_job(app, 10_000_000, 3, "emails")
        assert (job.id, job.origin, tuple(job.args)) == ("outbox-10000000-3", "mg-emails",
                                                        (10_000_000, 3))
        assert job.func_name == "mentorgroups.jobs.runner.run_outbox_job"
        assert job.timeout == 321
        assert job.retries_left is None  # the outbox row decides retries, not RQ
        app.extensions.pop("mentorgroups.redis").close()


def _marker(key: str):
    from mentorgroups.models import SentEmail

    return SentEmail(idempotency_key=key, recipient=f"{key}@school.test", subject=key, body="b",
                     status="logged", attempts=1, message_id=f"<{key}@school.test>")


def _staged(name: str) -> int:
    from mentorgroups.extensions import db
    from mentorgroups.models import OutboxJob

    row = OutboxJob(name=name, queue="default", payload={}, status="staged")
    db.session.add(row)
    db.session.flush()
    db.session.info.pop("mentorgroups.outbox_ids", None)  # run it here, not at commit
    db.session.commit()
    return row.id


def test_a_job_that_lost_its_lease_leaves_none_of_its_writes_even_after_a_commit(
        app, monkeypatch, caplog):
    """Another worker took the row meanwhile (its attempt moved on): the writes of the job
    that outlived its lease are rolled back there and then, so a later commit of the same
    session (the next job in the worker) cannot save them."""
    from sqlalchemy import func, select, update

    from mentorgroups.extensions import db
    from mentorgroups.jobs.registry import JOBS, JobSpec
    from mentorgroups.jobs.runner import current_outbox_id
    from mentorgroups.models import OutboxJob, SentEmail

    def overtaken():
        db.session.add(_marker("overtaken"))
        db.session.execute(update(OutboxJob).where(OutboxJob.id == current_outbox_id.get())
                           .values(attempts=OutboxJob.attempts + 1))

    monkeypatch.setitem(JOBS, "test_overtaken", JobSpec("test_overtaken", "default", overtaken))
    outbox_id = _staged("test_overtaken")
    assert run_outbox_job(outbox_id) == "lease lost"
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(SentEmail)) == 0
    assert any(f"job {outbox_id} attempt 1 outlived its lease" in r.getMessage()
               for r in caplog.records)


def test_the_running_job_s_id_is_forgotten_when_it_ends(app, monkeypatch):
    """Emails a job sends are filed under it (current_outbox_id); once it ends, whatever the
    worker does next is not."""
    from mentorgroups.jobs.registry import JOBS, JobSpec
    from mentorgroups.jobs.runner import current_outbox_id

    seen = []

    def works():
        seen.append(current_outbox_id.get())

    def fails():
        seen.append(current_outbox_id.get())
        raise RuntimeError("broken")

    monkeypatch.setitem(JOBS, "test_works", JobSpec("test_works", "default", works))
    monkeypatch.setitem(JOBS, "test_fails", JobSpec("test_fails", "default", fails))
    first, second = _staged("test_works"), _staged("test_fails")
    assert run_outbox_job(first) == "done"
    assert current_outbox_id.get() is None
    with pytest.raises(RuntimeError):
        run_outbox_job(second)
    assert current_outbox_id.get() is None and seen == [first, second]
