"""The members screen's breadcrumb (services.group_trail): the groups above that this person
may open, top first, in one statement however deep, ending on a looped tree."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import event, text

from mentorgroups.extensions import db
from mentorgroups.services import group_members as gm
from mentorgroups.services import group_trail, groups
from tests.conftest import statements_for
from tests.deadline import ends_within
from tests.factories import make_account, make_member, school

BASE = "/admin/community/groups"


def chain(s, names: list[str], top=None) -> list:
    """Groups nested one in the next, the first under `top` (or at the top)."""
    made, parent = [], top
    for name in names:
        parent = groups.create_group(s.admin, s.account.id, name,
                                     parent_id=parent.id if parent else None)
        made.append(parent)
    db.session.commit()
    return made


def crumbs(html: str) -> list[str]:
    """The breadcrumb's links after "Groups", top first."""
    nav = re.search(r'<nav aria-label="breadcrumb">(.*?)</nav>', html, re.S).group(1)
    return re.findall(r'<li class="breadcrumb-item"><a href="[^"]*">([^<]*)</a>', nav)[1:]


@pytest.fixture
def s(app):
    return school(plan="complete")


def test_the_same_statements_at_depth_2_and_6(client, s):
    shallow = chain(s, ["A1", "A2"])
    deep = chain(s, [f"B{n}" for n in range(1, 7)])
    client.login(s.admin.email)
    assert crumbs(client.get(f"{BASE}/{shallow[-1].id}/").get_data(as_text=True)) == ["A1"]
    assert crumbs(client.get(f"{BASE}/{deep[-1].id}/").get_data(as_text=True)) == [
        "B1", "B2", "B3", "B4", "B5"]
    assert statements_for(client, f"{BASE}/{deep[-1].id}/") == statements_for(
        client, f"{BASE}/{shallow[-1].id}/")


def test_one_statement_reads_the_groups_at_any_depth(app, s):
    deep = chain(s, [f"C{n}" for n in range(1, 9)])
    leaf = deep[-1]
    db.session.expire_all()
    leaf.parent_id  # noqa: B018 (the group as the screen has it, loaded)
    read = []

    def record(*args):
        if "mentor_group" in args[2]:
            read.append(args[2])

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        found = group_trail.visible_ancestors(s.admin, s.account.id, leaf)
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert len(read) == 1
    assert [g.name for g in found] == [f"C{n}" for n in range(1, 8)]
    assert group_trail.visible_ancestors(s.admin, s.account.id, deep[0]) == []


def test_a_group_admin_sees_the_trail_from_the_highest_group_they_administer(client, s):
    top, middle, lower, leaf = chain(s, ["Top", "Middle", "Lower", "Leaf"])
    ga = make_member(s.account, "staff", full_name="Gia Admin")
    gm.add_members(s.admin, s.account.id, middle.id, "group_admin", user_ids=[ga.id])
    db.session.commit()
    client.login(ga.email)
    assert crumbs(client.get(f"{BASE}/{leaf.id}/").get_data(as_text=True)) == [
        "Middle", "Lower"]
    assert crumbs(client.get(f"{BASE}/{middle.id}/").get_data(as_text=True)) == []
    assert client.get(f"{BASE}/{top.id}/").status_code in (403, 404)
    # Administering the leaf as well changes nothing: the highest one counts.
    gm.add_members(s.admin, s.account.id, lower.id, "group_admin", user_ids=[ga.id])
    db.session.commit()
    assert [g.name for g in group_trail.visible_ancestors(ga, s.account.id, leaf)] == [
        "Middle", "Lower"]



def test_groups_above_administered_by_someone_else_or_only_mentored_stay_out(app, s):
    """Only the person's own Group Admin roles lift the trail: another person's Group Admin
    role above, or the person's own Mentor role above, shows nothing of those groups."""
    top, middle, leaf = chain(s, ["Top", "Middle", "Leaf"])
    ga = make_member(s.account, "staff", full_name="Gia Admin")
    hal = make_member(s.account, "staff", full_name="Hal Head")
    gm.add_members(s.admin, s.account.id, middle.id, "group_admin", user_ids=[ga.id])
    gm.add_members(s.admin, s.account.id, top.id, "group_admin", user_ids=[hal.id])
    gm.add_members(s.admin, s.account.id, top.id, "mentor", user_ids=[ga.id])
    db.session.commit()
    assert [g.name for g in group_trail.visible_ancestors(ga, s.account.id, leaf)] == [
        "Middle"]
    assert [g.name for g in group_trail.visible_ancestors(hal, s.account.id, leaf)] == [
        "Top", "Middle"]

def test_another_schools_groups_are_never_in_the_trail(app, s):
    top, leaf = chain(s, ["Ours", "Our leaf"])
    other = make_account(plan="complete")
    their_admin = make_member(other, "admin")
    theirs = groups.create_group(their_admin, other.id, "Theirs")
    db.session.commit()
    # A parent from another school (what the move race once left behind).
    db.session.execute(text("UPDATE mentor_group SET parent_id = :p WHERE id = :id"),
                       {"p": theirs.id, "id": top.id})
    db.session.commit()
    db.session.expire_all()
    assert [g.name for g in group_trail.visible_ancestors(s.admin, s.account.id, leaf)] == [
        "Ours"]


def test_the_trail_of_a_group_below_a_loop_ends(client, s):
    """Twelve and Thirteen are each other's parent; Below hangs under Twelve. The walk up
    enters the loop and must end there, each group once."""
    twelve, thirteen, below = chain(s, ["Twelve", "Thirteen", "Below"])
    db.session.execute(text("UPDATE mentor_group SET parent_id = :p WHERE id = :id"),
                       {"p": thirteen.id, "id": twelve.id})
    db.session.commit()
    db.session.expire_all()
    with ends_within(10, "the breadcrumb of a group below a loop"):
        trail = group_trail.visible_ancestors(s.admin, s.account.id, below)
    assert [g.name for g in trail] == ["Twelve", "Thirteen"]
    ga = make_member(s.account, "staff")
    gm.add_members(s.admin, s.account.id, thirteen.id, "group_admin", user_ids=[ga.id])
    db.session.commit()
    # Walked up from Below, the highest group they administer is Thirteen, the first met.
    with ends_within(10, "a Group Admin's breadcrumb of a group below a loop"):
        assert [g.name for g in group_trail.visible_ancestors(ga, s.account.id, below)] == [
            "Thirteen"]
