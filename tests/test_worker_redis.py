"""The job plumbing with the real parts: Redis, `python worker.py --burst`, an SMTP server."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from redis import Redis
from sqlalchemy import func, select

from mentorgroups.extensions import db
from mentorgroups.jobs.outbox import push_to_queue, sweep
from mentorgroups.models import OutboxJob, SentEmail
from mentorgroups.services import learning
from tests.conftest import ROOT, free_port
from tests.factories import school

pytestmark = pytest.mark.redis


def run_worker(database_url: str, redis_url: str, smtp_port: int, **extra_env) -> str:
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url,
           "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(smtp_port), "SECRET_KEY": "test-secret",
           **extra_env}
    env.pop("MENTORGROUPS_DEV", None)
    result = subprocess.run([sys.executable, "worker.py", "--burst"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stderr


def submit(s):
    submission = learning.submit_for_review(s.learner, s.account.id, s.path.steps[1].id, "work")
    db.session.commit()
    return submission


def count(model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def email_job():
    db.session.expire_all()
    return db.session.scalar(select(OutboxJob).where(OutboxJob.name == "send_email"))


def make_all_due():
    from datetime import timedelta

    from mentorgroups.models import utcnow

    db.session.execute(OutboxJob.__table__.update().values(
        next_attempt_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()


def test_worker_sends_each_email_once(make_app, database_url, redis_url, smtp_server):
    app = make_app(REDIS_URL=redis_url, MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_server.port)
    with app.app_context():
        s = school()
        submission = submit(s)
        job = db.session.scalar(select(OutboxJob))
        assert job.status == "enqueued"  # pushed after commit, not run in the web process
        assert count(SentEmail) == 0
        run_worker(database_url, redis_url, smtp_server.port)  # the fan-out, then its email
        db.session.expire_all()
        assert set(db.session.scalars(select(OutboxJob.status))) == {"done"}
        job = email_job()
        assert len(smtp_server.messages) == 1
        message = smtp_server.messages[0]
        assert message["to"] == [s.teacher.email]
        assert f"http://127.0.0.1:5000/review/{submission.id}" in message["body"]

        # A duplicate push (say the sweep raced the first push) sends nothing new.
        db.session.execute(OutboxJob.__table__.update().values(status="staged"))
        db.session.commit()
        assert push_to_queue(app, [job.id]) == 1
        run_worker(database_url, redis_url, smtp_server.port)
        assert len(smtp_server.messages) == 1
        assert count(SentEmail) == 1


def test_a_temporary_smtp_failure_is_retried_by_the_sweep(make_app, database_url, redis_url,
                                                          smtp_server):
    smtp_server.refuse_next = 1  # the first DATA gets "451 try again later"
    app = make_app(REDIS_URL=redis_url, MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_server.port)
    with app.app_context():
        s = school()
        submit(s)
        run_worker(database_url, redis_url, smtp_server.port)
        job = email_job()
        assert (job.status, job.attempts) == ("failed", 1)  # RQ retries nothing itself
        assert "451" in job.errors[0]["error"]
        make_all_due()
        assert sweep(app) == 1
        run_worker(database_url, redis_url, smtp_server.port)
        job = email_job()
        assert (job.status, job.attempts, job.pushes) == ("done", 2, 2)
    assert len(smtp_server.messages) == 1


def test_a_job_past_its_horizon_is_dead_and_in_rq_failed_registry(make_app, database_url,
                                                                  redis_url):
    from rq import Queue
    from rq.registry import FailedJobRegistry

    dead_port = free_port()
    app = make_app(REDIS_URL=redis_url, MAIL_SERVER="127.0.0.1", MAIL_PORT=dead_port,
                   JOB_RETRY_HORIZON_SECONDS=0)
    with app.app_context():
        s = school()
        submit(s)
        run_worker(database_url, redis_url, dead_port, JOB_RETRY_HORIZON_SECONDS="0")
        job = email_job()
        assert (job.status, job.attempts) == ("dead", 1)
        assert db.session.scalar(select(SentEmail.status)) == "dead"
        registry = FailedJobRegistry(queue=Queue("emails", connection=Redis.from_url(
            redis_url)))
        assert f"outbox-{job.id}-1" in registry.get_job_ids()


def test_redis_outage_loses_nothing(make_app, database_url, private_redis, smtp_server):
    app = make_app(REDIS_URL=private_redis.url, MAIL_SERVER="127.0.0.1",
                   MAIL_PORT=smtp_server.port)
    with app.app_context():
        s = school()
        private_redis.stop()
        submit(s)  # the learner's submission is saved although Redis is down
        assert db.session.scalar(select(OutboxJob.status)) == "staged"
        private_redis.start()
        assert sweep(app) == 1
        assert db.session.scalar(select(OutboxJob.status)) == "enqueued"
        run_worker(database_url, private_redis.url, smtp_server.port)
        db.session.expire_all()
        assert set(db.session.scalars(select(OutboxJob.status))) == {"done"}
    assert len(smtp_server.messages) == 1


def test_invitation_email_arrives_once_with_a_working_link(make_app, database_url, redis_url,
                                                          smtp_server):
    import re

    from mentorgroups.services import group_members, groups, invitations
    from tests.factories import make_account, make_member

    app = make_app(REDIS_URL=redis_url, MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_server.port)
    with app.app_context():
        account = make_account(name="Hill School")
        admin = make_member(account, "admin", full_name="Ada Admin")
        group = groups.create_group(admin, account.id, "Coaching")
        db.session.commit()
        group_members.add_members(admin, account.id, group.id, "member",
                                  addresses="invitee@person.test")
        db.session.commit()
        smtp_server.refuse_next = 1  # the first try fails: the sweep pushes the retry
        run_worker(database_url, redis_url, smtp_server.port)
        make_all_due()
        sweep(app)
        run_worker(database_url, redis_url, smtp_server.port)
        job = db.session.scalar(select(OutboxJob).where(OutboxJob.name == "send_invitation"))
        db.session.refresh(job)
        assert (job.status, job.attempts) == ("done", 2)
        # the same job pushed and run again sends nothing more
        db.session.execute(OutboxJob.__table__.update().where(OutboxJob.id == job.id)
                           .values(status="staged"))
        db.session.commit()
        push_to_queue(app, [job.id])
        run_worker(database_url, redis_url, smtp_server.port)
        assert len(smtp_server.messages) == 1
        message = smtp_server.messages[0]
        assert message["to"] == ["invitee@person.test"]
        assert message["subject"] == "Ada Admin invited you to Coaching at Hill School"
        token = re.search(r"/invitations/([A-Za-z0-9_-]+)", message["body"]).group(1)
        user, invitation = invitations.accept_with_new_account(token, "Ivy Invitee",
                                                               "long-enough-1")
        db.session.commit()
        assert invitation.status == "accepted"


def test_mentors_hear_of_a_submission_made_while_redis_was_down(make_app, database_url,
                                                                private_redis, smtp_server):
    from mentorgroups.models import Notification
    from mentorgroups.services import group_members, groups
    from tests.factories import make_member

    app = make_app(REDIS_URL=private_redis.url, MAIL_SERVER="127.0.0.1",
                   MAIL_PORT=smtp_server.port)
    with app.app_context():
        s = school(plan="complete")
        mentor = make_member(s.account, "staff", email="mentor@school.test")
        group = groups.create_group(s.admin, s.account.id, "Coaching")
        group_members.add_members(s.admin, s.account.id, group.id, "mentor",
                                  user_ids=[mentor.id])
        group_members.add_members(s.admin, s.account.id, group.id, "member",
                                  user_ids=[s.learner.id])
        db.session.commit()
        private_redis.stop()
        submit(s)
        assert db.session.scalar(select(func.count()).select_from(Notification)) == 0
        private_redis.start()
        sweep(app)
        run_worker(database_url, private_redis.url, smtp_server.port)
        run_worker(database_url, private_redis.url, smtp_server.port)  # nothing twice
        recipients = sorted(m["to"][0] for m in smtp_server.messages)
        assert recipients == sorted(["mentor@school.test", s.teacher.email])
        assert db.session.scalar(select(func.count()).select_from(Notification)) == 2


def test_a_running_worker_outlives_a_redis_outage(make_app, database_url, private_redis,
                                                  smtp_server):
    """`python worker.py` keeps running while Redis (this test's own server) is stopped in
    the middle of a job, and once Redis is back (empty) registers again and runs what was
    staged meanwhile, which the sweep pushes. RQ's own loop quits when Redis is gone as a
    job ends, and nothing started it again."""
    from rq import Worker

    from mentorgroups.jobs.queues import get_queue
    from tests.drills import CYCLE, FAST, Processes, patience, wait_for

    slow_smtp = {"MAIL_TIMEOUT": 3, "JOB_LEASE_SECONDS": 3 * 6 + 5 + 2}
    app = make_app(REDIS_URL=private_redis.url, MAIL_SERVER="127.0.0.1",
                   MAIL_PORT=smtp_server.port, **{**FAST, **slow_smtp})
    procs = Processes(database_url, private_redis.url, smtp_server.port, **slow_smtp)
    try:
        with app.app_context():
            s = school()
            teacher = s.teacher.email
            smtp_server.stall_next_rcpt = 2.5  # the worker is mid-job when Redis stops
            procs.scheduler()
            worker = procs.worker()
            submit(s)
            wait_for(lambda: smtp_server.rcpt_arrived.wait(0.5), patience(CYCLE, jobs=2),
                     "the worker to be sending the first email", step=0)
            private_redis.stop()
            for person, step in ((s.learner, s.path.steps[2]), (s.other, s.path.steps[1])):
                learning.submit_for_review(person, s.account.id, step.id, "work")
                db.session.commit()
            assert count(OutboxJob, OutboxJob.status == "staged") == 2  # nothing pushed

            def noticed():  # its line about the outage, or its end
                return ("Redis is unreachable" in worker.log_path.read_text(errors="replace")
                        or worker.poll() is not None)

            wait_for(noticed, patience(CYCLE), "the worker to notice Redis is gone")
            assert worker.poll() is None, "the worker exited when Redis went away"
            private_redis.start()  # empty: no persistence
            wait_for(lambda: len(smtp_server.messages) == 3, patience(2 * CYCLE, jobs=6),
                     "the first email and the two staged during the outage",
                     progress=lambda: f"{len(smtp_server.messages)} arrived")
            assert worker.poll() is None
            queue = get_queue(app, "emails")
            wait_for(lambda: Worker.all(queue=queue), patience(CYCLE),
                     "the worker to register again in the restarted Redis")
    finally:
        procs.stop_all()
    assert sorted(m["to"][0] for m in smtp_server.messages) == [teacher] * 3


def test_a_worker_started_while_redis_is_down_waits_for_it(make_app, database_url,
                                                           private_redis, smtp_server):
    """RQ talks to Redis as soon as a worker is built: started during an outage, `python
    worker.py` waits for Redis instead of exiting, then works."""
    from tests.drills import CYCLE, FAST, Processes, patience, wait_for

    app = make_app(REDIS_URL=private_redis.url, MAIL_SERVER="127.0.0.1",
                   MAIL_PORT=smtp_server.port, **FAST)
    procs = Processes(database_url, private_redis.url, smtp_server.port)
    try:
        with app.app_context():
            s = school()
            private_redis.stop()
            worker = procs.worker()
            wait_for(lambda: "Redis is unreachable" in worker.log_path.read_text(
                errors="replace") or worker.poll() is not None, patience(),
                "the worker to find Redis gone")
            assert worker.poll() is None, "the worker exited: Redis was down when it started"
            private_redis.start()
            procs.scheduler()
            submit(s)  # pushed at once, or by the sweep
            wait_for(lambda: len(smtp_server.messages) == 1, patience(CYCLE, jobs=2),
                     "the email once Redis is up")
            assert worker.poll() is None
    finally:
        procs.stop_all()
