"""When a failed job runs again and when it is given up, decided by its outbox row alone.

First the rule on the rows (record_failure, expire_leases, horizon), with the whole test's
clock frozen at NOW (time_machine) so every time written is exact: who may record a failure, the
history kept, when the next attempt is due (the back-off, an email still in flight, the
horizon), when the job is given up with its undelivered emails (and how that is logged), and
how the rows of workers that died are taken back.

Then the same rule end to end, as a school sees it: a submission whose email the SMTP server
refuses is retried by the sweep, a job past its horizon is dead until an operator re-drives
it, and a worker that died mid-job has its row run again at the next sweep."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from mentorgroups.extensions import db
from mentorgroups.jobs.ops import backlog, list_jobs, retry_jobs
from mentorgroups.jobs.outbox import sweep
from mentorgroups.jobs.retry import backoff_seconds, expire_leases, horizon, record_failure
from mentorgroups.models import Notification, OutboxJob, SentEmail, utcnow
from tests.conftest import free_port
from tests.factories import school
from tests.outbox_rows import add_unpushed, count, email_jobs, make_due, submit

NOW = datetime(2030, 5, 6, 12, 0, 0, tzinfo=UTC)
CLOCK_START = NOW
HOUR = timedelta(hours=1)


@pytest.fixture
def jobs_app(clock, make_app):
    """Back-off of 60 s doubling per attempt, given up one hour after staging; clock at NOW."""
    app = make_app(JOB_RETRY_BASE_SECONDS=60, JOB_RETRY_MAX_SECONDS=3600,
                   JOB_RETRY_HORIZON_SECONDS=3600)
    with app.app_context():
        yield app


add = add_unpushed


def running(attempts=1, errors=(), created_at=NOW - timedelta(minutes=10),
            give_up_at=NOW + HOUR, locked_until=NOW + timedelta(minutes=5), status="running"):
    """A row a worker is running (attempt `attempts`), its lease still valid."""
    return OutboxJob(name="send_email", queue="emails", payload={"key": "k"}, status=status,
                     attempts=attempts, pushes=attempts, errors=list(errors),
                     created_at=created_at, next_attempt_at=created_at,
                     give_up_at=give_up_at, locked_until=locked_until)


def email(outbox_id, key, status):
    """An email record written by the job of row `outbox_id` (one of its recipients)."""
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


# ---- a failed attempt, on the row --------------------------------------------------------

def test_every_failed_attempt_is_kept_and_the_next_waits_out_the_back_off(jobs_app):
    """Attempt 2 of an email job fails: the error joins the first one in the row's history,
    the row lets go of its lease and is due again after the back-off; Lia's email waits for
    that retry."""
    first = {"at": "2030-05-06T11:50:00+00:00", "attempt": 1,
             "error": "SMTPConnectError: (421, 'Too busy')"}
    [job] = add(running(attempts=2, errors=[first]))
    add(email(job, "lia", "failed"))
    assert record_failure(job, 2, "SMTPDataError: (451, 'Try again later')") == "failed"
    r = row(job)
    assert r.errors == [first, {"at": "2030-05-06T12:00:00+00:00", "attempt": 2,
                                "error": "SMTPDataError: (451, 'Try again later')"}]
    assert (r.status, r.attempts, r.last_error, r.locked_until, r.finished_at) == (
        "failed", 2, "SMTPDataError: (451, 'Try again later')", None, None)
    # second attempt: 120 s, half of it fixed, half jittered
    assert NOW + timedelta(seconds=60) <= r.next_attempt_at <= NOW + timedelta(seconds=120)
    assert email_statuses() == {"lia": "failed"}


def test_a_stale_worker_reporting_an_attempt_already_retried_changes_nothing(jobs_app):
    """Only the attempt still running is recorded: a late report of an earlier attempt, of a
    job already done, or of a row that is gone changes nothing."""
    earlier = {"at": "2030-05-06T11:55:00+00:00", "attempt": 1, "error": "timed out"}
    retried, finished = add(running(attempts=2, errors=[earlier]),
                            running(attempts=1, status="done", locked_until=None))
    before = [state(retried), state(finished)]
    assert record_failure(retried, 1, "late report of attempt 1") is None
    assert record_failure(finished, 1, "late report after it was done") is None
    assert record_failure(10_000_000, 1, "a row that is gone") is None
    assert [state(retried), state(finished)] == before
    assert [row(retried).status, row(finished).status] == ["running", "done"]
    assert row(retried).errors == [earlier]
    assert row(finished).errors == []
    # the worker of the current attempt is still heard
    assert record_failure(retried, 2, "attempt 2 failed") == "failed"
    assert [e["attempt"] for e in row(retried).errors] == [1, 2]


def test_an_email_in_flight_delays_the_retry_only_when_its_claim_ends_after_the_back_off(
        jobs_app):
    """A server still busy with an email (its claim running for another half hour) is waited
    for; a claim ending before the back-off does not shorten it; and no wait goes past the
    job's horizon."""
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


# ---- giving up -----------------------------------------------------------------------------

