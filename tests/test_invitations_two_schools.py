"""Invitation bookkeeping with two pending invitations in two groups of two schools: each
change touches its own invitation only, is done only by the group's managers, and is in the
audit log."""

import re

import pytest
from sqlalchemy import select

from mentorgroups.extensions import db
from mentorgroups.models import (
    AccountMembership,
    AuditEvent,
    GroupMembership,
    Invitation,
    SentEmail,
)
from mentorgroups.services import accounts, groups, invitations
from mentorgroups.services import group_members as gm
from mentorgroups.services.errors import NotFound, ServiceError
from tests.two_schools import membership, two_schools

LINK = re.compile(r"/invitations/([A-Za-z0-9_-]+)")


OUTBOX: list = []


@pytest.fixture(autouse=True)
def _outbox(mail_outbox):
    global OUTBOX
    OUTBOX = mail_outbox


@pytest.fixture
def w(app):
    """The two schools, and Kim invited to Riverside's "Coaching" as Member and to Hillside's
    "Hill mentoring" as Mentor (same address, two pending invitations)."""
    w = two_schools()
    invite(w.ada, w.river, w.coaching, "kim@new.test", "member")
    invite(w.hal, w.hill, w.hill_group, "kim@new.test", "mentor")
    return w


def invite(actor, school, group, email, role):
    report = gm.add_members(actor, school.id, group.id, role, addresses=email)
    db.session.commit()
    assert report.invited == [email], report
    return pending(group, email)


def pending(group, email) -> Invitation:
    return db.session.scalar(select(Invitation).where(
        Invitation.group_id == group.id, Invitation.email == email,
        Invitation.status == "pending"))


def link(invitation) -> str:
    """The token in this send's email as it went out (the stored copy hides it)."""
    sent = db.session.scalar(select(SentEmail).where(
        SentEmail.idempotency_key == f"invitation:{invitation.id}:{invitation.nonce}"))
    assert not LINK.search(sent.body) and "[link hidden]" in sent.body
    [message] = [m for m in OUTBOX if m.msgId == sent.message_id]
    assert message.recipients == [invitation.email]
    return LINK.search(message.body).group(1)


def snapshot(invitation):
    db.session.refresh(invitation)
    return (invitation.group_id, invitation.email, invitation.role, invitation.status,
            invitation.invited_by_id, invitation.token_hash)


def audit_log(school):
    return [(e.action, e.actor_id, e.group_name, e.subject_user_id, e.before, e.after)
            for e in db.session.scalars(select(AuditEvent).where(
                AuditEvent.account_id == school.id, AuditEvent.action.like("invitation.%"))
                .order_by(AuditEvent.id))]


def test_a_second_address_in_the_same_group_gets_its_own_invitation(w):
    kim = pending(w.coaching, "kim@new.test")
    before = snapshot(kim)
    lee = invite(w.ada, w.river, w.coaching, "lee@new.test", "mentor")
    assert lee.id != kim.id and snapshot(kim) == before
    assert invitations.find(link(kim)).id == kim.id
    assert [i.email for i in invitations.pending_for_group(w.coaching.id)] == [
        "lee@new.test", "kim@new.test"]


def test_inviting_again_refreshes_the_invitation_of_that_group_only(w):
    hill_kim = pending(w.hill_group, "kim@new.test")
    hill_before, hill_link = snapshot(hill_kim), link(hill_kim)
    river_kim = pending(w.coaching, "kim@new.test")
    old_link = link(river_kim)
    again = invite(w.gus, w.river, w.coaching, "kim@new.test", "mentor")
    assert again.id == river_kim.id and (again.role, again.invited_by_id) == ("mentor", w.gus.id)
    assert link(again) != old_link
    assert snapshot(hill_kim) == hill_before  # Hillside's invitation is untouched
    assert invitations.find(hill_link).id == hill_kim.id
    assert [(a[0], a[1], a[2], a[5]) for a in audit_log(w.river)] == [
        ("invitation.send", w.ada.id, "Coaching", {"email": "kim@new.test", "role": "member"}),
        ("invitation.resend", w.gus.id, "Coaching",
         {"email": "kim@new.test", "role": "mentor"})]
    assert [(a[0], a[1], a[2]) for a in audit_log(w.hill)] == [
        ("invitation.send", w.hal.id, "Hill mentoring")]


