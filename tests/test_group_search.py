"""Finding groups by name (the Groups tab's search) and the "Nest under" picker: answered
by the server, scoped to the school and the groups the person manages, each match with its
path, names in natural order, limited; the select without scripts limited in size."""

import re

import pytest
from sqlalchemy import text

from mentorgroups.extensions import db
from mentorgroups.services import group_members as gm
from mentorgroups.services import group_search, groups
from mentorgroups.services.errors import NotFound
from tests.deadline import ends_within
from tests.factories import make_account, make_member

BASE = "/admin/community/groups"


@pytest.fixture
def s(app):
    account = make_account(plan="enterprise", name="Hill School")
    admin = make_member(account, "admin", full_name="Ada Admin")
    gina = make_member(account, "staff", full_name="Gina Grant")
    year7 = groups.create_group(admin, account.id, "Year 7")
    numbered = {n: groups.create_group(admin, account.id, f"group {n}", "", year7.id)
                for n in (1, 10, 11, 2, 20, 3)}
    club = groups.create_group(admin, account.id, "Robotics club", "", numbered[2].id)
    year8 = groups.create_group(admin, account.id, "Year 8")
    other = make_account(plan="enterprise", name="Dale Academy")
    other_admin = make_member(other, "admin")
    elsewhere = groups.create_group(other_admin, other.id, "group 5")
    gm.add_members(admin, account.id, numbered[2].id, "group_admin", user_ids=[gina.id])
    db.session.commit()
    return type("S", (), dict(account=account, admin=admin, gina=gina, year7=year7,
                              numbered=numbered, club=club, year8=year8, other=other,
                              other_admin=other_admin, elsewhere=elsewhere))


def paths(found):
    return [g.path for g in found.groups]


def test_natural_order_counts_numbers():
    names = ["group 10", "group 2", "Group 11", "group 1", "group 2b", "group", "10 a", "9 a"]
    assert sorted(names, key=group_search.natural_key) == [
        "9 a", "10 a", "group", "group 1", "group 2", "group 2b", "group 10", "Group 11"]


def test_search_names_each_match_with_its_path_in_natural_order(s):
    found = group_search.search_groups(s.admin, s.account.id, "GROUP")
    assert paths(found) == [f"Year 7 \u203a group {n}" for n in (1, 2, 3, 10, 11, 20)]
    assert found.more == 0
    # Another school's "group 5" is never found.
    assert "group 5" not in " ".join(paths(found))
    assert paths(group_search.search_groups(s.admin, s.account.id, "club")) == [
        "Year 7 \u203a group 2 \u203a Robotics club"]
    assert paths(group_search.search_groups(s.admin, s.account.id, "  ")) == []
    assert paths(group_search.search_groups(s.admin, s.account.id, None)) == []
    # Typed characters are literal, never LIKE patterns.
    assert paths(group_search.search_groups(s.admin, s.account.id, "%")) == []
    assert paths(group_search.search_groups(s.admin, s.account.id, "_")) == []


def test_search_is_limited_and_says_how_many_more(s):
    found = group_search.search_groups(s.admin, s.account.id, "group", limit=4)
    assert paths(found) == [f"Year 7 \u203a group {n}" for n in (1, 2, 3, 10)]
    assert found.more == 2


def test_a_group_admin_finds_only_their_part_of_the_tree(s):
    found = group_search.search_groups(s.gina, s.account.id, "o")
    # Her path starts at her group: Year 7 above it is not hers to see.
    assert paths(found) == ["group 2", "group 2 \u203a Robotics club"]
    assert paths(group_search.search_groups(s.gina, s.account.id, "year")) == []


def test_parent_options_never_offer_the_group_or_below_it(s):
    two = s.numbered[2]
    found = group_search.parent_options(s.admin, s.account.id, two.id, "")
    assert found.top_level is True
    assert "Year 7 \u203a group 2" not in paths(found)
    assert not any("Robotics" in p for p in paths(found))
    assert paths(found)[:3] == ["Year 7", "Year 7 \u203a group 1", "Year 7 \u203a group 3"]
    # A new group may go anywhere the person manages; the query narrows the choices.
    assert paths(group_search.parent_options(s.admin, s.account.id, None, "robot")) == [
        "Year 7 \u203a group 2 \u203a Robotics club"]
    assert paths(group_search.parent_options(s.admin, s.account.id, two.id, "robot")) == []
    assert len(paths(group_search.parent_options(s.admin, s.account.id, None, None))) == 9
    # A Group Admin: her own part only, and no top level.
    found = group_search.parent_options(s.gina, s.account.id, s.club.id, "")
    assert (paths(found), found.top_level) == (["group 2"], False)
    with pytest.raises(NotFound):
        group_search.parent_options(s.gina, s.account.id, s.year8.id, "")
    with pytest.raises(NotFound):
        group_search.parent_options(s.admin, s.account.id, s.elsewhere.id, "")
    with pytest.raises(NotFound):
        group_search.parent_options(s.admin, s.account.id, "x", "")


def test_parent_label_keeps_only_a_parent_the_group_may_go_under(s):
    """The select without scripts keeps a chosen parent listed only when it is allowed."""
    two = s.numbered[2]
    label = group_search.parent_label
    assert label(s.admin, s.account.id, two, s.numbered[10].id) == "Year 7 \u203a group 10"
    assert label(s.admin, s.account.id, None, s.club.id) == \
        "Year 7 \u203a group 2 \u203a Robotics club"
    assert label(s.admin, s.account.id, two, two.id) is None  # itself
    assert label(s.admin, s.account.id, two, s.club.id) is None  # below it
    assert label(s.gina, s.account.id, s.club, s.year7.id) is None  # not hers
    assert label(s.admin, s.account.id, None, s.elsewhere.id) is None  # another school's
    assert label(s.gina, s.account.id, s.club, two.id) == "group 2"


