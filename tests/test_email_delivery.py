"""A failed send releases its own claim and nothing else."""

import pytest
from sqlalchemy import select

from mentorgroups.extensions import db
from mentorgroups.models import SentEmail
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
