"""The weekly Mentor Digest: who wants it for which group, and one row per person, school and
week that makes "exactly once" a database fact rather than a scheduler's promise."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mentorgroups.models.accounts import User
from mentorgroups.models.base import Base, UTCDateTime, utcnow
from mentorgroups.models.groups import MentorGroup

DELIVERY_STATUSES = ("claimed", "staged", "sent", "skipped")


class DigestSubscription(Base):
    """A person's digest switch for one group. Becoming its Mentor or Group Admin turns it on,
    being made a Member turns it off, and the person may flip it at any time."""

    __tablename__ = "digest_subscription"
    __table_args__ = (UniqueConstraint("user_id", "group_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    group_id: Mapped[int] = mapped_column(
        ForeignKey("mentor_group.id", ondelete="CASCADE"), index=True
    )
    subscribed: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    group: Mapped[MentorGroup] = relationship()
    user: Mapped[User] = relationship()


class DigestRun(Base):
    """A school's digest for one week was started. The hourly tick creates it once (unique);
    a week missed while everything was down is created, and sent, late."""

    __tablename__ = "digest_run"
    __table_args__ = (UniqueConstraint("account_id", "week"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"))
    week: Mapped[str] = mapped_column(String(8))  # ISO week of the send date: "2026-W49"
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DigestDelivery(Base):
    """One person's digest for one school and week. The row is claimed (inserted, unique)
    before anything is built or sent, so however many senders run, each person gets one."""

    __tablename__ = "digest_delivery"
    __table_args__ = (
        UniqueConstraint("account_id", "user_id", "week"),
        CheckConstraint("status IN ('claimed', 'staged', 'sent', 'skipped')", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    week: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(10), default="claimed")
    subject: Mapped[str | None] = mapped_column(String(200))
    text_body: Mapped[str | None] = mapped_column(Text)
    html_body: Mapped[str | None] = mapped_column(Text)
    unsubscribe_url: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()
