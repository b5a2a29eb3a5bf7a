"""The "Add members" search bar of a group, in the two-schools scene: the first people of the
school who match, how many more match ("N more people match"), and an "Invite <address>"
offer only when the text is one address that is nobody's in the school; and the count of a
group's people on the groups screen."""

import pytest

from mentorgroups.extensions import db
from mentorgroups.services import group_members as gm
from tests.factories import make_member
from tests.kept_scenes import kept_scene
from tests.two_schools import two_schools


@pytest.fixture
def w(app, request):
    return kept_scene(request, build_w)


def build_w():
    w = two_schools()
    # Eight active people of Riverside called Pat (one also at Hillside), a Pat whose access
    # was revoked, and a Pat of Hillside only. Nobody else's name or address contains "pat".
    w.pats = {}
    for first in ("Ames", "Bell", "Cole", "Dunn", "Eddo", "Ford", "Gray"):
        w.pats[first] = make_member(w.river, "member", full_name=f"Pat {first}",
                                    email=f"{first.lower()}@river.test")
    w.pats["Both"] = make_member(w.river, "member", full_name="Pat Both",
                                 email="both@river.test")
    make_member(w.hill, "member", user=w.pats["Both"])
    make_member(w.river, "member", status="revoked", full_name="Pat Revoked",
                email="revoked@river.test")
    make_member(w.hill, "member", full_name="Pat Hill", email="pat.hill@hill.test")
    # Jo's address contains "rowe@river.test" without being it.
    w.jo = make_member(w.river, "member", full_name="Jo Rowe", email="jo.rowe@river.test")
    db.session.commit()
    gm.add_members(w.ada, w.river.id, w.coaching.id, "mentor", user_ids=[w.pats["Bell"].id])
    db.session.commit()
    return w


def search(w, query, limit=20):
    return gm.search_for_adding(w.ada, w.river.id, w.coaching.id, query, limit=limit)


def test_a_search_matching_more_people_than_the_limit_shows_the_first_and_counts_the_rest(w):
    found = search(w, "pat", limit=5)
    assert [(p["name"], p["role"]) for p in found["people"]] == [
        ("Pat Ames", None), ("Pat Bell", "mentor"), ("Pat Both", None), ("Pat Cole", None),
        ("Pat Dunn", None)]
    # Eight active Pats at Riverside: three more. The revoked Pat and Hillside's Pat are not
    # counted, and Pat Both (in both schools) is counted once.
    assert found["more"] == 3
    assert found["invite"] is None


def test_the_count_of_more_people_reads_the_text_as_typed_with_spaces(w):
    found = search(w, "  PAT  ", limit=2)
    assert [p["name"] for p in found["people"]] == ["Pat Ames", "Pat Bell"]
    assert found["more"] == 6


def test_a_search_matching_exactly_the_limit_shows_everybody_and_no_more(w):
    found = search(w, "pat", limit=8)
    assert [p["name"] for p in found["people"]] == [
        "Pat Ames", "Pat Bell", "Pat Both", "Pat Cole", "Pat Dunn", "Pat Eddo", "Pat Ford",
        "Pat Gray"]
    assert found["more"] == 0


def test_an_address_nobody_in_the_school_has_is_offered_as_an_invitation(w):
    # Typed with spaces around it and in capitals: offered as the address it is.
    assert search(w, "  Newbie@Example.org  ") == {
        "people": [], "more": 0, "invite": "newbie@example.org"}


def test_an_address_of_a_person_of_another_school_only_is_offered_the_same_way(w):
    # Hugo has a personal account (at Hillside): the offer says nothing about it.
    assert search(w, "hugo@hill.test") == {"people": [], "more": 0, "invite": "hugo@hill.test"}


def test_a_person_of_the_school_is_found_not_invited(w):
    found = search(w, "MEG@river.test")
    assert [(p["name"], p["email"], p["role"]) for p in found["people"]] == [
        ("Meg Mentor", "meg@river.test", "mentor")]
    assert found["more"] == 0
    assert found["invite"] is None
    # Pat Both is at Hillside too, and still a person of Riverside.
    found = search(w, "both@river.test")
    assert [p["name"] for p in found["people"]] == ["Pat Both"] and found["invite"] is None


def test_a_person_whose_access_was_revoked_is_neither_listed_nor_invited(w):
    # Rita's access to Riverside was revoked: she is not offered, and no invitation either.
    assert search(w, "rita@river.test") == {"people": [], "more": 0, "invite": None}


def test_an_address_inside_someone_elses_address_is_still_offered(w):
    found = search(w, "rowe@river.test")
    assert [p["email"] for p in found["people"]] == ["jo.rowe@river.test"]
    assert found["invite"] == "rowe@river.test"


@pytest.mark.parametrize("query", ["meg mentor", "not an@address", "pat", "ana@", "@river"])
def test_text_that_is_not_one_address_offers_no_invitation(w, query):
    assert search(w, query)["invite"] is None


@pytest.mark.parametrize("query", [None, "", "   "])
def test_an_empty_search_offers_nothing(w, query):
    assert search(w, query) == {"people": [], "more": 0, "invite": None}


def test_a_group_counts_its_own_people_staff_included(w):
    # Coaching: Lia (member); Meg, Fay, Rita, Dee and Pat Bell (mentors); Gus (Group Admin).
    # Revoked Rita and deactivated Dee are still in it until removed.
    assert gm.member_count(w.coaching.id) == 7
    assert gm.member_count(w.chess.id) == 2
    assert gm.member_count(w.hill_group.id) == 3
