"""The outbox rows themselves: staging one, and pushing exactly the rows asked for."""

import pytest
from sqlalchemy import select

from mentorgroups.extensions import db
from mentorgroups.jobs.outbox import push_to_queue, stage_job
from mentorgroups.jobs.queues import rq_job_id
from mentorgroups.models import OutboxJob


def test_a_staged_job_is_a_row_of_the_transaction(app):
    row = stage_job("send_invitation", invitation_id=7, nonce="n")
    assert (row.name, row.queue, row.payload, row.status) == (
        "send_invitation", "emails", {"invitation_id": 7, "nonce": "n"}, "staged")
    assert row in db.session.new
    db.session.rollback()
    assert db.session.scalar(select(OutboxJob.id)) is None


@pytest.mark.redis
def test_pushing_enqueues_only_the_rows_asked_for(make_app, redis_url):
    from redis import Redis
    from rq.job import Job

    app = make_app(REDIS_URL=redis_url)
    with app.app_context():
        rows = [OutboxJob(name="notify_submission", queue="notifications",
                          payload={"submission_id": 10_000_000 + i}, status=status)
                for i, status in enumerate(["done", "staged", "staged"])]
        db.session.add_all(rows)
        db.session.flush()
        done, asked, left = rows
        # Written without the outbox's after-commit push, as a crash before it would leave them.
        db.session.info.pop("mentorgroups.outbox_ids", None)
        db.session.commit()
        assert push_to_queue(app, [asked.id]) == 1
        db.session.expire_all()
        assert [(db.session.get(OutboxJob, r.id).status, db.session.get(OutboxJob, r.id).pushes)
                for r in rows] == [("done", 0), ("enqueued", 1), ("staged", 0)]
        assert db.session.get(OutboxJob, asked.id).enqueued_at is not None
        conn = Redis.from_url(redis_url)
        job = Job.fetch(rq_job_id(asked.id, 1), connection=conn)
        assert (tuple(job.args), job.origin) == ((asked.id, 1), "notifications")
        for row in (done, left):
            assert not any(Job.exists(rq_job_id(row.id, push), connection=conn)
                           for push in (0, 1))
        assert push_to_queue(app, [asked.id]) == 0  # already enqueued: not pushed twice
        db.session.expire_all()
        assert db.session.get(OutboxJob, asked.id).pushes == 1
        conn.close()


@pytest.mark.redis
def test_only_a_waiting_row_is_ever_pushed(make_app, redis_url):
    """The row is flipped to 'enqueued' before RQ sees it, so a row that is done, running,
    already enqueued or given up is never pushed again (nor its status touched)."""
    from redis import Redis
    from rq.job import Job

    app = make_app(REDIS_URL=redis_url)
    with app.app_context():
        rows = [OutboxJob(name="notify_submission", queue="notifications",
                          payload={"submission_id": 10_000_000}, status=status, pushes=1)
                for status in ("done", "running", "enqueued", "dead")]
        db.session.add_all(rows)
        db.session.flush()
        db.session.info.pop("mentorgroups.outbox_ids", None)
        db.session.commit()
        assert push_to_queue(app, [r.id for r in rows]) == 0
        db.session.expire_all()
        assert [(db.session.get(OutboxJob, r.id).status, db.session.get(OutboxJob, r.id).pushes)
                for r in rows] == [("done", 1), ("running", 1), ("enqueued", 1), ("dead", 1)]
        conn = Redis.from_url(redis_url)
        assert not any(Job.exists(rq_job_id(r.id, 2), connection=conn) for r in rows)
        conn.close()


def test_the_sweep_uses_the_current_app_when_given_none(app):
    from mentorgroups.jobs.outbox import sweep

    row = OutboxJob(name="notify_submission", queue="notifications",
                    payload={"submission_id": 10_000_000}, status="staged")
    db.session.add(row)
    db.session.flush()
    db.session.info.pop("mentorgroups.outbox_ids", None)
    db.session.commit()
    assert sweep() == 1
    db.session.expire_all()
    assert db.session.get(OutboxJob, row.id).status == "done"  # the submission is gone: 0 sent


def test_the_sweep_runs_only_rows_whose_next_attempt_is_due(app):
    from datetime import timedelta

    from mentorgroups.jobs.outbox import sweep
    from mentorgroups.models import utcnow

    now = utcnow()
    due, later, retry_later, dead = (
        OutboxJob(name="notify_submission", queue="notifications",
                  payload={"submission_id": 10_000_000}, status=status, attempts=attempts,
                  next_attempt_at=now + timedelta(seconds=offset))
        for status, attempts, offset in [("staged", 0, -300), ("staged", 0, 300),
                                         ("failed", 1, 300), ("dead", 3, -300)])
    db.session.add_all([due, later, retry_later, dead])
    db.session.flush()
    db.session.info.pop("mentorgroups.outbox_ids", None)
    db.session.commit()
    assert sweep() == 1
    db.session.expire_all()
    assert [(db.session.get(OutboxJob, r.id).status, db.session.get(OutboxJob, r.id).attempts)
            for r in (due, later, retry_later, dead)] == [
        ("done", 1), ("staged", 0), ("failed", 1), ("dead", 3)]
