"""In-app notifications: one row per person per event (the key makes a second one impossible)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from mentorgroups.models.base import Base, UTCDateTime, utcnow


class Notification(Base):
    __tablename__ = "notification"
    __table_args__ = (Index("ix_notification_user_account_read", "user_id", "account_id",
                            "read_at"),
                      # The notifications list: a person's newest first, a page at a time.
                      Index("ix_notification_user_account_created", "user_id", "account_id",
                            "created_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(String(500))
    link: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
