"""What an admin reading the audit log sees for each kind of event: the exact sentence and the
exact lines below it. Events are made by the services where the product makes them; events
the product writes differently (an older version's, a newer one's, one with empty fields) are
written with the log's own recorder."""

from sqlalchemy import select, text

from mentorgroups.extensions import db
from mentorgroups.models import AuditEvent
from mentorgroups.services import audit, groups, invitations
from mentorgroups.services import group_members as gm
from mentorgroups.services.audit_words import describe, group_names
from mentorgroups.services.group_repair import find_tree_problems, repair_tree_problems
from tests.factories import make_account, make_member, make_user

Q0, Q1, TO = "\u201c", "\u201d", "\u2192"


def q(name):
    return f"{Q0}{name}{Q1}"


def log_rows(account_id, action=None):
    query = select(AuditEvent).where(AuditEvent.account_id == account_id)
    if action is not None:
        query = query.where(AuditEvent.action == action)
    return list(db.session.scalars(query.order_by(AuditEvent.id)))


def said(account_id, action=None):
    """The log as the admin reads it: (sentence, lines) per event, oldest first."""
    rows = log_rows(account_id, action)
    names = group_names(account_id, rows)
    return [(d.what, d.details) for d in (describe(row, names) for row in rows)]


def hill():
    account = make_account(name="Hill School", plan="complete")
    admin = make_member(account, "admin", full_name="Ada Admin")
    lia = make_member(account, "member", full_name="Lia Learner", email="lia@hill.test")
    db.session.commit()
    return account, admin, lia


def record(account, action, group=None, subject=None, before=None, after=None, actor=None):
    audit.record(actor, account.id, action, group, subject=subject, before=before, after=after)
    db.session.commit()


# ---- groups -----------------------------------------------------------------------------------

def test_a_group_created_under_another_names_its_parent_and_says_nothing_else(app):
    account, admin, lia = hill()
    year7 = groups.create_group(admin, account.id, "Year 7")
    groups.create_group(admin, account.id, "Robotics club", None, year7.id)
    db.session.commit()
    # Only the creations name Year 7 (as the new place): it is still looked up by name.
    assert said(account.id) == [
        ("Created the group", [f"Name: {q('Year 7')}", "Place: top level"]),
        ("Created the group", [f"Name: {q('Robotics club')}", f"Place: under {q('Year 7')}"]),
    ]


def test_only_the_groups_the_events_name_are_looked_up(app):
    account, admin, lia = hill()
    year7 = groups.create_group(admin, account.id, "Year 7")
    groups.create_group(admin, account.id, "Year 8")
    club = groups.create_group(admin, account.id, "Robotics club", None, year7.id)
    gm.add_members(admin, account.id, club.id, "member", user_ids=[lia.id])
    db.session.commit()
    rows = log_rows(account.id)
    assert group_names(account.id, rows) == {year7.id: "Year 7"}
    # Events that name no group by id (a person added, a top-level group) need no names.
    assert group_names(account.id, log_rows(account.id, "member.add")) == {}
    assert group_names(account.id, []) == {}


def test_renaming_a_described_group_says_only_the_rename(app):
    account, admin, lia = hill()
    club = groups.create_group(admin, account.id, "Robotics club", "Tuesdays")
    db.session.commit()
    groups.update_group(admin, account.id, club.id, "Robots", "Tuesdays")
    db.session.commit()
    assert said(account.id, "group.edit") == [
        ("Renamed the group", [f"Name: {q('Robotics club')} {TO} {q('Robots')}"]),
    ]


def test_deleting_groups_counts_the_memberships_that_ended(app):
    account, admin, lia = hill()
    mo = make_member(account, "member", full_name="Mo Member")
    chess = groups.create_group(admin, account.id, "Chess")
    drama = groups.create_group(admin, account.id, "Drama")
    gm.add_members(admin, account.id, chess.id, "member", user_ids=[lia.id])
    gm.add_members(admin, account.id, drama.id, "member", user_ids=[lia.id, mo.id])
    groups.delete_group(admin, account.id, chess.id)
    groups.delete_group(admin, account.id, drama.id)
    db.session.commit()
    assert said(account.id, "group.delete") == [
        ("Deleted the group", ["Place: top level", "1 membership ended"]),
        ("Deleted the group", ["Place: top level", "2 memberships ended"]),
    ]


def test_a_deleted_group_is_named_by_the_last_name_the_log_knew(app):
    account, admin, lia = hill()
    year7 = groups.create_group(admin, account.id, "Year 7")
    groups.create_group(admin, account.id, "Robotics club", "", year7.id)
    db.session.commit()
    groups.update_group(admin, account.id, year7.id, "Year Seven", "")
    groups.delete_group(admin, account.id, year7.id)
    db.session.commit()
    assert said(account.id, "group.create")[1] == (
        "Created the group",
        [f"Name: {q('Robotics club')}", f"Place: under {q('Year Seven (since deleted)')}"])


