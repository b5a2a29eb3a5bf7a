"""Who may do what in Community > Groups: a matrix of people over every route and action."""

import pytest
from sqlalchemy import func, select

from mentorgroups.extensions import db
from mentorgroups.models import AuditEvent, GroupMembership, MentorGroup
from mentorgroups.services import group_members as gm
from mentorgroups.services import groups
from tests.factories import make_account, make_member
from tests.kept_scenes import kept_scene

BASE = "/admin/community/groups"
PEOPLE = ["anonymous", "learner", "mentor", "group_admin", "other_group_admin", "admin",
          "foreign_admin"]


@pytest.fixture
def world(app, request):
    return kept_scene(request, build_world)


def build_world():
    account = make_account(plan="complete", name="Home School")
    admin = make_member(account, "admin", full_name="Ada Admin")
    people = {
        "admin": admin,
        "learner": make_member(account, "member", full_name="Lia Learner"),
        "mentor": make_member(account, "staff", full_name="Mo Mentor"),
        "group_admin": make_member(account, "staff", full_name="Gia Groupadmin"),
        "other_group_admin": make_member(account, "staff", full_name="Otto Other"),
        "target": make_member(account, "member", full_name="Tara Target"),
    }
    g = groups.create_group(admin, account.id, "Guarded group")
    child = groups.create_group(admin, account.id, "Guarded child", "", g.id)
    other = groups.create_group(admin, account.id, "Other group")
    gm.add_members(admin, account.id, g.id, "mentor", user_ids=[people["mentor"].id])
    gm.add_members(admin, account.id, g.id, "group_admin", user_ids=[people["group_admin"].id])
    gm.add_members(admin, account.id, other.id, "group_admin",
                   user_ids=[people["other_group_admin"].id])
    gm.add_members(admin, account.id, g.id, "member",
                   user_ids=[people["learner"].id, people["target"].id])
    foreign = make_account(name="Foreign School")
    people["foreign_admin"] = make_member(foreign, "admin", full_name="Fay Foreign")
    groups.create_group(people["foreign_admin"], foreign.id, "Foreign group")
    db.session.commit()
    return type("World", (), dict(account=account, people=people, g=g, child=child,
                                  other=other))


def sign_in(client, world, who):
    if who != "anonymous":
        client.login(world.people[who].email)


def snapshot():
    return (db.session.scalar(select(func.count()).select_from(MentorGroup)),
            sorted(db.session.execute(select(GroupMembership.group_id, GroupMembership.user_id,
                                             GroupMembership.role)).all()))


EXPECTED_GET = {  # person -> (index, members of G, manage G, search in G, new)
    "anonymous": (302, 302, 302, 302, 302),
    "learner": (403, 403, 403, 403, 403),
    "mentor": (403, 403, 403, 403, 403),
    "group_admin": (200, 200, 200, 200, 200),
    "other_group_admin": (200, 404, 404, 404, 200),
    "admin": (200, 200, 200, 200, 200),
    "foreign_admin": (200, 404, 404, 404, 200),
}


@pytest.mark.parametrize("who", PEOPLE)
def test_pages(client, world, who):
    sign_in(client, world, who)
    urls = [f"{BASE}/", f"{BASE}/{world.g.id}/", f"{BASE}/{world.g.id}/manage",
            f"{BASE}/{world.g.id}/search?q=tara", f"{BASE}/new"]
    statuses = tuple(client.get(url).status_code for url in urls)
    assert statuses == EXPECTED_GET[who]
    if statuses[0] == 302:
        assert "/login" in client.get(urls[0]).headers["Location"]
    if statuses[0] == 200:
        page = client.get(urls[0]).get_data(as_text=True)
        visible = {name for name in ("Guarded group", "Guarded child", "Other group",
                                     "Foreign group") if name in page}
        # The tab shows the top level; a lone top group is shown open (the Group Admin's).
        assert visible == {
            "group_admin": {"Guarded group", "Guarded child"},
            "other_group_admin": {"Other group"},
            "admin": {"Guarded group", "Other group"},
            "foreign_admin": {"Foreign group"},
        }[who]
        nested = client.get(f"{BASE}/{world.g.id}/nested?fragment=1")
        assert nested.status_code == (200 if who in ("group_admin", "admin") else 404)
        assert ("Guarded child" in nested.get_data(as_text=True)) == (nested.status_code == 200)
    if statuses[3] == 200:
        assert [p["name"] for p in client.get(urls[3]).get_json()["people"]] == ["Tara Target"]


