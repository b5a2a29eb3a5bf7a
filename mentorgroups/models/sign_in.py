"""Failed sign-ins per address, kept in the database so every web process (gunicorn worker)
counts the same failures."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from mentorgroups.models.base import Base, UTCDateTime


class SignInThrottle(Base):
    """One row per address that failed to sign in recently (whether or not it has an
    account, so the table tells nothing). `failures` counts attempts in a row since the last
    success; from the configured number on, `blocked_until` holds the next attempt back.
    `attempts` only grows: the compare-and-set that counts an attempt compares it, so two
    attempts at the same moment never both read the same count."""

    __tablename__ = "sign_in_throttle"

    email: Mapped[str] = mapped_column(String(254), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    blocked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
