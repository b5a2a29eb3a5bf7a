"""People in a group, in the two-schools scene: each change and each list stays inside the
group it was asked for, and the report says what happened to every person asked for."""

import pytest
from sqlalchemy import select

from mentorgroups.extensions import db
from mentorgroups.models import GroupMembership, Invitation, User
from mentorgroups.paging import PageRequest
from mentorgroups.services import group_members as gm
from mentorgroups.services.errors import NotFound, ServiceError
from tests.kept_scenes import kept_scene
from tests.two_schools import two_schools


@pytest.fixture
def w(app, request):
    return kept_scene(request, build_w)


def build_w():
    return two_schools()


def role_in(group, user):
    return db.session.scalar(select(GroupMembership.role).where(
        GroupMembership.group_id == group.id, GroupMembership.user_id == user.id))


def test_the_report_says_what_happened_to_each_person(w):
    report = gm.add_members(
        w.ada, w.river.id, w.coaching.id, "member",
        user_ids=[str(w.eve.id), "abc", str(w.hal.id)],
        addresses="Olu Other <olu@river.test>, OLU@river.test; meg@river.test\n"
                  "rita@river.test not-an-address hugo@hill.test")
    db.session.commit()
    assert [u.full_name for u in report.added] == ["Olu Other", "Eve Elsewhere"]
    assert [(u.full_name, role) for u, role in report.already] == [("Meg Mentor", "mentor")]
    assert report.revoked == ["rita@river.test"]
    assert report.invalid == ["not-an-address"]
    assert report.not_in_account == ["abc", str(w.hal.id)]
    assert report.invited == ["hugo@hill.test"]  # no membership at Riverside: invited
    assert report.changed
    assert (role_in(w.coaching, w.olu), role_in(w.chess, w.olu)) == ("member", "member")
    assert db.session.scalar(select(Invitation.email)) == "hugo@hill.test"
    # Picked from a search (by id) after their access was revoked: reported, not added.
    rita = db.session.scalar(select(User).where(User.email == "rita@river.test"))
    later = gm.add_members(w.ada, w.river.id, w.chess.id, "member", user_ids=[str(rita.id)])
    assert (later.revoked, later.added) == (["rita@river.test"], [])
    assert role_in(w.chess, rita) is None


def test_nothing_changed_is_said_as_such(w):
    again = gm.add_members(w.ada, w.river.id, w.coaching.id, "member", user_ids=[w.lia.id])
    assert not again.changed and [u.id for u, _ in again.already] == [w.lia.id]
    only_bad = gm.add_members(w.ada, w.river.id, w.coaching.id, "member", addresses="nope")
    assert only_bad.invalid == ["nope"] and not only_bad.changed
    only_strangers = gm.add_members(w.ada, w.river.id, w.coaching.id, "member",
                                    user_ids=["x", w.hugo.id])
    assert only_strangers.not_in_account == ["x", str(w.hugo.id)]
    invited = gm.add_members(w.ada, w.river.id, w.coaching.id, "member", addresses="n@new.test")
    assert invited.changed and invited.added == []


@pytest.mark.parametrize("ids, addresses", [((), ""), (None, None), ([], "  ,; ")])
def test_someone_must_be_asked_for(w, ids, addresses):
    with pytest.raises(ServiceError, match="Search for people or paste"):
        gm.add_members(w.ada, w.river.id, w.coaching.id, "member", user_ids=ids,
                       addresses=addresses)


def test_a_paste_is_limited_and_read_without_repeats(w):
    too_many = " ".join(f"p{i}@new.test" for i in range(501))
    with pytest.raises(ServiceError, match="Paste at most 500 addresses"):
        gm.add_members(w.ada, w.river.id, w.coaching.id, "member", addresses=too_many)
    assert db.session.scalar(select(Invitation.id)) is None
    assert gm.split_addresses(None) == []
    assert gm.split_addresses("a@x.org, A@X.org; 'b@x.org'") == ["a@x.org", "b@x.org"]


