"""Single-use links that let the owner of an address set or reset its password."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mentorgroups.models.accounts import User
from mentorgroups.models.base import Base, UTCDateTime, utcnow

PASSWORD_LINK_PURPOSES = ("reset", "setup")


class PasswordLink(Base):
    """Like invitations, only a hash of the link's token is stored: the token is an HMAC of
    `nonce` under the app's secret, so the email job can rebuild it and a copy of the database
    alone cannot. The link is bound to the address it was sent to: if the person's email has
    changed since, it no longer works."""

    __tablename__ = "password_link"
    __table_args__ = (
        CheckConstraint("purpose IN ('reset', 'setup')", name="purpose"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    email: Mapped[str] = mapped_column(String(254))
    purpose: Mapped[str] = mapped_column(String(10))
    # The request that asked for it: the email job finds (or makes) its link by this.
    request_key: Mapped[str] = mapped_column(String(64), unique=True)
    nonce: Mapped[str] = mapped_column(String(64))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()
