"""The Community > Groups screens through HTTP: thin views over the groups services."""

import re

from sqlalchemy import func, select, text

from mentorgroups.extensions import db
from mentorgroups.models import GroupMembership, MentorGroup
from mentorgroups.services import group_members as gm
from mentorgroups.services import groups
from tests.deadline import ends_within
from tests.factories import make_account, make_member

BASE = "/admin/community/groups"


def setup_school(plan="essentials"):
    account = make_account(plan=plan, name="Hill School")
    admin = make_member(account, "admin", full_name="Ada Admin")
    learner = make_member(account, "member", full_name="Lia Learner", email="lia@hill.test")
    mentor = make_member(account, "staff", full_name="Mo Mentor", email="mo@hill.test")
    db.session.commit()
    return account, admin, learner, mentor


def test_create_lands_on_members_screen(client):
    account, admin, *_ = setup_school()
    client.login(admin.email)
    response = client.post_form(f"{BASE}/new", {"name": "Year 7 <b>coaching</b>",
                                                 "description": "", "parent_id": ""})
    group = db.session.scalar(select(MentorGroup))
    assert response.headers["Location"] == f"{BASE}/{group.id}/"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Now you&#39;re ready to add members" in page
    assert "Year 7 &lt;b&gt;coaching&lt;/b&gt;" in page and "<b>coaching</b>" not in page


