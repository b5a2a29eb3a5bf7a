"""The discussion on a submission: the learner and their reviewers write to each other."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mentorgroups.models.accounts import User
from mentorgroups.models.base import Base, UTCDateTime, utcnow
from mentorgroups.models.learning import Submission


class SubmissionMessage(Base):
    """One reply on a submission, in plain text, kept in the order written."""

    __tablename__ = "submission_message"
    __table_args__ = (
        # A submission's discussion, in order: read from the index for the page's submissions.
        Index("ix_submission_message_submission_created", "submission_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(
        ForeignKey("submission.id", ondelete="CASCADE"))
    author_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    submission: Mapped[Submission] = relationship()
    author: Mapped[User] = relationship()
