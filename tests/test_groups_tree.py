"""The Groups tab's tree one level at a time (services.group_tree, the nested view), and a
Group Admin's reach as SQL (services.group_reach): statements and bytes that do not grow with
the school, levels scoped to what the person manages, and walks that end on a broken tree."""

import re

import pytest
from sqlalchemy import insert, select, text

from mentorgroups.extensions import db
from mentorgroups.models import AccountMembership, GroupMembership, MentorGroup
from mentorgroups.paging import PageRequest
from mentorgroups.services import (
    group_access,
    group_reach,
    group_search,
    group_tree,
    groups,
    mentoring,
)
from mentorgroups.services import group_members as gm
from tests.conftest import statements_for, statements_of
from tests.deadline import ends_within
from tests.factories import make_account, make_member

BASE = "/admin/community/groups"


def school(plan="enterprise"):
    account = make_account(plan=plan, name="Hill School")
    admin = make_member(account, "admin", full_name="Ada Admin")
    gina = make_member(account, "staff", full_name="Gina Grant", email="gina@hill.test")
    lia = make_member(account, "member", full_name="Lia Learner", email="lia@hill.test")
    db.session.commit()
    return account, admin, gina, lia


def grow(account, total: int, top: int = 10, parents: list[int] | None = None) -> list[int]:
    """`total` groups: `top` top-level groups named "Top <i>", then every group gets five
    nested ones ("Group <i>"), five levels deep at 2,000; with `parents`, all of them nested
    below those, five per group. Inserted in bulk (ids in order)."""
    ids: list[int] = list(parents or [])
    top = 0 if parents else top
    for i in range(total):
        parent = ids[(i - top) // 5] if i >= top else None
        name = f"Top {i}" if i < top else f"Group {i}"
        ids.append(db.session.execute(insert(MentorGroup).values(
            account_id=account.id, name=name, parent_id=parent, description="")
            .returning(MentorGroup.id)).scalar_one())
    db.session.commit()
    return ids[len(parents or []):]


def one_root(account, admin, gina, lia, total: int) -> int:
    """A school whose one top-level group holds `total` - 1 groups; Gina is its Group
    Admin and Lia a member of a group at the bottom with work waiting."""
    ids = grow(account, total, top=1)
    db.session.add(GroupMembership(group_id=ids[0], user_id=gina.id, role="group_admin"))
    db.session.add(GroupMembership(group_id=ids[-1], user_id=lia.id, role="member"))
    db.session.commit()
    return ids[0]


def more_below(account, root: int, n: int) -> None:
    """`n` more groups in the root's part of the tree, each under the one made before it
    five times over (so the tree gets deeper as well as wider)."""
    ids = [root]
    for i in range(n):
        ids.append(db.session.execute(insert(MentorGroup).values(
            account_id=account.id, name=f"More {i}", parent_id=ids[i // 5], description="")
            .returning(MentorGroup.id)).scalar_one())
    db.session.commit()


@pytest.mark.parametrize("url", [f"{BASE}/", "/people/groups", "/review/"])
def test_a_group_admin_at_the_root_costs_the_same_statements_over_10_and_500_groups(
        client, url):
    account, admin, gina, lia = school()
    root = one_root(account, admin, gina, lia, 10)
    client.login(gina.email)
    few = statements_for(client, url)
    more_below(account, root, 490)
    assert statements_for(client, url) == few


def test_the_first_response_is_flat_and_small_at_2000_groups(client):
    account, admin, gina, lia = school()
    roots = grow(account, 10)
    client.login(admin.email)
    few = statements_for(client, f"{BASE}/")
    grow(account, 1990, parents=roots)
    many = statements_for(client, f"{BASE}/")
    assert many == few
    page = client.get(f"{BASE}/").get_data(as_text=True)
    assert len(page.encode()) < 150_000
    # The top level only (ten groups), each saying how many groups are nested in it.
    assert page.count('class="mg-node"') == 10
    assert page.count("5 nested</span>") == 10 and "Show more" not in page
    assert "2000 groups · unlimited" in page  # the plan's usage still counts every group


def test_a_large_top_level_is_paged(client):
    account, admin, gina, lia = school()
    grow(account, 60, top=60)
    client.login(admin.email)
    page = client.get(f"{BASE}/").get_data(as_text=True)
    assert page.count('class="mg-node"') == group_tree.LEVEL_SIZE
    assert "(50 of 60 shown)" in page and f'href="{BASE}/?page=2"' in page
    more = client.get(f"{BASE}/?page=2&fragment=1").get_data(as_text=True)
    assert more.count('class="mg-node"') == 10 and "<html" not in more
    assert "Top 0<" in more  # newest first: the first made is last


def test_opening_a_group_fetches_its_level_and_pages_it(client):
    account, admin, gina, lia = school()
    root = one_root(account, admin, gina, lia, 300)
    client.login(gina.email)
    page = client.get(f"{BASE}/").get_data(as_text=True)
    # Her one top group is shown open: its five nested groups are in the page.
    assert page.count('class="mg-node"') == 6
    assert 'data-open="true"' in page
    first = db.session.scalars(select(MentorGroup.id).where(MentorGroup.parent_id == root)
                               .order_by(MentorGroup.id)).first()
    fragment = client.get(f"{BASE}/{first}/nested?fragment=1").get_data(as_text=True)
    assert "<html" not in fragment and fragment.count('class="mg-node"') == 5
    full = client.get(f"{BASE}/{first}/nested").get_data(as_text=True)
    assert 'data-testid="level-trail"' in full and "<html" in full
    # A level larger than a page ends with "Show more", whose next page is a fragment too.
    wide = MentorGroup(account_id=account.id, name="Wide", parent_id=root)
    db.session.add(wide)
    db.session.flush()
    db.session.add_all(MentorGroup(account_id=account.id, name=f"W{i}", parent_id=wide.id)
                       for i in range(60))
    db.session.commit()
    one = client.get(f"{BASE}/{wide.id}/nested?fragment=1").get_data(as_text=True)
    assert one.count('class="mg-node"') == 50 and f"{wide.id}/nested?page=2" in one
    two = client.get(f"{BASE}/{wide.id}/nested?page=2&fragment=1").get_data(as_text=True)
    assert two.count('class="mg-node"') == 10 and "Show more" not in two
    # A page past the end (a link kept after groups were removed) shows the last page.
    _, past = group_tree.nested_level(gina, account.id, wide.id, PageRequest(number=9, size=50))
    assert (past.number, len(past.items), past.total) == (2, 10, 60)


def test_forged_ids_on_the_tree_endpoints_are_404(client):
    account, admin, gina, lia = school()
    mine = groups.create_group(admin, account.id, "Mine")
    below = groups.create_group(admin, account.id, "Below", "", mine.id)
    theirs = groups.create_group(admin, account.id, "Not hers")
    gm.add_members(admin, account.id, mine.id, "group_admin", user_ids=[gina.id])
    other = make_account(plan="enterprise", name="Dale")
    other_admin = make_member(other, "admin")
    elsewhere = groups.create_group(other_admin, other.id, "Elsewhere")
    db.session.commit()
    client.login(gina.email)
    assert client.get(f"{BASE}/{mine.id}/nested?fragment=1").status_code == 200
    assert client.get(f"{BASE}/{below.id}/nested").status_code == 200
    for gid in (theirs.id, elsewhere.id, 999_999):
        for suffix in ("nested", "nested?fragment=1"):
            assert client.get(f"{BASE}/{gid}/nested" + suffix[6:]).status_code == 404
    client.post_form("/logout", token_page="/paths")
    client.login(admin.email)
    assert client.get(f"{BASE}/{theirs.id}/nested?fragment=1").status_code == 200
    assert client.get(f"{BASE}/{elsewhere.id}/nested?fragment=1").status_code == 404


def test_names_are_escaped_in_the_rows(client):
    account, admin, gina, lia = school()
    top = groups.create_group(admin, account.id, "<script>x()</script>", "<b>d</b>")
    groups.create_group(admin, account.id, "Inner <i>", "", top.id)
    db.session.commit()
    client.login(admin.email)
    page = client.get(f"{BASE}/").get_data(as_text=True)
    fragment = client.get(f"{BASE}/{top.id}/nested?fragment=1").get_data(as_text=True)
    assert "<script>x()" not in page and "&lt;script&gt;x()" in page
    assert "Inner <i>" not in fragment and "Inner &lt;i&gt;" in fragment


def test_a_group_admin_sees_the_top_of_her_part_and_who_manages_above(client):
    account, admin, gina, lia = school()
    year7 = groups.create_group(admin, account.id, "Year 7")
    club = groups.create_group(admin, account.id, "Club", "", year7.id)
    groups.create_group(admin, account.id, "Inner", "", club.id)
    year8 = groups.create_group(admin, account.id, "Year 8")
    ola = make_member(account, "staff", full_name="Ola Only")
    gm.add_members(admin, account.id, year8.id, "group_admin", user_ids=[ola.id])
    gm.add_members(admin, account.id, club.id, "group_admin", user_ids=[gina.id])
    gm.add_members(admin, account.id, year7.id, "group_admin", user_ids=[admin.id])
    db.session.commit()
    page = group_tree.top_level(gina, account.id)
    assert [row.name for row in page.items] == ["Club"]
    assert page.items[0].above == ["Ada Admin"]
    assert [row.name for row in page.items[0].level.items] == ["Inner"]
    assert [row.name for row in group_tree.top_level(admin, account.id).items] == \
        ["Year 8", "Year 7"]
    assert group_tree.top_level(lia, account.id).items == []
    # What the edit screen's delete warning counts: the groups directly below.
    assert [group_tree.nested_count(account.id, g.id) for g in (year7, club, year8)] == [1, 1, 0]
    # One group with nothing nested in it: shown as it is, not open on an empty level.
    only = group_tree.top_level(ola, account.id)
    assert [row.name for row in only.items] == ["Year 8"] and only.items[0].level is None
    # Her access to the school revoked (her group roles stay as they were): nothing.
    db.session.scalar(select(AccountMembership).where(
        AccountMembership.user_id == gina.id)).status = "revoked"
    db.session.commit()
    assert group_tree.top_level(gina, account.id).total == 0


def test_each_level_holds_the_groups_directly_in_it_and_names_the_groups_above(app):
    """What the Groups tab shows as a group is opened: its level (nested one step in), and
    above a nested level the groups it sits in, top first."""
    account, admin, gina, _ = school()
    a = groups.create_group(admin, account.id, "A")
    a1 = groups.create_group(admin, account.id, "A1", "", a.id)
    a1x = groups.create_group(admin, account.id, "A1x", "", a1.id)
    groups.create_group(admin, account.id, "B")
    db.session.commit()
    top = group_tree.top_level(admin, account.id)
    assert [(row.name, row.nested) for row in top.items] == [("B", 0), ("A", 1)]
    assert top.items[1].level is None  # two groups at the top: none is shown open
    levels = [group_tree.nested_level(admin, account.id, g.id)[1] for g in (a, a1, a1x)]
    assert [[row.name for row in level.items] for level in levels] == [["A1"], ["A1x"], []]
    assert [group_tree.trail(admin, account.id, g) for g in (a, a1, a1x)] == [
        [], [(a.id, "A")], [(a.id, "A"), (a1.id, "A1")]]


def test_each_row_counts_its_roles_and_carries_its_description(app):
    account, admin, gina, lia = school()
    teacher = make_member(account, "staff", full_name="Tom Teacher")
    kim = make_member(account, "member", full_name="Kim Learner")
    a = groups.create_group(admin, account.id, "A", "Year 9 tutors")
    groups.create_group(admin, account.id, "B")
    gm.add_members(admin, account.id, a.id, "member", user_ids=[lia.id, kim.id])
    gm.add_members(admin, account.id, a.id, "mentor", user_ids=[teacher.id])
    gm.add_members(admin, account.id, a.id, "group_admin", user_ids=[gina.id])
    db.session.commit()
    rows = {row.name: row for row in group_tree.top_level(admin, account.id).items}
    assert rows["A"].counts == {"member": 2, "mentor": 1, "group_admin": 1}
    assert rows["B"].counts == {"member": 0, "mentor": 0, "group_admin": 0}
    assert (rows["A"].description, rows["B"].description) == ("Year 9 tutors", "")


def _loop(account, admin, gina):
    """Loop A and Loop B are each other's parent (a move race); Below sits in the loop and
    Under below under it. Gina is Group Admin of Loop A."""
    ids = {name: groups.create_group(admin, account.id, name).id for name in ("Loop A", "Loop B")}
    ids["Below"] = groups.create_group(admin, account.id, "Below", "", ids["Loop B"]).id
    ids["Under below"] = groups.create_group(admin, account.id, "Under below", "",
                                             ids["Below"]).id
    gm.add_members(admin, account.id, ids["Loop A"], "group_admin", user_ids=[gina.id])
    db.session.commit()
    for group, parent in (("Loop A", "Loop B"), ("Loop B", "Loop A")):
        db.session.execute(text("UPDATE mentor_group SET parent_id = :parent WHERE id = :id"),
                           {"parent": ids[parent], "id": ids[group]})
    db.session.commit()
    return ids


def test_walks_stay_in_the_school_on_a_tree_damaged_across_schools(app):
    """Damage `flask groups check` repairs: another school's group Theirs hangs below Ours
    (Gina is its Group Admin), and our Stray and Far (Gina's too) hang below Theirs. Gina is
    staff of both schools and Group Admin of Theirs there. In this school she reaches Ours
    and Far, each the top of her part: no walk, down or up, crosses into the other school
    and back."""
    account, admin, gina, _ = school()
    elsewhere = make_account(plan="enterprise")
    their_admin = make_member(elsewhere, "admin")
    make_member(elsewhere, "staff", user=gina)
    ours = groups.create_group(admin, account.id, "Ours")
    stray = groups.create_group(admin, account.id, "Stray")
    far = groups.create_group(admin, account.id, "Far")
    theirs = groups.create_group(their_admin, elsewhere.id, "Theirs")
    gm.add_members(admin, account.id, ours.id, "group_admin", user_ids=[gina.id])
    gm.add_members(admin, account.id, far.id, "group_admin", user_ids=[gina.id])
    gm.add_members(their_admin, elsewhere.id, theirs.id, "group_admin", user_ids=[gina.id])
    db.session.commit()
    for group, parent in ((theirs, ours), (stray, theirs), (far, theirs)):
        db.session.execute(text("UPDATE mentor_group SET parent_id = :parent WHERE id = :id"),
                           {"parent": parent.id, "id": group.id})
    db.session.commit()
    assert set(db.session.scalars(group_reach.subtree_select(account.id, [ours.id]))) == {
        ours.id}
    assert list(db.session.scalars(group_reach.subtree_select(account.id, [theirs.id]))) == []
    assert groups.managed_group_ids(gina, account.id) == {ours.id, far.id}
    assert sorted(row.name for row in group_tree.top_level(gina, account.id).items) == [
        "Far", "Ours"]
    for group in (stray, theirs):
        assert not group_reach.manages(gina, account.id, group.id)
        assert not group_reach.mentors(gina, account.id, group.id)
    assert group_reach.manages(gina, account.id, ours.id)
    assert not group_reach.manages(admin, account.id, theirs.id)
    # Opening Ours in the tree lists nothing, and its row counts nothing nested: Theirs hangs
    # below it but is not this school's.
    assert {row.name: row.nested for row in group_tree.top_level(admin, account.id).items
            }["Ours"] == 0
    assert group_tree.nested_level(admin, account.id, ours.id)[1].items == []
    assert group_tree.nested_level(gina, account.id, ours.id)[1].total == 0
    # The walk up names the groups asked for and their ancestors in this school only.
    assert group_reach.ancestors(account.id, [theirs.id]) == {}
    assert group_reach.ancestors(account.id, [stray.id]) == {stray.id: (theirs.id, "Stray", True)}
    # Nothing asked, nothing read.
    empty = []
    assert statements_of(lambda: empty.append(group_reach.ancestors(account.id, []))) == 0
    assert empty == [{}]


def test_a_group_admins_top_level_is_the_highest_of_her_own_groups(app):
    """Gina administers Club, Deep (below Inner below Club) and Year 8, and, on a tree a
    move race left with Loop A and Loop B each other's parent, Loop A: her top level is
    Club, Year 8 and Loop A (a group in a loop is not below itself), never Deep."""
    account, admin, gina, _ = school()
    club = groups.create_group(admin, account.id, "Club")
    inner = groups.create_group(admin, account.id, "Inner", "", club.id)
    deep = groups.create_group(admin, account.id, "Deep", "", inner.id)
    year8 = groups.create_group(admin, account.id, "Year 8")
    for group in (club, deep, year8):
        gm.add_members(admin, account.id, group.id, "group_admin", user_ids=[gina.id])
    db.session.commit()
    assert sorted(row.name for row in group_tree.top_level(gina, account.id).items) == [
        "Club", "Year 8"]
    loop = _loop(account, admin, gina)
    assert sorted(row.name for row in group_tree.top_level(gina, account.id).items) == [
        "Club", "Loop A", "Year 8"]
    assert loop["Loop A"] in groups.managed_group_ids(gina, account.id)


def test_an_account_admin_manages_every_group_and_follows_only_the_ones_they_mentor(app):
    account, admin, gina, _ = school()
    top = groups.create_group(admin, account.id, "Top")
    mentored = groups.create_group(admin, account.id, "Mentored", "", top.id)
    gm.add_members(admin, account.id, mentored.id, "mentor", user_ids=[admin.id])
    db.session.commit()
    assert group_reach.manages(admin, account.id, top.id)
    assert not group_reach.mentors(admin, account.id, top.id)
    assert group_reach.mentors(admin, account.id, mentored.id)
    assert mentoring.mentored_group_ids(admin, account.id) == {mentored.id}


def test_every_walk_ends_on_a_looped_tree(client):
    account, admin, gina, lia = school()
    ids = _loop(account, admin, gina)
    with ends_within(10, "walks over a looped tree"):
        assert groups.managed_group_ids(gina, account.id) == set(ids.values())
        assert group_reach.manages(gina, account.id, ids["Under below"])
        assert mentoring.mentored_group_ids(gina, account.id) == set(ids.values())
        below = group_reach.subtree_select(account.id, [ids["Loop B"]])
        assert set(db.session.scalars(below)) == set(ids.values())
        nodes = group_reach.ancestors(account.id, [ids["Under below"]])
        assert group_reach.chain(nodes, ids["Under below"]) == [
            ids["Under below"], ids["Below"], ids["Loop B"], ids["Loop A"]]
        assert group_access.managers_above(account.id, [ids["Under below"]])[
            ids["Under below"]][0].name == "Gina Grant"
        assert group_access.keeps_access_without_role(gina, account.id, ids["Below"])
        assert [g.path for g in group_search.search_groups(gina, account.id, "under").groups] \
            == ["Loop A \u203a Loop B \u203a Below \u203a Under below"]
        _, level = group_tree.nested_level(gina, account.id, ids["Below"])
        assert [row.name for row in level.items] == ["Under below"]
        client.login(gina.email)
        nested = client.get(f"{BASE}/{ids['Under below']}/nested")
        assert nested.status_code == 200
        trail = re.findall(r'<li class="breadcrumb-item"><a href="[^"]*">([^<]*)</a>',
                           nested.get_data(as_text=True))
        assert trail == ["Groups", "Loop A", "Loop B", "Below"]
        assert client.get(f"{BASE}/").status_code == 200
        assert client.get("/people/groups").status_code == 200


def test_mentor_groups_page_is_paged_and_searched_on_the_server(client):
    account, admin, gina, lia = school()
    root = one_root(account, admin, gina, lia, 120)
    from mentorgroups.services.mentor_groups import mentor_groups_page

    page = mentor_groups_page(gina, account.id, PageRequest(number=1, size=50))
    assert page.total == 120 and len(page.items) == 50
    assert page.items[0]["role"] in ("group_admin",)
    mentoring_page = mentor_groups_page(gina, account.id, PageRequest(search="top"))
    assert [row["group"].id for row in mentoring_page.items] == [root]
    assert mentoring_page.items[0]["role"] == "group_admin"
    client.login(gina.email)
    html = client.get("/people/groups?my_page=3").get_data(as_text=True)
    assert 'data-testid="my_pager"' in html and "101&ndash;120 of 120 groups" in html
