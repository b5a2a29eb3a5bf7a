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
    """A learner's work on a step marked for review: one per learner and step, kept in
    versions. It waits in review rounds: the first submission opens round 1; an update while
    pending adds a version to the same round (its waiting time still counts from
    `submitted_at`); resubmitting after a review opens the next round, waiting from then.
    `content` is the latest version's text."""

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
    # When the current round was first submitted: every waiting time counts from here (the
    # queue's order, STALE, the digest, the reports). An update never moves it.
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The latest update within the current round; None until the learner changes the work.
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    round: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    status: Mapped[str] = mapped_column(String(20), default="pending")

    account: Mapped[Account] = relationship()
    user: Mapped[User] = relationship()
    step: Mapped[Step] = relationship()
    cohort: Mapped[Cohort] = relationship()
    versions: Mapped[list[SubmissionVersion]] = relationship(
        back_populates="submission", order_by="SubmissionVersion.number",
        cascade="all, delete-orphan")
    reviews: Mapped[list[Review]] = relationship(
        back_populates="submission", order_by="Review.round", cascade="all, delete-orphan")
    # The current round's review (None while the round waits).
    review: Mapped[Review | None] = relationship(
        primaryjoin="and_(Submission.id == foreign(Review.submission_id), "
                    "Submission.round == Review.round)",
        viewonly=True, uselist=False)

    @property
    def last_changed_at(self) -> datetime:
        return self.updated_at or self.submitted_at

    @property
    def earlier_reviews(self) -> list[Review]:
        """Reviews of the rounds before the current one, latest first."""
        return [r for r in reversed(self.reviews) if r.round < self.round]


class SubmissionVersion(Base):
    """One text the learner submitted, in order (numbered across rounds)."""

    __tablename__ = "submission_version"
    __table_args__ = (UniqueConstraint("submission_id", "number",
                                       name="uq_submission_version_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(
        ForeignKey("submission.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    round: Mapped[int] = mapped_column(Integer)
    content: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    submission: Mapped[Submission] = relationship(back_populates="versions")


class Review(Base):
    """The review of one round of a submission (one per round)."""

    __tablename__ = "review"
    __table_args__ = (CheckConstraint("grade IS NULL OR grade >= 0", name="grade_non_negative"),
                      UniqueConstraint("submission_id", "round",
                                       name="uq_review_submission_round"),
                      # Turnaround reads the last four weeks' reviews, not every review.
                      Index("ix_review_created_at", "created_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(
        ForeignKey("submission.id", ondelete="CASCADE"))
    round: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    grade: Mapped[int | None] = mapped_column(Integer)
    feedback: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    submission: Mapped[Submission] = relationship(back_populates="reviews")
    reviewer: Mapped[User] = relationship()
