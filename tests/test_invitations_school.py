"""Invitations into a school itself (People > Add, the operator's first admin), at service level.

The scene: two schools, Riverside Academy (Ada Admin, group "Coaching") and Hillside College
(Hal Admin). Pia has no personal account yet and is invited by both schools; Kim is invited to
Riverside's "Coaching" group *and* to Riverside itself; Sol already has a personal account
(a member at Hillside). Each test checks who ends up in which school with which role, which
invitation rows are pending, accepted or withdrawn, and what the audit log says."""

from types import SimpleNamespace

import pytest
from sqlalchemy import select

from mentorgroups.extensions import db
from mentorgroups.models import (
    AccountMembership,
    AuditEvent,
    GroupMembership,
    Invitation,
    OutboxJob,
    User,
)
from mentorgroups.services import groups, invitations
from mentorgroups.services.accounts import MIN_PASSWORD_LENGTH
from mentorgroups.services.errors import FormErrors, NotFound, PermissionDenied, ServiceError
from mentorgroups.services.invitations import InvitationUnusable
from tests.factories import make_account, make_member

SHORT_PASSWORD = f"Passwords need at least {MIN_PASSWORD_LENGTH} characters."


@pytest.fixture
def w(app):
    river = make_account(name="Riverside Academy", plan="complete")
    hill = make_account(name="Hillside College", plan="complete")
    ada = make_member(river, "admin", full_name="Ada Admin", email="ada@river.test")
    hal = make_member(hill, "admin", full_name="Hal Admin", email="hal@hill.test")
    sol = make_member(hill, "member", full_name="Sol Signed-up", email="sol@known.test")
    coaching = groups.create_group(ada, river.id, "Coaching")
    db.session.commit()
    return SimpleNamespace(river=river, hill=hill, ada=ada, hal=hal, sol=sol, coaching=coaching)


def link(invitation) -> str:
    """The token the invitation's email carries (rebuilt from the nonce, as the job does)."""
    return invitations.make_token(invitation.nonce)


def snapshot(invitation):
    db.session.refresh(invitation)
    return (invitation.account_id, invitation.group_id, invitation.email, invitation.role,
            invitation.account_role, invitation.status, invitation.invited_by_id,
            invitation.token_hash, invitation.accepted_by_id)


def rows(email):
    """Every invitation row for the address: (school, group, school role, status)."""
    return [(i.account_id, i.group_id, i.account_role, i.status)
            for i in db.session.scalars(select(Invitation).where(Invitation.email == email)
                                        .order_by(Invitation.id))]


def school_roles(user):
    """{school id: (role, status)} for everything the person belongs to."""
    return {m.account_id: (m.role, m.status) for m in db.session.scalars(
        select(AccountMembership).where(AccountMembership.user_id == user.id))}


def audit_log(school):
    return [(e.action, e.actor_id, e.group_name, e.subject_user_id, e.before, e.after)
            for e in db.session.scalars(select(AuditEvent).where(
                AuditEvent.account_id == school.id, AuditEvent.action.like("invitation.%"))
                .order_by(AuditEvent.id))]


def user(email):
    return db.session.scalar(select(User).where(User.email == email))


# ---- inviting -----------------------------------------------------------------------------------

def test_two_schools_inviting_the_same_address_each_keep_their_own_invitation(w):
    hill_pia = invitations.invite_to_school(w.hal, w.hill.id, "pia@new.test", "admin")
    river_pia = invitations.invite_to_school(w.ada, w.river.id, " Pia@New.test ", "staff")
    db.session.commit()
    assert river_pia.id != hill_pia.id
    assert snapshot(river_pia)[:7] == (w.river.id, None, "pia@new.test", "member", "staff",
                                      "pending", w.ada.id)
    assert snapshot(hill_pia)[:7] == (w.hill.id, None, "pia@new.test", "member", "admin",
                                     "pending", w.hal.id)
    assert invitations.pending_for_school(w.river.id) == [river_pia]
    assert invitations.pending_for_school(w.hill.id) == [hill_pia]

    # Each school inviting again refreshes its own invitation and leaves the other's alone.
    hill_before = snapshot(hill_pia)
    river_link = link(river_pia)
    again = invitations.invite_to_school(w.ada, w.river.id, "pia@new.test", "admin")
    db.session.commit()
    assert again is river_pia and river_pia.account_role == "admin"
    assert snapshot(hill_pia) == hill_before
    river_before = snapshot(river_pia)
    hill_again = invitations.invite_to_school(w.hal, w.hill.id, "PIA@new.test", "member")
    db.session.commit()
    assert hill_again is hill_pia and hill_pia.account_role == "member"
    assert snapshot(river_pia) == river_before
    assert rows("pia@new.test") == [(w.hill.id, None, "member", "pending"),
                                    (w.river.id, None, "admin", "pending")]

    with pytest.raises(InvitationUnusable) as info:
        invitations.find(river_link)
    assert info.value.reason == "forged"  # the first link died with the refresh
    assert invitations.find(link(river_pia)) is river_pia
    assert audit_log(w.river) == [
        ("invitation.send", w.ada.id, "", None, None,
         {"email": "pia@new.test", "school role": "staff"}),
        ("invitation.resend", w.ada.id, "", None, None,
         {"email": "pia@new.test", "school role": "admin"})]
    assert audit_log(w.hill) == [
        ("invitation.send", w.hal.id, "", None, None,
         {"email": "pia@new.test", "school role": "admin"}),
        ("invitation.resend", w.hal.id, "", None, None,
         {"email": "pia@new.test", "school role": "member"})]


