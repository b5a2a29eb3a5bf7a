"""A failed send releases its own claim and nothing else."""

import pytest
from sqlalchemy import select

from mentorgroups.extensions import db
from mentorgroups.models import SentEmail, utcnow
from mentorgroups.services.email import deliver_email


def test_a_failed_send_removes_only_its_own_claim(make_app, smtp_server):
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_server.port)
    with app.app_context():
        deliver_email("earlier", "a@school.test", "Earlier", "sent before")
        smtp_server.refuse_next = 1
        with pytest.raises(Exception, match="Try again later"):
            deliver_email("failing", "b@school.test", "Failing", "refused by the server")
        rows = db.session.execute(select(SentEmail.idempotency_key, SentEmail.status)).all()
        assert rows == [("earlier", "sent")]
        assert deliver_email("failing", "b@school.test", "Failing", "again").status == "sent"
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
    with pytest.raises(EmailInFlight, match="claimed by another run"):
        deliver_email("raced", "a@school.test", "Subject", "body")
    assert db.session.scalars(select(SentEmail.status)).all() == ["sending"]
