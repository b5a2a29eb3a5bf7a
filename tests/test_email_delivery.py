"""A failed send marks its own claim failed, with the reason, and nothing else."""

import pytest
from sqlalchemy import func, select

from mentorgroups.extensions import db
from mentorgroups.models import SentEmail, utcnow
from mentorgroups.services.email import deliver_email


def test_a_failed_send_marks_only_its_own_claim_failed(make_app, smtp_server):
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_server.port)
    with app.app_context():
        deliver_email("earlier", "a@school.test", "Earlier", "sent before")
        smtp_server.refuse_next = 1
        with pytest.raises(Exception, match="Try again later"):
            deliver_email("failing", "b@school.test", "Failing", "refused by the server")
        db.session.rollback()  # as the job runner does: the failure is recorded all the same
        rows = db.session.execute(
            select(SentEmail.idempotency_key, SentEmail.status, SentEmail.attempts,
                   SentEmail.claimed_until, SentEmail.last_error)
            .order_by(SentEmail.id)).all()
        assert [row[:4] for row in rows] == [("earlier", "sent", 1, None),
                                             ("failing", "failed", 1, None)]
        assert rows[0].last_error is None and "Try again later" in rows[1].last_error
        failed_id = db.session.scalar(select(SentEmail.message_id).where(
            SentEmail.idempotency_key == "failing"))
        again = deliver_email("failing", "b@school.test", "Failing", "again")
        assert (again.status, again.attempts, again.last_error) == ("sent", 2, None)
        assert again.message_id == failed_id  # the same message, tried again
        assert db.session.scalar(select(func.count()).select_from(SentEmail)) == 2
    assert [m["to"] for m in smtp_server.messages] == [["a@school.test"], ["b@school.test"]]


def test_a_claim_made_by_another_run_between_look_and_insert_is_refused(app):
    """Two runs look, find no row, and both insert: the unique key lets one win; the other
    raises EmailInFlight (and is retried) instead of sending a second email."""
    from sqlalchemy import event

    from mentorgroups.services.email import EmailInFlight

    def other_run_claims_first(session, flush_context, instances):
        with db.engine.begin() as conn:
            conn.execute(SentEmail.__table__.insert().values(
                idempotency_key="raced", recipient="a@school.test", subject="s", body="b",
                status="sending", created_at=utcnow()))

    event.listen(db.session, "before_flush", other_run_claims_first, once=True)
    with pytest.raises(EmailInFlight, match="claimed by another run") as raced:
        deliver_email("raced", "a@school.test", "Subject", "body")
    # The words the outbox keeps as the job's error, for the admins' screen.
    assert str(raced.value) == "email raced was claimed by another run"
    assert db.session.scalars(select(SentEmail.status)).all() == ["sending"]


def test_the_stored_copy_hides_the_links_the_email_and_the_developers_log_carry(app, caplog,
                                                                                mail_outbox):
    """Without a mail server (`make run`) the email goes to the log, link and all, so a
    developer can follow it; the copy the Sent emails screen shows hides every secret link
    (an empty one, e.g. a digest without an unsubscribe link, hides nothing)."""
    link = "http://127.0.0.1:5000/invite/abc123"
    body = f"Join us: {link}\nSee you there."
    with caplog.at_level("INFO", logger="mentorgroups.services.email"):
        row = deliver_email("invite", "new@school.test", "Join", body, secrets=[link, ""])
    assert row.body == "Join us: [link hidden]\nSee you there."
    assert [m.body for m in mail_outbox] == [body]
    assert [r.getMessage() for r in caplog.records] == [
        f"Email not sent (no MAIL_SERVER): to=new@school.test subject='Join'\n{body}"]