def test_repairs_say_where_the_group_was_and_never_name_another_schools_group(app):
    account, admin, lia = hill()
    other = make_account(name="Dale School", plan="complete")
    other_admin = make_member(other, "admin")
    stray = groups.create_group(admin, account.id, "Stray")
    sound = groups.create_group(admin, account.id, "Sound")
    loop = groups.create_group(admin, account.id, "Loop", None, sound.id)
    groups.create_group(admin, account.id, "LOOP")
    theirs = groups.create_group(other_admin, other.id, "Dale secrets")
    db.session.commit()
    # The damage an old move race left: a parent in another school, a group its own parent.
    for gid, parent in ((stray.id, theirs.id), (loop.id, loop.id)):
        db.session.execute(text("UPDATE mentor_group SET parent_id = :p WHERE id = :id"),
                           {"p": parent, "id": gid})
    db.session.commit()
    assert repair_tree_problems(find_tree_problems(account.id)) == 2
    db.session.commit()
    by_group = {row.group_id: row for row in log_rows(account.id, "group.repair")}
    expected = {
        stray.id: ("Moved the group to the top level to repair the tree",
                   [f"Place: under {q('a group since deleted')} {TO} top level",
                    "Reason: its parent is not a group of this school"]),
        loop.id: ("Moved the group to the top level to repair the tree",
                  [f"Place: under {q('Loop (2)')} {TO} top level",
                   f"Name: {q('Loop')} {TO} {q('Loop (2)')}",
                   "Reason: it was its own ancestor"]),
    }
    names = group_names(account.id, by_group.values())
    assert {gid: (d.what, d.details) for gid, d in
            ((gid, describe(row, names)) for gid, row in by_group.items())} == expected
    # The other school deletes its group: its log knows the name, ours still does not tell it.
    groups.delete_group(other_admin, other.id, theirs.id)
    db.session.commit()
    names = group_names(account.id, by_group.values())
    assert theirs.id not in names
    assert describe(by_group[stray.id], names).details == expected[stray.id][1]


# ---- people -----------------------------------------------------------------------------------

def test_a_school_invitation_names_the_school_role_and_so_does_its_acceptance(app):
    account, admin, lia = hill()
    invitation = invitations.invite_to_school(admin, account.id, "pia@example.org", "staff",
                                              send=False)
    invitations.resend(admin, account.id, invitation.id)
    db.session.commit()
    pia = make_user(email="pia@example.org", full_name="Pia Pupil")
    invitations.accept(pia, invitations.make_token(invitation.nonce))
    db.session.commit()
    assert [what for what, _ in said(account.id)] == [
        "Invited pia@example.org to the school as Staff",
        "Sent a new invitation to pia@example.org to the school as Staff",
        "Pia Pupil accepted the invitation and joined the school as Staff",
    ]


def test_accepting_a_group_invitation_names_the_group_role(app):
    account, admin, lia = hill()
    club = groups.create_group(admin, account.id, "Robotics club")
    gm.add_members(admin, account.id, club.id, "mentor", addresses="mo@example.org")
    db.session.commit()
    invitation = invitations.pending_for_group(club.id)[0]
    mo = make_user(email="mo@example.org", full_name="Mo Mentor")
    invitations.accept(mo, invitations.make_token(invitation.nonce))
    db.session.commit()
    assert [what for what, lines in said(account.id) if not lines] == [
        "Invited mo@example.org as Mentor",
        "Mo Mentor accepted the invitation and joined as Mentor",
    ]


def test_a_person_whose_account_is_gone_is_named_by_their_address(app):
    account, admin, lia = hill()
    club = groups.create_group(admin, account.id, "Robotics club")
    gone = make_member(account, "member", full_name="Gil Gone", email="gil@hill.test")
    gm.add_members(admin, account.id, club.id, "member", user_ids=[gone.id])
    db.session.commit()
    db.session.execute(text("DELETE FROM account_membership WHERE user_id = :id"),
                       {"id": gone.id})
    db.session.execute(text("DELETE FROM user_account WHERE id = :id"), {"id": gone.id})
    db.session.commit()
    db.session.expire_all()
    assert said(account.id, "member.add") == [("Added gil@hill.test as Member", [])]


def test_people_named_only_by_an_address_in_the_event_are_named_by_it(app):
    account, admin, lia = hill()
    record(account, "member.add", after={"email": "new@hill.test", "role": "mentor"})
    record(account, "member.remove", before={"email": "old@hill.test", "role": "member"})
    record(account, "member.role", before={"role": "member"}, after={"role": "group_admin"})
    assert said(account.id) == [
        ("Added new@hill.test as Mentor", []),
        ("Removed old@hill.test from the group (was Member)", []),
        ("Changed someone\u2019s role from Member to Group Admin", []),
    ]


