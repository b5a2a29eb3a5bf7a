"""Outbox rows and email records in the states the outbox leaves them in, for the job tests.
Rows are inserted directly (not through the session), so committing does not run them.
And, for the tests that go through the whole stack, a learner's submission (the cause that
stages the emails to her reviewers) and its email jobs as they stand."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, insert, select, update

from mentorgroups.extensions import db
from mentorgroups.models import OutboxJob, SentEmail, utcnow
from mentorgroups.services import learning


def outbox_row(status: str, now: datetime, created: int = 0, due: int = 0,
               lease: int | None = None, pushed: int | None = None, **extra) -> OutboxJob:
    """An outbox row; times in seconds relative to `now` (negative: in the past)."""
    values = dict(name="send_email", queue="default", payload={}, status=status, errors=[],
                  attempts=0, pushes=0 if pushed is None else 1,
                  created_at=now + timedelta(seconds=created),
                  next_attempt_at=now + timedelta(seconds=due),
                  locked_until=None if lease is None else now + timedelta(seconds=lease),
                  enqueued_at=None if pushed is None else now + timedelta(seconds=pushed))
    values.update(extra)
    outbox_id = db.session.execute(insert(OutboxJob).values(**values)).inserted_primary_key[0]
    return db.session.get(OutboxJob, outbox_id)


def add_unpushed(*rows) -> list[int]:
    """Rows added through the session as a crash before the after-commit push (or a worker)
    would leave them: committed, not pushed, not run in-process. Their ids."""
    db.session.add_all(rows)
    db.session.flush()
    db.session.info.pop("mentorgroups.outbox_ids", None)
    db.session.commit()
    return [row.id for row in rows]


def email_of(outbox: OutboxJob, to: str, status: str) -> SentEmail:
    """An email record written by the job of `outbox` (one of its recipients)."""
    row = SentEmail(idempotency_key=f"{outbox.id}:{to}", outbox_job_id=outbox.id, recipient=to,
                    subject="Lia Learner submitted Step 2", body="...", status=status,
                    attempts=1)
    db.session.add(row)
    db.session.flush()
    return row


def statuses(*rows) -> list[str]:
    """The current status of each row, read afresh."""
    db.session.rollback()
    db.session.expire_all()
    return [db.session.get(type(row), row.id).status for row in rows]


def fresh(model, row_id: int):
    db.session.rollback()
    return db.session.get(model, row_id, populate_existing=True)


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def submit(s, text="my work"):
    """The school's learner submits step 2 for review (committed: its jobs run)."""
    submission = learning.submit_for_review(s.learner, s.account.id, s.path.steps[1].id, text)
    db.session.commit()
    return submission


def email_jobs() -> list[OutboxJob]:
    """The email jobs, read afresh, oldest first."""
    db.session.expire_all()
    return list(db.session.scalars(
        select(OutboxJob).where(OutboxJob.name == "send_email").order_by(OutboxJob.id)))


def make_due(*where) -> None:
    """Make the rows matching `where` due a second ago."""
    db.session.execute(update(OutboxJob).where(*where).values(
        next_attempt_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