def test_deleting_a_group_withdraws_its_invitations_only(w):
    hill_kim = pending(w.hill_group, "kim@new.test")
    chess_lee = invite(w.ada, w.river, w.chess, "lee@new.test", "member")
    result = groups.delete_group(w.ada, w.river.id, w.coaching.id)
    db.session.commit()
    assert result["invitations_ended"] == 1
    assert snapshot(hill_kim)[3] == "pending" and snapshot(chess_lee)[3] == "pending"
    assert invitations.find(link(hill_kim)).id == hill_kim.id


def test_revoke_and_resend_are_for_the_group_s_managers_and_are_audited(w):
    kim = pending(w.coaching, "kim@new.test")
    for outsider, school in [(w.una, w.river), (w.meg, w.river), (w.lia, w.river),
                             (w.hal, w.hill), (w.hal, w.river)]:
        for action in (invitations.revoke, invitations.resend):
            with pytest.raises(NotFound):
                action(outsider, school.id, kim.id)
            db.session.rollback()
    assert snapshot(kim)[3] == "pending"
    sent_before = db.session.scalar(select(SentEmail.id).order_by(SentEmail.id.desc()))
    invitations.resend(w.gus, w.river.id, kim.id)  # Group Admin of Coaching
    db.session.commit()
    assert db.session.scalar(select(SentEmail.id).order_by(SentEmail.id.desc())) > sent_before
    invitations.revoke(w.gus, w.river.id, kim.id)
    db.session.commit()
    assert snapshot(kim)[3] == "revoked"
    assert snapshot(pending(w.hill_group, "kim@new.test"))[3] == "pending"
    with pytest.raises(ServiceError, match="already revoked"):
        invitations.revoke(w.ada, w.river.id, kim.id)
    db.session.rollback()
    assert audit_log(w.river)[-1] == ("invitation.revoke", w.gus.id, "Coaching", None,
                                      {"email": "kim@new.test", "role": "member"}, None)


def test_accepting_in_one_school_then_the_other_makes_both_memberships(w):
    river_link = link(pending(w.coaching, "kim@new.test"))
    hill_link = link(pending(w.hill_group, "kim@new.test"))
    kim, _ = invitations.accept_with_new_account(river_link, "Kim Kay", "long-enough-1")
    db.session.commit()
    invitations.accept(kim, hill_link)  # she now has a personal account: signs in, accepts
    db.session.commit()
    assert membership(kim, w.river).role == "member"
    assert membership(kim, w.hill).role == "member"
    assert sorted(db.session.execute(select(GroupMembership.group_id, GroupMembership.role)
                                     .where(GroupMembership.user_id == kim.id)).all()) == sorted(
        [(w.coaching.id, "member"), (w.hill_group.id, "mentor")])
    for school, group, role in [(w.river, "Coaching", "member"),
                                (w.hill, "Hill mentoring", "mentor")]:
        assert audit_log(school)[-1] == ("invitation.accept", kim.id, group, kim.id, None,
                                         {"role": role})


def test_a_person_revoked_after_joining_cannot_rejoin_through_an_old_link(w):
    coaching_lee = invite(w.ada, w.river, w.coaching, "lee@new.test", "member")
    chess_lee = invite(w.ada, w.river, w.chess, "lee@new.test", "mentor")
    lee, _ = invitations.accept_with_new_account(link(coaching_lee), "Lee Lane", "long-enough-1")
    db.session.commit()
    accounts.set_membership_status(w.ada, membership(lee, w.river), "revoked")
    db.session.commit()
    with pytest.raises(ServiceError, match="access to this school was revoked"):
        invitations.accept(lee, link(chess_lee))
    db.session.rollback()
    assert snapshot(chess_lee)[3] == "pending"
    assert db.session.scalar(select(GroupMembership.id).where(
        GroupMembership.group_id == w.chess.id, GroupMembership.user_id == lee.id)) is None
    assert db.session.scalar(select(AccountMembership.status).where(
        AccountMembership.user_id == lee.id)) == "revoked"


