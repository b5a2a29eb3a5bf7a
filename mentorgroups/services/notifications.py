"""Jobs that tell people about work: a submission waiting for review, a review done, an
invitation; and the one-email job the fan-outs stage."""

from __future__ import annotations

from flask import current_app, url_for
from sqlalchemy import select

from mentorgroups.extensions import db
from mentorgroups.jobs import job
from mentorgroups.models import (
    AccountMembership,
    Review,
    Submission,
    SubmissionVersion,
    utcnow,
)
from mentorgroups.services import inbox
from mentorgroups.services.email import deliver_email
from mentorgroups.services.email_choices import cadences, email_or_collect
from mentorgroups.services.mentoring import submission_recipients


def external_url(endpoint: str, **values) -> str:
    base = current_app.config["BASE_URL"].rstrip("/")
    with current_app.test_request_context(base_url=base):
        return url_for(endpoint, _external=True, **values)


@job("send_email", queue="emails")
def send_email(key: str, recipient: str, subject: str, body: str,
               account_id: int | None = None, unsubscribe_url: str | None = None) -> str:
    """One email, retried on its own: staged by a fan-out with the notification it goes with.
    With `unsubscribe_url`, RFC 8058 one-click headers (the link is hidden in the stored copy)."""
    from mentorgroups.services.email_summaries import unsubscribe_headers

    headers = unsubscribe_headers(unsubscribe_url) if unsubscribe_url else None
    return deliver_email(key, recipient, subject, body, account_id=account_id, headers=headers,
                         secrets=[unsubscribe_url] if unsubscribe_url else ()).status


@job("notify_submission", queue="notifications")
def notify_submission(submission_id: int, round: int = 1) -> int:
    """Fan-out: every reviewer's in-app notification and one email job per reviewer, written
    in one transaction (committed with the job's 'done'), so the bell never waits for, nor
    depends on, an email, and one failing address holds back nobody else's."""
    submission = db.session.get(Submission, submission_id)
    if submission is None or submission.round != round:
        return 0  # gone, or already in a later round (whose own fan-out tells everyone)
    learner, step = submission.user, submission.step
    link = external_url("review.show", submission_id=submission.id)
    again = "" if round == 1 else f" (round {round})"
    email_key = (f"submission:{submission.id}:" + ("" if round == 1 else f"round:{round}:"))
    did = "submitted" if round == 1 else "resubmitted"
    text = (f"{learner.full_name} {did} \u201c{step.title}\u201d in "
            f"\u201c{step.path.title}\u201d for review{again}")
    reviewers = submission_recipients(submission)
    chosen = cadences(submission.account_id, "submissions", [r.id for r in reviewers])
    staged = 0
    for reviewer in reviewers:
        inbox.notify(reviewer.id, submission.account_id,
                     key=inbox.submission_key(submission.id, round, reviewer.id),
                     kind="submission",
                     text=text, link=f"/review/{submission.id}")
        email_or_collect(
            reviewer, submission.account_id, "submissions", chosen[reviewer.id],
            key=f"{email_key}reviewer:{reviewer.id}",
            subject=f"{learner.full_name} {did} \u201c{step.title}\u201d for review{again}",
            body=(
                f"Hi {reviewer.full_name},\n\n"
                f"{learner.full_name} submitted work on \u201c{step.title}\u201d in the path "
                f"\u201c{step.path.title}\u201d ({submission.cohort.name}).\n\n"
                f"Review it here: {link}\n"
            ),
            line=text, link=link,
        )
        staged += 1
    if submission.status == "reviewed" and submission.review is not None:
        # Reviewed before this fan-out ran: the notifications say so from the start.
        inbox.settle_submission(submission.id, submission.review.reviewer.full_name, round)
    return staged