def test_paths_end_on_a_broken_tree(s):
    """A loop with a group below it: every path is named once and the walk ends."""
    a, b = s.year7, s.year8
    db.session.execute(text("UPDATE mentor_group SET parent_id = :p WHERE id = :id"),
                       {"p": b.id, "id": a.id})
    db.session.execute(text("UPDATE mentor_group SET parent_id = :p WHERE id = :id"),
                       {"p": a.id, "id": b.id})
    db.session.commit()
    with ends_within(10, "the group search of a school with a loop"):
        found = group_search.search_groups(s.admin, s.account.id, "club")
    assert paths(found) == ["Year 8 \u203a Year 7 \u203a group 2 \u203a Robotics club"]


# ---- the endpoints -----------------------------------------------------------------------------

def test_search_json_and_the_page_without_scripts(client, s):
    client.login(s.admin.email)
    answer = client.get(f"{BASE}/search.json?q=group+1").get_json()
    assert [g["path"] for g in answer["groups"]] == ["Year 7 \u203a group 1",
                                                    "Year 7 \u203a group 10",
                                                    "Year 7 \u203a group 11"]
    assert answer["groups"][0]["url"] == f"{BASE}/{s.numbered[1].id}/"
    page = client.get(f"{BASE}/?q=club").get_data(as_text=True)
    found = page.split('data-testid="group-search-results"')[1].split("</form>")[0]
    assert "1 group matches &ldquo;club&rdquo;" in found
    assert f'href="{BASE}/{s.club.id}/">Year 7 \u203a group 2 \u203a Robotics club</a>' in found
    page = client.get(f"{BASE}/?q=%3Cb%3Ex").get_data(as_text=True)
    assert "&ldquo;&lt;b&gt;x&rdquo;" in page and "<b>x" not in page


def test_parents_json_is_scoped_and_forged_ids_are_404(client, s):
    client.login(s.gina.email)
    answer = client.get(f"{BASE}/parents.json?group_id={s.club.id}").get_json()
    assert answer == {"groups": [{"id": s.numbered[2].id, "name": "group 2",
                                  "path": "group 2"}], "more": 0, "top_level": False}
    for forged in (s.year8.id, s.elsewhere.id, 2**31 - 1):
        assert client.get(f"{BASE}/parents.json?group_id={forged}").status_code == 404
    assert client.get(f"{BASE}/search.json?q=year").get_json()["groups"] == []
    client.post_form("/logout", token_page=f"{BASE}/")
    client.login(s.other_admin.email)
    assert client.get(f"{BASE}/parents.json?group_id={s.club.id}").status_code == 404
    assert client.get(f"{BASE}/search.json?q=group").get_json()["groups"] == [
        {"id": s.elsewhere.id, "name": "group 5", "path": "group 5",
         "url": f"{BASE}/{s.elsewhere.id}/"}]


def test_the_server_refuses_a_parent_the_picker_would_not_offer(client, s):
    client.login(s.admin.email)
    manage = f"{BASE}/{s.numbered[2].id}/manage"
    response = client.post_form(manage, {"name": "group 2", "description": "",
                                         "parent_id": str(s.club.id)})
    assert response.status_code == 422
    assert "can&#39;t be nested under one of its own nested groups" in \
        response.get_data(as_text=True)
    response = client.post_form(manage, {"name": "group 2", "description": "",
                                         "parent_id": str(s.elsewhere.id)})
    assert response.status_code == 422
    assert db.session.get(type(s.club), s.numbered[2].id).parent_id == s.year7.id


def test_the_select_without_scripts_is_limited_and_keeps_the_chosen_parent(client, s,
                                                                          monkeypatch):
    from mentorgroups.admin import groups as view

    monkeypatch.setattr(view, "PARENT_SELECT_LIMIT", 3)
    client.login(s.admin.email)
    form = client.get(f"{BASE}/new?parent_id={s.club.id}").get_data(as_text=True)
    select = re.search(r'<select[^>]*id="parent_id".*?</select>', form, re.S).group(0)
    assert re.findall(r"<option[^>]*>([^<]*)</option>", select) == [
        "No parent (top level)", "Year 7", "Year 7 \u203a group 1", "Year 7 \u203a group 2",
        "Year 7 \u203a group 2 \u203a Robotics club"]
    assert re.search(rf'<option selected value="{s.club.id}"|<option value="{s.club.id}" '
                     r'selected', select)
    assert 'data-testid="parent-more"' in form and "6 more can be found" in form


def test_beyond_the_path_order_limit_the_first_by_name_are_shown_in_path_order(s, monkeypatch):
    """A search that narrows nothing in a huge tree: the first matches by name, then in the
    order of their paths (the limit lowered here instead of making 1,000 groups)."""
    monkeypatch.setattr(group_search, "PATH_ORDER_LIMIT", 3)
    found = group_search.search_groups(s.admin, s.account.id, "o", limit=3)
    assert paths(found) == [f"Year 7 \u203a group {n}" for n in (1, 2, 3)] and found.more == 4


def test_somebody_without_access_finds_and_may_choose_nothing(s):
    outsider = make_member(make_account(), "admin")
    revoked = make_member(s.account, "admin", status="revoked")
    db.session.commit()
    for person in (outsider, revoked):
        assert paths(group_search.search_groups(person, s.account.id, "group")) == []
        options = group_search.parent_options(person, s.account.id, None, "")
        assert (options.groups, options.more, options.top_level) == ([], 0, False)
        assert group_search.parent_label(person, s.account.id, s.club, s.year8.id) is None
        assert group_search.parent_label(person, s.account.id, None, s.year8.id) is None
