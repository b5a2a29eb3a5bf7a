"""Turnaround: time to a first review for every review round; median, 90th percentile and
count per mentor, per group and per digest reader over the last four weeks, in SQL.

The scene (clock frozen; T is CLOCK_START; the figures are read at T + 28 days 6 hours, so
the window is (T + 6h, T + 28d 6h]):

  T        Lia submits Step 2 (round 1); Olu submits Step 2 and Step 3
  T + 2h   Lia updates Step 2: the round still waits from T
  T + 3h   Mo reviews Olu's Step 3 (waited 3 hours: before the window, not counted)
  T + 12h  Tom reviews Olu's Step 2                       -> 0.5 days
  T + 1d   Mo reviews Lia's Step 2, round 1               -> 1.0 days
  T + 2d   Lia resubmits Step 2 (round 2, waiting from T + 2d) and submits Step 3
  T + 2d6h Lia updates Step 2 (round 2 still waits from T + 2d)
  T + 5d   Tom reviews Lia's Step 2, round 2              -> 3.0 days
  T + 6d   Mo reviews Lia's Step 3                        -> 4.0 days
  Elsewhere (another school, same Lia and Mo): Lia submits at T + 1d, Mo reviews at T + 11d
  (10 days): never in Riverside's figures.

Groups: "Writers" has members Lia and Olu (mentors Mo and Tom); "Chess" has member Olu
(mentor Mo); "Empty" has a member with no reviewed work."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import select, text

from mentorgroups.extensions import db
from mentorgroups.models import AccountMembership, Review, Submission, SubmissionVersion, User
from mentorgroups.services import (
    accounts,
    digest_subscriptions,
    digests,
    groups,
    learning,
    turnaround,
)
from mentorgroups.services import group_members as gm
from mentorgroups.services.digest_content import build_digests
from mentorgroups.services.digest_weeks import latest_due_week
from mentorgroups.services.errors import NotFound
from tests.conftest import statements_for, statements_of
from tests.factories import make_account, make_cohort, make_member, make_path, school
from tests.kept_scenes import kept_scene

T = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
CLOCK_START = T
READ_AT = T + timedelta(days=28, hours=6)
DAY = 86400.0


def group_with(s, name, **roles):
    group = groups.create_group(s.admin, s.account.id, name)
    for role, people in roles.items():
        gm.add_members(s.admin, s.account.id, group.id, role, user_ids=[p.id for p in people])
    db.session.commit()
    return group


@pytest.fixture
def scene(app, clock, request):
    return kept_scene(request, build_scene, clock=clock)


def build_scene(clock):
    s = school(plan="complete")
    mo = make_member(s.account, "staff", full_name="Mo Mentor")
    idle = make_member(s.account, "member", full_name="Ida Idle")
    make_cohort(s.path, name="Cohort B", learners=[idle])
    writers = group_with(s, "Writers", member=[s.learner, s.other], mentor=[mo, s.teacher])
    chess = group_with(s, "Chess", member=[s.other], mentor=[mo])
    empty = group_with(s, "Empty", member=[idle], mentor=[mo])
    step2, step3 = s.path.steps[1].id, s.path.steps[2].id
    # Another school where the same Lia learns and the same Mo teaches.
    other = make_account(plan="complete")
    make_member(other, "admin")
    make_member(other, "member", user=s.learner)
    make_member(other, "staff", user=mo)
    far_path = make_path(other, review_at=(2,))
    make_cohort(far_path, teachers=[mo], learners=[s.learner])
    db.session.commit()

    def submit(who, step, account=s.account, words="work"):
        sub = learning.submit_for_review(who, account.id, step, words)
        db.session.commit()
        return sub

    def review(who, sub):
        learning.review_submission(who, sub.id, None, "thanks")
        db.session.commit()

    def at(delta):
        clock.move_to(T + delta)

    lia_2 = submit(s.learner, step2)
    olu_2, olu_3 = submit(s.other, step2), submit(s.other, step3)
    at(timedelta(hours=2))
    submit(s.learner, step2, words="work, better")
    at(timedelta(hours=3))
    review(mo, olu_3)
    at(timedelta(hours=12))
    review(s.teacher, olu_2)
    at(timedelta(days=1))
    review(mo, lia_2)
    far = submit(s.learner, far_path.steps[1].id, account=other)
    at(timedelta(days=2))
    submit(s.learner, step2, words="round two")
    lia_3 = submit(s.learner, step3)
    at(timedelta(days=2, hours=6))
    submit(s.learner, step2, words="round two, better")
    at(timedelta(days=5))
    review(s.teacher, lia_2)
    at(timedelta(days=6))
    review(mo, lia_3)
    at(timedelta(days=11))
    review(mo, far)
    clock.move_to(READ_AT)
    return SimpleNamespace(s=s, mo=mo, tom=s.teacher, writers=writers, chess=chess,
                           empty=empty, other=other, lia_2=lia_2)


def nearest_rank(values: list[float], p: int) -> float:
    ordered = sorted(values)
    return ordered[math.ceil(p * len(ordered) / 100) - 1]


def hand_waits(account_id: int, now: datetime) -> list[tuple[int, int, float]]:
    """(reviewer, learner, seconds) from the rows, in Python, apart from the module's SQL:
    the round's waiting-since is the submission's for its current round, its first
    version's for an earlier one."""
    out = []
    for review in db.session.scalars(select(Review).join(Submission).where(
            Submission.account_id == account_id)):
        if not now - timedelta(days=28) < review.created_at <= now:
            continue
        sub = review.submission
        since = sub.submitted_at if review.round == sub.round else min(
            v.created_at for v in sub.versions if v.round == review.round)
        out.append((review.reviewer_id, sub.user_id, (review.created_at - since).total_seconds()))
    return out


