"""The jobs that tell people about work, called directly: who gets told, and when nothing is
sent at all (the row is gone, the person's access is revoked, the link was superseded)."""

import pytest
from sqlalchemy import delete, func, select, update

from mentorgroups.extensions import db
from mentorgroups.models import Invitation, Notification, OutboxJob, SentEmail, User
from mentorgroups.services import accounts, invitations, learning, notifications
from mentorgroups.services import group_members as gm
from tests.kept_scenes import kept_scene
from tests.two_schools import membership, two_schools


@pytest.fixture
def w(app, request):
    return kept_scene(request, build_w)


def build_w():
    return two_schools()


def emails_to(*people):
    return {p.full_name: db.session.scalar(select(func.count()).select_from(SentEmail).where(
        SentEmail.recipient == p.email)) for p in people}


def reviewed(w, learner, grade="7", feedback="Well argued"):
    submission = learning.submit_for_review(learner, w.river.id, w.essay.steps[2].id, "work")
    db.session.commit()
    review = learning.review_submission(w.tess, submission.id, grade, feedback)
    db.session.flush()
    return review  # not committed: the job has not run yet


def test_the_submission_job_counts_what_it_sent_and_skips_a_vanished_submission(w):
    submission = learning.submit_for_review(w.lia, w.river.id, w.essay.steps[1].id, "work")
    db.session.flush()
    assert notifications.notify_submission(submission.id) == 4  # Meg, Fay, Tess, Mo
    assert notifications.notify_submission(submission.id) == 4  # again: staged, sent once
    reviewers = sorted(p.email for p in (w.meg, w.fay, w.tess, w.mo))
    staged = list(db.session.scalars(select(OutboxJob.payload).where(
        OutboxJob.name == "send_email")))
    assert sorted(p["recipient"] for p in staged) == sorted(reviewers * 2)
    assert len({p["key"] for p in staged}) == 4  # one key per reviewer
    assert db.session.scalar(select(func.count()).select_from(SentEmail)) == 0  # not yet
    db.session.commit()  # the staged email jobs run now (in-process)
    assert sorted(db.session.scalars(select(SentEmail.recipient))) == reviewers
    assert set(db.session.scalars(select(SentEmail.status))) == {"logged"}
    told = db.session.scalars(select(Notification.user_id).where(
        Notification.kind == "submission"))
    assert sorted(told) == sorted(p.id for p in (w.meg, w.fay, w.tess, w.mo))
    assert notifications.notify_submission(10_000_000) == 0


def test_the_learner_hears_of_a_review_with_grade_and_feedback(w):
    review = reviewed(w, w.lia)
    notifications.notify_review(review.id)
    db.session.commit()  # the staged email job runs now (in-process)
    assert emails_to(w.lia) == {"Lia Learner": 1}
    assert list(db.session.scalars(select(SentEmail.recipient).where(
        SentEmail.idempotency_key.like("review:%")))) == [w.lia.email]  # nobody else
    email = db.session.scalar(select(SentEmail).where(SentEmail.recipient == w.lia.email))
    assert "Grade: 7 of 10" in email.body and "Well argued" in email.body
    assert "http://127.0.0.1:5000/paths/" in email.body
    note = db.session.scalar(select(Notification).where(Notification.user_id == w.lia.id))
    assert note.kind == "review" and "Tess Teacher reviewed your work" in note.text


def test_a_review_without_grade_says_no_grade(w):
    review = reviewed(w, w.lia, grade="", feedback="See my notes")
    notifications.notify_review(review.id)
    db.session.commit()  # the staged email job runs now (in-process)
    assert emails_to(w.lia) == {"Lia Learner": 1}
    body = db.session.scalar(select(SentEmail.body).where(SentEmail.recipient == w.lia.email))
    assert "Grade" not in body and "See my notes" in body


@pytest.mark.parametrize("how", ["revoked here", "deactivated"])
def test_a_learner_who_lost_access_is_not_told_of_the_review(w, how):
    review = reviewed(w, w.lia)
    db.session.commit()
    db.session.execute(delete(Notification))
    db.session.execute(delete(SentEmail))
    if how == "revoked here":  # she is still active at Hillside
        accounts.set_membership_status(w.ada, membership(w.lia, w.river), "revoked")
    else:
        db.session.execute(update(User).where(User.id == w.lia.id).values(active=False))
    db.session.commit()
    notifications.notify_review(review.id)
    assert emails_to(w.lia) == {"Lia Learner": 0}
    assert db.session.scalar(select(func.count()).select_from(Notification)) == 0


def test_a_review_of_someone_with_no_membership_left_is_not_sent(w):
    review = reviewed(w, w.sam)
    db.session.commit()
    db.session.execute(delete(SentEmail))
    db.session.delete(membership(w.sam, w.river))
    db.session.commit()
    notifications.notify_review(review.id)
    assert emails_to(w.sam) == {"Sam Shared": 0}
    assert notifications.notify_review(10_000_000) is None


def test_only_the_latest_send_of_a_pending_invitation_is_emailed(w):
    gm.add_members(w.ada, w.river.id, w.coaching.id, "member", addresses="kim@new.test")
    db.session.commit()
    invitation = db.session.scalar(select(Invitation))
    first = invitation.nonce
    db.session.execute(delete(SentEmail))
    db.session.commit()
    invitations.resend(w.ada, w.river.id, invitation.id)
    db.session.commit()
    assert invitation.nonce != first
    assert notifications.send_invitation(invitation.id, first) is False  # superseded
    assert notifications.send_invitation(invitation.id, invitation.nonce) is True
    assert notifications.send_invitation(10_000_000, first) is False
    sent = db.session.scalars(select(SentEmail.subject)).all()
    assert sent == ["Ada Admin invited you to Coaching at Riverside Academy"]


