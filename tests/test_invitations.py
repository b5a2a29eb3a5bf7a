"""Invitations: sending, the link, accepting, and everything that must be refused."""

import re
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from mentorgroups.extensions import db
from mentorgroups.models import (
    AccountMembership,
    GroupMembership,
    Invitation,
    SentEmail,
    User,
    utcnow,
)
from mentorgroups.services import digest_subscriptions, groups, invitations
from mentorgroups.services import group_members as gm
from mentorgroups.services.errors import ServiceError
from mentorgroups.services.invitations import InvitationUnusable
from tests.conftest import BACKEND
from tests.factories import make_account, make_member, make_user

LINK = re.compile(r"http://127\.0\.0\.1:5000/invitations/([A-Za-z0-9_-]+)")


def count(model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


OUTBOX: list = []


@pytest.fixture(autouse=True)
def _outbox(mail_outbox):
    global OUTBOX
    OUTBOX = mail_outbox


@pytest.fixture
def s(app):
    account = make_account(name="Hill School", plan="complete")
    admin = make_member(account, "admin", full_name="Ada Admin")
    group = groups.create_group(admin, account.id, "Coaching")
    db.session.commit()
    return type("S", (), dict(account=account, admin=admin, group=group))


def invite(s, email="new@person.test", role="mentor"):
    report = gm.add_members(s.admin, s.account.id, s.group.id, role, addresses=email)
    db.session.commit()
    return report


def last_link(email="new@person.test") -> str:
    """The token in the last email as it went out (the stored copy hides it)."""
    sent = [m for m in OUTBOX if m.recipients == [email]][-1]
    return LINK.search(sent.body).group(1)


def test_inviting_sends_one_email_naming_school_group_role_and_inviter(s):
    report = invite(s)
    assert report.invited == ["new@person.test"]
    email = db.session.scalar(select(SentEmail))
    assert email.subject == "Ada Admin invited you to Coaching at Hill School"
    assert "as Mentor" in email.body and not LINK.search(email.body)
    assert "[link hidden]" in email.body  # admins reading Sent emails never see a live link
    stored = db.session.scalar(select(Invitation))
    token = last_link()
    assert token not in (stored.token_hash, stored.nonce)  # only a hash is kept
    assert stored.token_hash == invitations.hash_token(token)


def test_inviting_again_refreshes_the_same_invitation(s):
    invite(s)
    first = last_link()
    invite(s, role="member")
    second = last_link()
    assert first != second and count(Invitation) == 1
    assert db.session.scalar(select(Invitation.role)) == "member"
    with pytest.raises(InvitationUnusable) as info:
        invitations.find(first)
    assert info.value.reason == "forged"
    assert invitations.find(second).email == "new@person.test"
    assert count(SentEmail) == 2


def test_new_person_creates_account_and_joins_in_one_go(s):
    invite(s, email="New@Person.test")
    user, invitation = invitations.accept_with_new_account(last_link(), "Nia New",
                                                           "long-enough-1")
    db.session.commit()
    assert user.email == "new@person.test" and user.check_password("long-enough-1")
    assert db.session.scalar(select(AccountMembership.role).where(
        AccountMembership.user_id == user.id)) == "member"
    assert db.session.scalar(select(GroupMembership.role).where(
        GroupMembership.user_id == user.id)) == "mentor"
    assert invitation.status == "accepted"
    # Who accepted, for the invitations list; and a new Mentor gets the group's digest.
    assert invitation.accepted_by_id == user.id
    assert digest_subscriptions.is_subscribed(user.id, s.group.id) is True


def test_existing_person_from_another_school_signs_in_and_accepts(s):
    person = make_member(make_account(), "member", email="known@else.test")
    db.session.commit()
    invite(s, email="KNOWN@else.test", role="member")
    token = last_link("known@else.test")
    assert invitations.has_personal_account(invitations.find(token))
    with pytest.raises(ServiceError, match="sign in to accept"):
        invitations.accept_with_new_account(token, "Someone", "long-enough-1")
    db.session.rollback()
    invitations.accept(person, token)
    db.session.commit()
    assert count(GroupMembership, GroupMembership.user_id == person.id) == 1


def test_joining_the_school_meanwhile_still_works(s):
    invite(s, email="late@person.test")
    token = last_link("late@person.test")
    late = make_member(s.account, "member", email="late@person.test")
    db.session.commit()
    invitations.accept(late, token)
    db.session.commit()
    assert count(AccountMembership, AccountMembership.user_id == late.id) == 1
    assert count(GroupMembership, GroupMembership.user_id == late.id) == 1


@pytest.mark.parametrize("how", ["expired", "revoked", "used", "forged", "group deleted"])
def test_unusable_links_change_nothing(s, how):
    invite(s)
    token = last_link()
    person = make_user(email="new@person.test")
    db.session.commit()
    if how == "expired":
        db.session.execute(update(Invitation).values(expires_at=utcnow() - timedelta(seconds=1)))
    elif how == "revoked":
        invitations.revoke(s.admin, s.account.id, db.session.scalar(select(Invitation.id)))
    elif how == "used":
        invitations.accept(person, token)
    elif how == "forged":
        token = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    else:
        groups.delete_group(s.admin, s.account.id, s.group.id)
    db.session.commit()
    memberships = count(AccountMembership)
    with pytest.raises(InvitationUnusable) as info:
        invitations.accept(person, token)
    db.session.rollback()
    assert info.value.reason == {"group deleted": "revoked"}.get(how, how)
    assert count(AccountMembership) == memberships


def test_another_address_cannot_accept(s):
    invite(s)
    other = make_member(s.account, "member", email="other@person.test")
    db.session.commit()
    with pytest.raises(ServiceError, match="This invitation is for new@person.test"):
        invitations.accept(other, last_link())
    db.session.rollback()
    assert db.session.scalar(select(Invitation.status)) == "pending"


def test_revoked_school_members_are_not_invited_back(s):
    gone = make_member(s.account, "member", status="revoked", email="gone@person.test")
    db.session.commit()
    report = invite(s, email=gone.email)
    assert report.revoked == ["gone@person.test"] and report.invited == []
    assert count(Invitation) == 0


def test_rate_limits(make_app):
    app = make_app(INVITES_PER_INVITER="2/hour", INVITES_PER_ACCOUNT="3/hour",
                   RATELIMIT_STORAGE_URI="memory://")
    with app.app_context():
        account = make_account(plan="complete")
        first, second = make_member(account, "admin"), make_member(account, "admin")
        group = groups.create_group(first, account.id, "G")
        db.session.commit()
        report = gm.add_members(first, account.id, group.id, "member",
                                addresses="a@x.test b@x.test c@x.test")
        assert report.invited == ["a@x.test", "b@x.test"]
        assert "you can send 2 per hour" in report.refused[0]
        report = gm.add_members(second, account.id, group.id, "member",
                                addresses="d@x.test e@x.test")
        assert report.invited == ["d@x.test"]
        assert "this school can send 3 per hour" in report.refused[0]


@pytest.mark.skipif(BACKEND != "postgresql", reason="concurrent accepts: a PostgreSQL matter")
def test_twenty_concurrent_accepts_make_one_membership(make_app):
    app = make_app(SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 22, "max_overflow": 0})
    with app.app_context():
        account = make_account(plan="complete")
        admin = make_member(account, "admin")
        group = groups.create_group(admin, account.id, "G")
        person = make_user(email="racer@person.test")
        db.session.commit()
        gm.add_members(admin, account.id, group.id, "member", addresses=person.email)
        db.session.commit()
        token, person_id = last_link(person.email), person.id
    barrier = threading.Barrier(20)
    outcomes = []

    def click():
        with app.app_context():
            user = db.session.get(User, person_id)
            barrier.wait()
            try:
                invitations.accept(user, token)
                db.session.commit()
                outcomes.append("accepted")
            except ServiceError as exc:
                db.session.rollback()
                outcomes.append(getattr(exc, "reason", exc.message))

    threads = [threading.Thread(target=click) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    with app.app_context():
        assert count(GroupMembership, GroupMembership.user_id == person_id) == 1
        assert count(AccountMembership, AccountMembership.user_id == person_id) == 1
    assert outcomes.count("accepted") == 1 and outcomes.count("used") == 19


def test_link_pages(client, s):
    invite(s)
    token = last_link()
    page = client.get(f"/invitations/{token}")
    assert page.status_code == 200 and page.headers["Referrer-Policy"] == "no-referrer"
    assert "Create your personal account" in page.get_data(as_text=True)
    assert client.get("/invitations/not-a-real-token").status_code == 404
    response = client.post_form(f"/invitations/{token}/join",
                                {"full_name": "Nia New", "password": "short"},
                                token_page=f"/invitations/{token}")
    assert response.status_code == 422
    assert "at least 8 characters" in response.get_data(as_text=True)
    response = client.post_form(f"/invitations/{token}/join",
                                {"full_name": "Nia New", "password": "long-enough-1"},
                                token_page=f"/invitations/{token}")
    assert response.headers["Location"] == "/people/groups"  # mentors land on their groups
    assert client.get("/paths").status_code == 200  # signed in, in the school
    again = client.get(f"/invitations/{token}")
    assert again.status_code == 410 and "already been used" in again.get_data(as_text=True)


def test_signed_in_as_someone_else(client, s):
    invite(s)
    token = last_link()
    client.login(s.admin.email)
    page = client.get(f"/invitations/{token}")
    assert page.status_code == 403
    assert "this invitation is for" in page.get_data(as_text=True)
    response = client.post_form(f"/invitations/{token}/accept", token_page=f"/invitations/{token}")
    assert response.status_code == 403
    assert db.session.scalar(select(Invitation.status)) == "pending"
