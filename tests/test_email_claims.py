"""Taking the claim on an email that was tried before: a claim another run still holds is left
alone, a race lost between look and update sends nothing, and the retry keeps the message's
identity and the job it belongs to."""

from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import event, select
from sqlalchemy.sql import Update

from mentorgroups.extensions import db
from mentorgroups.jobs.runner import current_outbox_id
from mentorgroups.models import SentEmail, utcnow
from mentorgroups.services.email import EmailInFlight, deliver_email


def earlier(key: str, status: str = "failed", attempts: int = 1, **values) -> SentEmail:
    """An email a previous run already tried."""
    row = SentEmail(idempotency_key=key, recipient=f"{key}@school.test", subject=key, body="b",
                    status=status, attempts=attempts, message_id=f"<{key}@school.test>",
                    **values)
    db.session.add(row)
    db.session.commit()
    return row


def state(key: str) -> tuple:
    db.session.expire_all()
    row = db.session.scalar(select(SentEmail).where(SentEmail.idempotency_key == key))
    return row.status, row.attempts


def test_a_claim_another_run_still_holds_is_left_alone(app, mail_outbox):
    until = utcnow() + timedelta(minutes=2)
    earlier("welcome", status="sending", claimed_until=until)
    with pytest.raises(EmailInFlight, match="being sent by another run") as held:
        deliver_email("welcome", "welcome@school.test", "Welcome", "hello")
    assert abs((held.value.retry_at - until).total_seconds()) < 1  # retried when it ends
    assert mail_outbox == []
    assert state("welcome") == ("sending", 1)


def test_retrying_one_failed_email_leaves_the_other_failed_emails_alone(app, mail_outbox):
    earlier("first")
    earlier("second")
    assert deliver_email("first", "first@school.test", "First", "body").status == "logged"
    assert state("first") == ("logged", 2)
    assert state("second") == ("failed", 1)
    assert [m.recipients for m in mail_outbox] == [["first@school.test"]]


@contextmanager
def another_run_between_look_and_update(**change):
    """`change` made by another connection just before this run's claiming UPDATE."""
    done = []

    def hook(orm_execute_state):
        if isinstance(orm_execute_state.statement, Update) and not done:
            done.append(True)
            with db.engine.begin() as conn:
                conn.execute(SentEmail.__table__.update().where(
                    SentEmail.__table__.c.idempotency_key == "raced").values(**change))

    event.listen(db.session, "do_orm_execute", hook)
    try:
        yield
    finally:
        event.remove(db.session, "do_orm_execute", hook)


def refused_as_claimed_elsewhere():
    with pytest.raises(EmailInFlight, match="claimed by another run"):
        deliver_email("raced", "raced@school.test", "Raced", "body")


def test_a_slow_first_run_that_finished_meanwhile_wins(app, mail_outbox):
    """The first run's claim had expired, but it got its email out and marked it sent (same
    attempt) just before this run's update: this run must not send a second copy."""
    earlier("raced", status="sending", claimed_until=utcnow() - timedelta(seconds=1))
    with another_run_between_look_and_update(status="sent", claimed_until=None):
        refused_as_claimed_elsewhere()
    assert mail_outbox == []
    assert state("raced") == ("sent", 1)


def test_a_retry_that_another_run_made_and_failed_meanwhile_wins(app, mail_outbox):
    """Another run took and failed the retry (attempt 2) between this run's look and update:
    this run's view (attempt 1) is stale, so it sends nothing."""
    earlier("raced")
    with another_run_between_look_and_update(attempts=2):
        refused_as_claimed_elsewhere()
    assert mail_outbox == []
    assert state("raced") == ("failed", 2)


def test_a_retry_keeps_the_message_id_and_notes_the_job_running_it(app, mail_outbox):
    earlier("kept", outbox_job_id=41)
    earlier("moved", outbox_job_id=41)
    legacy = earlier("legacy")
    legacy.message_id = None  # a row from before Message-IDs were kept
    db.session.commit()

    deliver_email("kept", "kept@school.test", "Kept", "body")  # run outside any job
    token = current_outbox_id.set(57)
    try:
        deliver_email("moved", "moved@school.test", "Moved", "body")
        deliver_email("legacy", "legacy@school.test", "Legacy", "body")
    finally:
        current_outbox_id.reset(token)

    rows = {r.idempotency_key: r for r in db.session.scalars(select(SentEmail))}
    assert (rows["kept"].outbox_job_id, rows["kept"].message_id) == (41, "<kept@school.test>")
    assert (rows["moved"].outbox_job_id, rows["moved"].message_id) == (57, "<moved@school.test>")
    assert rows["legacy"].message_id.startswith("<") and rows["legacy"].message_id.endswith(">")
    assert [m.msgId for m in mail_outbox] == ["<kept@school.test>", "<moved@school.test>",
                                              rows["legacy"].message_id]


def test_a_retry_holds_its_claim_where_other_runs_see_it_while_the_email_goes_out(app):
    """The retry's claim is committed before the message is handed over: a second worker
    looking at that moment finds it being sent (attempt 2), not still failed and free to
    take and send a second time."""
    from flask_mail import email_dispatched

    earlier("resent")
    seen = []

    def look(sender, message, **extra):
        with db.engine.connect() as other_run:
            seen.append(tuple(other_run.execute(
                select(SentEmail.status, SentEmail.attempts)
                .where(SentEmail.idempotency_key == "resent")).one()))

    email_dispatched.connect(look)
    try:
        deliver_email("resent", "resent@school.test", "Resent", "body")
    finally:
        email_dispatched.disconnect(look)
    assert seen == [("sending", 2)]
    assert state("resent") == ("logged", 2)


def test_a_sent_email_stays_sent_when_the_job_s_own_writes_are_rolled_back(app, mail_outbox):
    """The job runner rolls back a job whose lease ran out while it worked: the email it sent
    must stay marked sent, or its claim would expire and the retry would send it twice."""
    deliver_email("once", "once@school.test", "Once", "body")
    db.session.rollback()  # what the runner does with a job that lost its lease
    assert state("once") == ("logged", 1)
    deliver_email("once", "once@school.test", "Once", "body")  # the retry
    assert len(mail_outbox) == 1