def test_figures_match_a_hand_written_check(scene):
    account_id = scene.s.account.id
    waits = hand_waits(account_id, READ_AT)
    # The scene's own numbers: every round once, each from its own waiting-since time.
    assert sorted(w for *_, w in waits) == [0.5 * DAY, 1 * DAY, 3 * DAY, 4 * DAY]

    per_reviewer = turnaround.by_reviewer(account_id)
    assert set(per_reviewer) == {scene.mo.id, scene.tom.id}
    for reviewer, figure in per_reviewer.items():
        mine = [w for r, _, w in waits if r == reviewer]
        assert figure.count == len(mine) == 2
        assert figure.median == pytest.approx(nearest_rank(mine, 50), abs=1)
        assert figure.p90 == pytest.approx(nearest_rank(mine, 90), abs=1)
    assert (per_reviewer[scene.mo.id].median_days, per_reviewer[scene.mo.id].p90_days) == \
        pytest.approx((1.0, 4.0), abs=1e-4)
    assert (per_reviewer[scene.tom.id].median_days, per_reviewer[scene.tom.id].p90_days) == \
        pytest.approx((0.5, 3.0), abs=1e-4)

    per_group = turnaround.by_group(account_id)
    assert set(per_group) == {scene.writers.id, scene.chess.id}  # "Empty": no entry, not 0
    writers, chess = per_group[scene.writers.id], per_group[scene.chess.id]
    # Writers: 0.5, 1, 3, 4 days -> nearest rank 2 of 4 and 4 of 4.
    assert (writers.count, writers.median_days, writers.p90_days) == (4, pytest.approx(1.0),
                                                                      pytest.approx(4.0))
    assert (chess.count, chess.median_days, chess.p90_days) == (1, pytest.approx(0.5),
                                                                pytest.approx(0.5))
    assert writers.summary == ("Median wait for a first review, last 4 weeks: 1.0 days · "
                               "90% within 4.0 days · 4 reviewed")