def test_bad_names_keep_the_form(client):
    account, admin, *_ = setup_school()
    client.login(admin.email)
    response = client.post_form(f"{BASE}/new", {"name": "   ", "description": "kept text"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Give the group a name." in page and "kept text" in page
    assert db.session.scalar(select(func.count()).select_from(MentorGroup)) == 0


def test_limit_message_on_tab_and_form(client):
    account, admin, *_ = setup_school(plan="starter")
    groups.create_group(admin, account.id, "Only one")
    db.session.commit()
    client.login(admin.email)
    page = client.get(f"{BASE}/").get_data(as_text=True)
    assert "1 of 1 group on the Starter plan" in page
    assert "Upgrade your plan to create more groups" in page
    response = client.post_form(f"{BASE}/new", {"name": "Second"}, token_page=f"{BASE}/new")
    assert response.status_code == 422
    assert "Your Starter plan includes 1 group" in response.get_data(as_text=True)


def test_add_by_search_and_paste_then_roles_and_removal(client):
    account, admin, learner, mentor = setup_school()
    group = groups.create_group(admin, account.id, "Coaching")
    db.session.commit()
    client.login(admin.email)
    people = client.get(f"{BASE}/{group.id}/search?q=mo").get_json()["people"]
    assert [p["email"] for p in people] == ["mo@hill.test"]
    members_url = f"{BASE}/{group.id}/"
    response = client.post_form(f"{BASE}/{group.id}/add", {
        "role": "member", "user_id": [str(mentor.id)],
        "addresses": "lia@hill.test, bogus, stranger@nowhere.test"}, token_page=members_url)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Added 2 people as Member" in page
    assert "Not valid email addresses: bogus." in page
    assert "Invited as Member (an email is on its way): stranger@nowhere.test." in page
    assert "stranger@nowhere.test" in page.split("Pending invitations")[1]
    client.post_form(f"{BASE}/{group.id}/role/{mentor.id}", {"role": "mentor"},
                     token_page=members_url)
    client.post_form(f"{BASE}/{group.id}/role/{mentor.id}", {"role": "group_admin"},
                     token_page=members_url)
    roles = dict(db.session.execute(select(GroupMembership.user_id, GroupMembership.role)).all())
    assert roles == {mentor.id: "group_admin", learner.id: "member"}
    response = client.post_form(f"{BASE}/action/", {
        "action": "make_mentor", "group_id": str(group.id), "rowid": [str(learner.id)],
        "url": members_url}, token_page=members_url)
    assert db.session.scalar(select(GroupMembership.role).where(
        GroupMembership.user_id == learner.id)) == "mentor"
    client.post_form(f"{BASE}/{group.id}/role/{learner.id}", {"role": "member"},
                     token_page=members_url)
    client.post_form(f"{BASE}/action/", {"action": "remove", "group_id": str(group.id),
                                         "rowid": [str(learner.id)], "url": members_url},
                     token_page=members_url)
    assert db.session.scalar(select(GroupMembership.user_id)) == mentor.id


def test_manage_nest_and_delete(client):
    account, admin, *_ = setup_school()
    a = groups.create_group(admin, account.id, "A")
    b = groups.create_group(admin, account.id, "B")
    db.session.commit()
    client.login(admin.email)
    manage = f"{BASE}/{b.id}/manage"
    response = client.post_form(manage, {"name": "B", "description": "d", "parent_id": b.id})
    assert response.status_code == 422
    assert "can&#39;t be nested under itself" in response.get_data(as_text=True)
    response = client.post_form(manage, {"name": "B", "description": "d", "parent_id": a.id})
    assert response.status_code == 302
    assert db.session.get(MentorGroup, b.id).parent_id == a.id
    page = client.get(f"{BASE}/{a.id}/manage").get_data(as_text=True)
    assert "its nested group moves up to the top level" in page
    client.post_form(f"{BASE}/{a.id}/delete", token_page=f"{BASE}/{a.id}/manage")
    assert db.session.get(MentorGroup, b.id).parent_id is None
    assert db.session.get(MentorGroup, a.id) is None
    # a stale form: the group is gone
    response = client.post_form(f"{BASE}/{a.id}/add", {"role": "member",
                                                       "addresses": "lia@hill.test"},
                                token_page=f"{BASE}/")
    assert response.status_code == 404
    assert "may have been deleted" in response.get_data(as_text=True)


def test_members_screen_escapes_and_lists_staff_apart(client):
    account, admin, learner, mentor = setup_school()
    group = groups.create_group(admin, account.id, "G", "<script>alert(1)</script>")
    gm.add_members(admin, account.id, group.id, "mentor", user_ids=[mentor.id])
    gm.add_members(admin, account.id, group.id, "member", user_ids=[learner.id])
    db.session.commit()
    client.login(admin.email)
    page = client.get(f"{BASE}/{group.id}/").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page
    staff_part, members_part = page.split('data-testid="staff"')[1].split("Members <small")
    assert "Mo Mentor" in staff_part and "Lia Learner" not in staff_part
    assert "Lia Learner" in members_part


def test_a_group_admin_of_a_loop_gets_its_pages(client):
    """Loop A and Loop B left each other's parent by a move race, "Below" nested in the loop
    and "Under below" under it. Mo is Group Admin of Loop A: the breadcrumb of a group below
    the loop and the parent choices of the group forms name each group once, and end."""
    account, admin, learner, mentor = setup_school(plan="complete")
    ids = {name: groups.create_group(admin, account.id, name).id for name in ("Loop A", "Loop B")}
    ids["Below"] = groups.create_group(admin, account.id, "Below", "", ids["Loop B"]).id
    ids["Under below"] = groups.create_group(admin, account.id, "Under below", "",
                                             ids["Below"]).id
    gm.add_members(admin, account.id, ids["Loop A"], "group_admin", user_ids=[mentor.id])
    db.session.commit()
    for group, parent in (("Loop A", "Loop B"), ("Loop B", "Loop A")):
        db.session.execute(text("UPDATE mentor_group SET parent_id = :parent WHERE id = :id"),
                           {"parent": ids[parent], "id": ids[group]})
    db.session.commit()
    client.login(mentor.email)
    with ends_within(10, "the members page of a group below a loop"):
        page = client.get(f"{BASE}/{ids['Under below']}/").get_data(as_text=True)
    assert re.findall(r'<li class="breadcrumb-item"><a href="[^"]*">([^<]*)</a>', page) == \
        ["Groups", "Loop A", "Loop B", "Below"]
    with ends_within(10, "the new group form of a Group Admin of a loop"):
        form = client.get(f"{BASE}/new").get_data(as_text=True)
    options = re.search(r'<select[^>]*id="parent_id".*?</select>', form, re.S).group(0)
    # Paths start at her own group (the loop is never gone round).
    assert re.findall(r'<option value="(\d+)">([^<]*)</option>', options) == [
        (str(ids["Loop A"]), "Loop A"),
        (str(ids["Loop B"]), "Loop A \u203a Loop B"),
        (str(ids["Below"]), "Loop A \u203a Loop B \u203a Below"),
        (str(ids["Under below"]), "Loop A \u203a Loop B \u203a Below \u203a Under below")]
    with ends_within(10, "the manage form of a group below a loop"):
        manage = client.get(f"{BASE}/{ids['Below']}/manage")
    assert manage.status_code == 200
    options = re.search(r'<select[^>]*id="parent_id".*?</select>',
                        manage.get_data(as_text=True), re.S).group(0)
    assert re.findall(r'<option[^>]*>([^<]*)</option>', options) == [
        "Loop A", "Loop A \u203a Loop B"]
