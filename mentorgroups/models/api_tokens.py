"""School API tokens: a named secret a school's systems send as `Authorization: Bearer ...`
to act in that school through /api/v1/ (and /scim/v2/). Only a hash of the secret is kept;
the secret itself is shown once, when the token is created."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mentorgroups.models.accounts import Account, User
from mentorgroups.models.base import Base, UTCDateTime, utcnow

TOKEN_SCOPES = ("read", "write")
TOKEN_SCOPE_LABELS = {"read": "Read only", "write": "Read and write"}


class ApiToken(Base):
    """`secret_hash` is the sha256 of a 256-bit random secret (hex): a high-entropy secret
    needs no slow hash, and the digest is unique, so a request finds its token by index.
    `prefix` is the secret's first characters, for telling tokens apart on the screen."""

    __tablename__ = "api_token"
    __table_args__ = (
        CheckConstraint("scope IN ('read', 'write')", name="scope"),
        Index("ix_api_token_account_created", "account_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(80))
    scope: Mapped[str] = mapped_column(String(10), default="read")
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    account: Mapped[Account] = relationship()
    created_by: Mapped[User | None] = relationship()

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @property
    def can_write(self) -> bool:
        return self.scope == "write"

    def __str__(self) -> str:
        return self.name
