"""Who is told of a submission, who follows whom, and whose card opens, in two schools that
share people (see tests/two_schools.py for the cast)."""

import pytest
from sqlalchemy import func, select

from mentorgroups.extensions import db
from mentorgroups.models import GroupMembership, Notification, SentEmail, User
from mentorgroups.services import learning, mentoring
from mentorgroups.services.errors import NotFound
from tests.factories import make_cohort
from tests.kept_scenes import kept_scene
from tests.two_schools import two_schools


@pytest.fixture
def w(app, request):
    return kept_scene(request, build_w)


def build_w():
    return two_schools()


def names(users):
    return sorted(u.full_name for u in users)


def followed(actor, account_id) -> set[int]:
    """Everybody (of any school) the person follows in this school, by the EXISTS check."""
    return set(db.session.scalars(select(User.id).where(
        mentoring.follows_learner(actor, account_id, User.id))))


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
    assert w.fay.id not in followed(w.meg, w.river.id)
    assert not learning.can_review(w.meg, submission)
    assert learning.pending_reviews_for(w.meg, w.river.id) == []
    assert learning.can_review(w.tess, submission)


def test_a_mentor_at_hillside_follows_nobody_at_riverside_where_they_learn(w):
    submission = submit(w, w.lia)
    assert mentoring.mentored_group_ids(w.sam, w.hill.id) == {w.hill_group.id}
    assert followed(w.sam, w.hill.id) == {w.lia.id}
    assert mentoring.mentored_group_ids(w.sam, w.river.id) == set()
    assert followed(w.sam, w.river.id) == set()
    assert mentoring.mentor_home(w.sam, w.river.id) == ([], [])
    assert not learning.can_review(w.sam, submission)
    assert learning.pending_reviews_for(w.sam, w.river.id) == []
    assert not mentoring.may_view_learner(w.sam, w.river.id, w.lia.id)
    with pytest.raises(NotFound):
        mentoring.learner_profile(w.sam, w.river.id, w.lia.id)


def test_revoked_and_deactivated_mentors_follow_nobody(w):
    everybody = set(db.session.scalars(select(User.id)))
    for gone in (w.rita, w.dee):
        assert mentoring.mentored_group_ids(gone, w.river.id) == set()
        assert not mentoring.may_view_learner(gone, w.river.id, w.lia.id)
        # The condition is a plain false: "not followed" holds for everybody.
        assert followed(gone, w.river.id) == set()
        assert set(db.session.scalars(select(User.id).where(
            ~mentoring.follows_learner(gone, w.river.id, User.id)))) == everybody
    assert followed(w.meg, w.river.id) == {w.lia.id}


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


def test_the_mentor_s_home_counts_this_group_s_members_and_their_waiting_work_here(w):
    submit(w, w.lia)  # waiting at Riverside
    reviewed = submit(w, w.lia, step=2)
    learning.review_submission(w.tess, reviewed.id, "5", "ok")
    submit(w, w.fay)  # a mentor's own work does not count for the group
    learning.submit_for_review(w.lia, w.hill.id, w.hill_maths.steps[1].id, "hill work")
    db.session.commit()
    groups_rows, cohort_rows = mentoring.mentor_home(w.meg, w.river.id)
    assert [(r["group"].name, r["members"], r["waiting"], r["role"]) for r in groups_rows] == [
        ("Coaching", 1, 1, "mentor")]
    assert cohort_rows == []
    gus_rows, _ = mentoring.mentor_home(w.gus, w.river.id)
    assert [(r["group"].name, r["role"]) for r in gus_rows] == [("Coaching", "group_admin")]
    _, tess_cohorts = mentoring.mentor_home(w.tess, w.river.id)
    assert [(r["cohort"].name, r["role"]) for r in tess_cohorts] == [("Spring", "teacher")]
    _, mo_cohorts = mentoring.mentor_home(w.mo, w.river.id)
    assert [(r["cohort"].name, r["role"]) for r in mo_cohorts] == [("Spring", "moderator")]
    assert mentoring.mentor_home(w.tess, w.hill.id) == ([], [])


