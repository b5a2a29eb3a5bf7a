"""What a mentor's paged screens show of a learner, in two schools that share people (see
tests/two_schools.py for the cast): the profile card's paths, its Activity tab and its
waiting count are Lia's own and Riverside's only -- not her classmate Sam's (same cohort,
same path), not her work at Hillside; the group page's progress and waiting work are per
learner; and who follows whom is a plain yes or no."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from mentorgroups.extensions import db
from mentorgroups.models import Path, Step, StepCompletion, User
from mentorgroups.paging import PageRequest
from mentorgroups.services import group_members as gm
from mentorgroups.services import learning, mentoring
from tests.factories import make_cohort
from tests.kept_scenes import kept_scene
from tests.two_schools import two_schools

T0 = datetime(2024, 3, 4, 9, 0, tzinfo=UTC)


@pytest.fixture
def w(app, request):
    return kept_scene(request, build_w)


def build_w():
    return two_schools()


def submit(w, who, step, school=None, path=None, when=None):
    school, path = school or w.river, path or w.essay
    submission = learning.submit_for_review(who, school.id, path.steps[step].id, f"work {step}")
    db.session.flush()
    if when is not None:
        submission.submitted_at = when
        completion_of(who, path.steps[step]).completed_at = when
    db.session.commit()
    return submission


def complete(w, who, step, school=None, path=None, when=None):
    school, path = school or w.river, path or w.essay
    completion = learning.complete_step(who, school.id, path.steps[step].id)
    if when is not None:
        completion.completed_at = when
    db.session.commit()
    return completion


def completion_of(who, step) -> StepCompletion:
    return db.session.scalar(select(StepCompletion).where(
        StepCompletion.user_id == who.id, StepCompletion.step_id == step.id))


def review(w, submission):
    learning.review_submission(w.tess, submission.id, "7", "Good work")
    db.session.commit()


def step_rows(card):
    """(step, done?, submission id or None, its status or None) for each step of a card."""
    return [(s["step"].title, s["completion"] is not None,
             s["submission"].id if s["submission"] else None,
             s["submission"].status if s["submission"] else None) for s in card["steps"]]


def activity(page):
    return [(a["what"], a["step"], a["path"]) for a in page.items]


# ---- the profile card ----------------------------------------------------------------------------

def test_the_card_shows_lia_s_own_steps_and_work_not_her_classmate_s_nor_hillside_s(w):
    complete(w, w.lia, 0)                      # Step 1 done
    lia_work = submit(w, w.lia, 1)             # Step 2 submitted, waiting
    complete(w, w.sam, 3)                      # Sam (same cohort) did Step 4 ...
    sam_work = submit(w, w.sam, 2)             # ... and had Step 3 reviewed
    review(w, sam_work)
    complete(w, w.lia, 0, school=w.hill, path=w.hill_maths)  # her work at Hillside
    submit(w, w.lia, 1, school=w.hill, path=w.hill_maths)

    card = mentoring.learner_profile(w.meg, w.river.id, w.lia.id)

    [essay] = card["paths"]
    assert essay["path"].title == "Essay writing"
    assert step_rows(essay) == [
        ("Step 1", True, None, None),
        ("Step 2", True, lia_work.id, "pending"),
        ("Step 3", False, None, None),
        ("Step 4", False, None, None),
    ]
    assert (essay["completed"], essay["total"], essay["percent"]) == (2, 4, 50)


def test_sam_s_card_shows_his_reviewed_work_and_not_lia_s(w):
    lia_work = submit(w, w.lia, 1)
    sam_work = submit(w, w.sam, 2)
    review(w, sam_work)

    [essay] = mentoring.learner_profile(w.ada, w.river.id, w.sam.id)["paths"]

    assert step_rows(essay) == [
        ("Step 1", False, None, None),
        ("Step 2", False, None, None),
        ("Step 3", True, sam_work.id, "reviewed"),
        ("Step 4", False, None, None),
    ]
    assert lia_work.id not in [s["submission"].id for s in essay["steps"] if s["submission"]]


def test_the_waiting_count_is_lia_s_pending_work_here_only(w):
    waiting = submit(w, w.lia, 1, when=T0)
    reviewed = submit(w, w.lia, 2, when=T0 + timedelta(hours=1))
    review(w, reviewed)                         # reviewed: no longer waiting
    submit(w, w.sam, 1, when=T0 + timedelta(hours=2))          # Sam's, waiting
    submit(w, w.lia, 1, school=w.hill, path=w.hill_maths)      # hers, at Hillside

    for tab in ("paths", "activity", "review"):
        card = mentoring.learner_profile(w.meg, w.river.id, w.lia.id, tab=tab)
        assert [s.id for s in card["waiting"]] == [waiting.id], tab


# ---- the Activity tab ----------------------------------------------------------------------------

def test_the_activity_tab_shows_lia_s_own_work_here_newest_first(w):
    complete(w, w.lia, 0, when=T0)
    submit(w, w.lia, 1, when=T0 + timedelta(hours=1))
    complete(w, w.sam, 3, when=T0 + timedelta(hours=2))        # Sam's, not hers
    submit(w, w.sam, 2, when=T0 + timedelta(hours=3))
    complete(w, w.lia, 0, school=w.hill, path=w.hill_maths, when=T0 + timedelta(hours=4))
    submit(w, w.lia, 1, school=w.hill, path=w.hill_maths, when=T0 + timedelta(hours=5))

    card = mentoring.learner_profile(w.meg, w.river.id, w.lia.id, tab="activity")

    assert activity(card["activity"]) == [("submitted", "Step 2", "Essay writing"),
                                          ("completed", "Step 1", "Essay writing")]
    assert [a["when"] for a in card["activity"].items] == [T0 + timedelta(hours=1), T0]
    assert card["activity"].total == 2


def test_a_step_marked_for_review_later_still_shows_lia_completed_it(w):
    """An admin may mark a plain step for review after some learners completed it: Lia's
    completion stays on her activity although Sam has since submitted work on that step."""
    complete(w, w.lia, 0, when=T0)
    w.essay.steps[0].requires_review = True     # as the admin screen's "Marked for review"
    db.session.commit()
    submit(w, w.sam, 0, when=T0 + timedelta(hours=1))

    card = mentoring.learner_profile(w.meg, w.river.id, w.lia.id, tab="activity")

    assert activity(card["activity"]) == [("completed", "Step 1", "Essay writing")]
    assert card["activity"].total == 1


def test_the_activity_tab_leaves_out_a_path_she_no_longer_takes(w):
    poetry = Path(account=w.river, title="Poetry", steps=[
        Step(position=1, title="Read a poem", requires_review=False)])
    db.session.add(poetry)
    db.session.flush()
    verse = make_cohort(poetry, name="Verse", learners=[w.lia])
    db.session.commit()
    complete(w, w.lia, 0, path=poetry, when=T0)
    complete(w, w.lia, 0, when=T0 + timedelta(hours=1))
    learning.enroll(w.ada, verse.id, w.lia.id, role="moderator")  # she now moderates Verse
    db.session.commit()

    card = mentoring.learner_profile(w.meg, w.river.id, w.lia.id, tab="activity")

    assert activity(card["activity"]) == [("completed", "Step 1", "Essay writing")]


def test_the_activity_tab_shows_the_page_asked_for(w):
    long_path = Path(account=w.river, title="Long read", steps=[
        Step(position=i, title=f"Chapter {i:02d}", requires_review=False) for i in range(1, 31)])
    db.session.add(long_path)
    db.session.flush()
    make_cohort(long_path, name="Readers", learners=[w.lia])
    db.session.commit()
    for i in range(30):
        complete(w, w.lia, i, path=long_path, when=T0 + timedelta(minutes=i))

    card = mentoring.learner_profile(w.meg, w.river.id, w.lia.id, tab="activity",
                                     request=PageRequest(number=2, size=25))
    page = card["activity"]
    assert (page.total, page.number, page.size) == (30, 2, 25)
    assert [a["step"] for a in page.items] == [f"Chapter {i:02d}" for i in (5, 4, 3, 2, 1)]

    default = mentoring.learner_profile(w.meg, w.river.id, w.lia.id, tab="activity")["activity"]
    assert (default.total, default.number, default.size, len(default.items)) == (30, 1, 50, 30)

    # A link kept past the end (page 9 of 2) shows the last page.
    beyond = mentoring.learner_profile(w.meg, w.river.id, w.lia.id, tab="activity",
                                       request=PageRequest(number=9, size=25))["activity"]
    assert (beyond.total, beyond.number) == (30, 2)
    assert [a["step"] for a in beyond.items] == [f"Chapter {i:02d}" for i in (5, 4, 3, 2, 1)]


# ---- the group page ------------------------------------------------------------------------------

def coaching_with_sam_and_eve(w):
    report = gm.add_members(w.ada, w.river.id, w.coaching.id, "member",
                            user_ids=[w.sam.id, w.eve.id])
    assert len(report.added) == 2
    db.session.commit()


def row_summary(row):
    return (row.user.full_name, [(p["path"].title, p["completed"], p["total"], p["percent"])
                                 for p in row.paths], row.waiting, row.oldest_waiting)


def test_the_group_page_shows_each_learner_s_own_progress_and_waiting_work(w):
    coaching_with_sam_and_eve(w)
    complete(w, w.lia, 0, when=T0)
    submit(w, w.lia, 1, when=T0 + timedelta(hours=1))
    sam_reviewed = submit(w, w.sam, 2, when=T0 + timedelta(hours=2))
    review(w, sam_reviewed)
    complete(w, w.sam, 3, when=T0 + timedelta(hours=3))
    complete(w, w.sam, 0, when=T0 + timedelta(hours=4))

    _, page = mentoring.group_page(w.meg, w.river.id, w.coaching.id)

    assert page.total == 3
    assert [row_summary(r) for r in page.items] == [
        ("Eve Elsewhere", [], 0, None),
        ("Lia Learner", [("Essay writing", 2, 4, 50)], 1, T0 + timedelta(hours=1)),
        ("Sam Shared", [("Essay writing", 3, 4, 75)], 0, None),  # reviewed: 0 waiting
    ]
    assert [r.last_activity for r in page.items] == [
        None, T0 + timedelta(hours=1), T0 + timedelta(hours=4)]


def test_the_group_page_shows_the_page_and_search_asked_for(w):
    coaching_with_sam_and_eve(w)
    submit(w, w.sam, 1, when=T0)

    _, page = mentoring.group_page(w.meg, w.river.id, w.coaching.id,
                                   PageRequest(size=25, search="sam"))
    assert [row_summary(r) for r in page.items] == [
        ("Sam Shared", [("Essay writing", 1, 4, 25)], 1, T0)]
    assert (page.total, page.size, page.search) == (1, 25, "sam")

    _, everyone = mentoring.group_page(w.meg, w.river.id, w.coaching.id)
    assert ([r.user.full_name for r in everyone.items], everyone.size) == (
        ["Eve Elsewhere", "Lia Learner", "Sam Shared"], 50)


def test_progress_and_waiting_work_are_read_for_the_page_s_learners_only(w):
    """The group page reads progress and waiting work for the (at most 100) learners shown,
    by index, never for everybody of the school."""
    complete(w, w.lia, 0, when=T0)
    submit(w, w.lia, 1, when=T0 + timedelta(hours=1))
    complete(w, w.sam, 0, when=T0)
    submit(w, w.sam, 1, when=T0 + timedelta(hours=2))

    progress = mentoring._progress_by_learner(w.river.id, [w.lia.id])
    assert {uid: [(p["path"].title, p["completed"]) for p in paths]
            for uid, paths in progress.items()} == {w.lia.id: [("Essay writing", 2)]}
    assert mentoring._submissions_by_learner(w.river.id, [w.lia.id]) == {
        w.lia.id: (1, T0 + timedelta(hours=1), T0 + timedelta(hours=1), None)}


# ---- who follows whom ----------------------------------------------------------------------------

def test_a_mentor_who_is_a_member_of_another_group_follows_only_the_group_she_mentors(w):
    report = gm.add_members(w.ada, w.river.id, w.chess.id, "member", user_ids=[w.meg.id])
    assert len(report.added) == 1
    db.session.commit()

    assert mentoring.mentored_group_ids(w.meg, w.river.id) == {w.coaching.id}
    assert mentoring.may_view_learner(w.meg, w.river.id, w.lia.id) is True
    assert mentoring.may_view_learner(w.meg, w.river.id, w.olu.id) is False  # a fellow member
    rows, _ = mentoring.mentor_home(w.meg, w.river.id)
    assert [(r["group"].name, r["role"]) for r in rows] == [("Coaching", "mentor")]


def test_nobody_without_access_here_may_view_a_learner(w):
    for outsider in (w.rita, w.dee, w.hugo):  # revoked; deactivated; of Hillside only
        assert mentoring.may_view_learner(outsider, w.river.id, w.lia.id) is False


def test_a_group_admin_s_learners_are_checked_row_by_row_a_mentor_s_by_their_groups(w):
    """One answer in two shapes, for PostgreSQL's sake (see follows_learner): a Group Admin's
    reach may be most of a big tree, so each learner's memberships are checked by index
    against the reach hashed once (OFFSET 0 keeps the EXISTS a subplan, IS true the IN a
    hashed one); a mentor's few groups are left to the planner."""
    from sqlalchemy.dialects import postgresql

    def shape(actor):
        return str(mentoring.follows_learner(actor, w.river.id, User.id)
                   .compile(dialect=postgresql.dialect()))

    assert "OFFSET" in shape(w.gus) and ") IS true" in shape(w.gus)  # Group Admin of Coaching
    assert "OFFSET" not in shape(w.meg) and "IS true" not in shape(w.meg)  # its mentor
    for actor in (w.gus, w.meg):
        assert db.session.scalar(select(
            mentoring.follows_learner(actor, w.river.id, w.lia.id))) is True
        assert db.session.scalar(select(
            mentoring.follows_learner(actor, w.river.id, w.olu.id))) is False  # Chess club
        assert set(db.session.scalars(select(User.id).where(
            mentoring.follows_learner(actor, w.river.id, User.id)))) == {w.lia.id}


def test_someone_who_mentors_no_group_here_follows_nobody_and_not_following_is_plain_no(w):
    """Sam mentors at Hillside only: at Riverside the condition is a plain false, so "not
    followed by Sam" holds for everybody (a NULL would make both questions unanswerable)."""
    everybody = set(db.session.scalars(select(User.id)))
    assert db.session.scalar(select(
        mentoring.follows_learner(w.sam, w.river.id, w.lia.id))) is False
    assert set(db.session.scalars(select(User.id).where(
        ~mentoring.follows_learner(w.sam, w.river.id, User.id)))) == everybody
    assert mentoring.may_view_learner(w.sam, w.river.id, w.lia.id) is False
