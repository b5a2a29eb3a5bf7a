"""The outbox's own rows as the sweep and the pushes leave them: which rows are pushed, a push
Redis refused being undone (and nothing else), pushes RQ lost being made again, what the sweep
answers, and a job staged before a savepoint surviving the savepoint's rollback."""

from __future__ import annotations

from datetime import timedelta

import pytest
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from rq.job import Job
from sqlalchemy import insert, select, update

from mentorgroups.extensions import db
from mentorgroups.jobs import queues
from mentorgroups.jobs.outbox import SWEEP_BATCH, push_to_queue, repush_lost, stage_job, sweep
from mentorgroups.jobs.queues import enqueue_outbox_job, rq_job_id
from mentorgroups.models import OutboxJob, utcnow
from tests.conftest import free_port
from tests.outbox_rows import add_unpushed

GONE = {"submission_id": 10_000_000}  # a submission that is gone: the job sends nothing


def job(status="staged", attempts=0, pushes=0, due_in=-60, enqueued_ago=None):
    now = utcnow()
    return OutboxJob(name="notify_submission", queue="notifications", payload=GONE,
                     status=status, attempts=attempts, pushes=pushes,
                     next_attempt_at=now + timedelta(seconds=due_in),
                     enqueued_at=None if enqueued_ago is None
                     else now - timedelta(seconds=enqueued_ago))


add = add_unpushed


def rows(*ids):
    db.session.expire_all()
    return [db.session.get(OutboxJob, outbox_id) for outbox_id in ids]


def status_and_pushes(*ids):
    return [(r.status, r.pushes) for r in rows(*ids)]


def in_rq(redis_url, outbox_id, push):
    conn = Redis.from_url(redis_url)
    try:
        return Job.exists(rq_job_id(outbox_id, push), connection=conn)
    finally:
        conn.close()


def many_finished_rows(status, **values):
    """A full sweep batch of rows finished long ago (they are never deleted)."""
    long_ago = utcnow() - timedelta(days=30)
    db.session.execute(insert(OutboxJob), [
        {"name": "notify_submission", "queue": "notifications", "payload": GONE,
         "status": status, "attempts": 1, "pushes": 1, "errors": [], "created_at": long_ago,
         "next_attempt_at": long_ago, "enqueued_at": long_ago, **values}
        for _ in range(SWEEP_BATCH)])
    db.session.commit()


# ---- which rows a sweep pushes -------------------------------------------------------------

@pytest.mark.redis
def test_the_sweep_pushes_the_waiting_rows_that_are_due_and_no_row_due_later(make_app,
                                                                             redis_url):
    app = make_app(REDIS_URL=redis_url)
    with app.app_context():
        ids = add(job("staged", due_in=-300), job("failed", attempts=1, due_in=-1),
                  job("staged", due_in=300), job("failed", attempts=1, due_in=300),
                  job("done", attempts=1, pushes=1, due_in=-300))
        new, retry_due, new_later, retry_later, done = ids
        assert sweep(app) == 2
        assert status_and_pushes(*ids) == [("enqueued", 1), ("enqueued", 1), ("staged", 0),
                                           ("failed", 0), ("done", 1)]
        assert [in_rq(redis_url, i, 1) for i in ids] == [True, True, False, False, False]
        assert [r.enqueued_at is None for r in rows(*ids)] == [False, False, True, True, True]


@pytest.mark.redis
def test_a_batch_of_finished_rows_never_takes_the_place_of_a_due_one(make_app, redis_url):
    app = make_app(REDIS_URL=redis_url)
    with app.app_context():
        many_finished_rows("done")
        [due] = add(job("staged", due_in=-1))
        assert push_to_queue(app) == 1
        assert status_and_pushes(due) == [("enqueued", 1)]
        assert in_rq(redis_url, due, 1) is True


