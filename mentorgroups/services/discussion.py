"""The discussion on a submission: feedback is a conversation, not a one-way grade.

The learner who owns the work and everyone who may review it (learning.can_review) can reply,
before and after the review. A reply tells the other side, once per person: the learner when
a reviewer writes; when the learner writes, the reviewers who have reviewed or replied (still
able to review it), or every current recipient of the submission if nobody has yet. Never the
author, never anyone whose access to the school is revoked, never anyone of another school."""

from __future__ import annotations

from sqlalchemy import select, union
from sqlalchemy.orm import joinedload

from mentorgroups.extensions import db
from mentorgroups.jobs import job, stage_job
from mentorgroups.localtime import as_written
from mentorgroups.models import Review, Submission, SubmissionMessage, User
from mentorgroups.services import inbox
from mentorgroups.services.email_choices import cadences, email_or_collect
from mentorgroups.services.errors import NotFound, PermissionDenied, ServiceError
from mentorgroups.services.learning import can_review
from mentorgroups.services.mentoring import submission_recipients
from mentorgroups.services.notifications import external_url
from mentorgroups.services.permissions import active_membership, require_active_member

MAX_REPLY_LENGTH = 5_000


def is_learner(actor: User, submission: Submission) -> bool:
    return actor.id == submission.user_id


def submission_for_discussion(actor: User, account_id: int, submission_id) -> Submission:
    """The submission, if this person may read and join its discussion: its learner, or
    someone who may review it. Another school's id, or one that does not exist: NotFound (the
    same answer); someone of the school who may not review it: PermissionDenied."""
    try:
        sid = int(submission_id)
    except (TypeError, ValueError):
        raise NotFound("That submission does not exist.") from None
    submission = db.session.get(Submission, sid)
    if submission is None or submission.account_id != account_id:
        raise NotFound("That submission does not exist.")
    require_active_member(actor, account_id)
    if not is_learner(actor, submission) and not can_review(actor, submission):
        raise PermissionDenied(
            "Only the learner and the people who may review this work can take part in its "
            "discussion.")
    return submission


def clean_body(body: str | None) -> str:
    """Plain text as typed, line breaks kept (as \\n), ends trimmed; refused when empty or
    longer than MAX_REPLY_LENGTH, with a message naming the limit and the length."""
    text = (body or "").replace("\r\n", "\n").replace("\r", "\n").strip()
    if not text:
        raise ServiceError("Write something before sending your reply.", field="body")
    if len(text) > MAX_REPLY_LENGTH:
        raise ServiceError(
            f"A reply can be at most {MAX_REPLY_LENGTH:,} characters "
            f"(this one has {len(text):,}).", field="body")
    return text


def add_reply(actor: User, account_id: int, submission_id, body: str | None
              ) -> SubmissionMessage:
    """Add a reply to the submission's discussion and stage the job that tells the other
    side, in the same transaction."""
    submission = submission_for_discussion(actor, account_id, submission_id)
    message = SubmissionMessage(submission=submission, author_id=actor.id,
                                body=clean_body(body))
    db.session.add(message)
    db.session.flush()
    stage_job("notify_reply", message_id=message.id)
    return message


def messages_for(submission_ids) -> dict[int, list[SubmissionMessage]]:
    """submission id -> its messages in the order written, authors loaded: one statement for
    a page's submissions."""
    ids = sorted(set(submission_ids))
    out: dict[int, list[SubmissionMessage]] = {sid: [] for sid in ids}
    if not ids:
        return out
    for message in db.session.scalars(
            select(SubmissionMessage).where(SubmissionMessage.submission_id.in_(ids))
            .options(joinedload(SubmissionMessage.author))
            .order_by(SubmissionMessage.submission_id, SubmissionMessage.created_at,
                      SubmissionMessage.id)):
        out[message.submission_id].append(message)
    return out


def reply_recipients(message: SubmissionMessage) -> list[User]:
    """Who is told of this reply (see the module's docstring), each person once, by id."""
    submission = message.submission
    author_id = message.author_id
    if author_id != submission.user_id:
        learner = submission.user
        if learner.active and active_membership(learner, submission.account_id) is not None:
            return [learner]
        return []
    taken_part = union(
        select(Review.reviewer_id).where(Review.submission_id == submission.id),
        select(SubmissionMessage.author_id).where(
            SubmissionMessage.submission_id == submission.id,
            SubmissionMessage.author_id != submission.user_id))
    people = [person for person in db.session.scalars(
        select(User).where(User.id.in_(select(taken_part.subquery()))).order_by(User.id))
        if can_review(person, submission)]
    if not people:
        people = submission_recipients(submission)
    return [person for person in people if person.id != author_id]


@job("notify_reply", queue="notifications")
def notify_reply(message_id: int) -> int:
    """Fan-out of one reply: each recipient's in-app notification and one email job, written
    in one transaction; a second run finds the notifications and stages nothing again."""
    message = db.session.get(SubmissionMessage, message_id)
    if message is None:
        return 0
    submission, author = message.submission, message.author
    step, account = submission.step, submission.account
    anchor = f"discussion-{submission.id}"
    written = as_written(message.created_at, account)
    staged = 0
    people = reply_recipients(message)
    chosen = cadences(submission.account_id, "replies", [p.id for p in people])
    for person in people:
        key = f"reply:{message.id}:user:{person.id}"
        if person.id == submission.user_id:
            text = f"{author.full_name} replied about your work on \u201c{step.title}\u201d"
            link = f"/paths/{step.path_id}#{anchor}"
            url = external_url("learner.path", path_id=step.path_id, _anchor=anchor)
        else:
            text = (f"{author.full_name} replied about \u201c{step.title}\u201d in "
                    f"\u201c{step.path.title}\u201d")
            link = f"/review/{submission.id}#{anchor}"
            url = external_url("review.show", submission_id=submission.id, _anchor=anchor)
        if not inbox.notify(person.id, submission.account_id, key=key, kind="reply",
                            text=text, link=link):
            continue  # told already (this job ran before): its email was staged with it
        email_or_collect(
            person, submission.account_id, "replies", chosen[person.id], key=key,
            subject=f"{author.full_name} replied about \u201c{step.title}\u201d",
            body=(f"Hi {person.full_name},\n\n"
                  f"{author.full_name} wrote on {written} about \u201c{step.title}\u201d "
                  f"in \u201c{step.path.title}\u201d:\n\n{message.body}\n\n"
                  f"Read the discussion and reply here: {url}\n"),
            line=text, link=url)
        staged += 1
    return staged
