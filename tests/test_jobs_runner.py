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