def test_a_hand_written_sql_query_agrees(scene):
    """The same waits from a plain SQL text written apart from the module (Python ranks)."""
    if db.session.get_bind().dialect.name == "postgresql":
        seconds = "extract(epoch from r.created_at - {since})"
    else:
        seconds = "(julianday(r.created_at) - julianday({since})) * 86400"
    since = ("CASE WHEN r.round = s.round THEN s.submitted_at ELSE (SELECT min(v.created_at) "
             "FROM submission_version v WHERE v.submission_id = s.id AND v.round = r.round) END")
    rows = db.session.execute(text(
        f"SELECT r.reviewer_id, {seconds.format(since=since)} FROM review r "
        "JOIN submission s ON s.id = r.submission_id "
        "WHERE s.account_id = :account AND r.created_at > :start AND r.created_at <= :end"),
        {"account": scene.s.account.id, "start": READ_AT - timedelta(days=28),
         "end": READ_AT}).all()
    mo = sorted(float(w) for r, w in rows if r == scene.mo.id)
    figure = turnaround.by_reviewer(scene.s.account.id)[scene.mo.id]
    assert figure.count == len(mo)
    assert figure.median == pytest.approx(nearest_rank(mo, 50), abs=1)
    assert figure.p90 == pytest.approx(nearest_rank(mo, 90), abs=1)


def test_old_reviews_leave_the_window(scene, clock):
    """Four weeks after Mo's 1-day review of round 1 it no longer counts; the round-2 review
    of the same submission still does (rounds are separate)."""
    clock.move_to(T + timedelta(days=29, hours=1))
    mo = turnaround.by_reviewer(scene.s.account.id)[scene.mo.id]
    assert (mo.count, mo.median_days, mo.p90_days) == (1, pytest.approx(4.0), pytest.approx(4.0))
    tom = turnaround.by_reviewer(scene.s.account.id)[scene.tom.id]
    assert (tom.count, tom.median_days) == (1, pytest.approx(3.0))
    clock.move_to(T + timedelta(days=40))
    assert turnaround.by_reviewer(scene.s.account.id) == {}
    assert turnaround.by_group(scene.s.account.id) == {}


def test_another_schools_reviews_are_never_counted(scene):
    far = turnaround.by_reviewer(scene.other.id)
    assert far[scene.mo.id].count == 1
    assert far[scene.mo.id].median_days == pytest.approx(10.0)
    assert scene.tom.id not in far
    # Lia is a Writers member and her work elsewhere was reviewed by Mo: not in Riverside's.
    assert turnaround.by_reviewer(scene.s.account.id)[scene.mo.id].count == 2
    assert turnaround.by_group(scene.s.account.id)[scene.writers.id].count == 4
    assert turnaround.by_group(scene.other.id) == {}


def test_each_round_counts_from_its_own_start(scene):
    """Lia's Step 2 was reviewed twice: round 1 waited from the first submission (not the
    update at T + 2h), round 2 from the resubmission (not its update at T + 2d 6h)."""
    waits = turnaround.first_review_waits(scene.s.account.id).subquery()
    found = dict(db.session.execute(
        select(Review.round, waits.c.wait).join(waits, waits.c.review_id == Review.id)
        .where(Review.submission_id == scene.lia_2.id)).all())
    assert {r: round(float(w) / DAY, 4) for r, w in found.items()} == {1: 1.0, 2: 3.0}
    assert db.session.scalar(select(SubmissionVersion.round).where(
        SubmissionVersion.submission_id == scene.lia_2.id,
        SubmissionVersion.number == 4)) == 2


def test_no_reviews_is_said_so_not_zero(scene, client):
    empty = turnaround.for_group(scene.mo, scene.s.account.id, scene.empty.id)
    assert empty.group == turnaround.NONE
    assert [name for name, _ in empty.mentors] == ["Mo Mentor"]
    assert turnaround.NONE.median_days is None
    client.login(scene.mo.email, account_id=scene.s.account.id)
    page = client.get(f"/people/groups/{scene.empty.id}").get_data(as_text=True)
    assert "Median wait for a first review: no reviews in the last 4 weeks" in page
    assert "0.0 days" not in page
    page = client.get(f"/people/groups/{scene.writers.id}").get_data(as_text=True)
    assert ("Median wait for a first review, last 4 weeks: <strong>1.0 days</strong> · 90% "
            "within <strong>4.0 days</strong> · 4 reviewed") in page
    # Each mentor's own figure, all their reviews in the school (not only this group's).
    assert "Mo Mentor: 1.0 days · 90% within 4.0 days · 2 reviewed" in page
    assert "Tom Teacher: 0.5 days · 90% within 3.0 days · 2 reviewed" in page
    page = client.get(f"/people/groups/{scene.chess.id}").get_data(as_text=True)
    assert "<strong>0.5 days</strong>" in page and "1 reviewed" in page
    assert "Tom Teacher" not in page  # not a Chess mentor


