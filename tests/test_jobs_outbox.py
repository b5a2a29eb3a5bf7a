"""The outbox's own rows: staging one with its cause, pushing exactly the rows asked for (and
only waiting ones), which rows a sweep pushes whatever else fills the table, a push Redis
refused going back to waiting (and nothing else with it), pushes RQ lost being made again,
what the sweep answers (with and without Redis), and a job staged before a savepoint
surviving the savepoint's rollback."""

from __future__ import annotations

from datetime import timedelta

import pytest
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from rq.job import Job
from sqlalchemy import func, insert, select, update

from mentorgroups.extensions import db
from mentorgroups.jobs import outbox, queues
from mentorgroups.jobs.outbox import push_to_queue, repush_lost, stage_job, sweep
from mentorgroups.jobs.queues import enqueue_outbox_job, get_queue, redis_connection, rq_job_id
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


def waiting_in_rq(app, queue="notifications") -> list[str]:
    """The ids of the RQ jobs waiting in `queue`: every push RQ was handed and still holds."""
    return sorted(get_queue(app, queue).job_ids)


def a_batch_of_finished_rows(*statuses):
    """A full sweep batch of rows finished long ago (they are never deleted), taking the
    statuses in turn."""
    long_ago = utcnow() - timedelta(days=30)
    db.session.execute(insert(OutboxJob), [
        {"name": "notify_submission", "queue": "notifications", "payload": GONE,
         "status": statuses[i % len(statuses)], "attempts": 1, "pushes": 1, "errors": [],
         "created_at": long_ago, "next_attempt_at": long_ago, "enqueued_at": long_ago}
        for i in range(outbox.SWEEP_BATCH)])
    db.session.commit()


def finished_rows() -> dict[tuple[str, int], int]:
    """How many finished rows there are with each (status, pushes)."""
    db.session.expire_all()
    return {(status, pushes): n for status, pushes, n in db.session.execute(
        select(OutboxJob.status, OutboxJob.pushes, func.count())
        .where(OutboxJob.status.in_(("done", "dead")))
        .group_by(OutboxJob.status, OutboxJob.pushes))}


# ---- staging, and pushing the rows asked for -----------------------------------------------

def test_a_staged_job_is_a_row_of_the_transaction(app):
    row = stage_job("send_invitation", invitation_id=7, nonce="n")
    assert (row.name, row.queue, row.payload, row.status) == (
        "send_invitation", "emails", {"invitation_id": 7, "nonce": "n"}, "staged")
    assert row in db.session.new
    db.session.rollback()
    assert db.session.scalar(select(OutboxJob.id)) is None


@pytest.mark.redis
def test_pushing_enqueues_only_the_rows_asked_for(make_app, redis_url):
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


# ---- which rows a sweep pushes -------------------------------------------------------------

@pytest.mark.redis
@pytest.mark.parametrize("pass_over_the_outbox", [sweep, push_to_queue],
                         ids=["sweep", "push_to_queue"])
def test_the_sweep_pushes_the_waiting_rows_that_are_due_and_no_row_due_later(
        make_app, redis_url, pass_over_the_outbox):
    """A new job and a retry that are due are handed to RQ, once each; a job delayed, a retry
    not yet due and a finished job are left as they are."""
    app = make_app(REDIS_URL=redis_url)
    with app.app_context():
        ids = add(job("staged", due_in=-300), job("failed", attempts=1, due_in=-1),
                  job("staged", due_in=300), job("failed", attempts=1, due_in=300),
                  job("done", attempts=1, pushes=1, due_in=-300))
        new, retry_due, new_later, retry_later, done = ids
        assert pass_over_the_outbox(app) == 2
        assert status_and_pushes(*ids) == [("enqueued", 1), ("enqueued", 1), ("staged", 0),
                                           ("failed", 0), ("done", 1)]
        assert [in_rq(redis_url, i, 1) for i in ids] == [True, True, False, False, False]
        assert waiting_in_rq(app) == sorted([rq_job_id(new, 1), rq_job_id(retry_due, 1)])
        assert [r.enqueued_at is None for r in rows(*ids)] == [False, False, True, True, True]


@pytest.mark.redis
def test_a_batch_of_finished_rows_never_takes_the_place_of_a_due_one(make_app, redis_url):
    """A whole batch of jobs done or given up long ago (due before it) does not keep a new
    job from being pushed, and none of them is pushed or touched."""
    app = make_app(REDIS_URL=redis_url)
    with app.app_context():
        a_batch_of_finished_rows("done", "done", "dead")
        before = finished_rows()
        [due] = add(job("staged", due_in=-1))
        assert push_to_queue(app) == 1
        assert status_and_pushes(due) == [("enqueued", 1)]
        assert in_rq(redis_url, due, 1) is True
        assert waiting_in_rq(app) == [rq_job_id(due, 1)]
        assert finished_rows() == before


def test_the_sweep_pushes_nothing_and_says_0_while_redis_is_down(make_app):
    app = make_app(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    with app.app_context():
        [due] = add(job("staged", due_in=-60))
        assert sweep(app) == 0
        assert status_and_pushes(due) == [("staged", 0)]
        assert sweep() == 0  # the sweep of the current app, as `flask jobs sweep` runs it
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
    """Redis refuses the push of a new job and a retry right after their commit: both wait,
    still due, for the next sweep, whose push Redis refuses too. A job pushed earlier is not
    touched either time."""
    new, retry, pushed_before = add(job("staged", due_in=-60),
                                    job("failed", attempts=1, due_in=-30),
                                    job("enqueued", pushes=1, due_in=-600, enqueued_ago=600))
    asked = refusing(monkeypatch)
    assert push_to_queue(app, [new, retry]) == 0  # the push after their commit
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
    """Redis restarted empty: a push it lost is made again, under a new number. A push still
    queued, one just made (RQ may not have it yet) and a finished job are left alone."""
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
        assert Job.fetch(rq_job_id(lost, 2), connection=redis_connection(app)).args == (
            lost, 2)
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
        a_batch_of_finished_rows("done")
        before = finished_rows()
        [lost] = add(job("enqueued", pushes=1, enqueued_ago=60))
        assert repush_lost(app) == 1
        assert status_and_pushes(lost) == [("enqueued", 2)]
        assert finished_rows() == before


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


def test_the_commit_hands_over_the_jobs_staged_before_a_rolled_back_savepoint(app, monkeypatch):
    """The commit pushes what the transaction staged: the job staged before a savepoint that
    was rolled back is handed over (with the undone one, whose row the runner finds gone)."""
    handed = []
    monkeypatch.setattr(outbox, "dispatch", lambda ids: handed.append(list(ids)))
    kept = stage_job("notify_submission", **GONE)
    db.session.flush()
    savepoint = db.session.begin_nested()
    undone = stage_job("notify_submission", submission_id=10_000_001)
    db.session.flush()
    undone_id = undone.id
    savepoint.rollback()
    db.session.commit()
    assert handed == [[kept.id, undone_id]]


def test_a_rolled_back_transaction_hands_over_none_of_its_jobs(app, monkeypatch):
    handed = []
    monkeypatch.setattr(outbox, "dispatch", lambda ids: handed.append(list(ids)))
    stage_job("notify_submission", **GONE)
    db.session.flush()
    db.session.rollback()
    later = stage_job("notify_submission", submission_id=10_000_002)
    db.session.commit()
    assert handed == [[later.id]]