@job("notify_submission_changed", queue="notifications")
def notify_submission_changed(submission_id: int, version: int) -> int:
    """The learner changed pending work: each current reviewer is told once, in-app and by
    email, unless a notification about it still waits unread for them (they will see the
    latest version when they open it). Nothing once the round is reviewed or over. Safe to
    run twice: the notification and email keys name the version."""
    submission = db.session.get(Submission, submission_id)
    if submission is None or submission.status != "pending":
        return 0
    changed = db.session.scalar(select(SubmissionVersion).where(
        SubmissionVersion.submission_id == submission.id, SubmissionVersion.number == version))
    if changed is None or changed.round != submission.round:
        return 0
    from mentorgroups.web import waited

    learner, step = submission.user, submission.step
    link = external_url("review.show", submission_id=submission.id)
    waiting = waited(submission.submitted_at, utcnow())
    text = (f"{learner.full_name} updated \u201c{step.title}\u201d in "
            f"\u201c{step.path.title}\u201d (waiting {waiting})")
    unread = set(db.session.scalars(inbox.unread_about_submission(submission.id)))
    reviewers = [r for r in submission_recipients(submission) if r.id not in unread]
    chosen = cadences(submission.account_id, "submissions", [r.id for r in reviewers])
    staged = 0
    for reviewer in reviewers:
        key = inbox.submission_key(submission.id, submission.round, reviewer.id, version)
        if not inbox.notify(reviewer.id, submission.account_id, key=key,
                            kind="submission_changed", text=text,
                            link=f"/review/{submission.id}"):
            continue  # this version's notice exists: told already
        email_or_collect(
            reviewer, submission.account_id, "submissions", chosen[reviewer.id],
            key=key.replace(":user:", ":reviewer:"),
            subject=f"{learner.full_name} updated \u201c{step.title}\u201d",
            body=(
                f"Hi {reviewer.full_name},\n\n"
                f"{learner.full_name} updated their work on \u201c{step.title}\u201d in the "
                f"path \u201c{step.path.title}\u201d ({submission.cohort.name}). It has been "
                f"waiting for review {waiting}.\n\n"
                f"Review it here: {link}\n"
            ),
            line=text, link=link,
        )
        staged += 1
    return staged


@job("notify_review", queue="notifications")
def notify_review(review_id: int) -> None:
    """The learner's notification and the email job, in one transaction."""
    review = db.session.get(Review, review_id)
    if review is None:
        return
    submission = review.submission
    learner, step = submission.user, submission.step
    membership = db.session.scalar(
        select(AccountMembership).where(
            AccountMembership.user_id == learner.id,
            AccountMembership.account_id == submission.account_id,
        )
    )
    if membership is None or membership.status != "active" or not learner.active:
        return
    inbox.notify(learner.id, submission.account_id, key=f"review:{review.id}:user:{learner.id}",
                 kind="review", link=f"/paths/{step.path_id}#step-{step.id}",
                 text=f"{review.reviewer.full_name} reviewed your work on \u201c{step.title}\u201d")
    grade = f"Grade: {review.grade} of {step.points}\n" if review.grade is not None else ""
    feedback = f"Feedback:\n{review.feedback}\n" if review.feedback else ""
    link = external_url("learner.path", path_id=step.path_id)
    email_or_collect(
        learner, submission.account_id, "reviews",
        cadences(submission.account_id, "reviews", [learner.id])[learner.id],
        key=f"review:{review.id}:learner",
        subject=f"Your work on \u201c{step.title}\u201d was reviewed",
        body=(
            f"Hi {learner.full_name},\n\n"
            f"{review.reviewer.full_name} reviewed your work on \u201c{step.title}\u201d "
            f"in \u201c{step.path.title}\u201d.\n\n{grade}{feedback}\n"
            f"See it here: {link}\n"
        ),
        line=(f"{review.reviewer.full_name} reviewed your work on \u201c{step.title}\u201d "
              f"in \u201c{step.path.title}\u201d"),
        link=f"{link}#step-{step.id}",
    )


@job("send_invitation", queue="emails")
def send_invitation(invitation_id: int, nonce: str) -> bool:
    """Email one send of an invitation. A send superseded by a newer one (resend, re-invite)
    or an invitation no longer pending sends nothing; the idempotency key is per send."""
    from mentorgroups.models import ACCOUNT_ROLE_LABELS, GROUP_ROLE_LABELS, Invitation
    from mentorgroups.services.invitations import make_token

    invitation = db.session.get(Invitation, invitation_id)
    if invitation is None or invitation.status != "pending" or invitation.nonce != nonce \
            or (invitation.group is None and not invitation.to_school):
        return False
    school = invitation.account.name
    inviter = invitation.invited_by.full_name if invitation.invited_by else "An admin"
    if invitation.to_school:
        what = f"{school} as {ACCOUNT_ROLE_LABELS[invitation.account_role]}"
        subject = f"{inviter} invited you to join {school}"
    else:
        group = invitation.group.name
        what = (f"the group \u201c{group}\u201d at {school} as "
                f"{GROUP_ROLE_LABELS[invitation.role]}")
        subject = f"{inviter} invited you to {group} at {school}"
    link = external_url("invitations.show", token=make_token(nonce))
    deliver_email(
        key=f"invitation:{invitation.id}:{nonce}",
        recipient=invitation.email,
        subject=subject,
        body=(
            f"Hello,\n\n{inviter} invited you to join {what}.\n\n"
            f"Accept the invitation here (you'll create your personal account, or "
            f"sign in if you already have one):\n{link}\n\n"
            f"The link works once and expires on {invitation.expires_at:%d %B %Y}. If you "
            f"don't want to join, ignore this email: nothing changes without you.\n"
        ),
        account_id=invitation.account_id,
        secrets=[link],
    )
    return True
