"""What a failed attempt does to its outbox row, read from the rows themselves: who may record
it, the history kept, when the next attempt is due, when the job is given up (and its
undelivered emails with it), and how leases of dead workers are taken back.

The clock of the retry module is fixed at NOW, so every time written is exact."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from mentorgroups.extensions import db
from mentorgroups.jobs import retry
from mentorgroups.jobs.retry import expire_leases, horizon, record_failure
from mentorgroups.models import OutboxJob, SentEmail
from tests.outbox_rows import add_unpushed

NOW = datetime(2030, 5, 6, 12, 0, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


@pytest.fixture
def jobs_app(make_app, monkeypatch):
    """Back-off of 60 s doubling per attempt, given up one hour after staging; clock at NOW."""
    monkeypatch.setattr(retry, "utcnow", lambda: NOW)
    app = make_app(JOB_RETRY_BASE_SECONDS=60, JOB_RETRY_MAX_SECONDS=3600,
                   JOB_RETRY_HORIZON_SECONDS=3600)
    with app.app_context():
        yield app


add = add_unpushed


def running(attempts=1, errors=(), created_at=NOW - timedelta(minutes=10),
            give_up_at=NOW + HOUR, locked_until=NOW + timedelta(minutes=5), status="running"):
    return OutboxJob(name="send_email", queue="emails", payload={"key": "k"}, status=status,
                     attempts=attempts, pushes=attempts, errors=list(errors),
                     created_at=created_at, next_attempt_at=created_at,
                     give_up_at=give_up_at, locked_until=locked_until)


def email(outbox_id, key, status):
    return SentEmail(idempotency_key=key, recipient=f"{key}@school.test", subject=key, body="b",
                     status=status, attempts=1, outbox_job_id=outbox_id)


def row(outbox_id):
    db.session.expire_all()
    return db.session.get(OutboxJob, outbox_id)


def state(outbox_id):
    r = row(outbox_id)
    return (r.status, r.attempts, r.last_error, r.next_attempt_at, r.locked_until,
            r.finished_at)


def email_statuses():
    db.session.expire_all()
    return {e.idempotency_key: e.status for e in db.session.scalars(select(SentEmail))}


def test_every_failed_attempt_is_kept_and_the_next_waits_out_the_back_off(jobs_app):
    first = {"at": "2030-05-06T11:50:00+00:00", "attempt": 1, "error": "connection refused"}
    [job] = add(running(attempts=2, errors=[first]))
    assert record_failure(job, 2, "451 try again later") == "failed"
    r = row(job)
    assert r.errors == [first, {"at": "2030-05-06T12:00:00+00:00", "attempt": 2,
                                "error": "451 try again later"}]
    assert (r.status, r.attempts, r.last_error, r.locked_until, r.finished_at) == (
        "failed", 2, "451 try again later", None, None)
    # second attempt: 120 s, half of it fixed, half jittered
    assert NOW + timedelta(seconds=60) <= r.next_attempt_at <= NOW + timedelta(seconds=120)


def test_a_stale_worker_reporting_an_attempt_already_retried_changes_nothing(jobs_app):
    earlier = {"at": "2030-05-06T11:55:00+00:00", "attempt": 1, "error": "timed out"}
    retried, finished = add(running(attempts=2, errors=[earlier]),
                            running(attempts=1, status="done", locked_until=None))
    before = [state(retried), state(finished)]
    assert record_failure(retried, 1, "late report of attempt 1") is None
    assert record_failure(finished, 1, "late report after it was done") is None
    assert record_failure(10_000_000, 1, "a row that is gone") is None
    assert [state(retried), state(finished)] == before
    assert row(retried).errors == [earlier]
    assert row(finished).errors == []
    # the worker of the current attempt is still heard
    assert record_failure(retried, 2, "attempt 2 failed") == "failed"
    assert [e["attempt"] for e in row(retried).errors] == [1, 2]


def test_an_email_in_flight_delays_the_retry_only_when_its_claim_ends_after_the_back_off(
        jobs_app):
    long_claim, short_claim, beyond_horizon = add(running(), running(),
                                                  running(give_up_at=NOW + 2 * HOUR))
    assert record_failure(long_claim, 1, "in flight", retry_at=NOW + timedelta(minutes=30)) \
        == "failed"
    assert record_failure(short_claim, 1, "in flight", retry_at=NOW + timedelta(seconds=5)) \
        == "failed"
    assert record_failure(beyond_horizon, 1, "in flight", retry_at=NOW + 3 * HOUR) == "failed"
    assert row(long_claim).next_attempt_at == NOW + timedelta(minutes=30)
    # first attempt: 60 s back-off, at least 30 s of it fixed; the 5 s claim does not shorten it
    assert NOW + timedelta(seconds=30) <= row(short_claim).next_attempt_at \
        <= NOW + timedelta(seconds=60)
    assert row(beyond_horizon).next_attempt_at == NOW + 2 * HOUR  # never past the horizon


def test_two_jobs_failing_at_once_only_the_one_past_its_horizon_dies_with_its_emails(
        jobs_app, caplog):
    caplog.set_level(logging.WARNING, logger="mentorgroups.jobs.retry")
    old, young = add(running(created_at=NOW - 2 * HOUR, give_up_at=NOW - timedelta(seconds=1)),
                     running())
    add(email(old, "old-failed", "failed"), email(old, "old-sent", "sent"),
        email(young, "young-failed", "failed"))
    assert record_failure(old, 1, "refused") == "dead"
    assert record_failure(young, 1, "refused") == "failed"
    assert state(old) == ("dead", 1, "refused", NOW, None, NOW)
    assert row(young).finished_at is None
    assert email_statuses() == {"old-failed": "dead", "old-sent": "sent",
                                "young-failed": "failed"}
    levels = {record.getMessage().split(" ")[1]: record.levelname for record in caplog.records}
    assert levels == {str(old): "ERROR", str(young): "WARNING"}


def test_without_a_recorded_horizon_it_counts_from_when_the_job_was_staged(jobs_app):
    staged_long_ago, staged_recently = add(
        running(created_at=NOW - 2 * HOUR, give_up_at=None),
        running(created_at=NOW - timedelta(minutes=59, seconds=50), give_up_at=None))
    assert record_failure(staged_long_ago, 1, "refused") == "dead"
    assert record_failure(staged_recently, 1, "refused") == "failed"
    # the retry is never later than one hour after staging
    assert row(staged_recently).next_attempt_at == NOW + timedelta(seconds=10)


def test_a_re_driven_job_lives_until_its_new_horizon_not_its_staging_one(jobs_app):
    re_driven, cut_short = add(
        running(created_at=NOW - 2 * HOUR, give_up_at=NOW + HOUR),
        running(created_at=NOW - timedelta(minutes=1), give_up_at=NOW - timedelta(seconds=1)))
    assert record_failure(re_driven, 1, "refused") == "failed"
    assert record_failure(cut_short, 1, "refused") == "dead"


def test_a_horizon_without_a_time_counts_from_now(jobs_app):
    assert horizon() == NOW + HOUR
    assert horizon(NOW - HOUR) == NOW


def test_only_leases_that_ran_out_are_taken_back(jobs_app):
    lapsed_at = NOW - timedelta(seconds=1)
    lapsed, live, finished = add(
        running(locked_until=lapsed_at),
        running(locked_until=NOW + timedelta(minutes=5)),
        running(status="done", locked_until=None))
    assert expire_leases() == 1
    assert state(lapsed) == (
        "failed", 1, "lease expired at 2030-05-06T11:59:59+00:00: the worker stopped before "
        "finishing this attempt", NOW, None, None)
    assert row(live).status == "running"
    assert row(finished).status == "done"
    assert expire_leases() == 0  # nothing else has run out
    # seen from ten minutes later, the live lease has run out too
    assert expire_leases(NOW + timedelta(minutes=10)) == 1
    assert [row(live).status, row(live).next_attempt_at] == ["failed", NOW]
