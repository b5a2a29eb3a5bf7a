"""An email the server accepted is recorded as sent even when the database drops out right
after the server's "250": the record is retried every RECORD_RETRY_SECONDS while the email's
claim lasts (nobody else sends its key before then), and given up, with the error, once the
claim is about to end. The database's failure is simulated on the UPDATE that records the
send (`before_cursor_execute`), as a dropped connection raises it; the pauses are recorded,
not slept."""

from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import event, select
from sqlalchemy.exc import OperationalError

from mentorgroups.extensions import db
from mentorgroups.models import SentEmail, utcnow
from mentorgroups.services import email as email_service


@contextmanager
def record_fails(times: int):
    """The UPDATE that records a sent email fails `times` times, as on a lost connection."""
    left = {"n": times}

    def fail(conn, cursor, statement, parameters, context, executemany):
        if statement.startswith("UPDATE sent_email") and "sent_at" in statement and left["n"]:
            left["n"] -= 1
            raise OperationalError(statement, parameters, ConnectionError("server closed"))

    event.listen(db.engine, "before_cursor_execute", fail)
    try:
        yield left
    finally:
        event.remove(db.engine, "before_cursor_execute", fail)


@pytest.fixture
def pauses(monkeypatch):
    slept: list[float] = []
    monkeypatch.setattr(email_service.time, "sleep", slept.append)
    return slept


def status_of(key: str) -> str:
    db.session.expire_all()
    return db.session.scalar(select(SentEmail.status).where(SentEmail.idempotency_key == key))


def test_a_send_recorded_after_two_failed_tries_is_recorded_once(app, mail_outbox, pauses,
                                                                   caplog):
    with record_fails(2) as left:
        row = email_service.deliver_email("late", "late@school.test", "Hello", "body")
    # No mail server in the test config: the email is "logged" (recorded, not sent over SMTP).
    assert left["n"] == 0 and row.status == "logged" and status_of("late") == "logged"
    assert len(mail_outbox) == 1
    assert pauses == [email_service.RECORD_RETRY_SECONDS] * 2
    warnings = [r.getMessage() for r in caplog.records if "not recorded yet" in r.getMessage()]
    assert len(warnings) == 2 and "retrying until its claim ends" in warnings[0]


def test_the_record_is_given_up_when_the_claim_is_about_to_end(app, pauses):
    """Retrying past the claim could let a second run send the key again while this one
    still waits: the error goes to the job (retried later), without a pause."""
    row = SentEmail(idempotency_key="ending", recipient="e@school.test", subject="s", body="b",
                    status="sending", attempts=1, message_id="<ending@school.test>")
    db.session.add(row)
    db.session.commit()
    mine = [SentEmail.id == row.id]
    values = dict(status="sent", sent_at=utcnow(), claimed_until=None, last_error=None)
    soon = utcnow() + timedelta(seconds=email_service.RECORD_RETRY_SECONDS / 2)
    with record_fails(1), pytest.raises(OperationalError):
        email_service._record_sent(mine, soon, values)
    with record_fails(1), pytest.raises(OperationalError):
        email_service._record_sent(mine, None, values)  # no claim known: nothing to wait for
    assert pauses == [] and status_of("ending") == "sending"
    later = utcnow() + timedelta(minutes=1)
    with record_fails(1):
        email_service._record_sent(mine, later, values)
    assert pauses == [email_service.RECORD_RETRY_SECONDS] and status_of("ending") == "sent"
