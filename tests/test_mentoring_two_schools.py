"""Who is told of a submission, who follows whom, and whose card opens, in two schools that
share people (see tests/two_schools.py for the cast)."""

import pytest
from sqlalchemy import select

from mentorgroups.extensions import db
from mentorgroups.models import GroupMembership, Notification, SentEmail, User
from mentorgroups.services import learning, mentoring
from mentorgroups.services.errors import NotFound
from tests.two_schools import two_schools


@pytest.fixture
def w(app):
    return two_schools()


def names(users):
    return sorted(u.full_name for u in users)


def submit(w, who, step=1):
    submission = learning.submit_for_review(who, w.river.id, w.essay.steps[step].id, "work")
    db.session.commit()
    return submission


def told(submission):
    """Names of the people given an in-app notification and of those sent an email."""
    in_app = db.session.scalars(select(User.full_name).join(
        Notification, Notification.user_id == User.id).where(
        Notification.key.like(f"submission:{submission.id}:%")))
    emailed = db.session.scalars(select(User.full_name).join(
        SentEmail, SentEmail.recipient == User.email).where(
        SentEmail.idempotency_key.like(f"submission:{submission.id}:%")))
    return sorted(in_app), sorted(emailed)


def test_the_scene_really_has_revoked_and_deactivated_mentors_in_the_group(w):
    mentors = set(db.session.scalars(select(GroupMembership.user_id).where(
        GroupMembership.group_id == w.coaching.id, GroupMembership.role == "mentor")))
    assert {w.rita.id, w.dee.id} <= mentors


def test_a_submission_reaches_its_mentors_teacher_and_moderator_and_nobody_else(w):
    submission = submit(w, w.lia)
    expected = ["Fay Fellow", "Meg Mentor", "Mo Moderator", "Tess Teacher"]
    assert names(mentoring.submission_recipients(submission)) == expected
    # Not told: Una (mentors an unrelated group), Aut (teaches the other cohort), Gus (Group
    # Admin), Rita (revoked), Dee (deactivated), Sam and Hugo (mentor Lia at Hillside), Ada,
    # and Lia herself.
    assert told(submission) == (expected, expected)


def test_a_fellow_mentor_s_work_goes_to_the_cohort_not_to_the_other_mentors(w):
    submission = submit(w, w.fay)
    assert names(mentoring.submission_recipients(submission)) == ["Mo Moderator",
                                                                 "Tess Teacher"]
    assert w.fay.id not in mentoring.followed_learner_ids(w.meg, w.river.id)
    assert not learning.can_review(w.meg, submission)
    assert learning.pending_reviews_for(w.meg, w.river.id) == []
    assert learning.can_review(w.tess, submission)


def test_a_mentor_at_hillside_follows_nobody_at_riverside_where_they_learn(w):
    submission = submit(w, w.lia)
    assert mentoring.mentored_group_ids(w.sam, w.hill.id) == {w.hill_group.id}
    assert mentoring.followed_learner_ids(w.sam, w.hill.id) == {w.lia.id}
    assert mentoring.mentored_group_ids(w.sam, w.river.id) == set()
    assert mentoring.followed_learner_ids(w.sam, w.river.id) == set()
    assert mentoring.mentor_home(w.sam, w.river.id) == ([], [])
    assert not learning.can_review(w.sam, submission)
    assert learning.pending_reviews_for(w.sam, w.river.id) == []
    assert not mentoring.may_view_learner(w.sam, w.river.id, w.lia.id)
    with pytest.raises(NotFound):
        mentoring.learner_profile(w.sam, w.river.id, w.lia.id)


def test_revoked_and_deactivated_mentors_follow_nobody(w):
    for gone in (w.rita, w.dee):
        assert mentoring.mentored_group_ids(gone, w.river.id) == set()
        assert not mentoring.may_view_learner(gone, w.river.id, w.lia.id)
    assert mentoring.followed_learner_ids(w.meg, w.river.id) == {w.lia.id}


def test_the_profile_card_shows_only_this_school_s_paths_the_person_takes(w):
    card = mentoring.learner_profile(w.meg, w.river.id, w.lia.id)
    assert [c["path"].title for c in card["paths"]] == ["Essay writing"]  # not Hill maths,
    # not Debating (Eve's)
    eve = mentoring.learner_profile(w.ada, w.river.id, w.eve.id)
    assert [c["path"].title for c in eve["paths"]] == ["Debating"]


def test_an_admin_opens_cards_of_this_school_s_active_people_only(w):
    assert mentoring.learner_profile(w.ada, w.river.id, w.olu.id)["person"].id == w.olu.id
    for stranger in (w.hugo, w.hal, w.rita, w.dee):  # other school; revoked; deactivated
        with pytest.raises(NotFound):
            mentoring.learner_profile(w.ada, w.river.id, stranger.id)
    with pytest.raises(NotFound):
        mentoring.learner_profile(w.ada, w.river.id, "not-a-number")
