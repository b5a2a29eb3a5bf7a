"""Job plumbing without Redis: staged with the cause (nothing when the cause is rolled back),
run in-process after commit, one email job per recipient (one failing holds back no other), a
job run twice sending one email, an email still in flight, and the lease outlasting the SMTP
budget. When a failed job runs again, dies or is re-driven: test_jobs_retry.py."""

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from mentorgroups.extensions import db
from mentorgroups.jobs.outbox import sweep
from mentorgroups.jobs.runner import run_outbox_job
from mentorgroups.models import Notification, OutboxJob, SentEmail, utcnow
from mentorgroups.services import learning
from mentorgroups.services.email import EmailInFlight, deliver_email
from tests.factories import make_member, school
from tests.outbox_rows import count, email_jobs, make_due, submit


def test_in_process_job_runs_after_commit_and_records_the_email(app):
    s = school()
    submission = submit(s)
    fan_out = db.session.scalar(select(OutboxJob).where(OutboxJob.name == "notify_submission"))
    assert fan_out.status == "done" and fan_out.attempts == 1
    [job] = email_jobs()
    assert (job.status, job.queue, job.attempts) == ("done", "emails", 1)
    email = db.session.scalar(select(SentEmail))
    assert email.recipient == s.teacher.email and email.status == "logged"
    assert email.idempotency_key == f"submission:{submission.id}:reviewer:{s.teacher.id}"
    assert email.outbox_job_id == job.id
    assert s.learner.full_name in email.subject
    assert f"/review/{submission.id}" in email.body


def test_running_a_job_twice_sends_one_email_with_a_stable_message_id(make_app, smtp_server):
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_server.port)
    with app.app_context():
        s = school()
        submit(s)
        [job] = email_jobs()
        assert run_outbox_job(job.id) == "not claimed"  # done: nothing to take
        db.session.execute(update(OutboxJob).values(status="staged"))
        db.session.commit()
        assert run_outbox_job(job.id) == "done"  # the job body runs again...
        assert count(SentEmail) == 1
        message_id = db.session.scalar(select(SentEmail.message_id))
    assert len(smtp_server.messages) == 1  # ...and sends nothing new
    assert smtp_server.messages[0]["message"]["Message-ID"] == message_id
    assert message_id.endswith("@localhost>") and len(message_id) > 40


def test_one_failing_email_holds_back_no_other_reviewer(make_app, smtp_server):
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_server.port)
    with app.app_context():
        s = school()
        mentor = make_member(s.account, "staff", email="second@school.test")
        from mentorgroups.services import group_members, groups

        group = groups.create_group(s.admin, s.account.id, "Coaching")
        group_members.add_members(s.admin, s.account.id, group.id, "mentor",
                                  user_ids=[mentor.id])
        group_members.add_members(s.admin, s.account.id, group.id, "member",
                                  user_ids=[s.learner.id])
        db.session.commit()
        teacher_email = s.teacher.email
        smtp_server.refuse_next = 1  # the first email of the fan-out gets 451
        submit(s)
        assert count(Notification) == 2
        statuses = sorted(job.status for job in email_jobs())
        assert statuses == ["done", "failed"]
        make_due(OutboxJob.status == "failed")
        sweep(app)
        assert [job.status for job in email_jobs()] == ["done", "done"]
    assert sorted(m["to"][0] for m in smtp_server.messages) == sorted(
        ["second@school.test", teacher_email])


def test_a_live_claim_defers_the_retry_to_its_expiry_and_a_stale_one_is_taken_over(app):
    until = utcnow() + timedelta(seconds=30)
    db.session.add(SentEmail(idempotency_key="k1", recipient="a@b.test", subject="s",
                             body="b", status="sending", claimed_until=until, attempts=1))
    db.session.commit()
    with pytest.raises(EmailInFlight) as caught:
        deliver_email("k1", "a@b.test", "s", "b")
    assert caught.value.retry_at == until
    db.session.execute(update(SentEmail).values(claimed_until=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    assert deliver_email("k1", "a@b.test", "s", "b").status == "logged"
    assert deliver_email("k1", "a@b.test", "s", "b").status == "logged"
    assert count(SentEmail) == 1


def test_the_email_claim_lasts_the_smtp_budget_and_the_lease_outlasts_it(make_app):
    from mentorgroups.services.email import claim_seconds
    from mentorgroups.settings import ConfigError

    app = make_app(MAIL_TIMEOUT=7)
    with app.app_context():
        assert claim_seconds() == 7 * 6 + 5
        assert app.config["JOB_LEASE_SECONDS"] > claim_seconds()
    with pytest.raises(ConfigError, match="JOB_LEASE_SECONDS"):
        make_app(MAIL_TIMEOUT=30, JOB_LEASE_SECONDS=60)


def test_rolled_back_cause_stages_nothing(app):
    s = school()
    learning.submit_for_review(s.learner, s.account.id, s.path.steps[1].id, "work")
    db.session.rollback()
    db.session.commit()
    assert count(OutboxJob) == 0 and count(SentEmail) == 0


def test_review_notifies_the_learner(app):
    s = school()
    submission = submit(s)
    learning.review_submission(s.teacher, submission.id, "", "Well done")
    db.session.commit()
    email = db.session.scalar(select(SentEmail).where(SentEmail.recipient == s.learner.email))
    assert "was reviewed" in email.subject and "Well done" in email.body
    assert count(Notification, Notification.user_id == s.learner.id) == 1
