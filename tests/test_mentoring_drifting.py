"""Who is drifting, on the mentor's group page: a member whose last step (or, with none, whose
joining the group) is older than the school's drift days (14 unless School settings say
otherwise). The page filters on it and sorts by it and by waiting work, on the server, paged,
in the same statements whatever the group's size."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from mentorgroups.extensions import db
from mentorgroups.models import GroupMembership, StepCompletion, Submission
from mentorgroups.paging import PageRequest
from mentorgroups.services import group_members as gm
from mentorgroups.services import groups, mentoring
from mentorgroups.services.errors import NotFound
from tests.conftest import statements_for
from tests.factories import make_account, make_cohort, make_member, make_path

CLOCK_START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # the group is made on Monday 2 Nov
NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)  # four weeks later


@pytest.fixture
def s(app, clock):
    """Hill School: Coaching (Mo mentors it) with Ann (last step 19 days ago), Bob (13 days
    ago, two items waiting), Cid (nothing started, in the group four weeks), Dee (a step
    yesterday, one item waiting 9 days); Other group's Olu (drifting, but not Mo's)."""
    account = make_account(name="Hill School", plan="complete")
    admin = make_member(account, "admin", full_name="Ada Admin")
    mo = make_member(account, "staff", full_name="Mo Mentor")
    ann, bob, cid, dee, olu = (make_member(account, "member", full_name=n)
                               for n in ("Ann", "Bob", "Cid", "Dee", "Olu"))
    path = make_path(account, steps=4, review_at=(2, 3), title="Data")
    cohort = make_cohort(path, learners=[ann, bob, cid, dee, olu])
    coaching = groups.create_group(admin, account.id, "Coaching")
    other = groups.create_group(admin, account.id, "Other")
    gm.add_members(admin, account.id, coaching.id, "mentor", user_ids=[mo.id])
    gm.add_members(admin, account.id, coaching.id, "member",
                   user_ids=[ann.id, bob.id, cid.id, dee.id])
    gm.add_members(admin, account.id, other.id, "member", user_ids=[olu.id])
    db.session.commit()
    clock.move_to(NOW)

    def step(person, position, days_ago, submit=False):
        at = NOW - timedelta(days=days_ago)
        db.session.add(StepCompletion(user_id=person.id, step_id=path.steps[position - 1].id,
                                      cohort_id=cohort.id, completed_at=at))
        if submit:
            db.session.add(Submission(account_id=account.id, user_id=person.id,
                                      step_id=path.steps[position - 1].id, cohort_id=cohort.id,
                                      content="work", submitted_at=at))

    step(ann, 1, 19)
    step(bob, 2, 14.5, submit=True)
    step(bob, 3, 13, submit=True)
    step(dee, 2, 9, submit=True)
    step(dee, 1, 1)
    step(olu, 1, 30)
    db.session.commit()
    return type("S", (), dict(account=account, admin=admin, mo=mo, ann=ann, bob=bob, cid=cid,
                              dee=dee, olu=olu, path=path, cohort=cohort, coaching=coaching,
                              other=other))


def names(s, **kwargs):
    _, page = mentoring.group_page(s.mo, s.account.id, s.coaching.id, **kwargs)
    return [row.user.full_name for row in page.items]


def test_drifting_members_are_flagged_and_filtered(s):
    _, page = mentoring.group_page(s.mo, s.account.id, s.coaching.id)
    assert {row.user.full_name: row.drifting for row in page.items} == {
        "Ann": True, "Bob": False, "Cid": True, "Dee": False}
    assert names(s, show="drifting") == ["Ann", "Cid"]  # never Olu: not Mo's group
    _, only = mentoring.group_page(s.mo, s.account.id, s.coaching.id, show="drifting")
    assert only.total == 2 and only.extra == {"show": "drifting", "sort": "name",
                                              "drift_days": 14}


def test_the_schools_drift_days_decide(s):
    s.account.drift_days = 10
    db.session.commit()
    assert names(s, show="drifting") == ["Ann", "Bob", "Cid"]
    s.account.drift_days = 30
    db.session.commit()
    assert names(s, show="drifting") == []


def test_sorted_by_drifting_and_by_waiting_work(s):
    # Longest without progress first: Cid (joined 28 days ago), Ann (19), Bob (13), Dee (1).
    assert names(s, sort="drifting") == ["Cid", "Ann", "Bob", "Dee"]
    # Most waiting first (Bob 2, Dee 1), then nothing waiting, by name.
    assert names(s, sort="waiting") == ["Bob", "Dee", "Ann", "Cid"]
    assert names(s, sort="drifting", show="drifting") == ["Cid", "Ann"]
    assert names(s, sort="nonsense", show="nonsense") == ["Ann", "Bob", "Cid", "Dee"]


def test_an_unknown_filter_or_order_shows_everyone_by_name(s):
    """A hand-edited link (?show=nonsense&sort=nonsense) gets the plain page: everyone, by
    name, read by key, and the page's menus say "all" and "name"."""
    _, page = mentoring.group_page(s.mo, s.account.id, s.coaching.id, show="nonsense",
                                   sort="nonsense")
    assert page.extra == {"show": "all", "sort": "name", "drift_days": 14}
    assert page.keys == (s.ann.id, s.dee.id)


