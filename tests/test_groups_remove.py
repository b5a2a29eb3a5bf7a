"""Removing anybody from a group in one step, staff included: the confirmation names their
role, the removal is audited with it, and every id is scoped to the school and the person's
rights (a forged one is a 404)."""

from sqlalchemy import select

from mentorgroups.extensions import db
from mentorgroups.models import AuditEvent, GroupMembership
from mentorgroups.services import digest_subscriptions, groups
from mentorgroups.services import group_members as gm
from tests.factories import make_account, make_member

BASE = "/admin/community/groups"


def school():
    account = make_account(plan="complete", name="Hill School")
    admin = make_member(account, "admin", full_name="Ada Admin")
    mentor = make_member(account, "staff", full_name="Mo <b>Mentor</b>", email="mo@hill.test")
    gina = make_member(account, "staff", full_name="Gina Grant", email="gina@hill.test")
    lia = make_member(account, "member", full_name="Lia Learner", email="lia@hill.test")
    group = groups.create_group(admin, account.id, "Year 7")
    gm.add_members(admin, account.id, group.id, "mentor", user_ids=[mentor.id])
    gm.add_members(admin, account.id, group.id, "group_admin", user_ids=[gina.id])
    gm.add_members(admin, account.id, group.id, "member", user_ids=[lia.id])
    db.session.commit()
    return account, admin, mentor, gina, lia, group


def roles(group_id):
    return dict(db.session.execute(select(GroupMembership.user_id, GroupMembership.role)
                                   .where(GroupMembership.group_id == group_id)).all())


def test_a_mentor_is_removed_in_one_step_after_a_confirmation_naming_the_role(client):
    account, admin, mentor, gina, lia, group = school()
    client.login(admin.email)
    members = client.get(f"{BASE}/{group.id}/").get_data(as_text=True)
    # One "Remove from group" per person, staff included, each a link to its confirmation.
    for person in (mentor, gina, lia):
        assert f'href="{BASE}/{group.id}/remove/{person.id}"' in members
    assert "<dialog id=\"mg-remove-dialog\"" in members
    assert 'data-role="Mentor"' in members and 'data-role="Group Admin"' in members
    assert "Mo &lt;b&gt;Mentor&lt;/b&gt;" in members and "<b>Mentor</b>" not in members

    confirm = client.get(f"{BASE}/{group.id}/remove/{mentor.id}")
    page = confirm.get_data(as_text=True)
    assert confirm.status_code == 200
    assert "Remove Mo &lt;b&gt;Mentor&lt;/b&gt; from Year 7?" in page
    assert "is a Mentor of this group" in page
    assert "no weekly digest for it" in page
    assert roles(group.id)[mentor.id] == "mentor"  # the GET changes nothing

    response = client.post_form(f"{BASE}/{group.id}/remove/{mentor.id}",
                                token_page=f"{BASE}/{group.id}/remove/{mentor.id}")
    assert response.headers["Location"] == f"{BASE}/{group.id}/"
    assert mentor.id not in roles(group.id)
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "member.remove"))
    assert (event.subject_user_id, event.before, event.actor_id) == (mentor.id, {"role": "mentor"},
                                                                admin.id)
    page = client.get(f"{BASE}/{group.id}/").get_data(as_text=True)
    assert "Removed from the group: Mo &lt;b&gt;Mentor&lt;/b&gt;." in page


def test_a_group_admin_and_a_member_are_named_by_their_role(client):
    account, admin, mentor, gina, lia, group = school()
    client.login(admin.email)
    page = client.get(f"{BASE}/{group.id}/remove/{gina.id}").get_data(as_text=True)
    assert "Gina Grant is a Group Admin of this group" in page
    page = client.get(f"{BASE}/{group.id}/remove/{lia.id}").get_data(as_text=True)
    assert "Lia Learner is a Member of this group" in page
    assert "weekly digest" not in page
    # The bulk action removes whoever is selected, in one step too.
    client.post_form(f"{BASE}/action/", {"action": "remove", "group_id": str(group.id),
                                         "rowid": [str(gina.id), str(lia.id)],
                                         "url": f"{BASE}/{group.id}/"},
                     token_page=f"{BASE}/{group.id}/")
    assert roles(group.id) == {mentor.id: "mentor"}


def test_a_group_admin_removing_themselves_is_warned_and_lands_elsewhere(client):
    account, admin, mentor, gina, lia, group = school()
    client.login(gina.email)
    page = client.get(f"{BASE}/{group.id}/remove/{gina.id}").get_data(as_text=True)
    assert "You will lose access to manage" in page
    response = client.post_form(f"{BASE}/{group.id}/remove/{gina.id}",
                                token_page=f"{BASE}/{group.id}/remove/{gina.id}")
    assert response.status_code == 302
    assert response.headers["Location"] == "/people/groups"
    assert gina.id not in roles(group.id)


def test_forged_ids_are_404_and_nothing_changes(client):
    account, admin, mentor, gina, lia, group = school()
    other = make_account(name="Dale Academy")
    other_admin = make_member(other, "admin")
    outsider = make_member(other, "member")
    other_group = groups.create_group(other_admin, other.id, "Dale 1")
    gm.add_members(other_admin, other.id, other_group.id, "member", user_ids=[outsider.id])
    year8 = groups.create_group(admin, account.id, "Year 8")
    db.session.commit()
    token_page = f"{BASE}/{group.id}/"

    client.login(admin.email)
    # Another school's group, and a person who is not in this group.
    assert client.get(f"{BASE}/{other_group.id}/remove/{outsider.id}").status_code == 404
    assert client.get(f"{BASE}/{group.id}/remove/{outsider.id}").status_code == 404
    assert client.get(f"{BASE}/{year8.id}/remove/{lia.id}").status_code == 404
    response = client.post_form(f"{BASE}/{other_group.id}/remove/{outsider.id}",
                                token_page=token_page)
    assert response.status_code == 404
    assert roles(other_group.id) == {outsider.id: "member"}
    # No CSRF token: refused.
    assert client.raw.post(f"{BASE}/{group.id}/remove/{lia.id}").status_code == 400
    assert lia.id in roles(group.id)

    # A Group Admin of Year 7 can't open Year 8's.
    client.post_form("/logout", token_page=token_page)
    client.login(gina.email)
    gm.add_members(admin, account.id, year8.id, "member", user_ids=[mentor.id])
    db.session.commit()
    assert client.get(f"{BASE}/{year8.id}/remove/{mentor.id}").status_code == 404
    response = client.post_form(f"{BASE}/{year8.id}/remove/{mentor.id}", token_page=token_page)
    assert response.status_code == 404
    assert roles(year8.id) == {mentor.id: "member"}


def test_a_removed_mentor_stops_getting_the_groups_digest(app):
    account, admin, mentor, gina, lia, group = school()
    assert digest_subscriptions.is_subscribed(mentor.id, group.id)
    assert digest_subscriptions.is_subscribed(gina.id, group.id)
    gm.remove_members(admin, account.id, group.id, [mentor.id, gina.id, lia.id])
    db.session.commit()
    assert not digest_subscriptions.is_subscribed(mentor.id, group.id)
    assert not digest_subscriptions.is_subscribed(gina.id, group.id)
    assert not digest_subscriptions.is_subscribed(lia.id, group.id)