def test_the_people_list_shows_this_school_s_pending_invitations_newest_first(w):
    older = invitations.invite_to_school(w.ada, w.river.id, "older@new.test", "member")
    older.sent_at = older.sent_at.replace(year=older.sent_at.year - 1)
    newer = invitations.invite_to_school(w.ada, w.river.id, "newer@new.test", "staff")
    withdrawn = invitations.invite_to_school(w.ada, w.river.id, "gone@new.test", "staff")
    invitations.revoke(w.ada, w.river.id, withdrawn.id)
    invitations.invite_to_school(w.hal, w.hill.id, "newer@new.test", "staff")
    db.session.commit()
    assert invitations.pending_for_school(w.river.id) == [newer, older]
    assert invitations.pending_for_school(make_account().id) == []


def test_an_address_with_a_group_invitation_and_a_school_invitation_has_two(w):
    group_kim = invitations.invite(w.ada, w.river.id, w.coaching, "kim@new.test", "mentor")
    school_kim = invitations.invite_to_school(w.ada, w.river.id, "kim@new.test", "staff")
    db.session.commit()
    assert school_kim.id != group_kim.id
    group_before = snapshot(group_kim)
    again = invitations.invite_to_school(w.ada, w.river.id, "kim@new.test", "admin")
    db.session.commit()
    assert again is school_kim and snapshot(group_kim) == group_before
    assert rows("kim@new.test") == [(w.river.id, w.coaching.id, None, "pending"),
                                    (w.river.id, None, "admin", "pending")]
    assert invitations.pending_for_school(w.river.id) == [school_kim]
    assert invitations.pending_for_group(w.coaching.id) == [group_kim]
    assert invitations.role_label(school_kim) == "Admin"
    assert invitations.role_label(group_kim) == "Mentor"


def test_a_group_invitation_whose_group_is_gone_is_not_taken_for_a_school_invitation(w):
    """The group row went (its link reads as withdrawn); inviting the address into the school
    makes a school invitation of its own, and the People list does not show the stray one."""
    stray = invitations.invite(w.ada, w.river.id, w.coaching, "kim@new.test", "member")
    stray.group_id = None
    db.session.commit()
    stray_before = snapshot(stray)
    school_kim = invitations.invite_to_school(w.ada, w.river.id, "kim@new.test", "staff")
    db.session.commit()
    assert school_kim.id != stray.id and snapshot(stray) == stray_before
    assert invitations.pending_for_school(w.river.id) == [school_kim]
    assert [a[0] for a in audit_log(w.river)] == ["invitation.send", "invitation.send"]


def test_inviting_again_after_a_withdrawal_makes_a_new_invitation(w):
    first = invitations.invite_to_school(w.ada, w.river.id, "pia@new.test", "staff")
    db.session.commit()
    old_link = link(first)
    withdrawn = invitations.revoke(w.ada, w.river.id, first.id)
    db.session.commit()
    assert withdrawn is first and first.status == "revoked"
    assert invitations.pending_for_school(w.river.id) == []
    with pytest.raises(InvitationUnusable) as info:
        invitations.find(old_link)
    assert info.value.reason == "revoked"

    second = invitations.invite_to_school(w.ada, w.river.id, "pia@new.test", "member")
    db.session.commit()
    assert second.id != first.id
    assert rows("pia@new.test") == [(w.river.id, None, "staff", "revoked"),
                                    (w.river.id, None, "member", "pending")]
    assert invitations.pending_for_school(w.river.id) == [second]
    log = audit_log(w.river)
    assert [(a[0], a[1], a[2]) for a in log] == [
        ("invitation.send", w.ada.id, ""), ("invitation.revoke", w.ada.id, ""),
        ("invitation.send", w.ada.id, "")]
    assert log[1][4] == {"email": "pia@new.test", "school role": "staff"}  # what was withdrawn
    with pytest.raises(ServiceError,
                       match="^The invitation to pia@new.test was already revoked.$"):
        invitations.resend(w.ada, w.river.id, first.id)


