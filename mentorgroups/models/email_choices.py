"""How each person wants to hear by email about each kind of event, per school, and the
hourly summaries that make "at most once an hour" a database fact.

The in-app bell is not governed by any of this: it always rings."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from mentorgroups.models.base import Base, UTCDateTime, utcnow

# The kinds of email a person may tune, with the words the preferences page uses. A new kind
# (say "replies") is one line here; its fan-out then calls services.email_choices.
EMAIL_KINDS: dict[str, str] = {
    "submissions": "Work submitted for you to review",
    "reviews": "Reviews of your work",
    "replies": "Replies in the discussion of a submission",
}
CADENCES: dict[str, str] = {
    "immediately": "Immediately, one email each",
    "hourly": "A summary, at most once an hour",
    "off": "Off (the bell still shows them)",
}
DEFAULT_CADENCE = "immediately"
SUMMARY_STATUSES = ("claimed", "staged", "sent", "skipped")


class EmailChoice(Base):
    """A person's choice for one kind of email in one school. No row: immediately."""

    __tablename__ = "email_choice"
    __table_args__ = (
        UniqueConstraint("user_id", "account_id", "kind"),
        CheckConstraint("cadence IN ('immediately', 'hourly', 'off')", name="cadence"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"),
                                            index=True)
    kind: Mapped[str] = mapped_column(String(20))
    cadence: Mapped[str] = mapped_column(String(12), default=DEFAULT_CADENCE)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class EmailSummary(Base):
    """One person's summary of one kind for one school and hour (the hour that had just ended
    when it was built). Claimed (inserted, unique) before anything is built or sent, so
    however many schedulers run, a person gets at most one summary of a kind per hour."""

    __tablename__ = "email_summary"
    __table_args__ = (
        UniqueConstraint("account_id", "user_id", "kind", "hour"),
        CheckConstraint("status IN ('claimed', 'staged', 'sent', 'skipped')", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"),
                                         index=True)
    kind: Mapped[str] = mapped_column(String(20))
    hour: Mapped[datetime] = mapped_column(UTCDateTime)  # start of the hour, UTC
    status: Mapped[str] = mapped_column(String(10), default="claimed")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class EmailSummaryItem(Base):
    """Something a person chose to hear about in a summary (one line: text and link), written
    by the fan-out in the same transaction as the bell's notification. `summary_id` is set
    when a summary takes it, so every item is in exactly one summary."""

    __tablename__ = "email_summary_item"
    __table_args__ = (
        # The periodic task: a school's items not yet in a summary, oldest first.
        Index("ix_email_summary_item_waiting", "summary_id", "account_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    key: Mapped[str] = mapped_column(String(200), unique=True)
    text: Mapped[str] = mapped_column(String(500))
    link: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    summary_id: Mapped[int | None] = mapped_column(
        ForeignKey("email_summary.id", ondelete="SET NULL"))