def test_an_invitation_no_longer_pending_is_never_revived(w):
    kim = invitations.invite(w.ada, w.river.id, w.coaching, "Kim@New.test", "mentor")
    assert kim is pending(w.coaching, "kim@new.test") and kim.role == "mentor"
    assert invitations.revoke(w.ada, w.river.id, kim.id) is kim
    db.session.commit()
    assert invitations.pending_for_group(w.coaching.id) == []
    again = invitations.invite(w.ada, w.river.id, w.coaching, "kim@new.test", "member")
    db.session.commit()
    assert again.id != kim.id and snapshot(kim)[3] == "revoked"
    assert [i.id for i in invitations.pending_for_group(w.coaching.id)] == [again.id]


def test_deleting_a_group_leaves_its_accepted_invitations_accepted(w):
    kim = pending(w.coaching, "kim@new.test")
    lee = invite(w.ada, w.river, w.coaching, "lee@new.test", "member")
    invitations.accept_with_new_account(link(lee), "Lee Lane", "long-enough-1")
    db.session.commit()
    result = groups.delete_group(w.ada, w.river.id, w.coaching.id)
    db.session.commit()
    assert result["invitations_ended"] == 1
    assert (snapshot(kim)[3], snapshot(lee)[3]) == ("revoked", "accepted")


@pytest.mark.parametrize("which", ["garbage", "missing", "other school", "group gone"])
def test_an_invitation_outside_the_school_is_not_found(w, which):
    hill_kim = pending(w.hill_group, "kim@new.test")
    river_kim = pending(w.coaching, "kim@new.test")
    if which == "group gone":  # a row from before group deletion ended its invitations
        river_kim.group_id = None
        db.session.commit()
    invitation_id = {"garbage": "12x", "missing": 10_000_000, "other school": hill_kim.id,
                     "group gone": river_kim.id}[which]
    for action in (invitations.revoke, invitations.resend):
        with pytest.raises(NotFound, match="^That invitation does not exist.$"):
            action(w.ada, w.river.id, invitation_id)
        db.session.rollback()
    assert snapshot(hill_kim)[3] == "pending"


@pytest.mark.parametrize("token", [None, "", "x" * 101])
def test_an_empty_or_overlong_link_is_refused_before_any_lookup(w, token):
    with pytest.raises(invitations.InvitationUnusable,
                       match="^This invitation link is not valid.$") as info:
        invitations.find(token)
    assert info.value.reason == "forged"


def test_a_pending_invitation_whose_group_is_gone_reads_as_withdrawn(w):
    kim = pending(w.coaching, "kim@new.test")
    token = link(kim)
    kim.group_id = None
    db.session.commit()
    with pytest.raises(invitations.InvitationUnusable) as info:
        invitations.find(token)
    assert info.value.reason == "revoked"


def test_the_link_page_names_the_role(w):
    assert invitations.role_label(pending(w.coaching, "kim@new.test")) == "Member"
    assert invitations.role_label(pending(w.hill_group, "kim@new.test")) == "Mentor"


def test_an_account_made_meanwhile_for_the_address_is_not_made_twice(w):
    """Two tabs: the person creates their account in one while the other is submitting."""
    from sqlalchemy import event

    from mentorgroups.models import User

    token = link(pending(w.coaching, "kim@new.test"))

    def other_tab_first(session, flush_context, instances):
        with db.engine.begin() as conn:
            conn.execute(User.__table__.insert().values(
                email="kim@new.test", full_name="Kim (other tab)", password_hash="x",
                active=True))

    event.listen(db.session, "before_flush", other_tab_first, once=True)
    with pytest.raises(ServiceError, match="already have a personal account: sign in"):
        invitations.accept_with_new_account(token, "Kim Kay", "long-enough-1")
    assert db.session.scalars(select(User.full_name).where(
        User.email == "kim@new.test")).all() == ["Kim (other tab)"]
    assert snapshot(pending(w.coaching, "kim@new.test"))[3] == "pending"