def test_school_people_are_looked_up_by_the_values_asked_for_only(w):
    assert gm._school_people(w.river.id, User.email, []) == {}
    found = gm._school_people(w.river.id, User.id, [w.lia.id, w.hugo.id])
    assert {k: (u.full_name, status) for k, (u, status) in found.items()} == {
        w.lia.id: ("Lia Learner", "active")}


def test_role_changes_and_removals_touch_this_group_only(w):
    # Olu is a member of Chess club, not of Coaching.
    with pytest.raises(NotFound):
        gm.change_role(w.ada, w.river.id, w.coaching.id, w.olu.id, "mentor")
    with pytest.raises(NotFound, match="not in this group"):
        gm.change_role(w.ada, w.river.id, w.coaching.id, "abc", "mentor")
    assert gm.remove_members(w.ada, w.river.id, w.coaching.id, [w.olu.id, "x"]) == ([], [])
    assert gm.make_mentors(w.ada, w.river.id, w.coaching.id, [w.olu.id]) == []
    assert gm.make_mentors(w.ada, w.river.id, w.coaching.id, None) == []
    assert gm.remove_members(w.ada, w.river.id, w.coaching.id, ["x"]) == ([], [])
    db.session.commit()
    assert role_in(w.chess, w.olu) == "member"
    made = gm.make_mentors(w.ada, w.river.id, w.coaching.id, [w.lia.id, w.meg.id])
    assert [u.full_name for u in made] == ["Lia Learner"]
    assert (role_in(w.coaching, w.lia), role_in(w.coaching, w.meg)) == ("mentor", "mentor")


@pytest.mark.parametrize("role", ["owner", "", None, "Mentor"])
def test_a_role_change_to_no_role_of_a_group_is_refused_and_changes_nothing(w, role):
    with pytest.raises(ServiceError, match="Choose a role: Member, Mentor or Group Admin"):
        gm.change_role(w.ada, w.river.id, w.coaching.id, w.lia.id, role)
    db.session.rollback()
    assert role_in(w.coaching, w.lia) == "member"


def test_search_and_lists_stay_inside_the_school_and_the_group(w):
    found = {p["name"]: p["role"] for p in gm.search_people(w.ada, w.river.id, w.coaching.id,
                                                            "o")}
    assert found["Olu Other"] is None  # in Chess club, not in this group
    assert found["Mo Moderator"] is None and found["Gus GroupAdmin"] == "group_admin"
    assert "Hugo Hill" not in found and "Hal Admin" not in found
    assert "Rita Revoked" not in found  # revoked here
    by_address = gm.search_people(w.ada, w.river.id, w.coaching.id, "una@river")
    assert [p["name"] for p in by_address] == ["Una Unrelated"]
    assert gm.search_people(w.ada, w.river.id, w.coaching.id, None) == []
    staff, members = gm.group_people(w.ada, w.river.id, w.coaching.id)
    assert [(p.full_name, p.role) for p in members.items] == [("Lia Learner", "member")]
    assert [(p.full_name, p.role) for p in staff.items] == [
        ("Dee Deactivated", "mentor"), ("Fay Fellow", "mentor"), ("Gus GroupAdmin", "group_admin"),
        ("Meg Mentor", "mentor"), ("Rita Revoked", "mentor")]
    assert (staff.total, members.total) == (5, 1)
    staff, members = gm.group_people(w.ada, w.river.id, w.coaching.id,
                                     staff=PageRequest(search="river.test", size=2),
                                     members=PageRequest(search="olu"))
    assert [p.full_name for p in staff.items] == ["Dee Deactivated", "Fay Fellow"]
    assert staff.total == 5 and (members.items, members.total) == ([], 0)  # Olu: not here


def test_a_report_with_only_added_people_or_only_unknown_ids(w):
    added = gm.add_members(w.ada, w.river.id, w.chess.id, "member", user_ids=[w.eve.id])
    assert [u.id for u in added.added] == [w.eve.id] and added.invited == [] and added.changed
    unknown = gm.add_members(w.ada, w.river.id, w.chess.id, "member", user_ids=["x", "y"])
    assert unknown.not_in_account == ["x", "y"] and not unknown.changed