def test_only_the_groups_mentors_may_see_its_figure(scene):
    stranger = make_member(scene.s.account, "staff")
    db.session.commit()
    with pytest.raises(NotFound):
        turnaround.for_group(stranger, scene.s.account.id, scene.writers.id)
    with pytest.raises(NotFound):  # Mo, in the other school, for a Riverside group
        turnaround.for_group(scene.mo, scene.other.id, scene.writers.id)


def test_the_digest_header_says_the_readers_groups_median(scene, app):
    """Mo follows Writers, Chess and Empty: every round of their members once (Olu is in two
    of them); Tom follows Writers only; each reader's own work never counts."""
    account = scene.s.account
    for who, group in ((scene.mo, scene.writers), (scene.mo, scene.chess),
                       (scene.mo, scene.empty), (scene.tom, scene.writers)):
        digest_subscriptions.set_subscription(who, account.id, group.id, True)
    db.session.commit()
    week = latest_due_week(account, READ_AT)
    built = {d.user_id: d for d in build_digests(account, week, READ_AT)}
    assert set(built) == {scene.mo.id, scene.tom.id}
    mo = built[scene.mo.id].turnaround
    assert (mo.count, mo.median_days, mo.p90_days) == (4, pytest.approx(1.0), pytest.approx(4.0))
    with app.test_request_context():
        mail = digests.render(built[scene.mo.id])
    line = ("Your groups' median wait for a first review, last 4 weeks: 1.0 days "
            "(90% within 4.0 days, 4 reviewed)")
    assert line in mail["text"]
    assert "<strong style=\"color:#1f2933\">1.0 days</strong> (90% within 4.0 days, 4 reviewed)" \
        in mail["html"]

    # Empty alone: no reviews said so.
    digest_subscriptions.set_subscription(scene.mo, account.id, scene.writers.id, False)
    digest_subscriptions.set_subscription(scene.mo, account.id, scene.chess.id, False)
    db.session.commit()
    (alone,) = build_digests(account, week, READ_AT, user_ids=[scene.mo.id])
    assert alone.turnaround == turnaround.NONE
    with app.test_request_context():
        mail = digests.render(alone)
    assert ("Your groups' median wait for a first review, last 4 weeks: no reviews in the "
            "last 4 weeks") in mail["text"]


def test_a_readers_own_work_is_not_in_their_figure(scene):
    """Olu is a member of Writers: as a reader of Writers their own rounds are left out."""
    figures = turnaround.by_reader(scene.s.account.id,
                                   {scene.s.other.id: {scene.writers.id},
                                    scene.mo.id: {scene.chess.id}})
    olu = figures[scene.s.other.id]
    # Lia's rounds only (1, 3 and 4 days): Olu's own 0.5 days is left out.
    assert (olu.count, olu.median_days, olu.p90_days) == (3, pytest.approx(3.0),
                                                          pytest.approx(4.0))
    assert figures[scene.mo.id].count == 1


def figures(found: dict, key) -> tuple:
    figure = found[key]
    return figure.count, round(figure.median_days, 4), round(figure.p90_days, 4)


def test_no_reviews_is_worded_and_a_blank_cell_never_zero():
    assert turnaround.NONE.summary == \
        "Median wait for a first review: no reviews in the last 4 weeks"
    assert turnaround.days_text(None) == turnaround.NONE.median_text == \
        "no reviews in the last 4 weeks"
    assert turnaround.days_text(0.0) == "0.0 days"
    assert turnaround.Turnaround(1, 0.0, 0.0).summary == (
        "Median wait for a first review, last 4 weeks: 0.0 days · 90% within 0.0 days · "
        "1 reviewed")
    # The report's cells: days with one decimal; blank (None) with no reviews, never 0.
    assert turnaround.days_cell(None) is None
    assert turnaround.days_cell(1.26 * DAY) == 1.3
    assert turnaround.days_cell(0.0) == 0.0