def post_everything(client, world):
    """Every state-changing route on G, each with a valid CSRF token."""
    signed_in = client.get("/paths").status_code == 200
    token_page = "/paths" if signed_in else "/login"  # both carry a CSRF token
    target = world.people["target"].id
    return {
        "add": client.post_form(f"{BASE}/{world.g.id}/add", {
            "role": "member", "addresses": world.people["admin"].email},
            token_page=token_page).status_code,
        "role": client.post_form(f"{BASE}/{world.g.id}/role/{target}", {"role": "mentor"},
                                 token_page=token_page).status_code,
        "bulk": client.post_form(f"{BASE}/action/", {
            "action": "remove", "group_id": str(world.g.id), "rowid": [str(target)],
            "url": "/"}, token_page=token_page).status_code,
        "manage": client.post_form(f"{BASE}/{world.g.id}/manage", {
            "name": "Renamed", "description": "", "parent_id": ""},
            token_page=token_page).status_code,
        "nested": client.post_form(f"{BASE}/new", {
            "name": "Nested new", "parent_id": str(world.g.id)},
            token_page=token_page).status_code,
        "delete": client.post_form(f"{BASE}/{world.child.id}/delete",
                                   token_page=token_page).status_code,
    }


@pytest.mark.parametrize("who", ["anonymous", "learner", "mentor", "other_group_admin",
                                 "foreign_admin"])
def test_outsiders_change_nothing(client, world, who):
    before = snapshot()
    sign_in(client, world, who)
    statuses = post_everything(client, world)
    expected = {"anonymous": 302, "learner": 403, "mentor": 403}.get(who)
    for action, status in statuses.items():
        if expected:
            assert status == expected, action
        elif action == "nested":  # a Group Admin elsewhere: the parent is not theirs
            assert status == 422
        else:
            assert status == 404, action
    assert snapshot() == before
    assert db.session.get(MentorGroup, world.g.id).name == "Guarded group"
    assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action != "group.create", AuditEvent.action != "member.add")) == 0


def test_group_admin_manages_but_cannot_delete(client, world):
    sign_in(client, world, "group_admin")
    statuses = post_everything(client, world)
    assert statuses["delete"] == 302
    assert db.session.get(MentorGroup, world.child.id) is not None  # refused: admins only
    assert db.session.get(MentorGroup, world.g.id).name == "Renamed"
    assert db.session.scalar(select(MentorGroup.parent_id).where(
        MentorGroup.name == "Nested new")) == world.g.id
    page = client.get(f"{BASE}/{world.child.id}/manage").get_data(as_text=True)
    assert "Delete group" not in page


def test_account_admin_does_everything(client, world):
    sign_in(client, world, "admin")
    post_everything(client, world)
    assert db.session.get(MentorGroup, world.child.id) is None
    assert db.session.get(MentorGroup, world.g.id).name == "Renamed"
    actions = set(db.session.scalars(select(AuditEvent.action)))
    assert {"member.add", "member.role", "group.edit", "group.create",
            "group.delete"} <= actions


@pytest.mark.parametrize("who,status", [("admin", 200), ("group_admin", 403),
                                        ("mentor", 403), ("foreign_admin", 200)])
def test_audit_log_is_for_account_admins_of_the_school(client, world, who, status):
    sign_in(client, world, who)
    response = client.get("/admin/community/audit/")
    assert response.status_code == status
    if who == "foreign_admin":
        assert "Guarded group" not in response.get_data(as_text=True)
    if who == "admin":
        assert "Guarded group" in response.get_data(as_text=True)


def test_group_admins_land_on_their_groups_and_people_has_manage(client, world):
    sign_in(client, world, "group_admin")
    # Home in the back office is the school home for their part of the tree.
    response = client.get("/admin/")
    assert response.status_code == 200
    assert "The groups you manage" in response.get_data(as_text=True)
    assert client.get("/").headers["Location"] == "/admin/"
    # The way in is the article's: Home > People > Manage (no separate "Manage groups").
    assert "Manage groups" not in client.get("/paths").get_data(as_text=True)
    people = client.get("/people/groups").get_data(as_text=True)
    assert f'href="{BASE}/" data-testid="manage">Manage</a>' in people
    client.post_form("/logout", token_page="/paths")
    sign_in(client, world, "mentor")
    assert client.get("/admin/").status_code == 403
    assert 'data-testid="manage"' not in client.get("/people/groups").get_data(as_text=True)
    client.post_form("/logout", token_page="/paths")
    sign_in(client, world, "admin")
    page = client.get("/admin/people/").get_data(as_text=True)
    assert f'href="{BASE}/"' in page and ">Manage</a>" in page
    people = client.get("/people/groups").get_data(as_text=True)
    assert f'href="{BASE}/" data-testid="manage">Manage</a>' in people
