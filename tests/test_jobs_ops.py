"""What operators and school admins see of delivery: `flask jobs list|show|retry|status`,
undelivered emails under Sent emails, and sign-in without Redis (`GET /healthz`:
test_health.py)."""

from __future__ import annotations

import logging

from sqlalchemy import select

from mentorgroups.extensions import db
from mentorgroups.models import OutboxJob, SentEmail
from mentorgroups.services import learning
from tests.conftest import Client, free_port
from tests.factories import PASSWORD, school


def failing_school(app):
    """A school whose one email could not be sent (nothing listens on MAIL_PORT)."""
    s = school()
    learning.submit_for_review(s.learner, s.account.id, s.path.steps[1].id, "work")
    db.session.commit()
    job = db.session.scalar(select(OutboxJob).where(OutboxJob.name == "send_email"))
    return s, job


def test_jobs_commands_list_show_and_re_drive_dead_jobs(make_app, smtp_server):
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port(), JOB_RETRY_HORIZON_SECONDS=0)
    runner = app.test_cli_runner()
    with app.app_context():
        _s, job = failing_school(app)
        assert job.status == "dead"
        out = runner.invoke(args=["jobs", "list", "--status", "dead"]).output
        assert f"#{job.id} send_email [dead] attempts 1" in out
        assert "refused" in out.lower()
        assert runner.invoke(args=["jobs", "list", "--status", "stuck"]).output == \
            "No stuck jobs.\n"
        out = runner.invoke(args=["jobs", "show", str(job.id)]).output
        assert "errors (1):" in out and "attempt 1:" in out
        out = runner.invoke(args=["jobs", "status"]).output
        assert "dead" in out and "stuck: 0   dead: 1" in out
        app.config.update(MAIL_PORT=smtp_server.port, JOB_RETRY_HORIZON_SECONDS=3600)
        from mentorgroups.extensions import mail

        mail.init_app(app)
        out = runner.invoke(args=["jobs", "retry", str(job.id), "999999"]).output
        assert f"Re-driven 1 job(s): {job.id}." in out
        assert "Not failed or dead (left alone): 999999." in out
        db.session.rollback()
        assert db.session.get(OutboxJob, job.id, populate_existing=True).status == "done"
        assert runner.invoke(args=["jobs", "retry"]).exit_code != 0
    assert len(smtp_server.messages) == 1


def test_jobs_status_shows_what_is_due_and_how_old(make_app):
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port())
    with app.app_context():
        failing_school(app)
        from datetime import timedelta

        from mentorgroups.models import utcnow

        db.session.execute(OutboxJob.__table__.update().where(OutboxJob.status == "failed")
                           .values(next_attempt_at=utcnow() - timedelta(minutes=3)))
        db.session.commit()
        out = app.test_cli_runner().invoke(args=["jobs", "status"]).output
        assert "failed" in out and "due now: 1 (oldest due since" in out
        assert "stuck: 1" in out  # due for longer than OUTBOX_STALE_SECONDS (0 in tests)


def test_sign_in_works_while_the_rate_limit_store_is_down(make_app, caplog):
    caplog.set_level(logging.WARNING)
    app = make_app(RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:{free_port()}/0",
                   LOGIN_RATE_LIMIT="5/minute")
    with app.app_context():
        s = school()
        email = s.learner.email
    with app.test_client() as raw:
        client = Client(raw)
        assert client.login(email, PASSWORD).status_code == 302
    assert "falling back to in-memory storage" in caplog.text
    with app.test_client() as raw:  # the limit still holds, counted in memory
        client = Client(raw)
        codes = [client.login(email, "wrong-password").status_code for _ in range(6)]
    assert codes[-1] == 429 and max(codes) < 500


def test_sent_emails_shows_the_schools_undelivered_emails_with_the_reason(make_app):
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port())
    with app.app_context():
        s, _job = failing_school(app)
        other, _ = failing_school(app)
        db.session.execute(SentEmail.__table__.update().where(
            SentEmail.account_id == other.account.id).values(subject="Other school secret"))
        db.session.commit()
        admin_email, account_id = s.admin.email, s.account.id
    with app.test_client() as raw:
        client = Client(raw)
        client.login(admin_email, PASSWORD, account_id=account_id)
        html = client.get("/admin/sent_emails/").get_data(as_text=True)
        assert "Not delivered: 1" in html
        assert "Not delivered yet: retrying" in html and "refused" in html.lower()
        assert "Other school secret" not in html
        filtered = client.get("/admin/sent_emails/?flt0_status_in_list=failed,dead")
        assert filtered.status_code == 200
        assert "Lia Learner submitted" in filtered.get_data(as_text=True)