def test_figures_as_of_an_earlier_moment_leave_out_later_reviews(scene):
    """Asked as of T + 2 days (the clock reads T + 28 days 6 hours): only the reviews saved by
    then, Mo's 3 hours and 1 day and Tom's half day; not the ones saved on days 5 and 6."""
    account_id, then = scene.s.account.id, T + timedelta(days=2)
    per_reviewer = turnaround.by_reviewer(account_id, then)
    assert figures(per_reviewer, scene.mo.id) == (2, 0.125, 1.0)
    assert figures(per_reviewer, scene.tom.id) == (1, 0.5, 0.5)
    assert figures(turnaround.by_group(account_id, then), scene.writers.id) == (3, 0.5, 1.0)


def test_an_earlier_round_waits_from_its_own_submissions_first_version(scene, clock):
    """Lia resubmits Step 3 after Mo's review (round 2 waits): that round-1 review still
    waited from her Step 3's first version (T + 2 days), not from anyone's first round (T)."""
    account_id = scene.s.account.id
    step3 = scene.s.path.steps[2].id
    clock.move_to(T + timedelta(days=7))
    learning.submit_for_review(scene.s.learner, account_id, step3, "step 3, round two")
    db.session.commit()
    clock.move_to(READ_AT)
    assert figures(turnaround.by_reviewer(account_id), scene.mo.id) == (2, 1.0, 4.0)
    assert figures(turnaround.by_group(account_id), scene.writers.id) == (4, 1.0, 4.0)


def test_a_round_whose_start_is_unknown_is_left_out(scene):
    """A review of an earlier round with no version of that round (work saved before
    versions were kept): its wait is unknown, so it is not counted, nor breaks the figure."""
    s = scene.s
    sub = Submission(account_id=s.account.id, user_id=s.learner.id, step_id=s.path.steps[3].id,
                     cohort_id=s.cohort.id, content="x", round=2, status="pending",
                     submitted_at=T + timedelta(days=3))
    db.session.add(sub)
    db.session.flush()
    db.session.add(Review(submission_id=sub.id, round=1, reviewer_id=scene.tom.id,
                          created_at=T + timedelta(days=2)))
    db.session.commit()
    assert figures(turnaround.by_reviewer(s.account.id), scene.tom.id) == (2, 0.5, 3.0)
    assert figures(turnaround.by_group(s.account.id), scene.writers.id) == (4, 1.0, 4.0)


def test_only_the_reviewers_and_groups_asked_for(scene):
    account_id = scene.s.account.id
    only_mo = select(User.id).where(User.id == scene.mo.id)
    assert set(turnaround.by_reviewer(account_id, reviewers=only_mo)) == {scene.mo.id}
    assert figures(turnaround.by_reviewer(account_id, reviewers=only_mo), scene.mo.id) == \
        (2, 1.0, 4.0)
    chess = turnaround.by_group(account_id, group_ids=[scene.chess.id])
    assert set(chess) == {scene.chess.id} and figures(chess, scene.chess.id) == (1, 0.5, 0.5)
    assert turnaround.by_group(account_id, group_ids=[]) == {}
    assert turnaround.by_reader(account_id, {}) == {}


def test_a_revoked_learners_work_leaves_the_group_and_reader_figures(scene):
    """Lia's access to Riverside is revoked (she is still active at the other school): her
    rounds leave Writers' figure and its readers', the reviewers keep their own figures."""
    s = scene.s
    lia = db.session.scalar(select(AccountMembership).where(
        AccountMembership.user_id == s.learner.id, AccountMembership.account_id == s.account.id))
    accounts.set_membership_status(s.admin, lia, "revoked")
    db.session.commit()
    per_group = turnaround.by_group(s.account.id)
    assert figures(per_group, scene.writers.id) == (1, 0.5, 0.5)  # Olu's only
    assert figures(per_group, scene.chess.id) == (1, 0.5, 0.5)
    assert figures(turnaround.by_reader(s.account.id, {scene.tom.id: {scene.writers.id}}),
                   scene.tom.id) == (1, 0.5, 0.5)
    assert figures(turnaround.by_reviewer(s.account.id), scene.mo.id) == (2, 1.0, 4.0)


