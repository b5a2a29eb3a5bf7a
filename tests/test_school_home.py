"""The school home (services.school_home, Home in the back office): every group with its
members, mentors, waiting reviews, oldest wait and stale count, sorted and paged on the
server in the same statements for any number of groups; groups with no mentor; pending
invitations; emails not delivered; the plan's usage. Group Admins: their part of the tree."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text

from mentorgroups.extensions import db
from mentorgroups.models import MentorGroup, SentEmail, Submission
from mentorgroups.paging import PageRequest
from mentorgroups.services import group_members as gm
from mentorgroups.services import groups, invitations, learning
from mentorgroups.services.school_home import groups_page, school_home
from tests.conftest import statements_for
from tests.deadline import ends_within
from tests.factories import make_account, make_cohort, make_member, make_path
from tests.kept_scenes import kept_scene

CLOCK_START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def w(app, clock, request):
    w = kept_scene(request, build_w, clock=clock)
    w.clock = clock
    return w


def build_w(clock):
    """Riverside: Alpha (2 members, a mentor; one piece of work 10 days old, one 1 day old),
    Beta (1 member, no mentor, one piece 3 days old; Gus its Group Admin) with Gamma nested
    under it (a mentor, no members), Delta (empty, no mentor). A revoked member of Alpha
    counts nowhere. Hillside: one group of its own."""
    river = make_account(name="Riverside", plan="complete")
    ada = make_member(river, "admin", full_name="Ada Admin")
    mo = make_member(river, "staff", full_name="Mo Mentor")
    gus = make_member(river, "staff", full_name="Gus GroupAdmin")
    ann = make_member(river, full_name="Ann Learner")
    bob = make_member(river, full_name="Bob Learner")
    cid = make_member(river, full_name="Cid Learner")
    gone = make_member(river, full_name="Gone Learner", status="revoked")
    path = make_path(river, steps=4, review_at=(1, 2, 3))
    make_cohort(path, learners=[ann, bob, cid, gone])
    db.session.commit()
    alpha = groups.create_group(ada, river.id, "Alpha")
    beta = groups.create_group(ada, river.id, "Beta")
    gamma = groups.create_group(ada, river.id, "Gamma", "", beta.id)
    delta = groups.create_group(ada, river.id, "Delta")
    gm.add_members(ada, river.id, alpha.id, "member", user_ids=[ann.id, bob.id])
    gm.add_members(ada, river.id, alpha.id, "mentor", user_ids=[mo.id])
    gm.add_members(ada, river.id, beta.id, "member", user_ids=[cid.id])
    gm.add_members(ada, river.id, beta.id, "group_admin", user_ids=[gus.id])
    gm.add_members(ada, river.id, gamma.id, "mentor", user_ids=[mo.id])
    db.session.commit()
    steps = path.steps
    learning.submit_for_review(ann, river.id, steps[0].id, "old work")
    db.session.commit()
    clock.shift(timedelta(days=7))
    learning.submit_for_review(cid, river.id, steps[0].id, "middling")
    db.session.commit()
    clock.shift(timedelta(days=2))
    learning.submit_for_review(bob, river.id, steps[0].id, "new work")
    db.session.commit()
    clock.shift(timedelta(days=1))
    # Added after the work: a revoked person's membership and work count nowhere.
    db.session.execute(text("INSERT INTO group_membership (group_id, user_id, role, created_at)"
                            " VALUES (:g, :u, 'member', :t)"),
                       {"g": alpha.id, "u": gone.id, "t": CLOCK_START})
    hill = make_account(name="Hillside", plan="complete")
    hilda = make_member(hill, "admin", full_name="Hilda Admin")
    theirs = groups.create_group(hilda, hill.id, "Theirs")
    db.session.commit()
    return type("W", (), dict(river=river, ada=ada, mo=mo, gus=gus, ann=ann, bob=bob, cid=cid,
                              alpha=alpha, beta=beta, gamma=gamma, delta=delta, hill=hill,
                              hilda=hilda, theirs=theirs, clock=clock))


def figures(page):
    return [(r.name, r.members, r.mentors, r.waiting, r.stale) for r in page.items]


def test_every_group_with_its_figures_for_an_account_admin(w):
    page, unmentored = groups_page(w.ada, w.river.id)
    assert figures(page) == [("Alpha", 2, 1, 2, 1), ("Beta", 1, 0, 1, 0),
                             ("Delta", 0, 0, 0, 0), ("Gamma", 0, 1, 0, 0)]
    assert unmentored == 2  # Beta and Delta
    alpha = page.items[0]
    assert alpha.oldest == CLOCK_START  # Ann's, ten days ago
    assert page.items[3].parent_name == "Beta"
    assert "Theirs" not in [r.name for r in page.items]


def test_switched_off_people_revoked_access_staff_and_other_schools_work_count_nowhere(w):
    """Dee (a member of Alpha whose account is switched off), Rex (a member of Delta whose
    access is revoked) and Mo (Alpha's mentor, learning too) each have work waiting; Ann has
    work waiting in Hillside too. None of it, and neither Dee nor Rex, is in Riverside's
    figures."""
    from mentorgroups.models import AccountMembership

    dee = make_member(w.river, full_name="Dee Learner")
    rex = make_member(w.river, full_name="Rex Learner")
    path = make_path(w.river, steps=2, review_at=(1,))
    make_cohort(path, learners=[dee, rex, w.mo])
    make_member(w.hill, user=w.ann)
    hill_path = make_path(w.hill, steps=2, review_at=(1,))
    make_cohort(hill_path, learners=[w.ann])
    db.session.commit()
    gm.add_members(w.ada, w.river.id, w.alpha.id, "member", user_ids=[dee.id])
    gm.add_members(w.ada, w.river.id, w.delta.id, "member", user_ids=[rex.id])
    for person in (dee, rex, w.mo):  # Mo's own work is not his groups' work
        learning.submit_for_review(person, w.river.id, path.steps[0].id, "work")
    learning.submit_for_review(w.ann, w.hill.id, hill_path.steps[0].id, "work elsewhere")
    db.session.commit()
    dee.active = False
    db.session.scalar(select(AccountMembership).where(
        AccountMembership.user_id == rex.id,
        AccountMembership.account_id == w.river.id)).status = "revoked"
    db.session.commit()
    page, unmentored = groups_page(w.ada, w.river.id)
    assert figures(page) == [("Alpha", 2, 1, 2, 1), ("Beta", 1, 0, 1, 0),
                             ("Delta", 0, 0, 0, 0), ("Gamma", 0, 1, 0, 0)]
    # Reviewed work waits no more.
    bobs = db.session.scalar(select(Submission.id).where(Submission.user_id == w.bob.id))
    learning.review_submission(w.mo, bobs, None, "Good")
    db.session.commit()
    assert figures(groups_page(w.ada, w.river.id)[0])[0] == ("Alpha", 2, 1, 1, 1)


@pytest.mark.parametrize("sort, direction, names", [
    ("name", "desc", ["Gamma", "Delta", "Beta", "Alpha"]),
    ("members", None, ["Alpha", "Beta", "Delta", "Gamma"]),
    ("mentors", None, ["Beta", "Delta", "Alpha", "Gamma"]),
    ("waiting", None, ["Alpha", "Beta", "Delta", "Gamma"]),
    ("oldest", None, ["Alpha", "Beta", "Delta", "Gamma"]),  # nothing waiting: last
    ("oldest", "desc", ["Beta", "Alpha", "Delta", "Gamma"]),
    ("stale", None, ["Alpha", "Beta", "Delta", "Gamma"]),
    ("bogus", "sideways", ["Alpha", "Beta", "Delta", "Gamma"]),
])
def test_sorted_by_each_column_on_the_server(w, sort, direction, names):
    page, _ = groups_page(w.ada, w.river.id, sort=sort, direction=direction)
    assert [r.name for r in page.items] == names


def test_ties_go_by_name_and_a_page_past_the_end_is_the_last(w):
    groups.create_group(w.ada, w.river.id, "Aardvark", "", w.delta.id)  # made last, nested
    db.session.commit()
    assert groups_page(w.ada, w.river.id)[1] == 3  # Aardvark, Beta and Delta: no mentor
    for sort in ("members", "waiting", "stale"):
        page, _ = groups_page(w.ada, w.river.id, sort=sort)
        assert [r.name for r in page.items] == (
            ["Alpha", "Aardvark", "Beta", "Delta", "Gamma"] if sort == "stale"
            else ["Alpha", "Beta", "Aardvark", "Delta", "Gamma"]), sort
    page, _ = groups_page(w.ada, w.river.id, PageRequest(number=9, size=2))
    assert (page.number, [r.name for r in page.items]) == (3, ["Gamma"])
    # As of a later moment than the clock's, every piece of work is stale.
    page, _ = groups_page(w.ada, w.river.id, sort="stale", now=CLOCK_START + timedelta(days=30))
    assert [(r.name, r.stale) for r in page.items[:2]] == [("Alpha", 2), ("Beta", 1)]


def test_paged_searched_and_narrowed_to_groups_with_no_mentor(w):
    first = groups_page(w.ada, w.river.id, PageRequest(number=1, size=25))[0]
    assert first.total == 4
    page, unmentored = groups_page(w.ada, w.river.id, show="unmentored")
    assert [r.name for r in page.items] == ["Beta", "Delta"] and page.total == 2
    page, unmentored = groups_page(w.ada, w.river.id, PageRequest(search="ALP"))
    assert [r.name for r in page.items] == ["Alpha"] and page.total == 1
    assert unmentored == 2  # the summary's figure ignores the search
    page, _ = groups_page(w.ada, w.river.id, PageRequest(search="del"), show="unmentored")
    assert [r.name for r in page.items] == ["Delta"] and page.total == 1
    page, _ = groups_page(w.ada, w.river.id, PageRequest(search="%"))
    assert page.items == [] and page.total == 0  # a wildcard is just a character
    # Garbage in the URL is the default, and the page's links carry the default on.
    page, _ = groups_page(w.ada, w.river.id, sort="bogus", direction="sideways", show="odd")
    assert page.total == 4 and page.extra == {"sort": "name", "direction": "asc", "show": "all"}


def test_a_group_admin_sees_their_part_of_the_tree_only(w):
    home = school_home(w.gus, w.river.id)
    assert [r.name for r in home.groups.items] == ["Beta", "Gamma"]
    assert home.unmentored == 1
    assert home.whole_school is False and home.undelivered is None and home.used is None
    # A mentor with no Group Admin role, and a learner, manage nothing.
    assert school_home(w.mo, w.river.id).groups.items == []
    assert school_home(w.ann, w.river.id).groups.total == 0
    # Another school's admin sees nothing of this school.
    assert school_home(w.hilda, w.river.id) is None
    page, unmentored = groups_page(w.hilda, w.river.id)
    assert (page.total, page.items, unmentored) == (0, [], 0)


def test_a_loop_in_the_tree_still_ends(w):
    """A broken tree: Beta and Gamma each other's parent, with a group nested below the loop."""
    groups.create_group(w.ada, w.river.id, "Under loop", "", w.gamma.id)
    db.session.commit()
    db.session.execute(text("UPDATE mentor_group SET parent_id = :p WHERE id = :id"),
                       {"p": w.gamma.id, "id": w.beta.id})
    db.session.commit()
    with ends_within(10, "the school home of a Group Admin over a loop"):
        home = school_home(w.gus, w.river.id)
    assert [r.name for r in home.groups.items] == ["Beta", "Gamma", "Under loop"]


def test_pending_invitations_and_undelivered_emails(w):
    invitations.invite(w.ada, w.river.id, w.alpha, "new@example.test", "member")
    invitations.invite(w.gus, w.river.id, w.gamma, "later@example.test", "mentor")
    db.session.commit()
    w.clock.shift(timedelta(days=15))  # both expired by now
    invitations.invite(w.ada, w.river.id, w.delta, "fresh@example.test", "member")
    db.session.add(SentEmail(idempotency_key="x1", recipient="a@example.test", subject="s",
                             body="b", account_id=w.river.id, status="dead", attempts=5))
    db.session.add(SentEmail(idempotency_key="x2", recipient="a@example.test", subject="s",
                             body="b", account_id=w.hill.id, status="failed", attempts=1))
    db.session.add(SentEmail(idempotency_key="x3", recipient="b@example.test", subject="s",
                             body="b", account_id=w.hill.id, status="dead", attempts=5))
    db.session.commit()
    home = school_home(w.ada, w.river.id)
    assert (home.invitations_pending, home.invitations_expired) == (3, 2)
    assert [i.email for i in home.invitations] == ["new@example.test", "later@example.test",
                                                   "fresh@example.test"]
    assert home.undelivered == 1 and home.used == 4
    later = school_home(w.ada, w.river.id, now=CLOCK_START + timedelta(days=60))
    assert (later.invitations_pending, later.invitations_expired) == (3, 3)
    mine = school_home(w.gus, w.river.id)
    assert (mine.invitations_pending, [i.email for i in mine.invitations]) == (
        1, ["later@example.test"])


# ---- the screens ---------------------------------------------------------------------------

def test_the_home_shows_it_all_escaped(client, w):
    groups.update_group(w.ada, w.river.id, w.delta.id, "<b>Delta</b>", "")
    db.session.commit()
    client.login(w.ada.email)
    page = client.get("/admin/").get_data(as_text=True)
    assert 'data-testid="unmentored">2<' in page
    assert "&lt;b&gt;Delta&lt;/b&gt;" in page and "<b>Delta</b>" not in page
    assert f'href="/people/groups/{w.gamma.id}"' in page
    assert f'href="/review/?group={w.alpha.id}"' in page
    assert "4 of 20 groups on the Complete plan" in page
    assert "Theirs" not in page
    sorted_page = client.get("/admin/?sort=waiting").get_data(as_text=True)
    assert 'aria-sort="descending"' in sorted_page
    assert sorted_page.index("Alpha") < sorted_page.index("Beta")
    assert client.get("/admin/?sort=waiting&dir=asc&page=999&per_page=7").status_code == 200


def test_a_group_admin_lands_on_their_home_and_a_learner_gets_403(client, w):
    client.login(w.gus.email)
    page = client.get("/admin/").get_data(as_text=True)
    assert "The groups you manage" in page and "Alpha" not in page
    assert "Emails not delivered" not in page and "Plans and upgrades" not in page
    client.post_form("/logout", token_page="/paths")
    client.login(w.ann.email)
    assert client.get("/admin/").status_code == 403


def test_the_same_statements_for_10_groups_and_500(client, w):
    client.login(w.ada.email)
    extra = [MentorGroup(account_id=w.river.id, name=f"Extra {n}") for n in range(6)]
    db.session.add_all(extra)
    db.session.commit()
    few = {url: statements_for(client, url) for url in ("/admin/", "/admin/?sort=oldest",
                                                        "/people/groups")}
    db.session.add_all(MentorGroup(account_id=w.river.id, name=f"More {n}",
                                   parent_id=extra[n % 6].id) for n in range(490))
    db.session.commit()
    for url, count in few.items():
        assert statements_for(client, url) == count, url
    client.post_form("/logout", token_page="/paths")
    client.login(w.gus.email)
    assert statements_for(client, "/admin/") >= 1


# ---- Home > People > Groups: any group for the school's admins, never a 404 they manage ----

def test_an_account_admin_opens_any_group_of_the_school(client, w):
    client.login(w.ada.email)
    for group in (w.alpha, w.beta, w.gamma, w.delta):  # Ada staffs none of them
        page = client.get(f"/people/groups/{group.id}")
        assert page.status_code == 200, group.name
        # The weekly digest is for the group's staff: no Group options for her here.
        assert 'data-testid="group-options"' not in page.get_data(as_text=True)
    assert client.get(f"/people/groups/{w.alpha.id}?sort=waiting&show=drifting"
                      ).status_code == 200
    response = client.post_form(f"/people/groups/{w.alpha.id}/digest", {"on": "1"},
                                token_page="/people/groups")
    assert response.status_code == 404  # nothing to subscribe to as a non-member


@pytest.mark.parametrize("url", ["/people/groups/{theirs}", "/people/groups/99999999999",
                                 "/people/groups/-1", "/people/groups/abc",
                                 "/people/groups/0"])
def test_another_schools_group_and_forged_ids_are_404(client, w, url):
    client.login(w.ada.email)
    assert client.get(url.format(theirs=w.theirs.id)).status_code == 404


def test_a_group_admin_opens_their_groups_and_below_only(client, w):
    client.login(w.gus.email)
    assert client.get(f"/people/groups/{w.beta.id}").status_code == 200
    assert client.get(f"/people/groups/{w.gamma.id}").status_code == 200  # below Beta
    for group in (w.alpha, w.delta, w.theirs):
        assert client.get(f"/people/groups/{group.id}").status_code == 404
    page = client.get("/people/groups").get_data(as_text=True)
    assert "All groups" not in page  # the school-wide list is the account admins'


def test_people_groups_lists_own_groups_first_then_every_group_paged(client, w):
    gm.add_members(w.ada, w.river.id, w.delta.id, "mentor", user_ids=[w.ada.id])
    db.session.add_all(MentorGroup(account_id=w.river.id, name=f"Zed {n:02}")
                       for n in range(30))
    db.session.commit()
    client.login(w.ada.email)
    page = client.get("/people/groups").get_data(as_text=True)
    mine, everything = page.split('id="h-all-groups"')
    assert f'href="/people/groups/{w.delta.id}"' in mine  # her own group, first
    assert f'href="/people/groups/{w.alpha.id}"' not in mine
    assert f'href="/people/groups/{w.alpha.id}"' in everything
    assert ">34 groups</span>" in everything  # one page of 50: the count alone
    second = client.get("/people/groups?all_per_page=25&all_page=2").get_data(as_text=True)
    assert "26&ndash;34 of 34 groups" in second
    by_waiting = client.get("/people/groups?all_sort=waiting").get_data(as_text=True)
    rows = by_waiting.split('id="h-all-groups"')[1]
    assert rows.index(">Alpha<") < rows.index(">Beta<") < rows.index(">Delta<")
