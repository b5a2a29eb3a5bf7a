"""Completing, submitting and reviewing in the two-schools scene: each row is the learner's
own, for the step asked, in the school asked."""

import pytest
from sqlalchemy import select

from mentorgroups.extensions import db
from mentorgroups.models import StepCompletion, Submission
from mentorgroups.services import learning
from mentorgroups.services.errors import NotFound, ServiceError
from tests.kept_scenes import kept_scene
from tests.two_schools import two_schools


@pytest.fixture
def w(app, request):
    return kept_scene(request, build_w)


def build_w():
    return two_schools()


def completions(user):
    return sorted(db.session.scalars(select(StepCompletion.step_id).where(
        StepCompletion.user_id == user.id)))


def test_progress_counts_the_learner_s_own_steps(w):
    learning.complete_step(w.sam, w.river.id, w.essay.steps[0].id)
    learning.complete_step(w.sam, w.river.id, w.essay.steps[3].id)
    learning.complete_step(w.lia, w.river.id, w.essay.steps[0].id)
    learning.complete_step(w.lia, w.hill.id, w.hill_maths.steps[0].id)
    db.session.commit()
    progress = learning.progress_for(w.lia.id, [w.essay.id])
    assert list(progress) == [w.essay.id]
    assert (progress[w.essay.id].completed, progress[w.essay.id].total) == (1, 4)
    assert learning.progress_for(w.sam.id, [w.essay.id])[w.essay.id].completed == 2
    assert learning.progress_for(w.lia.id, []) == {}


def test_completing_makes_one_row_per_learner_and_step(w):
    first = learning.complete_step(w.sam, w.river.id, w.essay.steps[0].id)
    mine = learning.complete_step(w.lia, w.river.id, w.essay.steps[0].id)
    other_step = learning.complete_step(w.lia, w.river.id, w.essay.steps[3].id)
    again = learning.complete_step(w.lia, w.river.id, w.essay.steps[0].id)
    db.session.commit()
    assert mine is not first and again is mine and other_step is not mine
    assert (mine.user_id, other_step.step_id) == (w.lia.id, w.essay.steps[3].id)
    assert completions(w.lia) == [w.essay.steps[0].id, w.essay.steps[3].id]
    assert completions(w.sam) == [w.essay.steps[0].id]


def test_a_step_of_another_school_does_not_exist_here(w):
    with pytest.raises(NotFound, match="^That step does not exist.$"):
        learning.complete_step(w.lia, w.river.id, w.hill_maths.steps[0].id)
    with pytest.raises(NotFound, match="^That step does not exist.$"):
        learning.submit_for_review(w.lia, w.river.id, w.hill_maths.steps[1].id, "work")


def test_each_submission_is_the_learner_s_own_for_that_step(w):
    sam_work = learning.submit_for_review(w.sam, w.river.id, w.essay.steps[1].id, "Sam's")
    lia_two = learning.submit_for_review(w.lia, w.river.id, w.essay.steps[1].id, "Lia's")
    lia_three = learning.submit_for_review(w.lia, w.river.id, w.essay.steps[2].id, "Lia's 3")
    db.session.commit()
    assert len({sam_work.id, lia_two.id, lia_three.id}) == 3
    assert [(s.user_id, s.step_id, s.content) for s in db.session.scalars(
        select(Submission).order_by(Submission.id))] == [
        (w.sam.id, w.essay.steps[1].id, "Sam's"), (w.lia.id, w.essay.steps[1].id, "Lia's"),
        (w.lia.id, w.essay.steps[2].id, "Lia's 3")]
    assert completions(w.lia) == [w.essay.steps[1].id, w.essay.steps[2].id]  # submitting
    # completes the step, for her too although Sam submitted that step first
    with pytest.raises(ServiceError, match="Write something"):
        learning.submit_for_review(w.lia, w.river.id, w.essay.steps[1].id, None)


def test_nobody_reviews_their_own_work_not_even_an_admin(w):
    learning.enroll(w.ada, w.spring.id, w.ada.id)
    own = learning.submit_for_review(w.ada, w.river.id, w.essay.steps[2].id, "mine")
    db.session.commit()
    assert learning.can_review(w.ada, own) is False
    assert learning.can_review(w.tess, own) is True
    assert learning.can_review(w.hal, own) is False  # admin of the other school
    with pytest.raises(NotFound):
        learning.review_submission(w.ada, own.id, "5", "")
    with pytest.raises(NotFound):
        learning.review_submission(w.ada, 10_000_000, "5", "")


def test_a_grade_may_come_as_a_number(w):
    assert learning.parse_grade(7, 10) == 7
    assert learning.parse_grade(" 10 ", 10) == 10
    assert learning.parse_grade("  ", 10) is None
    with pytest.raises(ServiceError, match="from 0 to 10"):
        learning.parse_grade(11, 10)


def test_reviews_refused_for_a_step_no_longer_marked_or_overlong_feedback(w):
    work = learning.submit_for_review(w.lia, w.river.id, w.essay.steps[2].id, "essay")
    db.session.commit()
    with pytest.raises(ServiceError, match="at most 10,000 characters"):
        learning.review_submission(w.tess, work.id, "5", "x" * 10_001)
    db.session.rollback()
    w.essay.steps[2].requires_review = False  # an admin changed the path since
    db.session.commit()
    with pytest.raises(ServiceError, match="not marked for review"):
        learning.review_submission(w.tess, work.id, "5", "fine")
    db.session.rollback()
    assert db.session.get(Submission, work.id).status == "pending"


def test_the_review_queue_holds_this_school_s_waiting_work_of_others(w):
    learning.enroll(w.ada, w.spring.id, w.ada.id)
    own = learning.submit_for_review(w.ada, w.river.id, w.essay.steps[1].id, "mine")
    lia = learning.submit_for_review(w.lia, w.river.id, w.essay.steps[1].id, "hers")
    done = learning.submit_for_review(w.sam, w.river.id, w.essay.steps[1].id, "his")
    learning.submit_for_review(w.lia, w.hill.id, w.hill_maths.steps[1].id, "hill")
    db.session.commit()
    learning.review_submission(w.tess, done.id, None, "seen")
    db.session.commit()
    assert [s.id for s in learning.pending_reviews_for(w.ada, w.river.id)] == [lia.id]
    assert [s.id for s in learning.pending_reviews_for(w.tess, w.river.id)] == [own.id, lia.id]
    assert learning.pending_reviews_for(w.rita, w.river.id) == []
    with pytest.raises(NotFound):
        learning.submission_for_reviewer(w.tess, 10_000_000)
    assert learning.submission_for_reviewer(w.tess, lia.id) is lia


def test_a_second_reviewer_at_the_same_moment_is_told_instead_of_overwriting(w):
    """The row lock makes reviewers wait for each other; should two reviews still meet, the
    unique review per submission refuses the second with a message."""
    from sqlalchemy import event

    from mentorgroups.models import Review, utcnow

    work = learning.submit_for_review(w.lia, w.river.id, w.essay.steps[2].id, "essay")
    db.session.commit()

    def meg_reviews_first(session, flush_context, instances):
        session.connection().execute(Review.__table__.insert().values(
            submission_id=work.id, reviewer_id=w.meg.id, grade=9, feedback="first",
            created_at=utcnow()))

    event.listen(db.session, "before_flush", meg_reviews_first, once=True)
    with pytest.raises(ServiceError, match="Someone else reviewed this submission"):
        learning.review_submission(w.tess, work.id, "5", "second")
    assert db.session.scalars(select(Review.feedback)).all() == []  # both rolled back here
    assert db.session.get(Submission, work.id).status == "pending"