def test_a_mentors_own_reviewed_work_is_not_their_groups(scene):
    """Mo mentors Writers and has work of his own reviewed by Tom (1 hour): not a member's
    work, so in neither Writers' figure nor in Tom's digest figure for Writers."""
    add_rounds(scene.s, scene.mo, scene.tom, 1)
    account_id = scene.s.account.id
    assert figures(turnaround.by_reviewer(account_id), scene.tom.id)[0] == 3  # his review
    assert figures(turnaround.by_group(account_id), scene.writers.id) == (4, 1.0, 4.0)
    assert figures(turnaround.by_reader(account_id, {scene.tom.id: {scene.writers.id}}),
                   scene.tom.id) == (4, 1.0, 4.0)


def test_a_group_of_another_school_counts_nothing_for_a_reader(scene):
    """Lia is a member of a group at the other school: given that group by mistake, a
    Riverside reader's figure counts none of her Riverside work."""
    far_admin = make_member(scene.other, "admin")
    db.session.commit()
    far = groups.create_group(far_admin, scene.other.id, "Far readers")
    gm.add_members(far_admin, scene.other.id, far.id, "member", user_ids=[scene.s.learner.id])
    db.session.commit()
    assert turnaround.by_reader(scene.s.account.id, {scene.mo.id: {far.id}}) == {}
    both = turnaround.by_reader(scene.s.account.id, {scene.mo.id: {far.id, scene.chess.id}})
    assert figures(both, scene.mo.id) == (1, 0.5, 0.5)  # Chess's (Olu's) only


# ---- statements that do not grow with the data ---------------------------------------------

def add_rounds(s, learner, reviewer, n: int) -> None:
    """One submission of `learner` reviewed `n` times, round k waiting k hours, all in the
    window before T + 28 days."""
    base = T + timedelta(days=1)
    sub = Submission(account_id=s.account.id, user_id=learner.id, step_id=s.path.steps[1].id,
                     cohort_id=s.cohort.id, content="x", round=n, status="reviewed",
                     submitted_at=base + timedelta(minutes=5 * n))  # the current round's
    db.session.add(sub)
    db.session.flush()
    for k in range(1, n + 1):
        start = base + timedelta(minutes=5 * k)
        db.session.add(SubmissionVersion(submission_id=sub.id, number=k, round=k,
                                         content="x", created_at=start))
        db.session.add(Review(submission_id=sub.id, round=k, reviewer_id=reviewer.id,
                              created_at=start + timedelta(hours=k)))
    db.session.commit()


@pytest.mark.parametrize("n", [5, 500])
@pytest.mark.scale
def test_one_statement_each_for_5_or_500_reviews(app, clock, n):
    s = school(plan="complete")
    mentor = make_member(s.account, "staff")
    group = group_with(s, "G", member=[s.learner], mentor=[mentor])
    add_rounds(s, s.learner, mentor, n)
    clock.move_to(T + timedelta(days=27))
    account_id, reader, group_id = s.account.id, mentor.id, group.id
    assert statements_of(lambda: turnaround.by_reviewer(account_id)) == 1
    assert statements_of(lambda: turnaround.by_group(account_id)) == 1
    assert statements_of(lambda: turnaround.by_reader(account_id, {reader: {group_id}})) == 1
    figure = turnaround.by_group(account_id)[group_id]
    assert figure.count == n
    hours = list(range(1, n + 1))
    assert figure.median == pytest.approx(nearest_rank(hours, 50) * 3600, abs=1)
    assert figure.p90 == pytest.approx(nearest_rank(hours, 90) * 3600, abs=1)


@pytest.mark.scale
def test_group_page_statements_equal_for_5_and_500_reviews(client, clock):
    s = school(plan="complete")
    mentor = make_member(s.account, "staff")
    group = group_with(s, "G", member=[s.learner, s.other], mentor=[mentor])
    add_rounds(s, s.learner, mentor, 5)
    clock.move_to(T + timedelta(days=27))
    client.login(mentor.email)
    few = statements_for(client, f"/people/groups/{group.id}")
    add_rounds(s, s.other, mentor, 495)
    assert statements_for(client, f"/people/groups/{group.id}") == few
    assert "500 reviewed" in client.get(f"/people/groups/{group.id}").get_data(as_text=True)
