"""The job outbox and the record of every email sent."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from mentorgroups.models.base import Base, UTCDateTime, utcnow

OUTBOX_STATUSES = ("staged", "enqueued", "done", "failed")


class OutboxJob(Base):
    """A job staged in the same transaction as the change that causes it. It is pushed to
    the queue after commit; the sweep re-pushes rows that never reached it."""

    __tablename__ = "outbox_job"
    __table_args__ = (
        CheckConstraint("status IN ('staged', 'enqueued', 'done', 'failed')", name="status"),
        Index("ix_outbox_job_status_created", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    queue: Mapped[str] = mapped_column(String(40), default="default")
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(20), default="staged")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    enqueued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SentEmail(Base):
    """Every email the product sends, keyed by an idempotency key so that a job run twice
    sends no second email. status 'sending' is a claim taken before the SMTP call."""

    __tablename__ = "sent_email"
    __table_args__ = (
        CheckConstraint("status IN ('sending', 'sent', 'logged')", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("account.id", ondelete="CASCADE"), index=True
    )
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="sending")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
