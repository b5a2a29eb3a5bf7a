"""Who manages a group from above, whether a Group Admin who demotes themselves keeps the group,
and the group roles the People screen shows, in the two-schools scene with groups nested under
"Coaching" (whose Group Admin is Gus):

  Coaching             Group Admins: Aut Teacher, Gus GroupAdmin; mentors: Meg, Fay, ...
    Year 9 coaching    Group Admins: Tess Teacher, Meg Mentor; member: Lia
      Essay clinic     Group Admin: Tess Teacher; mentor: Una Unrelated
  Chess club           mentor: Una Unrelated (a group unrelated to Coaching)
  Hill mentoring       (Hillside) members: Lia (shared with Riverside), mentor: Sam, Hugo
"""

from types import SimpleNamespace

import pytest
from sqlalchemy import text

from mentorgroups.extensions import db
from mentorgroups.services import group_members as gm
from mentorgroups.services import groups
from mentorgroups.services.group_access import (
    ManagerAbove,
    group_roles_of,
    keeps_access_without_role,
    managers_above,
)
from tests.deadline import ends_within
from tests.kept_scenes import kept_scene
from tests.two_schools import two_schools


@pytest.fixture
def w(app, request):
    return kept_scene(request, build_w)


def build_w():
    w = two_schools()
    river = w.river.id
    year9 = groups.create_group(w.ada, river, "Year 9 coaching", "", w.coaching.id)
    clinic = groups.create_group(w.ada, river, "Essay clinic", "", year9.id)
    for group, role, people in [(w.coaching, "group_admin", [w.aut]),
                                (year9, "group_admin", [w.tess, w.meg]),
                                (year9, "member", [w.lia]),
                                (clinic, "group_admin", [w.tess]),
                                (clinic, "mentor", [w.una])]:
        report = gm.add_members(w.ada, river, group.id, role, user_ids=[p.id for p in people])
        assert len(report.added) == len(people)
    db.session.commit()
    return SimpleNamespace(**vars(w), year9=year9, clinic=clinic)


def test_a_nested_group_is_managed_by_the_group_admins_above_it_nearest_first(w):
    above = managers_above(w.river.id, [w.clinic.id, w.year9.id, w.coaching.id, w.chess.id])
    # Only Group Admins of the ancestors: Coaching's mentors (Meg, Fay, Rita, Dee) are not
    # managers, nor is the clinic's own Group Admin listed as "above" it.
    assert above == {
        w.clinic.id: [ManagerAbove("Meg Mentor", "Year 9 coaching"),
                      ManagerAbove("Tess Teacher", "Year 9 coaching"),
                      ManagerAbove("Aut Teacher", "Coaching"),
                      ManagerAbove("Gus GroupAdmin", "Coaching")],
        w.year9.id: [ManagerAbove("Aut Teacher", "Coaching"),
                     ManagerAbove("Gus GroupAdmin", "Coaching")],
        w.coaching.id: [],
        w.chess.id: [],
    }


def test_a_loop_left_in_the_tree_still_gets_an_answer(w):
    # Damage an interrupted move can leave: "Loop A" and "Loop B" each other's parent, and
    # "Self" its own parent, with "Under loop" nested in the loop. Tess is Group Admin of
    # Loop B: she manages everything in the loop from above, named once, and the walk up
    # from "Under loop" comes out of the loop.
    ids = {name: groups.create_group(w.ada, w.river.id, name).id
           for name in ("Loop A", "Loop B", "Self")}
    ids["Under loop"] = groups.create_group(w.ada, w.river.id, "Under loop", "",
                                            ids["Loop A"]).id
    gm.add_members(w.ada, w.river.id, ids["Loop B"], "group_admin", user_ids=[w.tess.id])
    db.session.commit()
    for group, parent in (("Loop A", "Loop B"), ("Loop B", "Loop A"), ("Self", "Self")):
        db.session.execute(text("UPDATE mentor_group SET parent_id = :parent WHERE id = :id"),
                           {"parent": ids[parent], "id": ids[group]})
    db.session.commit()
    with ends_within(10, "who manages the groups of a loop from above"):
        above = managers_above(w.river.id, [ids["Under loop"], ids["Loop A"], ids["Loop B"],
                                            ids["Self"], w.year9.id])
    tess = [ManagerAbove("Tess Teacher", "Loop B")]
    assert above == {ids["Under loop"]: tess, ids["Loop A"]: tess, ids["Loop B"]: [],
                     ids["Self"]: [],
                     w.year9.id: [ManagerAbove("Aut Teacher", "Coaching"),
                                  ManagerAbove("Gus GroupAdmin", "Coaching")]}
    # Her own way to keep "Under loop" without a role in it: being Group Admin above it.
    with ends_within(10, "whether Tess keeps a group below the loop"):
        assert keeps_access_without_role(w.tess, w.river.id, ids["Under loop"]) is True
        assert keeps_access_without_role(w.una, w.river.id, ids["Under loop"]) is False