def test_only_name_order_is_paged_by_key(s):
    """Previous and Next name a row only in name order; other orders page by number."""
    _, by_name = mentoring.group_page(s.mo, s.account.id, s.coaching.id)
    assert by_name.keys == (s.ann.id, s.dee.id)
    for sort in ("drifting", "waiting"):
        _, page = mentoring.group_page(s.mo, s.account.id, s.coaching.id, sort=sort)
        assert len(page.items) == 4 and page.keys is None, sort


def test_waiting_order_counts_this_school_s_pending_work_only(s):
    """Most waiting first, then the oldest waiting first: Bob (2), Ann (1, 20 days), Dee (1,
    9 days; her reviewed work no longer waits), Cid (1, 5 days; his work at another school
    is not this school's to review)."""
    elsewhere = make_account(name="Elsewhere")
    make_member(elsewhere, "member", user=s.cid)
    far_path = make_path(elsewhere, steps=2, review_at=(2,), title="Far")
    far_cohort = make_cohort(far_path, learners=[s.cid])

    def work(person, step, days_ago, status="pending", path=None, cohort=None):
        path, cohort = path or s.path, cohort or s.cohort
        db.session.add(Submission(account_id=path.account_id, user_id=person.id,
                                  step_id=step.id, cohort_id=cohort.id, content="work",
                                  status=status, submitted_at=NOW - timedelta(days=days_ago)))

    work(s.ann, s.path.steps[1], 20)
    work(s.cid, s.path.steps[1], 5)
    work(s.dee, s.path.steps[2], 30, status="reviewed")
    work(s.cid, far_path.steps[1], 25, path=far_path, cohort=far_cohort)
    db.session.commit()
    _, page = mentoring.group_page(s.mo, s.account.id, s.coaching.id, sort="waiting")
    assert [(r.user.full_name, r.waiting) for r in page.items] == [
        ("Bob", 2), ("Ann", 1), ("Dee", 1), ("Cid", 1)]


def test_the_page_as_of_a_moment_counts_the_steps_taken_by_then(s):
    """Ten days before NOW: Dee's two steps (9 days and 1 day before NOW) are still to come,
    so she drifts since joining, like Cid; Ann's step 19 days before NOW is then 9 days old."""
    then = NOW - timedelta(days=10)
    assert names(s, show="drifting", now=then) == ["Cid", "Dee"]
    _, page = mentoring.group_page(s.mo, s.account.id, s.coaching.id, now=then)
    assert {r.user.full_name: r.idle_since for r in page.items}["Dee"] == CLOCK_START


def test_steps_at_another_school_do_not_keep_a_member_from_drifting(s):
    """Ann, drifting here, took a step yesterday at another school she also learns at."""
    elsewhere = make_account(name="Elsewhere")
    make_member(elsewhere, "member", user=s.ann)
    far_path = make_path(elsewhere, steps=1, review_at=(), title="Far")
    far_cohort = make_cohort(far_path, learners=[s.ann])
    db.session.add(StepCompletion(user_id=s.ann.id, step_id=far_path.steps[0].id,
                                  cohort_id=far_cohort.id, completed_at=NOW - timedelta(days=1)))
    db.session.commit()
    assert names(s, show="drifting") == ["Ann", "Cid"]
    assert names(s, sort="drifting") == ["Cid", "Ann", "Bob", "Dee"]


def test_only_the_whole_group_is_counted_about(s, monkeypatch):
    """Above page_counts.EXACT_UP_TO (1 here) the whole group is "about" its members; the
    drifting ones are counted exactly, never said to be about the group's size."""
    from mentorgroups.services import page_counts

    monkeypatch.setattr(page_counts, "EXACT_UP_TO", 1)
    _, everyone = mentoring.group_page(s.mo, s.account.id, s.coaching.id)
    assert (everyone.total, everyone.estimated) == (4, True)
    _, drifting = mentoring.group_page(s.mo, s.account.id, s.coaching.id, show="drifting")
    assert (drifting.total, drifting.estimated) == (2, False)