def test_invitations_name_the_address_invited_even_when_the_person_is_known(app):
    account, admin, lia = hill()
    record(account, "invitation.send", subject=lia,
           after={"email": "lia.other@hill.test", "role": "member"})
    record(account, "invitation.revoke", subject=lia,
           before={"email": "lia.other@hill.test", "role": "member"})
    # With no address in the event, the person it was for is named instead.
    record(account, "invitation.resend", subject=lia, after={"role": "mentor"})
    record(account, "invitation.revoke", subject=lia, before={"role": "mentor"})
    assert [what for what, _ in said(account.id)] == [
        "Invited lia.other@hill.test as Member",
        "Withdrew the invitation to lia.other@hill.test",
        "Sent a new invitation to Lia Learner as Mentor",
        "Withdrew the invitation to Lia Learner",
    ]


def test_a_role_the_product_no_longer_has_is_shown_as_recorded(app):
    account, admin, lia = hill()
    record(account, "member.add", subject=lia, after={"role": "observer"})
    assert said(account.id) == [("Added Lia Learner as observer", [])]


# ---- events with empty fields, and kinds this module has no sentence for ------------------------

def test_events_whose_before_and_after_are_empty_still_read_without_codes(app):
    account, admin, lia = hill()
    club = groups.create_group(admin, account.id, "Robotics club")
    db.session.commit()
    base = len(log_rows(account.id))
    full = {"name": "Robots", "description": "", "parent_id": None}
    record(account, "group.create", club)
    record(account, "group.edit", club)
    record(account, "group.edit", club, after=full)
    record(account, "group.edit", club, before=full)
    record(account, "group.delete", club)
    record(account, "invitation.revoke")
    record(account, "member.add", subject=lia)
    assert said(account.id)[base:] == [
        # The group's own name as the log row keeps it.
        ("Created the group", [f"Name: {q('Robotics club')}", "Place: top level"]),
        ("Changed the group", []),
        ("Renamed the group", [f"Name: (empty) {TO} {q('Robots')}"]),
        ("Renamed the group", [f"Name: {q('Robots')} {TO} (empty)"]),
        ("Deleted the group", ["Place: top level"]),
        ("Withdrew the invitation to someone", []),
        ("Added Lia Learner as ", []),
    ]


def test_a_plan_change_names_both_plans_and_the_groups_then(app):
    """As the plan screen records it, and as a row without its plans reads."""
    account, admin, _ = hill()
    record(account, "plan.change", before={"plan": "essentials"},
           after={"plan": "complete", "groups": 4}, actor=admin)
    record(account, "plan.change")
    assert said(account.id, "plan.change") == [
        ("Changed the plan from Essentials to Complete", ["Groups at the time: 4"]),
        ("Changed the plan from (None) to (None)", []),
    ]


def test_an_event_of_a_kind_with_no_sentence_lists_every_field_that_changed(app):
    account, admin, lia = hill()
    record(account, "school.rename",
           before={"name": "Hill School", "motto": "", "nickname": "Hilly", "founded": 1901,
                   "old_field": "x"},
           after={"name": "Hill Academy", "motto": "Learn", "nickname": None, "founded": 1901,
                  "web_site": "hill.test"})
    record(account, "school.open", after={"reason": "New term"})
    record(account, "school.close", before={"reason": "Summer"})
    assert said(account.id) == [
        ("school rename", [f"Motto: (none) {TO} Learn",
                           f"Name: Hill School {TO} Hill Academy",
                           f"Nickname: Hilly {TO} (none)",
                           "Old field was x",
                           "Web site: hill.test"]),
        ("school open", ["Reason: New term"]),
        ("school close", ["Reason was Summer"]),
    ]


# ---- API tokens -------------------------------------------------------------------------------


def test_api_tokens_created_and_revoked_are_named_with_their_scope_and_prefix(app):
    from mentorgroups.services import api_tokens

    account, admin, _lia = hill()
    token, secret = api_tokens.create_token(admin, account.id, "Nightly sync", "write")
    db.session.commit()
    api_tokens.revoke_token(admin, account.id, token.id)
    api_tokens.revoke_token(admin, account.id, token.id)  # twice: recorded once
    db.session.commit()
    assert said(account.id, "api_token.create") == [
        (f"Created the API token {q('Nightly sync')} (read and write)",
         [f"Starts with: {secret[:len(token.prefix)]}"])]
    assert said(account.id, "api_token.revoke") == [
        (f"Revoked the API token {q('Nightly sync')}", [])]