def test_an_account_admin_always_keeps_the_group(w):
    assert keeps_access_without_role(w.ada, w.river.id, w.coaching.id) is True
    assert keeps_access_without_role(w.ada, w.river.id, w.clinic.id) is True


def test_a_group_admin_of_the_group_above_keeps_the_nested_group(w):
    # Tess is Group Admin of Year 9 coaching, above the Essay clinic.
    assert keeps_access_without_role(w.tess, w.river.id, w.clinic.id) is True
    assert keeps_access_without_role(w.gus, w.river.id, w.year9.id) is True


def test_someone_else_managing_the_group_above_does_not_keep_it_for_you(w):
    # Aut and Gus manage Coaching, above Year 9 coaching, but Tess is not one of them.
    assert keeps_access_without_role(w.tess, w.river.id, w.year9.id) is False
    # Gus manages nothing above Coaching.
    assert keeps_access_without_role(w.gus, w.river.id, w.coaching.id) is False


def test_being_a_mentor_of_the_group_above_does_not_keep_it(w):
    # Meg is Group Admin of Year 9 coaching and only a *mentor* of Coaching above it.
    assert keeps_access_without_role(w.meg, w.river.id, w.year9.id) is False


def test_the_people_screen_shows_each_persons_roles_in_this_schools_groups_only(w):
    asked = [w.lia.id, w.tess.id, w.una.id, w.sam.id]
    assert group_roles_of(w.river.id, asked) == {
        # Lia is also a member of Hillside's "Hill mentoring": not shown at Riverside.
        w.lia.id: ["Member of Coaching", "Member of Year 9 coaching"],
        w.tess.id: ["Group Admin of Essay clinic", "Group Admin of Year 9 coaching"],
        # Una, mentor of the unrelated Chess club, and of the clinic: staff roles by name.
        w.una.id: ["Mentor of Chess club", "Mentor of Essay clinic"],
        # Sam is in no Riverside group (a mentor at Hillside only): nothing said.
    }
    assert group_roles_of(w.hill.id, [w.lia.id, w.sam.id]) == {
        w.lia.id: ["Member of Hill mentoring"], w.sam.id: ["Mentor of Hill mentoring"]}


def test_group_roles_are_listed_staff_roles_first(w):
    assert group_roles_of(w.river.id, [w.meg.id]) == {
        w.meg.id: ["Group Admin of Year 9 coaching", "Mentor of Coaching"]}


def test_an_empty_page_of_people_has_no_group_roles(w):
    assert group_roles_of(w.river.id, []) == {}
    assert group_roles_of(w.river.id, iter(())) == {}


def test_a_group_left_under_another_schools_group_is_managed_by_nobody_from_there(w):
    """Damage `flask groups check` repairs: a Riverside group whose parent is Hillside's
    group. Hillside's Group Admin must not be named as managing it from above."""
    gm.change_role(w.hal, w.hill.id, w.hill_group.id, w.hugo.id, "group_admin")
    stray = groups.create_group(w.ada, w.river.id, "Stray")
    db.session.commit()
    db.session.execute(text("UPDATE mentor_group SET parent_id = :parent WHERE id = :id"),
                       {"parent": w.hill_group.id, "id": stray.id})
    db.session.commit()
    assert managers_above(w.river.id, [stray.id]) == {stray.id: []}
