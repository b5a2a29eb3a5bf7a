"""Turnaround: how long work waits for its first review.

Every review round of a submission waits from its waiting-since time (the round's first
submission: `Submission.submitted_at` for the current round, the round's first version for an
earlier one; an update within a round never moves it) until its review is saved. Per mentor
(the reviewer), per group (rounds of the group's current members' work) or per digest reader
(rounds of the members of their digest's groups), over the reviews saved in the last four
weeks: the count, the median and the 90th percentile.

Percentiles are nearest-rank, the same on SQLite and PostgreSQL: of N waits in ascending
order, the p-th percentile is the ceil(p * N / 100)-th (so the median of an even count is the
lower of the middle two, and "90% within" is a wait that at least 90% of the rounds did not
exceed). SQLite has no percentile_cont, so both backends rank with window functions
(row_number() and count() over the key) and pick those ranks: one statement per question,
whatever the number of reviews, mentors or groups."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, case, exists, func, select, values
from sqlalchemy import column as sql_column
from sqlalchemy.types import Integer

from mentorgroups.extensions import db
from mentorgroups.models import (
    AccountMembership,
    GroupMembership,
    MentorGroup,
    Review,
    Submission,
    SubmissionVersion,
    User,
    utcnow,
)
from mentorgroups.services.mentoring import active_people, viewable_group

WINDOW = timedelta(days=28)
DAY = 86400.0


@dataclass(frozen=True)
class Turnaround:
    """Waits for a first review, in seconds (None with no reviews in the window)."""

    count: int = 0
    median: float | None = None
    p90: float | None = None

    @property
    def median_days(self) -> float | None:
        return None if self.median is None else self.median / DAY

    @property
    def p90_days(self) -> float | None:
        return None if self.p90 is None else self.p90 / DAY

    @property
    def median_text(self) -> str:
        return days_text(self.median)

    @property
    def p90_text(self) -> str:
        return days_text(self.p90)

    @property
    def summary(self) -> str:
        """'Median wait for a first review, last 4 weeks: 1.3 days · 90% within 3.0 days ·
        42 reviewed', or that there were none (never a 0 that looks like instant reviews)."""
        if not self.count:
            return "Median wait for a first review: no reviews in the last 4 weeks"
        return (f"Median wait for a first review, last 4 weeks: {self.median_text} · "
                f"90% within {self.p90_text} · {self.count} reviewed")


NONE = Turnaround()


def days_text(seconds: float | None) -> str:
    """'1.3 days' (one decimal, the unit the schools count waiting in)."""
    if seconds is None:
        return "no reviews in the last 4 weeks"
    return f"{seconds / DAY:.1f} days"


def days_cell(seconds: float | None) -> float | None:
    """A report cell: days with one decimal, blank with no reviews."""
    return None if seconds is None else round(seconds / DAY, 1)


def _seconds(later, earlier):
    """`later - earlier` in seconds, in SQL: PostgreSQL subtracts timestamps; SQLite keeps
    them as text, which julianday() reads."""
    if db.session.get_bind().dialect.name == "postgresql":
        return func.extract("epoch", later - earlier)
    return (func.julianday(later) - func.julianday(earlier)) * DAY


def first_review_waits(account_id: int, now: datetime | None = None):
    """SQL: one row per review round of the school reviewed in the four weeks up to `now`:
    review id, reviewer id, learner id and the wait in seconds."""
    now = now or utcnow()
    round_start = (select(func.min(SubmissionVersion.created_at))
                   .where(SubmissionVersion.submission_id == Submission.id,
                          SubmissionVersion.round == Review.round)
                   .correlate(Submission, Review).scalar_subquery())
    waiting_since = case((Review.round == Submission.round, Submission.submitted_at),
                         else_=round_start)
    return (select(Review.id.label("review_id"), Review.reviewer_id.label("reviewer_id"),
                   Submission.user_id.label("learner_id"),
                   _seconds(Review.created_at, waiting_since).label("wait"))
            .join(Submission, Submission.id == Review.submission_id)
            .where(Submission.account_id == account_id,
                   Review.created_at > now - WINDOW, Review.created_at <= now,
                   waiting_since.is_not(None)))


def _figures(keyed) -> dict[int, Turnaround]:
    """key -> Turnaround from a subquery of (key, wait) rows, ranked in the database."""
    n = func.count().over(partition_by=keyed.c.key)
    rank = func.row_number().over(partition_by=keyed.c.key,
                                  order_by=(keyed.c.wait, keyed.c.review_id))
    ranked = select(keyed.c.key, keyed.c.wait, n.label("n"), rank.label("rank")).subquery()
    # Nearest rank: ceil(N / 2) and ceil(9 N / 10), in integer arithmetic on both backends.
    median_rank = (ranked.c.n + 1) // 2
    p90_rank = (ranked.c.n * 9 + 9) // 10
    rows = db.session.execute(
        select(ranked.c.key, func.max(ranked.c.n),
               func.max(case((ranked.c.rank == median_rank, ranked.c.wait))),
               func.max(case((ranked.c.rank == p90_rank, ranked.c.wait))))
        .group_by(ranked.c.key))
    return {key: Turnaround(int(count), float(median), float(p90))
            for key, count, median, p90 in rows}


