"""What an operator reads from the outbox rows themselves (`flask jobs list --status stuck`,
`flask jobs status`, `GET /healthz`) and what `flask jobs retry` re-drives: exact rows, exact
counts, exact ages, built from rows in the states the outbox leaves them in."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mentorgroups.extensions import db
from mentorgroups.jobs import ops
from mentorgroups.models import OutboxJob, utcnow
from tests.outbox_rows import email_of as email
from tests.outbox_rows import outbox_row as job
from tests.outbox_rows import statuses

STALE = 600  # OUTBOX_STALE_SECONDS: ten minutes late counts as stuck
HORIZON = 3600


@pytest.fixture
def ops_app(make_app):
    app = make_app(OUTBOX_STALE_SECONDS=STALE, JOB_RETRY_HORIZON_SECONDS=HORIZON)
    with app.app_context():
        yield app


def test_stuck_jobs_are_expired_leases_and_rows_late_by_more_than_the_stale_time(ops_app):
    now = utcnow()
    worker_died = job("running", now, created=-7200, due=-7200, pushed=-7200, lease=-60)
    still_working = job("running", now, created=-7200, due=-7200, pushed=-7200, lease=300)
    lost_by_rq = job("enqueued", now, created=-3600, due=-3600, pushed=-3600)
    just_pushed = job("enqueued", now, created=-60, due=-60, pushed=-60)
    retry_overdue = job("failed", now, created=-7200, due=-3600, pushed=-7200, attempts=1)
    retry_due_a_minute_ago = job("failed", now, created=-900, due=-60, pushed=-900, attempts=1)
    retry_due_later = job("failed", now, created=-7200, due=600, pushed=-7200, attempts=1)
    never_pushed = job("staged", now, created=-1800, due=-1800)
    finished_long_ago = job("done", now, created=-86400, due=-86400, pushed=-86400)
    given_up = job("dead", now, created=-86400, due=-3600, pushed=-7200)
    db.session.commit()

    stuck = [row.id for row in ops.list_jobs("stuck")]

    # oldest first: two staged two hours ago, then one an hour ago, then half an hour ago
    assert stuck == [worker_died.id, retry_overdue.id, lost_by_rq.id, never_pushed.id]
    assert still_working.id not in stuck and just_pushed.id not in stuck
    assert retry_due_a_minute_ago.id not in stuck and retry_due_later.id not in stuck
    assert finished_long_ago.id not in stuck and given_up.id not in stuck
    assert ops.backlog()["stuck"] == 4


def test_jobs_list_shows_one_state_oldest_first(ops_app):
    now = utcnow()
    newer = job("dead", now, created=-60)
    older = job("dead", now, created=-3600)
    job("failed", now, created=-7200)
    db.session.commit()

    assert [row.id for row in ops.list_jobs("dead")] == [older.id, newer.id]
    assert [row.id for row in ops.list_jobs("dead", limit=1)] == [older.id]


def test_backlog_counts_waiting_rows_due_now_apart_from_those_due_later(ops_app):
    # The backlog as of a moment a day ago, so nothing depends on the clock of the test.
    now = utcnow().replace(microsecond=0) - timedelta(days=1)
    job("staged", now, created=-30, due=-30)
    job("failed", now, created=-7200, due=-3600, attempts=2)
    job("failed", now, created=-10800, due=600, attempts=1)
    job("failed", now, created=-3600, due=7200, attempts=1)
    job("running", now, created=-90, due=-90, pushed=-60, lease=300)
    job("dead", now, created=-14400, due=-7200)
    job("done", now, created=-18000, due=-18000)
    db.session.commit()

    info = ops.backlog(now)

    assert info == {
        "by_status": {
            "staged": {"count": 1, "oldest_age_seconds": 30},
            "failed": {"count": 3, "oldest_age_seconds": 10800},
            "running": {"count": 1, "oldest_age_seconds": 90},
            "dead": {"count": 1, "oldest_age_seconds": 14400},
        },
        "due": 2,
        "oldest_due_at": (now - timedelta(seconds=3600)).isoformat(timespec="seconds"),
        "oldest_due_age_seconds": 3600,
        "next_due_at": (now + timedelta(seconds=600)).isoformat(timespec="seconds"),
        "stuck": 1,
        "dead": 1,
        "failed": 3,
    }


def test_backlog_of_an_idle_outbox_is_all_zero(ops_app):
    now = utcnow()
    job("done", now, created=-60, due=-60)
    db.session.commit()

    assert ops.backlog(now) == {"by_status": {}, "due": 0, "oldest_due_at": None,
                                "oldest_due_age_seconds": None, "next_due_at": None,
                                "stuck": 0, "dead": 0, "failed": 0}


@pytest.fixture
def dispatched(monkeypatch):
    """The ids each retry hands to the runner (RQ or in-process), in order."""
    calls = []
    monkeypatch.setattr(ops, "dispatch", lambda ids: calls.append(list(ids)))
    return calls


def test_retrying_one_dead_job_re_drives_only_it_and_only_its_undelivered_emails(
        ops_app, dispatched):
    now = utcnow()
    chosen = job("dead", now, created=-7200, due=-600, pushed=-3600, attempts=5,
                 finished_at=now - timedelta(seconds=600))
    to_lia = email(chosen, "lia@example.test", "dead")
    to_sam = email(chosen, "sam@example.test", "sent")
    other = job("dead", now, created=-7200, due=-600, pushed=-3600, attempts=5,
                finished_at=now - timedelta(seconds=600))
    others_email = email(other, "ola@example.test", "dead")
    db.session.commit()
    chosen_id, other_id = chosen.id, other.id

    before = utcnow()
    assert ops.retry_jobs([chosen_id]) == [chosen_id]

    assert dispatched == [[chosen_id]]
    assert statuses(chosen, other) == ["staged", "dead"]
    again = db.session.get(OutboxJob, chosen_id)
    assert before <= again.next_attempt_at <= utcnow()
    assert again.give_up_at == again.next_attempt_at + timedelta(seconds=HORIZON)
    assert again.finished_at is None
    assert db.session.get(OutboxJob, other_id).finished_at == now - timedelta(seconds=600)
    assert statuses(to_lia, to_sam, others_email) == ["failed", "sent", "dead"]


def test_retry_leaves_jobs_that_are_neither_failed_nor_dead_alone(ops_app, dispatched):
    now = utcnow()
    finished = job("done", now, created=-60)
    waiting = job("failed", now, created=-3600, due=600, attempts=1)
    sent = email(finished, "lia@example.test", "sent")
    db.session.commit()

    assert ops.retry_jobs([finished.id, 999999]) == []
    assert ops.retry_jobs() == []
    assert dispatched == []
    assert statuses(finished, sent) == ["done", "sent"]

    assert ops.retry_jobs([waiting.id, finished.id]) == [waiting.id]
    assert dispatched == [[waiting.id]]
    assert statuses(waiting, finished) == ["staged", "done"]


def test_retry_all_dead_re_drives_every_dead_job_and_no_other(ops_app, dispatched):
    now = utcnow()
    first = job("dead", now, created=-7200)
    second = job("dead", now, created=-3600)
    waiting = job("failed", now, created=-600, due=600, attempts=1)
    undelivered = [email(first, "lia@example.test", "dead"),
                   email(second, "sam@example.test", "dead")]
    waiting_email = email(waiting, "ola@example.test", "failed")
    db.session.commit()

    assert sorted(ops.retry_jobs(all_dead=True)) == sorted([first.id, second.id])
    assert [sorted(ids) for ids in dispatched] == [sorted([first.id, second.id])]
    assert statuses(first, second, waiting) == ["staged", "staged", "failed"]
    assert statuses(*undelivered, waiting_email) == ["failed", "failed", "failed"]
    assert ops.retry_jobs(all_dead=True) == []
