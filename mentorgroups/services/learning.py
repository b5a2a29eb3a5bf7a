"""The learner's side: enrolment, completing steps, submitting work for review, reviews, and
progress through paths."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.exc import IntegrityError

from mentorgroups.extensions import db
from mentorgroups.jobs import stage_job
from mentorgroups.models import (
    COHORT_ROLES,
    Cohort,
    CohortMembership,
    Path,
    Review,
    Step,
    StepCompletion,
    Submission,
    SubmissionVersion,
    User,
    utcnow,
)
from mentorgroups.paging import Page, PageRequest, clamp
from mentorgroups.services.errors import NotFound, ServiceError
from mentorgroups.services.inbox import settle_submission
from mentorgroups.services.permissions import (
    active_membership,
    require_account_admin,
    require_active_member,
)
from mentorgroups.wording import percent

MAX_SUBMISSION_LENGTH = 20_000
MAX_FEEDBACK_LENGTH = 10_000


@dataclass(frozen=True)
class Progress:
    completed: int
    total: int

    @property
    def percent(self) -> int:
        return percent(self.completed, self.total)


def enroll(actor: User, cohort_id: int, user_id: int, role: str = "learner") -> CohortMembership:
    """An admin puts a person of the school in a cohort (idempotent: same role, same row)."""
    cohort = db.session.get(Cohort, cohort_id)
    if cohort is None:
        raise NotFound("That cohort does not exist.")
    account_id = cohort.path.account_id
    require_account_admin(actor, account_id)
    if role not in COHORT_ROLES:
        raise ServiceError(f"Unknown cohort role {role!r}.", field="role")
    person = db.session.get(User, user_id)
    if person is None or active_membership(person, account_id) is None:
        raise NotFound("That person is not an active member of this school.")
    membership = db.session.scalar(
        select(CohortMembership).where(
            CohortMembership.cohort_id == cohort_id, CohortMembership.user_id == user_id
        )
    )
    if membership is None:
        membership = CohortMembership(cohort=cohort, user_id=user_id, role=role)
        db.session.add(membership)
    else:
        membership.role = role
    db.session.flush()
    return membership


def learner_paths(user: User, account_id: int) -> list[tuple[Path, Cohort]]:
    """Paths this person learns in this school, with the cohort they take each in."""
    rows = db.session.execute(
        select(Path, Cohort)
        .join(Cohort, Cohort.path_id == Path.id)
        .join(CohortMembership, CohortMembership.cohort_id == Cohort.id)
        .where(
            Path.account_id == account_id,
            CohortMembership.user_id == user.id,
            CohortMembership.role == "learner",
        )
        .order_by(Path.title, Cohort.id)
    ).all()
    seen: dict[int, tuple[Path, Cohort]] = {}
    for path, cohort in rows:
        seen.setdefault(path.id, (path, cohort))
    return list(seen.values())


def progress_for(user_id: int, path_ids: list[int]) -> dict[int, Progress]:
    """Completed / total steps per path, in two queries whatever the number of paths."""
    if not path_ids:
        return {}
    totals = dict(
        db.session.execute(
            select(Step.path_id, func.count(Step.id))
            .where(Step.path_id.in_(path_ids))
            .group_by(Step.path_id)
        ).all()
    )
    done = dict(
        db.session.execute(
            select(Step.path_id, func.count(StepCompletion.id))
            .join(StepCompletion, StepCompletion.step_id == Step.id)
            .where(Step.path_id.in_(path_ids), StepCompletion.user_id == user_id)
            .group_by(Step.path_id)
        ).all()
    )
    return {pid: Progress(done.get(pid, 0), totals.get(pid, 0)) for pid in path_ids}


def path_for_learner(user: User, account_id: int, path_id: int) -> tuple[Path, Cohort]:
    """The path and the learner's cohort in it; NotFound for a path of another school or one
    the person does not take (the same answer, so ids reveal nothing)."""
    for path, cohort in learner_paths(user, account_id):
        if path.id == path_id:
            return path, cohort
    raise NotFound("That path does not exist or you are not enrolled in it.")


def _step_for_learner(user: User, account_id: int, step_id: int) -> tuple[Step, Cohort]:
    require_active_member(user, account_id)
    step = db.session.get(Step, step_id)
    if step is None or step.path.account_id != account_id:
        raise NotFound("That step does not exist.")
    _, cohort = path_for_learner(user, account_id, step.path_id)
    return step, cohort


def complete_step(user: User, account_id: int, step_id: int) -> StepCompletion:
    """Mark a plain step complete (idempotent). Steps marked for review are completed by
    submitting work instead."""
    step, cohort = _step_for_learner(user, account_id, step_id)
    if step.requires_review:
        raise ServiceError("This step is marked for review: submit your work to complete it.")
    completion = db.session.scalar(
        select(StepCompletion).where(
            StepCompletion.user_id == user.id, StepCompletion.step_id == step.id
        )
    )
    if completion is None:
        completion = StepCompletion(user_id=user.id, step_id=step.id, cohort_id=cohort.id)
        db.session.add(completion)
        db.session.flush()
    return completion


def submit_for_review(user: User, account_id: int, step_id: int, content: str) -> Submission:
    """Submit work on a step marked for review, keeping every version. The first submission
    completes the step and opens review round 1. Changing pending work adds a version to the
    same round: its waiting time still counts from the round's first submission, and the
    reviewers are told it changed. Submitting again after a review opens the next round,
    waiting from now; the earlier review stays. Notification jobs are staged in the same
    transaction."""
    step, cohort = _step_for_learner(user, account_id, step_id)
    if not step.requires_review:
        raise ServiceError("This step is not marked for review: just mark it complete.")
    content = (content or "").strip()
    if not content:
        raise ServiceError("Write something before submitting.", field="content")
    if len(content) > MAX_SUBMISSION_LENGTH:
        raise ServiceError(
            f"Submissions can be at most {MAX_SUBMISSION_LENGTH:,} characters "
            f"(this one has {len(content):,}).",
            field="content",
        )
    # Locked: a reviewer saving now, or the learner's second tab, waits for this to finish.
    submission = db.session.scalar(
        select(Submission).where(Submission.user_id == user.id, Submission.step_id == step.id)
        .with_for_update()
    )
    now = utcnow()
    if submission is None:
        submission = Submission(
            account_id=account_id, user_id=user.id, step_id=step.id, cohort_id=cohort.id,
            content=content, submitted_at=now, status="pending", round=1,
        )
        db.session.add(submission)
        if db.session.scalar(
            select(StepCompletion.id).where(
                StepCompletion.user_id == user.id, StepCompletion.step_id == step.id
            )
        ) is None:
            db.session.add(StepCompletion(
                user_id=user.id, step_id=step.id, cohort_id=cohort.id, completed_at=now
            ))
        db.session.flush()
        _add_version(submission, now)
        stage_job("notify_submission", submission_id=submission.id)
    elif submission.status == "reviewed":
        _keep_first_version(submission)
        submission.round += 1
        submission.status = "pending"
        submission.submitted_at = now
        submission.updated_at = None
        submission.content = content
        _add_version(submission, now)
        stage_job("notify_submission", submission_id=submission.id, round=submission.round)
    elif content != submission.content:
        _keep_first_version(submission)
        submission.content = content
        submission.updated_at = now
        version = _add_version(submission, now)
        stage_job("notify_submission_changed", submission_id=submission.id,
                  version=version.number)
    return submission


def _keep_first_version(submission: Submission) -> None:
    """A submission written without versions (by the demo, or a test's rows) keeps its text
    as version 1 before it changes. (The migration gave every older one its version 1.)"""
    if db.session.scalar(select(SubmissionVersion.id).where(
            SubmissionVersion.submission_id == submission.id).limit(1)) is None:
        db.session.add(SubmissionVersion(submission_id=submission.id, number=1,
                                         round=submission.round, content=submission.content,
                                         created_at=submission.submitted_at))
        db.session.flush()


def _add_version(submission: Submission, now) -> SubmissionVersion:
    """The next version of the submission's text, in its current round."""
    last = db.session.scalar(select(func.max(SubmissionVersion.number))
                             .where(SubmissionVersion.submission_id == submission.id))
    version = SubmissionVersion(submission_id=submission.id, number=(last or 0) + 1,
                                round=submission.round, content=submission.content,
                                created_at=now)
    db.session.add(version)
    db.session.flush()
    return version


def can_review(user: User, submission: Submission) -> bool:
    """Account admins, the submission's cohort teachers and moderators, and the mentors and
    Group Admins of a group the learner is a member of may review it."""
    membership = active_membership(user, submission.account_id)
    if membership is None or user.id == submission.user_id:
        return False
    if membership.role == "admin":
        return True
    role = db.session.scalar(
        select(CohortMembership.role).where(
            CohortMembership.cohort_id == submission.cohort_id,
            CohortMembership.user_id == user.id,
        )
    )
    if role in ("teacher", "moderator"):
        return True
    from mentorgroups.services.mentoring import follows_learner

    return bool(db.session.scalar(select(follows_learner(user, submission.account_id,
                                                         submission.user_id))))


def parse_grade(raw: str | int | None, points: int | None) -> int | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if points is None:
        raise ServiceError("This step awards no points, so it takes no grade.", field="grade")
    try:
        grade = int(str(raw).strip())
    except ValueError:
        raise ServiceError(
            f"The grade must be a whole number from 0 to {points}.", field="grade"
        ) from None
    if not 0 <= grade <= points:
        raise ServiceError(f"The grade must be from 0 to {points}.", field="grade")
    return grade


def review_submission(actor: User, submission_id: int, grade: str | int | None,
                      feedback: str | None) -> Review:
    """Record the review of the submission's current round, once. The row lock (and the
    unique review per submission and round) make a second concurrent reviewer fail with a
    message naming the first instead of silently overwriting their grade."""
    submission = db.session.scalar(
        select(Submission).where(Submission.id == submission_id).with_for_update()
    )
    if submission is None or not can_review(actor, submission):
        raise NotFound("That submission does not exist or you cannot review it.")
    if submission.status == "reviewed":
        done = submission.review
        from mentorgroups.localtime import as_written

        raise ServiceError(
            f"{done.reviewer.full_name} already reviewed this on "
            f"{as_written(done.created_at, submission.account)}."
        )
    if not submission.step.requires_review:
        raise ServiceError("This step is not marked for review.")
    grade_value = parse_grade(grade, submission.step.points)
    feedback = (feedback or "").strip()
    if len(feedback) > MAX_FEEDBACK_LENGTH:
        raise ServiceError(
            f"Feedback can be at most {MAX_FEEDBACK_LENGTH:,} characters.", field="feedback"
        )
    if grade_value is None and not feedback:
        raise ServiceError("Give a grade or write some feedback.", field="feedback")
    review = Review(submission_id=submission.id, round=submission.round, reviewer_id=actor.id,
                    grade=grade_value, feedback=feedback)
    submission.status = "reviewed"
    db.session.add(review)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise ServiceError("Someone else reviewed this submission a moment ago.") from None
    db.session.expire(submission, ["review", "reviews"])
    stage_job("notify_review", review_id=review.id)
    settle_submission(submission.id, actor.full_name, submission.round)
    return review


def submission_for_reviewer(actor: User, submission_id: int) -> Submission:
    submission = db.session.get(Submission, submission_id)
    if submission is None or not can_review(actor, submission):
        raise NotFound("That submission does not exist or you cannot review it.")
    return submission


def _reviewable(actor: User, account_id: int):
    """SQL condition on Submission: waiting in this school, not the person's own, and theirs
    to review (an admin: all; others: their cohorts' and their groups' learners, checked
    with EXISTS). None when the person has no access to the school."""
    membership = active_membership(actor, account_id)
    if membership is None:
        return None
    condition = and_(Submission.account_id == account_id, Submission.status == "pending",
                     Submission.user_id != actor.id)
    if membership.role == "admin":
        return condition
    from mentorgroups.services.mentoring import follows_learner

    taught = exists().where(CohortMembership.cohort_id == Submission.cohort_id,
                            CohortMembership.user_id == actor.id,
                            CohortMembership.role.in_(("teacher", "moderator")))
    return and_(condition, or_(taught, follows_learner(actor, account_id, Submission.user_id)))


def pending_reviews_for(actor: User, account_id: int) -> list[Submission]:
    """Everything waiting that this person may review in this school, oldest first."""
    condition = _reviewable(actor, account_id)
    if condition is None:
        return []
    return list(db.session.scalars(
        select(Submission).where(condition).order_by(Submission.submitted_at, Submission.id)))


@dataclass(frozen=True)
class QueueRow:
    """What the review queue shows of one waiting submission (never its text): it waits
    since `submitted_at` (its round's first submission), last changed at `updated_at`."""

    id: int
    submitted_at: datetime
    learner: str
    step: str
    path: str
    cohort: str
    updated_at: datetime | None = None
    round: int = 1


def review_queue(actor: User, account_id: int, request: PageRequest | None = None,
                 filters=None) -> Page:
    """The review queue, oldest first, one page, with the count of everything waiting;
    `filters` (a review_next.QueueFilter) narrows it to a group's members or one learner."""
    request = request or PageRequest()
    condition = _reviewable(actor, account_id)
    if condition is None:
        return Page([], 0, 1, request.size)
    if filters is not None:
        condition = and_(condition, filters.condition())
    total = db.session.scalar(select(func.count()).select_from(Submission).where(condition))
    request = clamp(request, total)
    # The page's submissions first, then their names: joined the other way round the planner
    # may hash every person of the school to show fifty of them.
    page = (select(Submission.id, Submission.submitted_at, Submission.user_id,
                   Submission.step_id, Submission.cohort_id, Submission.updated_at,
                   Submission.round)
            .where(condition).order_by(Submission.submitted_at, Submission.id)
            .limit(request.size).offset(request.offset).subquery())
    rows = db.session.execute(
        select(page.c.id, page.c.submitted_at, User.full_name, Step.title, Path.title,
               Cohort.name, page.c.updated_at, page.c.round)
        .join(User, User.id == page.c.user_id)
        .join(Step, Step.id == page.c.step_id)
        .join(Path, Path.id == Step.path_id)
        .join(Cohort, Cohort.id == page.c.cohort_id)
        .order_by(page.c.submitted_at, page.c.id))
    return Page([QueueRow(*row) for row in rows], total, request.number, request.size)