def _active(account_id: int, user_id):
    return exists().where(AccountMembership.user_id == user_id,
                          AccountMembership.account_id == account_id,
                          AccountMembership.status == "active")


def by_reviewer(account_id: int, now: datetime | None = None,
                reviewers=None) -> dict[int, Turnaround]:
    """reviewer id -> their turnaround over the last four weeks, every review of theirs in
    the school (one statement). `reviewers`: a SQL selection of user ids to keep."""
    waits = first_review_waits(account_id, now)
    if reviewers is not None:
        waits = waits.where(Review.reviewer_id.in_(reviewers))
    waits = waits.subquery()
    return _figures(select(waits.c.reviewer_id.label("key"), waits.c.wait,
                           waits.c.review_id).subquery())


def by_group(account_id: int, now: datetime | None = None,
             group_ids: list[int] | None = None) -> dict[int, Turnaround]:
    """group id -> the turnaround of its current members' work (people whose access to the
    school is active, as on the group page), over the last four weeks (one statement). A
    learner in two groups counts in both."""
    waits = first_review_waits(account_id, now).subquery()
    keyed = (select(GroupMembership.group_id.label("key"), waits.c.wait, waits.c.review_id)
             .join(GroupMembership, and_(GroupMembership.user_id == waits.c.learner_id,
                                         GroupMembership.role == "member"))
             .join(MentorGroup, MentorGroup.id == GroupMembership.group_id)
             .where(MentorGroup.account_id == account_id,
                    _active(account_id, waits.c.learner_id)))
    if group_ids is not None:
        keyed = keyed.where(GroupMembership.group_id.in_(sorted(group_ids)))
    return _figures(keyed.subquery())


def by_reader(account_id: int, groups_of, now: datetime | None = None
              ) -> dict[int, Turnaround]:
    """person id -> the turnaround of the work of every member of the groups given for them
    (their digest's groups, nested ones included), each round once, never their own work,
    over the last four weeks (one statement). `groups_of`: {person id: group ids}, or a
    SQL selection of (reader_id, group_id) rows, which the digest passes so that no group
    id is bound as a parameter."""
    if isinstance(groups_of, dict):
        pairs = [(uid, gid) for uid, gids in sorted(groups_of.items()) for gid in sorted(gids)]
        if not pairs:
            return {}
        follows = values(sql_column("reader_id", Integer), sql_column("group_id", Integer),
                         name="follows").data(pairs).cte("follows")
    else:
        follows = groups_of.cte("follows")
    waits = first_review_waits(account_id, now).subquery()
    keyed = (select(follows.c.reader_id.label("key"), waits.c.wait, waits.c.review_id)
             .select_from(follows)
             .join(GroupMembership, and_(GroupMembership.group_id == follows.c.group_id,
                                         GroupMembership.role == "member"))
             .join(MentorGroup, and_(MentorGroup.id == GroupMembership.group_id,
                                     MentorGroup.account_id == account_id))
             .join(waits, waits.c.learner_id == GroupMembership.user_id)
             .where(waits.c.learner_id != follows.c.reader_id,
                    _active(account_id, waits.c.learner_id))
             .distinct())
    return _figures(keyed.subquery())


@dataclass(frozen=True)
class GroupTurnaround:
    """A group's figure, and each of its mentors' own (all their reviews in the school)."""

    group: Turnaround
    mentors: list[tuple[str, Turnaround]]


def for_group(actor: User, account_id: int, group_id, now: datetime | None = None
              ) -> GroupTurnaround:
    """A group's turnaround and its mentors', for a person who mentors or manages the group
    (NotFound otherwise). Three statements, whatever the number of reviews."""
    group = viewable_group(actor, account_id, group_id)
    mentors = (select(GroupMembership.user_id).where(GroupMembership.group_id == group.id,
                                                     GroupMembership.role == "mentor"))
    names = db.session.execute(
        select(User.id, User.full_name).join(AccountMembership, active_people(account_id))
        .where(User.id.in_(mentors)).order_by(func.lower(User.full_name), User.id)).all()
    per_mentor = by_reviewer(account_id, now, mentors)
    return GroupTurnaround(by_group(account_id, now, [group.id]).get(group.id, NONE),
                           [(name, per_mentor.get(uid, NONE)) for uid, name in names])
