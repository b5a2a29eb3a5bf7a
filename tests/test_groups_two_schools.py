"""The nesting choices a person is offered stay inside what they manage in this school."""

import pytest

from mentorgroups.services import groups
from tests.kept_scenes import kept_scene
from tests.two_schools import two_schools


@pytest.fixture
def w(app, request):
    return kept_scene(request, build_w)


def build_w():
    return two_schools()


def names(found):
    return sorted(g.name for g in found)


def test_parents_offered_are_this_school_s_groups_the_person_manages(w):
    assert names(groups.allowed_parents(w.ada, w.river.id, None)) == ["Chess club", "Coaching"]
    assert names(groups.allowed_parents(w.ada, w.river.id, w.chess)) == ["Coaching"]
    assert names(groups.allowed_parents(w.hal, w.hill.id, None)) == ["Hill mentoring"]
    assert names(groups.allowed_parents(w.gus, w.river.id, None)) == ["Coaching"]
    assert groups.allowed_parents(w.gus, w.river.id, w.coaching) == []
    assert groups.allowed_parents(w.meg, w.river.id, None) == []  # mentors manage nothing
    assert groups.allowed_parents(w.ada, w.hill.id, None) == []


def test_the_back_office_is_for_this_school_s_admins_and_group_admins(w):
    assert groups.can_use_groups_back_office(w.ada, w.river.id)
    assert groups.can_use_groups_back_office(w.gus, w.river.id)
    assert not groups.can_use_groups_back_office(w.meg, w.river.id)
    assert not groups.can_use_groups_back_office(w.ada, w.hill.id)


def test_being_group_admin_at_one_school_shows_nothing_at_the_other(w):
    from mentorgroups.extensions import db
    from mentorgroups.services import group_members as gm

    gm.change_role(w.hal, w.hill.id, w.hill_group.id, w.sam.id, "group_admin")
    db.session.commit()
    assert groups.is_group_admin_anywhere(w.sam, w.hill.id)
    assert not groups.is_group_admin_anywhere(w.sam, w.river.id)
    assert groups.managed_group_ids(w.sam, w.river.id) == set()
    assert groups.is_group_admin_anywhere(w.gus, w.river.id)
    assert not groups.is_group_admin_anywhere(w.meg, w.river.id)


def test_each_school_is_held_to_its_own_plan(w):
    from mentorgroups.extensions import db
    from mentorgroups.services.errors import ServiceError

    w.hill.plan = "starter"  # Hillside has its one group; Riverside is on Complete
    db.session.commit()
    with pytest.raises(ServiceError, match="Your Starter plan includes 1 group and this school "
                                           "has 1"):
        groups.create_group(w.hal, w.hill.id, "Second")
    db.session.rollback()
    assert groups.create_group(w.ada, w.river.id, "Third").account_id == w.river.id
    w.hill.plan = "essentials"
    assert groups.limit_message(w.hill, 5).startswith("Your Essentials plan includes 5 groups")
    assert groups.limit_message(w.hill, 4) is None


def test_names_and_descriptions_are_tidied_and_limited(w):
    from mentorgroups.services.errors import NotFound, ServiceError

    with pytest.raises(ServiceError, match="Give the group a name"):
        groups.clean_group_name(None)
    assert groups.clean_description(None) == ""
    assert groups.clean_description("  Weekly calls  ") == "Weekly calls"
    with pytest.raises(ServiceError, match="at most 2,000 characters"):
        groups.clean_description("x" * 2001)
    group = groups.create_group(w.ada, w.river.id, "Described", "For the debaters")
    assert group.description == "For the debaters"
    for garbage in ("abc", None, "1.5"):
        with pytest.raises(NotFound):
            groups.group_for_manager(w.ada, w.river.id, garbage)


def test_people_without_access_here_create_no_groups(w):
    from mentorgroups.services.errors import PermissionDenied

    for person, parent in [(w.rita, None), (w.rita, w.coaching.id), (w.dee, w.coaching.id),
                           (w.hal, None)]:
        with pytest.raises(PermissionDenied, match="not an active member"):
            groups.create_group(person, w.river.id, "Mine", "", parent)


def test_an_edit_hands_back_the_group(w):
    same = groups.update_group(w.ada, w.river.id, w.chess.id, "Chess club", "")
    assert same is w.chess  # nothing changed: the group as it is
    renamed = groups.update_group(w.ada, w.river.id, w.chess.id, "Chess and go", "Boards")
    assert renamed is w.chess and (renamed.name, renamed.description) == ("Chess and go",
                                                                          "Boards")