def test_two_jobs_failing_at_once_only_the_one_past_its_horizon_dies_with_its_emails(
        jobs_app, caplog):
    """Two email jobs fail one after the other. The one past its horizon (on its 7th attempt)
    is given up with its undelivered email, not the one already sent, and is logged as an
    error; the other job, still running meanwhile, is only retried, with a warning."""
    caplog.set_level(logging.INFO, logger="mentorgroups.jobs.retry")
    old, young = add(running(attempts=7, created_at=NOW - 2 * HOUR,
                             give_up_at=NOW - timedelta(seconds=1)),
                     running())
    add(email(old, "old-failed", "failed"), email(old, "old-sent", "sent"),
        email(young, "young-failed", "failed"))

    assert record_failure(old, 7, "refused") == "dead"
    assert state(old) == ("dead", 7, "refused", NOW, None, NOW)
    assert row(young).status == "running"  # the other job is not touched
    assert email_statuses() == {"old-failed": "dead", "old-sent": "sent",
                                "young-failed": "failed"}

    assert record_failure(young, 1, "refused") == "failed"
    assert row(young).finished_at is None
    assert email_statuses() == {"old-failed": "dead", "old-sent": "sent",
                                "young-failed": "failed"}
    assert [(r.levelname, r.getMessage().split(" (")[0]) for r in caplog.records] == [
        ("ERROR", f"job {old} attempt 7 failed"),
        ("WARNING", f"job {young} attempt 1 failed"),
    ]


def test_without_a_recorded_horizon_it_counts_from_when_the_job_was_staged(jobs_app):
    """Rows from before the migration that added give_up_at have none."""
    staged_long_ago, staged_recently = add(
        running(created_at=NOW - 2 * HOUR, give_up_at=None),
        running(created_at=NOW - timedelta(minutes=59, seconds=50), give_up_at=None))
    assert record_failure(staged_long_ago, 1, "refused") == "dead"
    assert record_failure(staged_recently, 1, "refused") == "failed"
    assert [e["error"] for e in row(staged_long_ago).errors] == ["refused"]
    # the retry is never later than one hour after staging
    assert row(staged_recently).next_attempt_at == NOW + timedelta(seconds=10)


def test_a_re_driven_job_lives_until_its_new_horizon_not_its_staging_one(jobs_app):
    """A job an operator re-drove (staged two hours ago, a new horizon an hour from now) is
    retried; one whose horizon has passed dies even though it was staged a minute ago."""
    re_driven, cut_short = add(
        running(attempts=5, created_at=NOW - 2 * HOUR, give_up_at=NOW + HOUR),
        running(created_at=NOW - timedelta(minutes=1), give_up_at=NOW - timedelta(seconds=1)))
    assert record_failure(re_driven, 5, "refused") == "failed"
    assert row(re_driven).finished_at is None
    assert record_failure(cut_short, 1, "refused") == "dead"


def test_a_horizon_without_a_time_counts_from_now(jobs_app):
    assert horizon() == NOW + HOUR
    assert horizon(NOW - HOUR) == NOW
    moment = NOW - timedelta(days=3)
    assert horizon(moment) == moment + HOUR


def test_backoff_grows_exponentially_with_jitter_and_is_capped():
    """10 s, 20 s, 40 s ... up to the cap of 10 minutes, each spread over its upper half so
    a burst of failures does not come back all at once."""
    config = {"JOB_RETRY_BASE_SECONDS": 10, "JOB_RETRY_MAX_SECONDS": 600}
    for attempt, full in ((1, 10), (2, 20), (3, 40), (6, 320), (7, 600), (30, 600)):
        delays = [backoff_seconds(attempt, config) for _ in range(200)]
        assert all(full / 2 <= d <= full for d in delays)
        assert max(delays) - min(delays) > full / 10  # jittered


# ---- workers that died ---------------------------------------------------------------------

def test_only_leases_that_ran_out_are_taken_back(jobs_app):
    """Two workers died (their leases ran out a second and a minute ago): their rows are due
    again now. A live lease and a finished job are left alone, until the live lease too has
    run out."""
    lapsed_at = NOW - timedelta(seconds=1)
    lapsed, also_lapsed, live, finished = add(
        running(locked_until=lapsed_at),
        running(attempts=2, locked_until=NOW - timedelta(seconds=60)),
        running(locked_until=NOW + timedelta(minutes=5)),
        running(status="done", locked_until=None))
    assert expire_leases() == 2
    assert state(lapsed) == (
        "failed", 1, "lease expired at 2030-05-06T11:59:59+00:00: the worker stopped before "
        "finishing this attempt", NOW, None, None)
    assert state(also_lapsed) == (
        "failed", 2, "lease expired at 2030-05-06T11:59:00+00:00: the worker stopped before "
        "finishing this attempt", NOW, None, None)
    assert row(live).status == "running"
    assert row(finished).status == "done"
    assert expire_leases() == 0  # nothing else has run out
    # seen from ten minutes later, the live lease has run out too
    assert expire_leases(NOW + timedelta(minutes=10)) == 1
    assert [row(live).status, row(live).next_attempt_at] == ["failed", NOW]


