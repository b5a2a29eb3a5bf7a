"""RQ job ids of outbox pushes, and telling whether RQ will still run a push."""

from __future__ import annotations

import pytest

from mentorgroups.extensions import db
from mentorgroups.jobs.queues import enqueue_outbox_job, parse_rq_job_id, rq_job_id, rq_job_lost
from mentorgroups.models import utcnow
from tests.outbox_rows import outbox_row


@pytest.mark.parametrize("job_id, parsed", [
    ("outbox-12-3", (12, 3)),
    (rq_job_id(4071, 1), (4071, 1)),
    ("digest-12-3", None),       # some other RQ job
    ("outbox-12", None),
    ("outbox-x-3", None),
    ("outbox-12-x", None),
    ("outbox--3", None),
])
def test_an_rq_job_id_names_the_outbox_row_and_push(job_id, parsed):
    assert parse_rq_job_id(job_id) == parsed


@pytest.mark.redis
def test_a_push_is_lost_when_rq_no_longer_has_it_waiting(make_app, redis_url):
    from rq.job import JobStatus

    app = make_app(REDIS_URL=redis_url)
    with app.app_context():
        row = outbox_row("enqueued", utcnow(), pushed=-60, queue="emails")
        db.session.commit()
        job = enqueue_outbox_job(app, row.id, 1, "emails")

        assert rq_job_lost(app, row.id, 1) is False
        assert rq_job_lost(app, row.id, 2) is True  # never pushed (or Redis restarted empty)
        job.set_status(JobStatus.FAILED)
        assert rq_job_lost(app, row.id, 1) is True