@pytest.mark.parametrize("how", ["revoked", "accepted", "group gone"])
def test_an_invitation_no_longer_pending_is_not_emailed(w, how):
    gm.add_members(w.ada, w.river.id, w.coaching.id, "mentor", addresses="kim@new.test")
    db.session.commit()
    invitation = db.session.scalar(select(Invitation))
    db.session.execute(delete(SentEmail))
    if how == "group gone":  # a row from before deleting a group ended its invitations
        db.session.execute(update(Invitation).values(group_id=None))
    else:
        db.session.execute(update(Invitation).values(status=how))
    db.session.commit()
    db.session.expire_all()
    assert notifications.send_invitation(invitation.id, invitation.nonce) is False
    assert db.session.scalar(select(func.count()).select_from(SentEmail)) == 0



def test_a_learner_revoked_here_but_active_at_a_school_she_joined_first_is_not_told(w):
    """Kit joined Hillside before Riverside: her Hillside membership is the older row, and it
    must not stand in for the revoked Riverside one."""
    from mentorgroups.models import CohortMembership
    from tests.factories import make_member

    kit = make_member(w.hill, "member", full_name="Kit Keen", email="kit@hill.test")
    make_member(w.river, "member", user=kit)
    w.spring.memberships.append(CohortMembership(user=kit, role="learner"))
    db.session.commit()
    review = reviewed(w, kit)
    db.session.commit()
    db.session.execute(delete(Notification))
    db.session.execute(delete(SentEmail))
    accounts.set_membership_status(w.ada, membership(kit, w.river), "revoked")
    db.session.commit()
    notifications.notify_review(review.id)
    db.session.commit()
    assert emails_to(kit) == {"Kit Keen": 0}
    assert db.session.scalar(select(func.count()).select_from(Notification)) == 0


def test_work_reviewed_before_the_fan_out_ran_is_announced_as_reviewed(w):
    """Tess reviewed Lia's work before the notification job ran: every reviewer's note says
    so and none of them is unread; a pending submission's notes are left unread."""
    pending = learning.submit_for_review(w.sam, w.river.id, w.essay.steps[1].id, "draft")
    review = reviewed(w, w.lia)
    db.session.commit()
    db.session.execute(delete(Notification))
    db.session.commit()

    notifications.notify_submission(review.submission.id)
    notifications.notify_submission(pending.id)
    db.session.commit()
    notes = {(n.key.split(":")[1], n.user_id): n for n in db.session.scalars(
        select(Notification).where(Notification.kind == "submission"))}
    done = [n for (sid, _), n in notes.items() if sid == str(review.submission.id)]
    waiting = [n for (sid, _), n in notes.items() if sid == str(pending.id)]
    # Lia's mentors and her cohort's teacher and moderator; Sam has no mentor at Riverside
    assert sorted(n.user_id for n in done) == sorted(p.id for p in (w.meg, w.fay, w.tess, w.mo))
    assert sorted(n.user_id for n in waiting) == sorted(p.id for p in (w.tess, w.mo))
    assert all(n.text.endswith(" \u00b7 reviewed by Tess Teacher") and n.read_at is not None
               for n in done)
    assert all("reviewed by" not in n.text and n.read_at is None for n in waiting)


def test_a_school_invitation_is_emailed_and_a_group_invitation_whose_group_is_gone_is_not(w):
    school = invitations.invite_to_school(w.ada, w.river.id, "kim@new.test", "staff")
    gm.add_members(w.ada, w.river.id, w.coaching.id, "member", addresses="lou@new.test")
    db.session.commit()
    group_invitation = db.session.scalar(select(Invitation).where(
        Invitation.email == "lou@new.test"))
    db.session.execute(delete(SentEmail))
    db.session.execute(update(Invitation).where(Invitation.id == group_invitation.id)
                       .values(group_id=None))
    db.session.commit()
    db.session.expire_all()
    assert notifications.send_invitation(school.id, school.nonce) is True
    assert notifications.send_invitation(group_invitation.id, group_invitation.nonce) is False
    assert db.session.scalars(select(SentEmail.subject)).all() == [
        "Ada Admin invited you to join Riverside Academy"]


def test_a_learner_made_teacher_before_the_fan_out_is_not_told_of_her_own_work(w):
    """Lia submits as a learner; before the notification job runs, an admin makes her a
    teacher of that cohort. Her own work is announced to the others only."""
    from mentorgroups.models import CohortMembership

    submission = learning.submit_for_review(w.lia, w.river.id, w.essay.steps[1].id, "work")
    db.session.flush()
    db.session.execute(update(CohortMembership).where(
        CohortMembership.cohort_id == w.spring.id, CohortMembership.user_id == w.lia.id)
        .values(role="teacher"))
    db.session.flush()
    assert notifications.notify_submission(submission.id) == 4
    told = db.session.scalars(select(Notification.user_id).where(
        Notification.kind == "submission"))
    assert sorted(told) == sorted(p.id for p in (w.meg, w.fay, w.tess, w.mo))
