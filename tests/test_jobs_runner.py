"""The runner and the queues, called directly."""

import pytest

from mentorgroups.jobs.queues import all_queues
from mentorgroups.jobs.runner import run_outbox_job


def test_a_row_that_is_gone_is_reported_missing(app):
    assert run_outbox_job(10_000_000) == "missing"


def test_the_worker_listens_to_every_queue_with_the_prefix(make_app):
    app = make_app(REDIS_URL="redis://127.0.0.1:6379/12", RQ_QUEUE_PREFIX="mg-")
    with app.app_context():
        queues = all_queues(app)
        assert [q.name for q in queues] == ["mg-emails", "mg-notifications", "mg-digests",
                                            "mg-default"]
        assert len({id(q.connection) for q in queues}) == 1  # one connection for all
        app.extensions.pop("mentorgroups.redis").close()


@pytest.mark.redis
def test_a_job_is_enqueued_with_the_configured_retries(make_app, redis_url):
    from mentorgroups.jobs.queues import enqueue_outbox_job

    app = make_app(REDIS_URL=redis_url, JOB_MAX_ATTEMPTS=3, JOB_RETRY_INTERVALS=[10, 30, 99])
    with app.app_context():
        job = enqueue_outbox_job(app, 10_000_000, "emails")
        assert (job.id, job.origin) == ("outbox-10000000", "emails")
        assert (job.retries_left, job.retry_intervals) == (2, [10, 30])
        once = make_app(REDIS_URL=redis_url, JOB_MAX_ATTEMPTS=1, JOB_RETRY_INTERVALS=[])
        assert enqueue_outbox_job(once, 10_000_001, "default").retries_left is None