# ---- end to end: a submission's emails through SMTP, the sweep and an operator ------------

def test_smtp_failure_is_recorded_and_the_sweep_retries_when_due(make_app, smtp_server,
                                                                 caplog):
    """Lia submits while the mail server is down: her teacher's bell rings at once, the
    email is recorded as failed, and once the server is back the sweep sends it, once."""
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port())  # nothing listens there
    with app.app_context():
        s = school()
        submit(s)  # the request still succeeds
        assert count(Notification) == 1  # the bell does not wait for the email
        [job] = email_jobs()
        assert (job.status, job.attempts) == ("failed", 1)
        assert job.next_attempt_at > utcnow()
        assert len(job.errors) == 1 and "refused" in job.errors[0]["error"].lower()
        email = db.session.scalar(select(SentEmail))
        assert email.status == "failed" and "refused" in email.last_error.lower()
        assert "the sweep will retry it" in caplog.text
        assert sweep(app) == 0  # not due yet
        app.config["MAIL_PORT"] = smtp_server.port
        from mentorgroups.extensions import mail

        mail.init_app(app)
        make_due(OutboxJob.id == job.id)
        assert sweep(app) == 1
        [job] = email_jobs()
        assert (job.status, job.attempts, job.last_error) == ("done", 2, None)
        assert len(job.errors) == 1  # the history keeps the failed attempt
        email = db.session.scalar(select(SentEmail).execution_options(populate_existing=True))
        assert (email.status, email.attempts, email.last_error) == ("sent", 2, None)
    assert len(smtp_server.messages) == 1


def test_past_the_horizon_a_job_is_dead_and_can_be_re_driven(make_app, smtp_server):
    """An email job past its horizon is dead, listed for the operator and never swept;
    the operator re-drives it (`flask jobs retry --all-dead`) with a new horizon and it is
    sent."""
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port(), JOB_RETRY_HORIZON_SECONDS=0)
    with app.app_context():
        s = school()
        submit(s)
        [job] = email_jobs()
        assert job.status == "dead"
        assert db.session.scalar(select(SentEmail.status)) == "dead"
        assert [row.id for row in list_jobs("dead")] == [job.id]
        assert backlog()["dead"] == 1
        assert sweep(app) == 0  # a dead row is never picked up by itself
        app.config.update(MAIL_PORT=smtp_server.port, JOB_RETRY_HORIZON_SECONDS=3600)
        from mentorgroups.extensions import mail

        mail.init_app(app)
        assert retry_jobs(all_dead=True) == [job.id]
        [job] = email_jobs()
        assert (job.status, job.attempts, len(job.errors)) == ("done", 2, 1)
        assert job.give_up_at > utcnow() + timedelta(minutes=59)
        assert db.session.scalar(select(SentEmail.status)) == "sent"
    assert len(smtp_server.messages) == 1


def test_an_expired_lease_makes_the_row_due_at_the_next_sweep(app):
    """A worker died mid-job: the operator sees the row stuck, and the next sweep runs it
    again, recording why, without a second email record."""
    s = school()
    submit(s)
    [job] = email_jobs()
    db.session.execute(update(OutboxJob).where(OutboxJob.id == job.id).values(
        status="running", locked_until=utcnow() - timedelta(seconds=1)))
    db.session.execute(update(SentEmail).values(status="failed"))
    db.session.commit()
    assert [row.id for row in list_jobs("stuck")] == [job.id]
    assert sweep(app) == 1
    [job] = email_jobs()
    assert (job.status, job.attempts) == ("done", 2)
    assert "lease expired" in job.errors[0]["error"]
    assert count(SentEmail) == 1


def test_a_runaway_row_keeps_its_first_ten_errors_and_the_latest(app):
    """A row failing without end (an operator retrying a dead job again and again) keeps
    MAX_ERRORS_KEPT errors: its first ten, which say how it began, and the latest."""
    from mentorgroups.extensions import db
    from mentorgroups.jobs import retry
    from mentorgroups.models import OutboxJob

    attempt = retry.MAX_ERRORS_KEPT + 5
    earlier = [{"at": "2026-01-01T00:00:00+00:00", "attempt": n, "error": f"error {n}"}
               for n in range(1, attempt)]
    row = OutboxJob(name="notify_submission", queue="notifications", payload={},
                    status="running", attempts=attempt, errors=earlier)
    db.session.add(row)
    db.session.flush()
    db.session.info.pop("mentorgroups.outbox_ids", None)
    db.session.commit()
    assert retry.record_failure(row.id, attempt, f"error {attempt}") == "failed"
    db.session.expire_all()
    kept = [e["attempt"] for e in db.session.get(OutboxJob, row.id).errors]
    assert len(kept) == retry.MAX_ERRORS_KEPT
    assert kept[:10] == list(range(1, 11))
    assert kept[10:] == list(range(attempt - retry.MAX_ERRORS_KEPT + 11, attempt + 1))
