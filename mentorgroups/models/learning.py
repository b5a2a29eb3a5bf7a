"""Paths (courses) of ordered steps, cohorts that offer them, and the learner's work:
completions, submissions for review and their reviews."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mentorgroups.models.accounts import Account, User
from mentorgroups.models.base import Base, UTCDateTime, utcnow

COHORT_ROLES = ("learner", "teacher", "moderator")
SUBMISSION_STATUSES = ("pending", "reviewed")


class Path(Base):
    __tablename__ = "path"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("account.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    account: Mapped[Account] = relationship()
    steps: Mapped[list[Step]] = relationship(
        back_populates="path", order_by="Step.position", cascade="all, delete-orphan"
    )
    cohorts: Mapped[list[Cohort]] = relationship(
        back_populates="path", cascade="all, delete-orphan"
    )

    def __str__(self) -> str:
        return self.title


class Step(Base):
    __tablename__ = "step"
    __table_args__ = (CheckConstraint("points IS NULL OR points > 0", name="points_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    path_id: Mapped[int] = mapped_column(ForeignKey("path.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    requires_review: Mapped[bool] = mapped_column(Boolean, default=False)
    points: Mapped[int | None] = mapped_column(Integer)

    path: Mapped[Path] = relationship(back_populates="steps")

    def __str__(self) -> str:
        return self.title


class Cohort(Base):
    __tablename__ = "cohort"

    id: Mapped[int] = mapped_column(primary_key=True)
    path_id: Mapped[int] = mapped_column(ForeignKey("path.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    starts_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    path: Mapped[Path] = relationship(back_populates="cohorts")
    memberships: Mapped[list[CohortMembership]] = relationship(
        back_populates="cohort", cascade="all, delete-orphan"
    )

    def __str__(self) -> str:
        return f"{self.path.title}: {self.name}" if self.path else self.name


class CohortMembership(Base):
    __tablename__ = "cohort_membership"
    __table_args__ = (
        UniqueConstraint("cohort_id", "user_id"),
        CheckConstraint("role IN ('learner', 'teacher', 'moderator')", name="role"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohort.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(String(20), default="learner")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    cohort: Mapped[Cohort] = relationship(back_populates="memberships")
    user: Mapped[User] = relationship()


class StepCompletion(Base):
    __tablename__ = "step_completion"
    __table_args__ = (UniqueConstraint("user_id", "step_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    step_id: Mapped[int] = mapped_column(ForeignKey("step.id", ondelete="CASCADE"), index=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohort.id", ondelete="CASCADE"), index=True)
    completed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship()
    step: Mapped[Step] = relationship()
    cohort: Mapped[Cohort] = relationship()


class Submission(Base):
    """A learner's work on a step marked for review. One per learner and step; it stays
    pending until someone reviews it."""

    __tablename__ = "submission"
    __table_args__ = (
        UniqueConstraint("user_id", "step_id"),
        CheckConstraint("status IN ('pending', 'reviewed')", name="status"),
        Index("ix_submission_account_status", "account_id", "status"),
        # The review queue: a school's waiting work, oldest first, a page at a time.
        Index("ix_submission_account_status_submitted", "account_id", "status",
              "submitted_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    step_id: Mapped[int] = mapped_column(ForeignKey("step.id", ondelete="CASCADE"), index=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohort.id", ondelete="CASCADE"), index=True)
    content: Mapped[str] = mapped_column(Text)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status: Mapped[str] = mapped_column(String(20), default="pending")

    account: Mapped[Account] = relationship()
    user: Mapped[User] = relationship()
    step: Mapped[Step] = relationship()
    cohort: Mapped[Cohort] = relationship()
    review: Mapped[Review | None] = relationship(back_populates="submission", uselist=False)


class Review(Base):
    __tablename__ = "review"
    __table_args__ = (CheckConstraint("grade IS NULL OR grade >= 0", name="grade_non_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(
        ForeignKey("submission.id", ondelete="CASCADE"), unique=True
    )
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    grade: Mapped[int | None] = mapped_column(Integer)
    feedback: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    submission: Mapped[Submission] = relationship(back_populates="review")
    reviewer: Mapped[User] = relationship()
