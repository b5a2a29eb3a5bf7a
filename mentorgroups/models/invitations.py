"""Invitations: an address asked into a school, or into a group in a role, before they are in
the school. Nobody joins a school without following such a link."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mentorgroups.models.accounts import Account, User
from mentorgroups.models.api_tokens import ApiToken
from mentorgroups.models.base import Base, UTCDateTime, utcnow
from mentorgroups.models.groups import MentorGroup

INVITATION_STATUSES = ("pending", "accepted", "revoked")


class Invitation(Base):
    """Only a hash of the link's token is stored. The token is an HMAC of the row's id and
    `nonce` under the app's secret, so the email job can rebuild it while a copy of the
    database alone cannot. A new nonce (resend, re-invite) makes the old link stop working."""

    __tablename__ = "invitation"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'accepted', 'revoked')", name="status"),
        CheckConstraint("role IN ('member', 'mentor', 'group_admin')", name="role"),
        CheckConstraint("account_role IS NULL OR account_role IN ('admin', 'staff', 'member')",
                        name="account_role"),
        Index("ix_invitation_group_email", "group_id", "email"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"))
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("mentor_group.id", ondelete="SET NULL")
    )
    email: Mapped[str] = mapped_column(String(254))
    # Group invitations carry the group role; the school role on joining is then Member.
    role: Mapped[str] = mapped_column(String(20))
    # Set for an invitation into the school itself (People > Add, the operator's first admin):
    # no group, and this is the school role the person gets on accepting.
    account_role: Mapped[str | None] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default="pending")
    nonce: Mapped[str] = mapped_column(String(64))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    invited_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    # Set when a school API token invited (SCIM, the API): the screens name the token.
    invited_by_token_id: Mapped[int | None] = mapped_column(
        ForeignKey("api_token.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    accepted_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )

    account: Mapped[Account] = relationship()
    group: Mapped[MentorGroup | None] = relationship()
    invited_by: Mapped[User | None] = relationship(foreign_keys=[invited_by_id])
    invited_by_token: Mapped[ApiToken | None] = relationship()

    @property
    def inviter_name(self) -> str:
        """Who sent it, as the screens say it: a person's name, an API token's, or nothing
        (the operator's command)."""
        if self.invited_by is not None:
            return self.invited_by.full_name
        if self.invited_by_token is not None:
            return f"API token \u201c{self.invited_by_token.name}\u201d"
        return ""

    @property
    def to_school(self) -> bool:
        return self.account_role is not None