def test_filter_and_sort_work_with_search_and_paging(s):
    assert names(s, request=PageRequest(number=1, size=25, search="c"),
                 show="drifting") == ["Cid"]
    more = [make_member(s.account, "member", full_name=f"Zed {n:02d}") for n in range(30)]
    gm.add_members(s.admin, s.account.id, s.coaching.id, "member", user_ids=[p.id for p in more])
    for membership in db.session.scalars(select(GroupMembership).where(
            GroupMembership.user_id.in_([p.id for p in more]))):
        membership.created_at = NOW - timedelta(days=40)
    db.session.commit()
    _, first = mentoring.group_page(s.mo, s.account.id, s.coaching.id,
                                    PageRequest(number=1, size=25), show="drifting",
                                    sort="drifting")
    _, second = mentoring.group_page(s.mo, s.account.id, s.coaching.id,
                                     PageRequest(number=2, size=25), show="drifting",
                                     sort="drifting")
    assert first.total == 32 and [r.user.full_name for r in first.items][:2] == [
        "Zed 00", "Zed 01"]
    assert [r.user.full_name for r in second.items] == ["Zed 25", "Zed 26", "Zed 27",
                                                        "Zed 28", "Zed 29", "Cid", "Ann"]


def test_another_school_or_group_is_404(s):
    with pytest.raises(NotFound):
        mentoring.group_page(s.mo, s.account.id, s.other.id, show="drifting")
    for garbage in ("abc", None, ""):
        with pytest.raises(NotFound):
            mentoring.group_page(s.mo, s.account.id, garbage)
    stranger = make_account(name="Elsewhere")
    with pytest.raises(NotFound):
        mentoring.group_page(s.mo, stranger.id, s.coaching.id, show="drifting")


def test_the_page_shows_the_flag_filter_and_sort(client, s):
    client.login(s.mo.email)
    url = f"/people/groups/{s.coaching.id}"
    page = client.get(f"{url}?show=drifting&sort=drifting").get_data(as_text=True)
    assert page.count('data-testid="drifting"') == 2
    assert page.index("Cid") < page.index("Ann") and "Bob" not in page and "Dee" not in page
    assert "Drifting · no progress for 28 days" in page  # Cid: since he joined
    assert '<option value="drifting" selected>Drifting: no progress for 14 days' in page
    assert '<option value="drifting" selected>Longest without progress' in page
    everyone = client.get(url).get_data(as_text=True)
    assert everyone.count('data-testid="drifting"') == 2 and "Dee" in everyone
    s.account.drift_days = 30
    db.session.commit()
    none = client.get(f"{url}?show=drifting").get_data(as_text=True)
    assert "Nobody in this group is drifting" in none and "Ann" not in none
    assert client.get(f"/people/groups/{s.other.id}?show=drifting").status_code == 404


def test_an_account_admin_opens_any_group_of_the_school(s):
    """Ada mentors no group, but manages them all (Home > People > Groups, "All groups")."""
    group, page = mentoring.group_page(s.admin, s.account.id, s.other.id, show="drifting")
    assert group.id == s.other.id and [r.user.full_name for r in page.items] == ["Olu"]


@pytest.mark.scale
def test_the_same_statements_for_a_small_and_a_big_group(client, s):
    client.login(s.mo.email)
    url = f"/people/groups/{s.coaching.id}"
    few = {q: statements_for(client, f"{url}?{q}")
           for q in ("show=drifting&sort=drifting", "sort=waiting", "show=drifting&sort=waiting")}
    more = [make_member(s.account, "member") for _ in range(120)]
    gm.add_members(s.admin, s.account.id, s.coaching.id, "member", user_ids=[p.id for p in more])
    for n, person in enumerate(more):
        db.session.add(StepCompletion(user_id=person.id, step_id=s.path.steps[0].id,
                                      cohort_id=s.cohort.id,
                                      completed_at=NOW - timedelta(days=n % 30)))
        if n % 4 == 0:
            db.session.add(Submission(account_id=s.account.id, user_id=person.id,
                                      step_id=s.path.steps[1].id, cohort_id=s.cohort.id,
                                      content="w", submitted_at=NOW - timedelta(days=n % 9)))
    db.session.commit()
    for q, count in few.items():
        assert statements_for(client, f"{url}?{q}") == count, q
        assert statements_for(client, f"{url}?{q}&page=2&per_page=25") == count, q


def test_the_cutoff_is_the_schools_days_and_fourteen_without_a_school(app):
    from mentorgroups.services.school_settings import drift_cutoff

    account = make_account()
    account.drift_days = 3
    db.session.commit()
    assert drift_cutoff(account.id, CLOCK_START) == CLOCK_START - timedelta(days=3)
    assert drift_cutoff(account.id + 1000, CLOCK_START) == CLOCK_START - timedelta(days=14)