def test_the_group_page_shows_this_school_s_progress_only(w):
    learning.complete_step(w.lia, w.river.id, w.essay.steps[0].id)
    learning.complete_step(w.lia, w.hill.id, w.hill_maths.steps[0].id)
    db.session.commit()
    group, page = mentoring.group_page(w.meg, w.river.id, w.coaching.id)
    assert group.id == w.coaching.id and page.total == 1
    rows = page.items
    assert [(r.user.full_name, [(p["path"].title, p["completed"], p["total"]) for p in r.paths])
            for r in rows] == [("Lia Learner", [("Essay writing", 1, 4)])]
    for garbage in ("abc", None, w.chess.id, w.hill_group.id):
        with pytest.raises(NotFound):
            mentoring.mentored_group(w.meg, w.river.id, garbage)


def test_the_group_page_counts_this_school_s_waiting_work_and_activity(w):
    from datetime import timedelta

    from mentorgroups.models import Submission

    first = submit(w, w.lia)
    done = submit(w, w.lia, step=2)
    learning.review_submission(w.tess, done.id, "5", "ok")
    hill = learning.submit_for_review(w.lia, w.hill.id, w.hill_maths.steps[1].id, "hill work")
    db.session.flush()
    hill.submitted_at = first.submitted_at + timedelta(days=3)  # later, but at Hillside
    done.submitted_at = first.submitted_at - timedelta(days=1)
    db.session.commit()
    _, page = mentoring.group_page(w.meg, w.river.id, w.coaching.id)
    rows = page.items
    from mentorgroups.models import StepCompletion

    latest_here = db.session.scalar(select(func.max(StepCompletion.completed_at)).where(
        StepCompletion.user_id == w.lia.id, StepCompletion.step_id.in_(
            [s.id for s in w.essay.steps])))
    assert [(r.user.full_name, r.waiting, r.oldest_waiting, r.last_activity) for r in rows] == [
        ("Lia Learner", 1, first.submitted_at, latest_here)]  # not the later Hillside work
    assert db.session.scalar(select(func.count()).select_from(Submission)) == 3


def test_the_card_shows_what_she_takes_here_and_only_her_own_activity(w):
    from mentorgroups.models import Path, Step

    poetry = Path(account=w.river, title="Poetry", steps=[
        Step(position=1, title="Poem", requires_review=True)])
    db.session.add(poetry)
    db.session.flush()
    verse = make_cohort(poetry, name="Verse", learners=[w.lia])
    make_cohort(w.debating, name="Debate club", moderators=[w.lia])
    learning.submit_for_review(w.lia, w.river.id, poetry.steps[0].id, "a poem")
    db.session.commit()
    learning.enroll(w.ada, verse.id, w.lia.id, role="moderator")  # she no longer takes Poetry
    learning.complete_step(w.sam, w.river.id, w.essay.steps[0].id)
    learning.complete_step(w.lia, w.river.id, w.essay.steps[0].id)
    essay_work = submit(w, w.lia)
    learning.complete_step(w.lia, w.hill.id, w.hill_maths.steps[0].id)
    db.session.commit()
    card = mentoring.learner_profile(w.meg, w.river.id, w.lia.id)
    assert [c["path"].title for c in card["paths"]] == ["Essay writing"]
    assert [s.id for s in card["waiting"]] == [essay_work.id] and card["activity"] is None
    card = mentoring.learner_profile(w.meg, w.river.id, w.lia.id, tab="activity")
    assert [(a["what"], a["step"], a["path"]) for a in card["activity"].items] == [
        ("submitted", "Step 2", "Essay writing"), ("completed", "Step 1", "Essay writing")]
    assert card["activity"].total == 2 and card["paths"] == []
    assert [s.id for s in card["waiting"]] == [essay_work.id]  # on every tab
    card = mentoring.learner_profile(w.meg, w.river.id, w.lia.id, tab="review")
    assert ([s.id for s in card["waiting"]], card["paths"], card["activity"]) == (
        [essay_work.id], [], None)
    assert mentoring.may_view_learner(w.una, w.river.id, w.lia.id) is False
