"""Mentor Groups: nested groups of a school, who is in them in which role, and the audit log
of every change to them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mentorgroups.models.accounts import Account, User
from mentorgroups.models.api_tokens import ApiToken
from mentorgroups.models.base import Base, UTCDateTime, utcnow

GROUP_ROLES = ("member", "mentor", "group_admin")
GROUP_ROLE_LABELS = {"member": "Member", "mentor": "Mentor", "group_admin": "Group Admin"}
STAFF_ROLES = ("mentor", "group_admin")
PLAN_GROUP_LIMITS: dict[str, int | None] = {
    "trial": 1, "starter": 1, "essentials": 5, "complete": 20, "enterprise": None,
}


class MentorGroup(Base):
    """A group of one school. `parent_id` nests it; the tree never crosses schools and never
    has a cycle (the groups service keeps both true)."""

    __tablename__ = "mentor_group"
    __table_args__ = (Index("ix_mentor_group_account_parent", "account_id", "parent_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"))
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("mentor_group.id", ondelete="SET NULL")
    )
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    # SCIM provisioning (mentorgroups.scim): the identity provider's own id for the group, and
    # a count of the changes made over SCIM, raised under the group's row lock, so the order in
    # which an identity provider's changes were applied is known (the resource's meta.version).
    scim_external_id: Mapped[str | None] = mapped_column(String(255))
    scim_revision: Mapped[int] = mapped_column(default=0, server_default="0")

    account: Mapped[Account] = relationship()
    parent: Mapped[MentorGroup | None] = relationship(remote_side="MentorGroup.id")

    def __str__(self) -> str:
        return self.name


class GroupMembership(Base):
    __tablename__ = "group_membership"
    __table_args__ = (
        UniqueConstraint("group_id", "user_id"),
        # A group's people by role: counted from the index alone, without the rows.
        Index("ix_group_membership_group_role", "group_id", "role", "user_id"),
        CheckConstraint("role IN ('member', 'mentor', 'group_admin')", name="role"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("mentor_group.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(String(20), default="member")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Who added the person (or invited them, for a membership that came from an invitation).
    added_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )

    group: Mapped[MentorGroup] = relationship()
    user: Mapped[User] = relationship(foreign_keys=[user_id])
    added_by: Mapped[User | None] = relationship(foreign_keys=[added_by_id])


class AuditEvent(Base):
    """Who changed what in the groups, with before and after. Group and person are kept by
    id and by name, so the log stays readable after a group is deleted."""

    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_account_created", "account_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"))
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    # Set when a school API token acted (actor_id is then empty): the log names the token.
    api_token_id: Mapped[int | None] = mapped_column(
        ForeignKey("api_token.id", ondelete="SET NULL")
    )
    action: Mapped[str] = mapped_column(String(40))
    group_id: Mapped[int | None] = mapped_column(index=True)
    group_name: Mapped[str] = mapped_column(String(120), default="")
    subject_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    subject_email: Mapped[str] = mapped_column(String(254), default="")
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    actor: Mapped[User | None] = relationship(foreign_keys=[actor_id])
    api_token: Mapped[ApiToken | None] = relationship()
    subject: Mapped[User | None] = relationship(foreign_keys=[subject_user_id])
