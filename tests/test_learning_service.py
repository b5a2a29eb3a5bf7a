from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from mentorgroups.extensions import db
from mentorgroups.models import OutboxJob, Review, StepCompletion, Submission
from mentorgroups.services import learning
from mentorgroups.services.errors import NotFound, ServiceError
from tests.factories import make_account, make_cohort, make_member, make_path, school


def count(model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def steps(s):
    return s.path.steps  # 1 plain, 2 review (no points), 3 review (10 points), 4 plain


def test_complete_plain_step_is_idempotent_and_counts_progress(app):
    s = school()
    first = steps(s)[0]
    learning.complete_step(s.learner, s.account.id, first.id)
    learning.complete_step(s.learner, s.account.id, first.id)
    db.session.commit()
    assert count(StepCompletion) == 1
    progress = learning.progress_for(s.learner.id, [s.path.id])[s.path.id]
    assert (progress.completed, progress.total, progress.percent) == (1, 4, 25)


def test_review_step_needs_a_submission(app):
    s = school()
    with pytest.raises(ServiceError, match="submit your work"):
        learning.complete_step(s.learner, s.account.id, steps(s)[1].id)
    with pytest.raises(ServiceError, match="not marked for review"):
        learning.submit_for_review(s.learner, s.account.id, steps(s)[0].id, "text")


def test_submit_creates_pending_submission_completion_and_staged_job(app):
    s = school()
    submission = learning.submit_for_review(s.learner, s.account.id, steps(s)[1].id,
                                            "  my essay  ")
    assert submission.content == "my essay" and submission.status == "pending"
    assert count(StepCompletion) == 1
    job = db.session.scalar(select(OutboxJob))
    assert job.name == "notify_submission" and job.payload == {"submission_id": submission.id}
    db.session.rollback()  # the cause goes, the job goes with it
    assert count(OutboxJob) == 0 and count(Submission) == 0


def test_resubmitting_while_pending_updates_the_text_keeps_its_age_and_no_second_notice(app):
    s = school()
    step = steps(s)[1]
    learning.submit_for_review(s.learner, s.account.id, step.id, "first")
    db.session.commit()
    three_days_ago = db.session.scalar(select(Submission.submitted_at)) - timedelta(days=3)
    db.session.execute(update(Submission).values(submitted_at=three_days_ago))
    db.session.commit()
    learning.submit_for_review(s.learner, s.account.id, step.id, "second")
    db.session.commit()
    assert db.session.scalar(select(Submission.content)) == "second"
    assert count(OutboxJob, OutboxJob.name == "notify_submission") == 1
    # An edit keeps the work's age (the queue, STALE and the digest count from the round's
    # first submission) and records when it changed.
    assert db.session.scalar(select(Submission.submitted_at)) == three_days_ago
    assert db.session.scalar(select(Submission.updated_at)) > three_days_ago + timedelta(days=2)


@pytest.mark.parametrize("content,message", [
    ("", "Write something"), ("   \n ", "Write something"), ("x" * 20_001, "at most 20,000"),
])
def test_bad_submissions(app, content, message):
    s = school()
    with pytest.raises(ServiceError, match=message):
        learning.submit_for_review(s.learner, s.account.id, steps(s)[1].id, content)
    assert count(Submission) == 0


def test_learners_reach_only_their_own_paths(app):
    s = school()
    elsewhere = make_account()
    foreign = make_path(elsewhere, review_at=(1,))
    unenrolled = make_path(s.account, review_at=(1,))
    for step in (foreign.steps[0], unenrolled.steps[0]):
        with pytest.raises(NotFound):
            learning.submit_for_review(s.learner, s.account.id, step.id, "text")
    with pytest.raises(NotFound):
        learning.submit_for_review(s.learner, s.account.id, 999_999, "text")


def _submitted(s, step_index=2, content="work"):
    submission = learning.submit_for_review(s.learner, s.account.id, steps(s)[step_index].id,
                                            content)
    db.session.commit()
    return submission


def test_teacher_reviews_with_grade_and_feedback(app):
    s = school()
    submission = _submitted(s)
    review = learning.review_submission(s.teacher, submission.id, "8", "Nice")
    db.session.commit()
    assert (review.grade, review.feedback, submission.status) == (8, "Nice", "reviewed")
    assert count(OutboxJob, OutboxJob.name == "notify_review") == 1


@pytest.mark.parametrize("grade,feedback,message", [
    ("11", "", "from 0 to 10"),
    ("-1", "ok", "from 0 to 10"),
    ("eight", "ok", "whole number from 0 to 10"),
    ("7.5", "ok", "whole number"),
    ("", "   ", "Give a grade or write some feedback"),
    (None, None, "Give a grade or write some feedback"),
])
def test_bad_reviews_change_nothing(app, grade, feedback, message):
    s = school()
    submission = _submitted(s)
    with pytest.raises(ServiceError, match=message):
        learning.review_submission(s.teacher, submission.id, grade, feedback)
    db.session.rollback()
    assert count(Review) == 0
    assert db.session.get(Submission, submission.id).status == "pending"


def test_grade_on_a_step_without_points_is_refused(app):
    s = school()
    submission = _submitted(s, step_index=1)
    with pytest.raises(ServiceError, match="awards no points"):
        learning.review_submission(s.teacher, submission.id, "3", "ok")
    review = learning.review_submission(s.teacher, submission.id, "", "Feedback only")
    assert review.grade is None


def test_second_review_names_the_first_reviewer(app):
    s = school()
    submission = _submitted(s)
    learning.review_submission(s.admin, submission.id, "9", "")
    db.session.commit()
    with pytest.raises(ServiceError, match="Ada Admin already reviewed this"):
        learning.review_submission(s.teacher, submission.id, "2", "")
    db.session.rollback()
    assert db.session.scalar(select(Review.grade)) == 9


def test_who_may_review(app):
    s = school()
    submission = _submitted(s)
    other_path = make_path(s.account)
    stranger_teacher = make_member(s.account, "staff")
    make_cohort(other_path, teachers=[stranger_teacher])
    moderator = make_member(s.account, "staff")
    s.cohort.memberships.append(
        type(s.cohort.memberships[0])(user=moderator, role="moderator"))
    foreign_admin = make_member(make_account(), "admin")
    db.session.commit()
    assert learning.can_review(s.admin, submission)
    assert learning.can_review(s.teacher, submission)
    assert learning.can_review(moderator, submission)
    for person in (s.learner, s.other, stranger_teacher, foreign_admin):
        assert not learning.can_review(person, submission)
        with pytest.raises(NotFound):
            learning.review_submission(person, submission.id, "5", "x")


def test_pending_reviews_for(app):
    s = school()
    submission = _submitted(s)
    other_path = make_path(s.account)
    stranger_teacher = make_member(s.account, "staff")
    make_cohort(other_path, teachers=[stranger_teacher])
    db.session.commit()
    assert learning.pending_reviews_for(s.teacher, s.account.id) == [submission]
    assert learning.pending_reviews_for(s.admin, s.account.id) == [submission]
    assert learning.pending_reviews_for(stranger_teacher, s.account.id) == []
    assert learning.pending_reviews_for(s.learner, s.account.id) == []
