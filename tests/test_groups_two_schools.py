"""The nesting choices a person is offered stay inside what they manage in this school."""

import pytest

from mentorgroups.services import groups
from tests.two_schools import two_schools


@pytest.fixture
def w(app):
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
