"""Job plumbing without Redis: staged with the cause, run in-process after commit, emails
recorded once per idempotency key, failures left for the sweep."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from mentorgroups.extensions import db
from mentorgroups.jobs.outbox import sweep
from mentorgroups.jobs.runner import run_outbox_job
from mentorgroups.models import OutboxJob, SentEmail, utcnow
from mentorgroups.services import learning
from mentorgroups.services.email import EmailInFlight, deliver_email
from tests.conftest import free_port
from tests.factories import school


def count(model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def submit(s, text="my work"):
    submission = learning.submit_for_review(s.learner, s.account.id, s.path.steps[1].id, text)
    db.session.commit()
    return submission


def test_in_process_job_runs_after_commit_and_records_the_email(app):
    s = school()
    submission = submit(s)
    job = db.session.scalar(select(OutboxJob))
    assert job.status == "done" and job.attempts == 1
    email = db.session.scalar(select(SentEmail))
    assert email.recipient == s.teacher.email and email.status == "logged"
    assert email.idempotency_key == f"submission:{submission.id}:reviewer:{s.teacher.id}"
    assert s.learner.full_name in email.subject
    assert f"/review/{submission.id}" in email.body


def test_running_a_job_twice_sends_one_email(make_app, smtp_server):
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_server.port)
    with app.app_context():
        s = school()
        submit(s)
        job_id = db.session.scalar(select(OutboxJob.id))
        assert run_outbox_job(job_id) == "already done"
        db.session.execute(OutboxJob.__table__.update().values(status="enqueued"))
        db.session.commit()
        assert run_outbox_job(job_id) == "done"  # the job body runs again...
        assert count(SentEmail) == 1
        teacher_email = s.teacher.email
    assert len(smtp_server.messages) == 1  # ...and sends nothing new
    assert smtp_server.messages[0]["to"] == [teacher_email]


def test_smtp_failure_releases_the_claim_and_the_sweep_retries(make_app, smtp_server, caplog):
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port())  # nothing listens there
    with app.app_context():
        s = school()
        submit(s)  # the request still succeeds
        job = db.session.scalar(select(OutboxJob))
        assert (job.status, job.attempts) == ("staged", 1)
        assert "Connection refused" in job.last_error or "Errno" in job.last_error
        assert count(SentEmail) == 0
        assert "the sweep will retry it" in caplog.text
        app.config["MAIL_PORT"] = smtp_server.port
        from mentorgroups.extensions import mail

        mail.init_app(app)
        assert sweep(app) == 1
        db.session.expire_all()
        job = db.session.scalar(select(OutboxJob))
        assert (job.status, job.attempts, job.last_error) == ("done", 2, None)
    assert len(smtp_server.messages) == 1


def test_a_job_that_keeps_failing_is_marked_failed(make_app):
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port(), JOB_MAX_ATTEMPTS=2)
    with app.app_context():
        s = school()
        submit(s)
        sweep(app)
        job = db.session.scalar(select(OutboxJob))
        assert (job.status, job.attempts) == ("failed", 2)
        assert sweep(app) == 0


def test_rolled_back_cause_stages_nothing(app):
    s = school()
    learning.submit_for_review(s.learner, s.account.id, s.path.steps[1].id, "work")
    db.session.rollback()
    db.session.commit()
    assert count(OutboxJob) == 0 and count(SentEmail) == 0


def test_concurrent_claim_is_refused_and_a_stale_one_taken_over(app):
    db.session.add(SentEmail(idempotency_key="k1", recipient="a@b.test", subject="s",
                             body="b", status="sending"))
    db.session.commit()
    with pytest.raises(EmailInFlight):
        deliver_email("k1", "a@b.test", "s", "b")
    db.session.execute(SentEmail.__table__.update().values(
        created_at=utcnow() - timedelta(hours=1)))
    db.session.commit()
    assert deliver_email("k1", "a@b.test", "s", "b").status == "logged"
    assert deliver_email("k1", "a@b.test", "s", "b").status == "logged"
    assert count(SentEmail) == 1


def test_review_notifies_the_learner(app):
    s = school()
    submission = submit(s)
    learning.review_submission(s.teacher, submission.id, "", "Well done")
    db.session.commit()
    email = db.session.scalar(select(SentEmail).where(SentEmail.recipient == s.learner.email))
    assert "was reviewed" in email.subject and "Well done" in email.body