def test_the_sweep_pushes_nothing_and_says_0_while_redis_is_down(make_app):
    app = make_app(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    with app.app_context():
        [due] = add(job("staged", due_in=-60))
        assert sweep(app) == 0
        assert status_and_pushes(due) == [("staged", 0)]


# ---- a push Redis refused ------------------------------------------------------------------

def refusing(monkeypatch, before_refusing=lambda outbox_id, push: None):
    """Redis refuses every push (after `before_refusing` had its say); returns the pushes
    asked for."""
    asked = []

    def enqueue(app, outbox_id, push, queue):
        asked.append((outbox_id, push))
        before_refusing(outbox_id, push)
        raise RedisConnectionError("Connection refused")

    monkeypatch.setattr(queues, "enqueue_outbox_job", enqueue)
    return asked


def test_a_push_redis_refused_goes_back_to_waiting_and_leaves_other_pushes_alone(
        app, monkeypatch):
    new, retry, pushed_before = add(job("staged", due_in=-60),
                                    job("failed", attempts=1, due_in=-30),
                                    job("enqueued", pushes=1, due_in=-600, enqueued_ago=600))
    asked = refusing(monkeypatch)
    assert push_to_queue(app) == 0
    # the first refusal leaves every row of the batch waiting, none asked of Redis again
    assert len(asked) == 1 and asked[0] in [(new, 1), (retry, 1)]
    assert status_and_pushes(new, retry, pushed_before) == [
        ("staged", 1), ("failed", 1), ("enqueued", 1)]
    new_row, retry_row, before_row = rows(new, retry, pushed_before)
    assert (new_row.enqueued_at, retry_row.enqueued_at) == (None, None)
    assert before_row.enqueued_at is not None
    # still due: the next sweep pushes them under a new push number
    monkeypatch.undo()
    asked = refusing(monkeypatch)
    assert push_to_queue(app) == 0
    assert len(asked) == 1 and asked[0] in [(new, 2), (retry, 2)]
    assert status_and_pushes(new, retry, pushed_before) == [
        ("staged", 2), ("failed", 2), ("enqueued", 1)]


def test_a_refused_push_does_not_undo_a_newer_push_of_the_same_row(app, monkeypatch):
    [row_id] = add(job("staged", due_in=-60))

    def another_sweep_pushes_it_again(outbox_id, push):
        # Redis answered this push only after its timeout; meanwhile another sweep found the
        # row's job lost and pushed it again (push 2), which Redis accepted.
        with db.engine.begin() as conn:
            conn.execute(update(OutboxJob).where(OutboxJob.id == outbox_id)
                         .values(pushes=push + 1, enqueued_at=utcnow()))

    refusing(monkeypatch, another_sweep_pushes_it_again)
    assert push_to_queue(app, [row_id]) == 0
    assert status_and_pushes(row_id) == [("enqueued", 2)]
    assert rows(row_id)[0].enqueued_at is not None


def test_a_refused_push_that_a_worker_already_took_is_left_running(app, monkeypatch):
    [row_id] = add(job("staged", due_in=-60))

    def a_worker_takes_it(outbox_id, push):
        # Redis stored the job but the answer timed out: a worker already took the row.
        with db.engine.begin() as conn:
            conn.execute(update(OutboxJob).where(OutboxJob.id == outbox_id)
                         .values(status="running", attempts=1,
                                 locked_until=utcnow() + timedelta(minutes=5)))

    refusing(monkeypatch, a_worker_takes_it)
    assert push_to_queue(app, [row_id]) == 0
    [r] = rows(row_id)
    assert (r.status, r.attempts, r.pushes) == ("running", 1, 1)
    assert r.enqueued_at is not None


# ---- pushes RQ lost ------------------------------------------------------------------------

@pytest.mark.redis
def test_only_old_pushes_that_rq_lost_are_pushed_again(make_app, redis_url):
    app = make_app(REDIS_URL=redis_url, OUTBOX_STALE_SECONDS=120)
    with app.app_context():
        ids = add(job("enqueued", pushes=1, enqueued_ago=600),   # Redis restarted empty
                  job("enqueued", pushes=1, enqueued_ago=600),   # still queued in RQ
                  job("enqueued", pushes=1, enqueued_ago=10),    # lost, but just pushed
                  job("done", attempts=1, pushes=1, enqueued_ago=600))
        lost, queued, fresh, done = ids
        enqueue_outbox_job(app, queued, 1, "notifications")
        before = {r.id: r.enqueued_at for r in rows(*ids)}
        assert repush_lost(app) == 1
        assert status_and_pushes(*ids) == [("enqueued", 2), ("enqueued", 1), ("enqueued", 1),
                                           ("done", 1)]
        assert in_rq(redis_url, lost, 2) is True
        after = rows(*ids)
        assert after[0].enqueued_at > before[lost]
        assert [r.enqueued_at for r in after[1:]] == [before[queued], before[fresh],
                                                      before[done]]
        assert [in_rq(redis_url, i, 2) for i in (queued, fresh, done)] == [False] * 3
        assert repush_lost(app) == 0  # push 2 is queued in RQ


@pytest.mark.redis
def test_a_batch_of_finished_rows_never_hides_a_lost_push(make_app, redis_url):
    app = make_app(REDIS_URL=redis_url)
    with app.app_context():
        many_finished_rows("done")
        [lost] = add(job("enqueued", pushes=1, enqueued_ago=60))
        assert repush_lost(app) == 1
        assert status_and_pushes(lost) == [("enqueued", 2)]


@pytest.mark.redis
def test_after_redis_restarted_empty_the_sweep_pushes_the_due_and_the_lost_rows(make_app,
                                                                                redis_url):
    app = make_app(REDIS_URL=redis_url)
    with app.app_context():
        due, lost = add(job("staged", due_in=-5), job("enqueued", pushes=3, enqueued_ago=60))
        assert sweep(app) == 2
        assert status_and_pushes(due, lost) == [("enqueued", 1), ("enqueued", 4)]


# ---- savepoints ----------------------------------------------------------------------------

def test_a_job_staged_before_a_savepoint_runs_although_the_savepoint_was_rolled_back(app):
    kept = stage_job("notify_submission", **GONE)
    db.session.flush()
    savepoint = db.session.begin_nested()
    undone = stage_job("notify_submission", submission_id=10_000_001)
    db.session.flush()
    undone_id = undone.id
    savepoint.rollback()
    db.session.commit()  # no Redis: the job runs in-process after the commit
    db.session.expire_all()
    assert [(r.id, r.status, r.attempts) for r in db.session.scalars(
        select(OutboxJob).order_by(OutboxJob.id))] == [(kept.id, "done", 1)]
    assert db.session.get(OutboxJob, undone_id) is None
