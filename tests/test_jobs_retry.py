"""When a failed attempt runs again and when a job is given up (record_failure), and taking
back the rows of workers that died (expire_leases): decided by the outbox row alone."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from mentorgroups.extensions import db
from mentorgroups.jobs.retry import expire_leases, horizon, record_failure
from mentorgroups.models import OutboxJob, utcnow
from tests.outbox_rows import email_of, fresh, outbox_row, statuses

BASE, HORIZON = 60, 24 * 3600
FIRST_ERROR = {"at": "2026-03-02T09:00:00+00:00", "attempt": 1,
               "error": "SMTPConnectError: (421, 'Too busy')"}


@pytest.fixture
def retry_app(make_app):
    app = make_app(JOB_RETRY_BASE_SECONDS=BASE, JOB_RETRY_MAX_SECONDS=3600,
                   JOB_RETRY_HORIZON_SECONDS=HORIZON)
    with app.app_context():
        yield app


def running(now, attempts: int = 1, give_up_in: int | None = HORIZON, **extra) -> OutboxJob:
    """A row a worker is running (attempt `attempts`), its lease still valid."""
    return outbox_row("running", now, created=-60, due=-60, pushed=-60, lease=120,
                      attempts=attempts, give_up_at=None if give_up_in is None
                      else now + timedelta(seconds=give_up_in), **extra)


def test_a_failed_attempt_joins_the_history_and_runs_again_after_the_back_off(retry_app):
    now = utcnow()
    row = running(now, attempts=2, errors=[FIRST_ERROR])
    still_failing = email_of(row, "lia@example.test", "failed")
    db.session.commit()

    before = utcnow()
    assert record_failure(row.id, 2, "SMTPDataError: (451, 'Try again later')") == "failed"

    row = fresh(OutboxJob, row.id)
    assert row.status == "failed"
    assert [e["error"] for e in row.errors] == [
        FIRST_ERROR["error"], "SMTPDataError: (451, 'Try again later')"]
    assert row.errors[1]["attempt"] == 2
    assert row.last_error == "SMTPDataError: (451, 'Try again later')"
    # attempt 2: 120 s, half fixed and half random
    assert before + timedelta(seconds=60) <= row.next_attempt_at <= utcnow() + timedelta(
        seconds=120)
    assert (row.locked_until, row.finished_at) == (None, None)
    assert statuses(still_failing) == ["failed"]


def test_a_server_asking_to_wait_longer_than_the_back_off_is_obeyed_but_not_a_shorter_wait(
        retry_app):
    now = utcnow()
    asks_half_an_hour, asks_five_seconds = running(now), running(now)
    db.session.commit()
    half_an_hour = now + timedelta(minutes=30)

    assert record_failure(asks_half_an_hour.id, 1, "EmailInFlight", retry_at=half_an_hour) \
        == "failed"
    before = utcnow()
    assert record_failure(asks_five_seconds.id, 1, "EmailInFlight",
                          retry_at=now + timedelta(seconds=5)) == "failed"

    assert fresh(OutboxJob, asks_half_an_hour.id).next_attempt_at == half_an_hour
    # attempt 1: between 30 and 60 s
    assert fresh(OutboxJob, asks_five_seconds.id).next_attempt_at >= before + timedelta(
        seconds=30)


def test_past_its_horizon_a_job_dies_with_its_undelivered_emails_only(retry_app):
    now = utcnow()
    row = running(now, attempts=7, give_up_in=-1)
    undelivered = email_of(row, "lia@example.test", "failed")
    delivered = email_of(row, "sam@example.test", "sent")
    other = running(now)
    others_email = email_of(other, "ola@example.test", "failed")
    db.session.commit()

    before = utcnow()
    assert record_failure(row.id, 7, "SMTPRecipientsRefused") == "dead"

    row = fresh(OutboxJob, row.id)
    assert row.status == "dead"
    assert before <= row.finished_at <= utcnow()
    assert statuses(undelivered, delivered, other, others_email) == [
        "dead", "sent", "running", "failed"]


def test_a_job_re_driven_by_an_operator_has_the_new_horizon_not_the_one_from_staging(
        retry_app):
    now = utcnow()
    re_driven = running(now, attempts=5, give_up_in=3600,
                        created_at=now - timedelta(days=2))
    db.session.commit()

    assert record_failure(re_driven.id, 5, "timed out") == "failed"
    assert fresh(OutboxJob, re_driven.id).finished_at is None


def test_a_row_staged_before_horizons_were_kept_gives_up_a_horizon_after_staging(retry_app):
    """Rows from before the migration that added give_up_at have none."""
    now = utcnow()
    old = running(now, give_up_in=None, created_at=now - timedelta(days=2))
    recent = running(now, give_up_in=None)
    db.session.commit()

    assert record_failure(old.id, 1, "timed out") == "dead"  # a day after it was staged
    assert record_failure(recent.id, 1, "timed out") == "failed"
    assert [e["error"] for e in fresh(OutboxJob, old.id).errors] == ["timed out"]


def test_only_the_attempt_still_running_is_recorded(retry_app):
    now = utcnow()
    finished = outbox_row("done", now, attempts=1)
    newer_attempt = running(now, attempts=3)
    db.session.commit()

    assert record_failure(10_000_000, 1, "gone") is None
    assert record_failure(finished.id, 1, "too late") is None
    assert record_failure(newer_attempt.id, 2, "an older attempt") is None
    assert statuses(finished, newer_attempt) == ["done", "running"]
    assert fresh(OutboxJob, newer_attempt.id).errors == []


def test_the_rows_of_workers_whose_lease_ran_out_are_due_again_now(retry_app):
    now = utcnow()
    died = outbox_row("running", now, created=-600, lease=-60, attempts=1)
    also_died = outbox_row("running", now, created=-600, lease=-1, attempts=2)
    still_working = outbox_row("running", now, created=-600, lease=300, attempts=1)
    db.session.commit()

    before = utcnow()
    assert expire_leases() == 2

    assert statuses(died, also_died, still_working) == ["failed", "failed", "running"]
    row = fresh(OutboxJob, died.id)
    assert before <= row.next_attempt_at <= utcnow()
    lease = (now - timedelta(seconds=60)).isoformat(timespec="seconds")
    assert row.last_error == (f"lease expired at {lease}: the worker stopped before "
                              "finishing this attempt")
    # As of a moment after the last lease ends, that one is taken back too.
    assert expire_leases(now + timedelta(minutes=10)) == 1
    assert statuses(still_working) == ["failed"]


def test_the_horizon_starts_now_unless_told_otherwise(retry_app):
    before = utcnow()
    assert before + timedelta(seconds=HORIZON) <= horizon() <= utcnow() + timedelta(
        seconds=HORIZON)
    moment = before - timedelta(days=3)
    assert horizon(moment) == moment + timedelta(seconds=HORIZON)


def test_a_job_given_up_is_logged_as_an_error_and_a_failed_attempt_as_a_warning(
        retry_app, caplog):
    caplog.set_level(logging.INFO, logger="mentorgroups.jobs.retry")
    now = utcnow()
    retried, given_up = running(now), running(now, give_up_in=-1)
    db.session.commit()

    record_failure(retried.id, 1, "SMTPDataError: (451, 'Try again later')")
    record_failure(given_up.id, 1, "SMTPRecipientsRefused")

    assert [(r.levelname, r.getMessage().split(" (")[0]) for r in caplog.records] == [
        ("WARNING", f"job {retried.id} attempt 1 failed"),
        ("ERROR", f"job {given_up.id} attempt 1 failed"),
    ]
