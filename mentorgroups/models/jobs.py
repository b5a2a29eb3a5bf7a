"""The job outbox and the record of every email sent."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from mentorgroups.models.base import Base, UTCDateTime, utcnow

# staged: waiting to be pushed (due at next_attempt_at); enqueued: pushed to RQ, not yet taken;
# running: taken by a worker, which holds it until locked_until (its lease); failed: the last
# attempt failed, the next one is due at next_attempt_at; dead: failed until its retry horizon
# passed, kept for an operator to re-drive; done.
OUTBOX_STATUSES = ("staged", "enqueued", "running", "failed", "dead", "done")
EMAIL_STATUSES = ("sending", "sent", "logged", "failed", "dead")


class OutboxJob(Base):
    """A job staged in the same transaction as the change that causes it. The row, not Redis,
    decides whether and when the job runs again: attempts, every error, the next attempt time,
    and the lease of the worker running it."""

    __tablename__ = "outbox_job"
    __table_args__ = (
        CheckConstraint(
            "status IN ('staged', 'enqueued', 'running', 'failed', 'dead', 'done')",
            name="status"),
        Index("ix_outbox_job_status_created", "status", "created_at"),
        Index("ix_outbox_job_status_next_attempt", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    queue: Mapped[str] = mapped_column(String(40), default="default")
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(20), default="staged")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # How many times the row was handed to RQ; the RQ job id carries it, so a stale copy of
    # an earlier push can never take the row.
    pushes: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    # Every failed attempt: [{"at": iso time, "attempt": n, "error": text}, ...]
    errors: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # After this the job is given up ('dead'); `jobs retry` starts a new horizon.
    give_up_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    enqueued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SentEmail(Base):
    """Every email the product sends, keyed by an idempotency key so that a job run twice
    sends no second email. status 'sending' is a claim taken before the SMTP call, valid until
    claimed_until; 'failed' is waiting for its retry and 'dead' was given up (both show the
    reason to the school's admins)."""

    __tablename__ = "sent_email"
    __table_args__ = (
        CheckConstraint("status IN ('sending', 'sent', 'logged', 'failed', 'dead')",
                        name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("account.id", ondelete="CASCADE"), index=True
    )
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    message_id: Mapped[str | None] = mapped_column(String(300))
    outbox_job_id: Mapped[int | None] = mapped_column(Integer, index=True)
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="sending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