def test_an_accepted_invitation_is_left_alone_when_another_school_invites(w):
    river_pia = invitations.invite_to_school(w.ada, w.river.id, "pia@new.test", "staff")
    db.session.commit()
    pia, _ = invitations.accept_with_new_account(link(river_pia), "Pia Person", "long-enough-1")
    db.session.commit()
    accepted = snapshot(river_pia)
    hill_pia = invitations.invite_to_school(w.hal, w.hill.id, "pia@new.test", "member")
    db.session.commit()
    assert hill_pia.id != river_pia.id and snapshot(river_pia) == accepted
    assert rows("pia@new.test") == [(w.river.id, None, "staff", "accepted"),
                                    (w.hill.id, None, "member", "pending")]
    assert school_roles(pia) == {w.river.id: ("staff", "active")}


def test_an_admin_s_school_invitation_is_emailed_each_time_it_is_sent(w):
    pia = invitations.invite_to_school(w.ada, w.river.id, "pia@new.test", "staff")
    db.session.commit()
    first = pia.nonce
    invitations.invite_to_school(w.ada, w.river.id, "pia@new.test", "admin")  # again: new link
    db.session.commit()
    assert db.session.execute(select(OutboxJob.name, OutboxJob.payload)
                              .order_by(OutboxJob.id)).all() == [
        ("send_invitation", {"invitation_id": pia.id, "nonce": first}),
        ("send_invitation", {"invitation_id": pia.id, "nonce": pia.nonce})]
    assert pia.nonce != first


def test_the_operator_s_invitation_has_no_inviter_and_sends_nothing(w):
    invitation = invitations.invite_to_school(None, w.hill.id, "sol@known.test", "admin",
                                              send=False)
    db.session.commit()
    assert invitation.invited_by_id is None and invitation.account_role == "admin"
    assert db.session.scalars(select(OutboxJob.name)).all() == []
    assert audit_log(w.hill) == [("invitation.send", None, "", None, None,
                                  {"email": "sol@known.test", "school role": "admin"})]


# ---- resend and withdraw ------------------------------------------------------------------------

def test_resending_a_school_invitation_gives_a_new_link_in_the_same_role(w):
    pia = invitations.invite_to_school(w.ada, w.river.id, "pia@new.test", "staff")
    gus = make_member(w.river, "admin", full_name="Gus Second-admin")
    db.session.commit()
    old_link = link(pia)
    resent = invitations.resend(gus, w.river.id, pia.id)
    db.session.commit()
    assert resent is pia
    assert (pia.account_role, pia.status, pia.invited_by_id) == ("staff", "pending", gus.id)
    assert rows("pia@new.test") == [(w.river.id, None, "staff", "pending")]
    with pytest.raises(InvitationUnusable):
        invitations.find(old_link)
    assert invitations.find(link(pia)) is pia
    assert audit_log(w.river)[-1] == ("invitation.resend", gus.id, "", None, None,
                                      {"email": "pia@new.test", "school role": "staff"})


def test_only_this_school_s_admins_resend_or_withdraw_its_invitation(w):
    pia = invitations.invite_to_school(w.ada, w.river.id, "pia@new.test", "staff")
    tess = make_member(w.river, "staff", full_name="Tess Teacher")
    db.session.commit()
    before = snapshot(pia)
    for actor in (tess, w.hal):
        with pytest.raises(PermissionDenied):
            invitations.resend(actor, w.river.id, pia.id)
        with pytest.raises(PermissionDenied):
            invitations.revoke(actor, w.river.id, pia.id)
    with pytest.raises(NotFound):
        invitations.revoke(w.hal, w.hill.id, pia.id)  # not Hillside's invitation
    db.session.rollback()
    assert snapshot(pia) == before


# ---- accepting ----------------------------------------------------------------------------------

