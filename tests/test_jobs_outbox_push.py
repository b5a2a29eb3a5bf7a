"""Pushing outbox rows to RQ: only due waiting rows, whatever else fills the table; a push
Redis refused goes back to waiting (and only that push); pushes RQ lost are pushed again,
not rows just flipped or still queued. And jobs staged before a rolled-back savepoint."""

from __future__ import annotations

from datetime import timedelta

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy import update

from mentorgroups.extensions import db
from mentorgroups.jobs import outbox, queues
from mentorgroups.jobs.outbox import push_to_queue, repush_lost, sweep
from mentorgroups.models import OutboxJob, utcnow
from tests.conftest import free_port
from tests.outbox_rows import fresh, outbox_row


def state(*rows) -> list[tuple]:
    db.session.rollback()
    db.session.expire_all()
    return [(r.status, r.pushes) for r in (db.session.get(OutboxJob, row.id) for row in rows)]


@pytest.fixture
def rq(monkeypatch):
    """RQ as seen by push_to_queue: records each (outbox id, push); `.down_after(n)` makes it
    refuse every push after the first n; `.meanwhile` runs before a refusal."""
    class FakeRQ:
        pushed: list = []
        accept = 10**9
        meanwhile = staticmethod(lambda outbox_id: None)

        def enqueue(self, app, outbox_id, push, queue):
            if len(self.pushed) >= self.accept:
                self.meanwhile(outbox_id)
                raise RedisConnectionError("Connection refused")
            self.pushed.append((outbox_id, push))

    fake = FakeRQ()
    fake.pushed = []
    monkeypatch.setattr(queues, "enqueue_outbox_job", fake.enqueue)
    return fake


def elsewhere(outbox_id: int, **values) -> None:
    with db.engine.begin() as conn:
        conn.execute(update(OutboxJob).where(OutboxJob.id == outbox_id).values(**values))


def test_the_sweep_pushes_waiting_rows_that_are_due_and_not_those_due_later(app, rq):
    now = utcnow()
    new = outbox_row("staged", now, created=-5, due=-5)
    retry_due = outbox_row("failed", now, created=-600, due=-60, attempts=1)
    retry_later = outbox_row("failed", now, created=-600, due=300, attempts=1)
    delayed = outbox_row("staged", now, created=-5, due=300)
    db.session.commit()

    assert push_to_queue(app) == 2

    assert sorted(rq.pushed) == [(new.id, 1), (retry_due.id, 1)]
    assert state(new, retry_due, retry_later, delayed) == [
        ("enqueued", 1), ("enqueued", 1), ("failed", 0), ("staged", 0)]


def test_finished_rows_do_not_crowd_a_due_row_out_of_the_sweeps_batch(app, rq, monkeypatch):
    monkeypatch.setattr(outbox, "SWEEP_BATCH", 2)
    now = utcnow()
    finished = [outbox_row(status, now, created=-3600, due=-3600)
                for status in ("done", "done", "dead")]
    due = outbox_row("staged", now, created=-5, due=-5)
    db.session.commit()

    assert push_to_queue(app) == 1
    assert rq.pushed == [(due.id, 1)]
    assert state(*finished) == [("done", 0), ("done", 0), ("dead", 0)]


def test_rows_redis_refused_wait_for_the_next_sweep_and_no_other_row_is_touched(app, rq):
    rq.accept = 0
    now = utcnow()
    new = outbox_row("staged", now, created=-5, due=-5)
    retry = outbox_row("failed", now, created=-600, due=-60, attempts=1)
    pushed_before = outbox_row("enqueued", now, created=-600, due=-600, pushed=-30)
    db.session.commit()

    assert push_to_queue(app, [new.id, retry.id]) == 0

    assert state(new, retry, pushed_before) == [
        ("staged", 1), ("failed", 1), ("enqueued", 1)]
    assert (fresh(OutboxJob, new.id).enqueued_at, fresh(OutboxJob, retry.id).enqueued_at) == (
        None, None)


def test_a_push_a_worker_took_although_redis_answered_too_late_is_left_running(app, rq):
    rq.accept = 0
    rq.meanwhile = lambda outbox_id: elsewhere(
        outbox_id, status="running", attempts=1, locked_until=utcnow() + timedelta(minutes=5))
    row = outbox_row("staged", utcnow(), created=-5, due=-5)
    db.session.commit()

    assert push_to_queue(app, [row.id]) == 0
    assert state(row) == [("running", 1)]


def test_a_row_pushed_again_by_another_sweep_meanwhile_keeps_that_push(app, rq):
    rq.accept = 0
    rq.meanwhile = lambda outbox_id: elsewhere(outbox_id, pushes=OutboxJob.pushes + 1)
    row = outbox_row("staged", utcnow(), created=-5, due=-5)
    db.session.commit()

    assert push_to_queue(app, [row.id]) == 0
    assert state(row) == [("enqueued", 2)]


@pytest.fixture
def redis_app(make_app, redis_url):
    app = make_app(REDIS_URL=redis_url, OUTBOX_STALE_SECONDS=600)
    with app.app_context():
        yield app


@pytest.mark.redis
def test_pushes_rq_lost_are_pushed_again_and_nothing_else(redis_app):
    from rq.job import Job

    from mentorgroups.jobs.queues import enqueue_outbox_job, redis_connection, rq_job_id

    now = utcnow()
    finished = outbox_row("done", now, created=-7200, pushed=-3600)
    lost = outbox_row("enqueued", now, created=-7200, pushed=-3600)  # Redis restarted empty
    queued = outbox_row("enqueued", now, created=-7200, pushed=-3600)
    just_flipped = outbox_row("enqueued", now, created=-5, pushed=-1)  # RQ not told yet
    db.session.commit()
    enqueue_outbox_job(redis_app, queued.id, 1, "default")

    assert repush_lost(redis_app) == 1

    assert state(finished, lost, queued, just_flipped) == [
        ("done", 1), ("enqueued", 2), ("enqueued", 1), ("enqueued", 1)]
    assert Job.fetch(rq_job_id(lost.id, 2), connection=redis_connection(redis_app)).args == (
        lost.id, 2)


@pytest.mark.redis
def test_finished_rows_do_not_crowd_a_lost_push_out_of_the_sweeps_batch(redis_app,
                                                                     monkeypatch):
    monkeypatch.setattr(outbox, "SWEEP_BATCH", 1)
    now = utcnow()
    finished = outbox_row("done", now, created=-7200, pushed=-3600)
    lost = outbox_row("enqueued", now, created=-7200, pushed=-3600)
    db.session.commit()

    assert repush_lost(redis_app) == 1
    assert state(finished, lost) == [("done", 1), ("enqueued", 2)]


def test_while_redis_is_down_the_sweep_pushes_nothing_and_says_so(make_app):
    app = make_app(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    with app.app_context():
        row = outbox_row("staged", utcnow(), created=-60, due=-60)
        db.session.commit()

        assert sweep() == 0
        assert state(row) == [("staged", 0)]
