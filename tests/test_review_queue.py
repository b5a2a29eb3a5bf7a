"""The review queue, one page at a time, in two schools that share people (see
tests/two_schools.py for the cast): each reviewer sees exactly the waiting work they may
review here -- a mentor their group's learners, a teacher their cohort, an admin the whole
school -- never reviewed work, never Hillside's, and somebody who follows nobody an empty page."""

from datetime import UTC, datetime, timedelta

import pytest

from mentorgroups.extensions import db
from mentorgroups.models import Path, Step
from mentorgroups.paging import PageRequest
from mentorgroups.services import learning
from mentorgroups.services.learning import QueueRow
from tests.factories import make_cohort
from tests.kept_scenes import kept_scene
from tests.two_schools import two_schools

T0 = datetime(2024, 3, 4, 9, 0, tzinfo=UTC)


@pytest.fixture
def w(app, request):
    return kept_scene(request, build_w)


def build_w():
    return two_schools()


def submit(w, who, step, hours, school=None, path=None):
    school, path = school or w.river, path or w.essay
    submission = learning.submit_for_review(who, school.id, path.steps[step].id, "my work")
    db.session.flush()
    submission.submitted_at = T0 + timedelta(hours=hours)
    db.session.commit()
    return submission


@pytest.fixture
def waiting(w):
    """Waiting at Riverside: Lia's Step 2 (Spring, in Coaching), Olu's Step 2 (Autumn, in
    Chess club), Sam's Step 3 and Fay's Step 2 (both Spring, in no group as learners).
    Not waiting: Lia's reviewed Step 3; Lia's work at Hillside is Hillside's."""
    out = {
        "lia": submit(w, w.lia, 1, hours=0),
        "olu": submit(w, w.olu, 1, hours=1),
        "sam": submit(w, w.sam, 2, hours=2),
        "fay": submit(w, w.fay, 1, hours=3),
    }
    reviewed = submit(w, w.lia, 2, hours=4)
    learning.review_submission(w.tess, reviewed.id, "8", "Well argued")
    submit(w, w.lia, 1, hours=5, school=w.hill, path=w.hill_maths)
    db.session.commit()
    return out


def row(submission, learner, step, cohort, path="Essay writing"):
    return QueueRow(submission.id, submission.submitted_at, learner, step, path, cohort)


def test_a_mentor_sees_only_her_group_s_learner(w, waiting):
    page = learning.review_queue(w.meg, w.river.id, PageRequest())
    assert page.items == [row(waiting["lia"], "Lia Learner", "Step 2", "Spring")]
    assert (page.total, page.number, page.size) == (1, 1, 50)


def test_a_fellow_mentor_does_not_see_her_own_work(w, waiting):
    page = learning.review_queue(w.fay, w.river.id, PageRequest())
    assert page.items == [row(waiting["lia"], "Lia Learner", "Step 2", "Spring")]
    assert page.total == 1


def test_a_teacher_sees_her_cohort_s_waiting_work_oldest_first(w, waiting):
    page = learning.review_queue(w.tess, w.river.id, PageRequest())
    assert page.items == [row(waiting["lia"], "Lia Learner", "Step 2", "Spring"),
                          row(waiting["sam"], "Sam Shared", "Step 3", "Spring"),
                          row(waiting["fay"], "Fay Fellow", "Step 2", "Spring")]
    assert page.total == 3
    autumn = learning.review_queue(w.aut, w.river.id, PageRequest())
    assert (autumn.items, autumn.total) == (
        [row(waiting["olu"], "Olu Other", "Step 2", "Autumn")], 1)


def test_an_admin_sees_everything_waiting_here_and_nothing_of_hillside(w, waiting):
    page = learning.review_queue(w.ada, w.river.id)
    assert [r.learner for r in page.items] == ["Lia Learner", "Olu Other", "Sam Shared",
                                               "Fay Fellow"]
    assert [r.id for r in page.items] == [waiting[k].id for k in ("lia", "olu", "sam", "fay")]
    assert (page.total, page.number, page.size) == (4, 1, 50)  # the default page


def test_somebody_who_follows_nobody_here_gets_an_empty_queue(w, waiting):
    # Sam learns at Riverside and mentors Lia at Hillside only.
    page = learning.review_queue(w.sam, w.river.id)
    assert (page.items, page.total, page.number, page.size) == ([], 0, 1, 50)


def test_somebody_without_access_here_gets_an_empty_page_of_the_size_asked(w, waiting):
    for outsider in (w.rita, w.dee, w.hugo):  # revoked; deactivated; of Hillside only
        page = learning.review_queue(outsider, w.river.id, PageRequest(number=3, size=25))
        assert (page.items, page.total, page.number, page.size) == ([], 0, 1, 25)
        default = learning.review_queue(outsider, w.river.id)
        assert (default.items, default.total, default.number, default.size) == ([], 0, 1, 50)


def test_the_queue_shows_the_page_asked_for(w, waiting):
    essays = Path(account=w.river, title="Essays", steps=[
        Step(position=i, title=f"Essay {i:02d}", requires_review=True) for i in range(1, 31)])
    db.session.add(essays)
    db.session.flush()
    make_cohort(essays, name="Writers", teachers=[w.tess], learners=[w.lia])
    db.session.commit()
    for i in range(30):
        submit(w, w.lia, i, hours=10 + i, path=essays)

    page = learning.review_queue(w.tess, w.river.id, PageRequest(number=2, size=25))
    assert (page.total, page.number, page.size) == (33, 2, 25)
    assert [r.step for r in page.items] == [f"Essay {i:02d}" for i in range(23, 31)]
    assert {(r.learner, r.path, r.cohort) for r in page.items} == {
        ("Lia Learner", "Essays", "Writers")}

    past_the_end = learning.review_queue(w.tess, w.river.id, PageRequest(number=9, size=25))
    assert (past_the_end.number, [r.step for r in past_the_end.items]) == (
        2, [f"Essay {i:02d}" for i in range(23, 31)])