@pytest.mark.parametrize("role, label", [("admin", "Admin"), ("staff", "Staff"),
                                         ("member", "Member")])
def test_an_existing_person_accepting_joins_the_school_in_the_invited_role(w, role, label):
    invitation = invitations.invite_to_school(w.ada, w.river.id, "SOL@known.test", role)
    db.session.commit()
    assert invitations.role_label(invitation) == label
    assert invitations.has_personal_account(invitation) is True
    accepted = invitations.accept(w.sol, link(invitation))
    db.session.commit()
    assert accepted is invitation
    assert (invitation.status, invitation.accepted_by_id) == ("accepted", w.sol.id)
    assert invitation.accepted_at is not None
    assert school_roles(w.sol) == {w.river.id: (role, "active"), w.hill.id: ("member", "active")}
    assert db.session.scalars(select(GroupMembership.id).where(
        GroupMembership.user_id == w.sol.id)).all() == []
    assert audit_log(w.river)[-1] == ("invitation.accept", w.sol.id, "", w.sol.id, None,
                                      {"school role": role})
    with pytest.raises(InvitationUnusable) as info:
        invitations.find(link(invitation))
    assert info.value.reason == "used"


def test_accepting_the_school_invitation_leaves_the_group_invitation_to_accept(w):
    kim_group = invitations.invite(w.ada, w.river.id, w.coaching, "kim@new.test", "mentor")
    kim_school = invitations.invite_to_school(w.ada, w.river.id, "kim@new.test", "staff")
    db.session.commit()
    kim, accepted = invitations.accept_with_new_account(link(kim_school), "Kim Kay",
                                                        "long-enough-1")
    db.session.commit()
    assert accepted is kim_school and kim.email == "kim@new.test"
    assert school_roles(kim) == {w.river.id: ("staff", "active")}
    assert rows("kim@new.test") == [(w.river.id, w.coaching.id, None, "pending"),
                                    (w.river.id, None, "staff", "accepted")]
    assert invitations.accept(kim, link(kim_group)) is kim_group
    db.session.commit()
    assert school_roles(kim) == {w.river.id: ("staff", "active")}  # still Staff
    assert db.session.scalars(select(GroupMembership.role).where(
        GroupMembership.user_id == kim.id)).all() == ["mentor"]


def test_a_new_person_accepting_gets_an_account_and_the_invited_role(w):
    pia = invitations.invite_to_school(w.ada, w.river.id, "pia@new.test", "admin")
    db.session.commit()
    assert invitations.has_personal_account(pia) is False
    person, accepted = invitations.accept_with_new_account(link(pia), "  Pia   Person ",
                                                           "long-enough-1")
    db.session.commit()
    assert accepted is pia and person is user("pia@new.test")
    assert person.full_name == "Pia Person" and person.check_password("long-enough-1")
    assert school_roles(person) == {w.river.id: ("admin", "active")}
    assert (pia.status, pia.accepted_by_id) == ("accepted", person.id)


@pytest.mark.parametrize("name, password, errors", [
    ("  ", "short", {"full_name": "Enter a name.", "password": SHORT_PASSWORD}),
    ("Pia Person", "short", {"password": SHORT_PASSWORD}),
    ("", "long-enough-1", {"full_name": "Enter a name."}),
])
def test_a_new_account_form_reports_every_error_at_once_and_makes_nothing(w, name, password,
                                                                          errors):
    pia = invitations.invite_to_school(w.ada, w.river.id, "pia@new.test", "staff")
    db.session.commit()
    with pytest.raises(FormErrors) as info:
        invitations.accept_with_new_account(link(pia), name, password)
    assert info.value.errors == errors
    db.session.rollback()
    assert user("pia@new.test") is None
    assert rows("pia@new.test") == [(w.river.id, None, "staff", "pending")]
    assert db.session.scalars(select(AccountMembership.user_id).where(
        AccountMembership.account_id == w.river.id)).all() == [w.ada.id]
    assert [a[0] for a in audit_log(w.river)] == ["invitation.send"]


def test_a_withdrawn_school_invitation_can_not_be_accepted(w):
    pia = invitations.invite_to_school(w.ada, w.river.id, "sol@known.test", "staff")
    invitations.revoke(w.ada, w.river.id, pia.id)
    db.session.commit()
    with pytest.raises(InvitationUnusable, match="^This invitation was withdrawn.$"):
        invitations.accept(w.sol, link(pia))
    db.session.rollback()
    assert school_roles(w.sol) == {w.hill.id: ("member", "active")}
