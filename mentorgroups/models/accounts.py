"""Schools (accounts), people (users) and who belongs to which school in which role."""

from __future__ import annotations

from datetime import datetime

from flask import current_app, has_app_context
from flask_login import UserMixin
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from mentorgroups.models.base import Base, UTCDateTime, utcnow

PLANS = ("trial", "starter", "essentials", "complete", "enterprise")
ACCOUNT_ROLES = ("admin", "staff", "member")
ACCOUNT_ROLE_LABELS = {"admin": "Admin", "staff": "Staff", "member": "Member"}
MEMBERSHIP_STATUSES = ("active", "revoked")


def normalize_email(email: str) -> str:
    return email.strip().lower()


class Account(Base):
    __tablename__ = "account"
    __table_args__ = (
        CheckConstraint(
            "plan IN ('trial', 'starter', 'essentials', 'complete', 'enterprise')", name="plan"
        ),
        CheckConstraint("digest_weekday BETWEEN 0 AND 6", name="digest_weekday"),
        CheckConstraint("digest_hour BETWEEN 0 AND 23", name="digest_hour"),
        CheckConstraint("drift_days BETWEEN 1 AND 365", name="drift_days"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    plan: Mapped[str] = mapped_column(String(20), default="trial")
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")
    # The weekly Mentor Digest goes out on this weekday (0 = Monday) at this hour, local time.
    digest_weekday: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    digest_hour: Mapped[int] = mapped_column(Integer, default=8, server_default="8")
    # A member with no progress for this many days is "drifting" (group page, digest).
    drift_days: Mapped[int] = mapped_column(Integer, default=14, server_default="14")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    memberships: Mapped[list[AccountMembership]] = relationship(
        back_populates="account", cascade="all, delete-orphan"
    )

    def __str__(self) -> str:
        return self.name


def password_hash_options() -> dict:
    """werkzeug's default method (scrypt) unless the app's config names another in
    PASSWORD_HASH_METHOD: only the test suite does (a cheap pbkdf2; it hashes thousands of
    passwords), and nothing reads it from the environment."""
    method = current_app.config.get("PASSWORD_HASH_METHOD") if has_app_context() else None
    return {"method": method} if method else {}


class User(UserMixin, Base):
    """One personal account across schools. Emails are stored lower-cased, so uniqueness is
    case-insensitive on every database."""

    __tablename__ = "user_account"
    # Lists of people are ordered by lower(full_name), id: with this index PostgreSQL reads
    # a group's first pages in that order (probing each name's group membership) instead of
    # joining every person of the school and sorting the group. PostgreSQL's only: SQLite
    # (development) cannot reflect an index on an expression, which the schema check needs.
    __table_args__ = (Index("ix_user_account_name_order", func.lower(text("full_name")), "id")
                      .ddl_if(dialect="postgresql"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    full_name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str | None] = mapped_column(String(256))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Part of the session's user id: raising it ends every session of this person at once
    # (sign-out, password change or reset). Revoked access is per school: the membership.
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    memberships: Mapped[list[AccountMembership]] = relationship(back_populates="user")

    def get_id(self) -> str:
        """What Flask-Login keeps in the session: id and session version together, so a
        cookie copied before the version changed no longer loads anybody."""
        return f"{self.id}.{self.session_version or 0}"

    def end_sessions(self) -> None:
        self.session_version = (self.session_version or 0) + 1

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password, **password_hash_options())

    def check_password(self, password: str) -> bool:
        return bool(self.password_hash) and check_password_hash(self.password_hash, password)

    def __str__(self) -> str:
        return f"{self.full_name} <{self.email}>"


class AccountMembership(Base):
    """A person's place in a school. Revoked people keep their data but lose access."""

    __tablename__ = "account_membership"
    __table_args__ = (
        UniqueConstraint("account_id", "user_id"),
        # People in the back office: a school's newest first, a page at a time.
        Index("ix_account_membership_account_created", "account_id", "created_at"),
        CheckConstraint("role IN ('admin', 'staff', 'member')", name="role"),
        CheckConstraint("status IN ('active', 'revoked')", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(String(20), default="member")
    status: Mapped[str] = mapped_column(String(20), default="active")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    account: Mapped[Account] = relationship(back_populates="memberships")
    user: Mapped[User] = relationship(back_populates="memberships")

    @property
    def is_active(self) -> bool:
        return self.status == "active"

    def __str__(self) -> str:
        return f"{self.user.full_name} ({self.role})"
