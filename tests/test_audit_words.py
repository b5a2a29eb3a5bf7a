"""The audit log in words: sentences and names, never codes or ids, every changed field."""

from sqlalchemy import select

from mentorgroups.extensions import db
from mentorgroups.models import AuditEvent
from mentorgroups.services import group_members as gm
from mentorgroups.services import groups, invitations
from mentorgroups.services.audit_words import describe, group_names
from tests.factories import make_account, make_member

AUDIT = "/admin/community/audit/"


def events(account_id):
    rows = list(db.session.scalars(select(AuditEvent).where(AuditEvent.account_id == account_id)
                                   .order_by(AuditEvent.id)))
    names = group_names(account_id, rows)
    return [describe(row, names) for row in rows]


def build():
    account = make_account(name="Hill School")
    admin = make_member(account, "admin", full_name="Ada Admin")
    lia = make_member(account, "member", full_name="Lia Learner", email="lia@hill.test")
    year7 = groups.create_group(admin, account.id, "Year 7")
    club = groups.create_group(admin, account.id, "Robotics club", "Tuesdays", year7.id)
    db.session.commit()
    return account, admin, lia, year7, club


def test_every_event_is_a_sentence_with_names(app):
    account, admin, lia, year7, club = build()
    gm.add_members(admin, account.id, club.id, "member", user_ids=[lia.id],
                   addresses="newbie@example.org")
    gm.change_role(admin, account.id, club.id, lia.id, "mentor")
    gm.change_role(admin, account.id, club.id, lia.id, "member")
    gm.remove_members(admin, account.id, club.id, [lia.id])
    invitation = invitations.pending_for_group(club.id)[0]
    invitations.resend(admin, account.id, invitation.id)
    invitations.revoke(admin, account.id, invitation.id)
    # A rename, a new description and a move in one save: all three are said.
    groups.update_group(admin, account.id, club.id, "Robots", "Thursdays now", None)
    db.session.commit()
    said = events(account.id)
    whats = [d.what for d in said]
    assert whats == [
        "Created the group",
        "Created the group",
        "Invited newbie@example.org as Member",
        "Added Lia Learner as Member",
        "Changed Lia Learner\u2019s role from Member to Mentor",
        "Changed Lia Learner\u2019s role from Mentor to Member",
        "Removed Lia Learner from the group (was Member)",
        "Sent a new invitation to newbie@example.org as Member",
        "Withdrew the invitation to newbie@example.org",
        "Renamed, changed the description of and moved the group",
    ]
    assert said[1].details == ["Name: \u201cRobotics club\u201d",
                               "Description: \u201cTuesdays\u201d",
                               "Place: under \u201cYear 7\u201d"]
    assert said[-1].details == [
        "Name: \u201cRobotics club\u201d \u2192 \u201cRobots\u201d",
        "Description: \u201cTuesdays\u201d \u2192 \u201cThursdays now\u201d",
        "Place: under \u201cYear 7\u201d \u2192 top level",
    ]
    text = " ".join(d.what + " " + " ".join(d.details) for d in said)
    for code in ("invitation.", "member.", "group.", "parent_id", "None", str(year7.id) + " "):
        assert code not in text


def test_deleted_groups_keep_their_names_and_children_are_named(app):
    account, admin, lia, year7, club = build()
    groups.delete_group(admin, account.id, year7.id)
    groups.update_group(admin, account.id, club.id, "Robotics club", "Tuesdays", None)
    db.session.commit()
    said = events(account.id)
    deleted = said[2]
    assert deleted.what == "Deleted the group"
    assert deleted.details == ["Place: top level",
                               "Nested groups moved up: \u201cRobotics club\u201d"]


def test_the_audit_log_screen_shows_words_and_wraps_long_names(client):
    account, admin, lia, year7, club = build()
    long_name = "Supercalifragilistic" * 5
    groups.update_group(admin, account.id, club.id, long_name, "Tuesdays", year7.id)
    gm.add_members(admin, account.id, club.id, "mentor", user_ids=[lia.id])
    db.session.commit()
    client.login(admin.email)
    page = client.get(AUDIT).get_data(as_text=True)
    assert "Added Lia Learner as Mentor" in page
    assert "Renamed the group" in page
    assert "Place: under" not in page.split("Renamed the group")[1].split("</tr>")[0]
    rows = page.split("model-list")[1]
    assert "parent_id" not in rows and "member.add" not in rows.split("</table>")[0]
    assert "overflow-wrap:anywhere" in page
    # The Community screen: its tabs, the Audit log one current.
    assert 'aria-current=page href="/admin/community/audit/"' in page
