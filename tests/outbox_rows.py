"""Outbox rows and email records in the states the outbox leaves them in, for the job tests.
Rows are inserted directly (not through the session), so committing does not run them."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import insert

from mentorgroups.extensions import db
from mentorgroups.models import OutboxJob, SentEmail


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
