"""The outbox rows themselves: staging one, and pushing exactly the rows asked for."""

import pytest
from sqlalchemy import select

from mentorgroups.extensions import db
from mentorgroups.jobs.outbox import push_to_queue, stage_job
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
        assert [db.session.get(OutboxJob, r.id).status for r in rows] == [
            "done", "enqueued", "staged"]
        conn = Redis.from_url(redis_url)
        assert Job.exists(f"outbox-{asked.id}", connection=conn)
        assert not Job.exists(f"outbox-{done.id}", connection=conn)
        assert not Job.exists(f"outbox-{left.id}", connection=conn)
        conn.close()


@pytest.mark.redis
def test_a_row_the_worker_finished_first_stays_done(make_app, redis_url):
    """RQ may run the job before the web process marks the row 'enqueued': 'done' wins."""
    app = make_app(REDIS_URL=redis_url)
    with app.app_context():
        row = OutboxJob(name="notify_submission", queue="notifications",
                        payload={"submission_id": 10_000_000}, status="done")
        db.session.add(row)
        db.session.flush()
        db.session.info.pop("mentorgroups.outbox_ids", None)
        db.session.commit()
        assert push_to_queue(app, [row.id]) == 1
        db.session.expire_all()
        assert db.session.get(OutboxJob, row.id).status == "done"


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


def test_the_sweep_leaves_rows_younger_than_the_stale_age(make_app):
    from datetime import timedelta

    from mentorgroups.jobs.outbox import sweep
    from mentorgroups.models import utcnow

    app = make_app(OUTBOX_STALE_SECONDS=120)
    with app.app_context():
        old, fresh = (OutboxJob(name="notify_submission", queue="notifications",
                                payload={"submission_id": 10_000_000}, status="staged",
                                created_at=utcnow() - timedelta(seconds=age))
                      for age in (300, 5))
        db.session.add_all([old, fresh])
        db.session.flush()
        db.session.info.pop("mentorgroups.outbox_ids", None)
        db.session.commit()
        assert sweep(app) == 1
        db.session.expire_all()
        assert (db.session.get(OutboxJob, old.id).status,
                db.session.get(OutboxJob, fresh.id).status) == ("done", "staged")
