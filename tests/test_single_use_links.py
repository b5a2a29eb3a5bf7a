"""A single-use link stays single-use when the same link is followed several times at once
(a double click, a mail scanner, a person on two devices): six requests started together
through the app's own routes, each with its own session and database connection, make
exactly one password change, one membership and one audit event; the others get the normal
"already used" page. The unsubscribe links, which may be used again, answer every one of
six one-click posts at once and leave one row.

Before the fix, the route's first (unlocked) read of the row stayed in the session and the
locked read returned that stale copy: 6 of 6 resets went through at once, and accepts made
a second audit event or failed on a unique violation. Both backends show it: SQLite has one
writer, but the reads before the write run side by side there too."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from mentorgroups.extensions import db
from mentorgroups.models import (
    AccountMembership,
    AuditEvent,
    DigestSubscription,
    EmailChoice,
    GroupMembership,
    Invitation,
    PasswordLink,
    User,
)
from mentorgroups.services import (
    digest_subscriptions,
    email_choices,
    groups,
    invitations,
    passwords,
)
from tests.conftest import Client
from tests.factories import make_account, make_member, make_user

N = 6


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def together(app, prepare, fire) -> list:
    """Run `prepare(client)` in N threads (each its own test client: its own cookie, and
    each request its own app context, session and connection), wait for all of them, then
    `fire(client, n)` at the same moment; returns the N responses."""
    barrier = threading.Barrier(N, timeout=60)
    responses: list = [None] * N
    errors: list = []

    def run(n: int):
        try:
            with app.test_client() as flask_client:
                client = Client(flask_client)
                state = prepare(client, n)
                barrier.wait()
                responses[n] = fire(client, n, state)
        except BaseException as exc:  # reported below, with the thread's number
            errors.append((n, exc))
            barrier.abort()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(N)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors, errors
    assert all(response is not None for response in responses)
    return responses


@pytest.fixture
def racing_app(make_app):
    return make_app(SQLALCHEMY_ENGINE_OPTIONS={"pool_size": N + 4, "max_overflow": 0})


@pytest.mark.parametrize("purpose", ["reset", "setup"])
def test_six_resets_with_one_link_change_the_password_once(racing_app, purpose):
    with racing_app.app_context():
        person = make_user(email="lia@race.test")
        make_member(make_account(), "member", user=person)
        link, token = passwords.new_link(person, purpose)
        db.session.commit()
        person_id, link_id, version = person.id, link.id, person.session_version

    def prepare(client, n):
        return client.csrf(f"/password/reset/{token}")

    def fire(client, n, csrf):
        return client.post(f"/password/reset/{token}", data={
            "csrf_token": csrf, "password": f"new-pass-{n}", "confirm": f"new-pass-{n}"})

    responses = together(racing_app, prepare, fire)
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [302] + [410] * (N - 1), statuses
    for response in responses:
        if response.status_code == 410:
            assert "has been used already" in response.get_data(as_text=True)
    winner = next(n for n, r in enumerate(responses) if r.status_code == 302)
    with racing_app.app_context():
        person = db.session.get(User, person_id)
        assert person.check_password(f"new-pass-{winner}")
        assert person.session_version == version + 1  # one change ended the sessions once
        assert db.session.get(PasswordLink, link_id).used_at is not None


def _group_invitation(email: str):
    account = make_account(plan="complete")
    admin = make_member(account, "admin")
    group = groups.create_group(admin, account.id, "Coaching")
    invitation = invitations.invite(admin, account.id, group, email, "mentor")
    db.session.commit()
    return account, invitation, invitations.make_token(invitation.nonce)


def test_six_accepts_of_one_invitation_make_one_membership_and_one_audit_event(racing_app):
    with racing_app.app_context():
        person = make_user(email="ben@race.test")
        account, invitation, token = _group_invitation(person.email)
        person_id, account_id, invitation_id = person.id, account.id, invitation.id

    signing_in = threading.Lock()

    def prepare(client, n):
        # One after the other: six sign-ins for one address at the same moment all count as
        # attempts until they succeed, and the sixth would wait (test_sign_in_throttle).
        with signing_in:
            assert client.login("ben@race.test").status_code == 302
        return client.csrf(f"/invitations/{token}")

    def fire(client, n, csrf):
        return client.post(f"/invitations/{token}/accept", data={"csrf_token": csrf})

    responses = together(racing_app, prepare, fire)
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [302] + [410] * (N - 1), statuses
    for response in responses:
        if response.status_code == 410:
            assert "already been used" in response.get_data(as_text=True)
    with racing_app.app_context():
        assert count(GroupMembership, GroupMembership.user_id == person_id) == 1
        assert count(AccountMembership, AccountMembership.user_id == person_id) == 1
        assert count(AuditEvent, AuditEvent.account_id == account_id,
                     AuditEvent.action == "invitation.accept") == 1
        assert db.session.get(Invitation, invitation_id).accepted_by_id == person_id


def test_six_joins_with_one_invitation_make_one_person(racing_app):
    """Someone new submits the join form six times at once: one personal account, one
    membership, one audit event; the others are told the invitation was used."""
    with racing_app.app_context():
        account, invitation, token = _group_invitation("nia@race.test")
        account_id = account.id

    def prepare(client, n):
        return client.csrf(f"/invitations/{token}")

    def fire(client, n, csrf):
        return client.post(f"/invitations/{token}/join", data={
            "csrf_token": csrf, "full_name": f"Nia {n}", "password": f"nia-pass-{n}"})

    responses = together(racing_app, prepare, fire)
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [302] + [410] * (N - 1), statuses
    with racing_app.app_context():
        person = db.session.scalar(select(User).where(User.email == "nia@race.test"))
        assert count(User, User.email == "nia@race.test") == 1
        assert count(GroupMembership, GroupMembership.user_id == person.id) == 1
        assert count(AuditEvent, AuditEvent.account_id == account_id,
                     AuditEvent.action == "invitation.accept") == 1


@pytest.mark.parametrize("which", ["email choice", "digest"])
def test_six_one_click_unsubscribes_at_once_all_answer_and_leave_one_row(racing_app, which):
    """A mail client's one-click post and the person's own click (and a scanner) at the same
    moment, with no row for the switch yet: each is answered, one row says off."""
    with racing_app.app_context():
        account = make_account(plan="complete")
        admin = make_member(account, "admin")
        group = groups.create_group(admin, account.id, "Coaching")
        db.session.commit()
        if which == "email choice":
            token = email_choices.unsubscribe_token(admin.id, account.id, "submissions")
            path = f"/email/unsubscribe/{token}"
            model, where = EmailChoice, (EmailChoice.user_id == admin.id,)
        else:
            token = digest_subscriptions.unsubscribe_token(admin.id, [group.id])
            path = f"/digest/unsubscribe/{token}"
            model, where = DigestSubscription, (DigestSubscription.user_id == admin.id,)
        assert count(model, *where) == 0

    def prepare(client, n):
        return None

    def fire(client, n, state):
        return client.post(path, data={"List-Unsubscribe": "One-Click"})

    responses = together(racing_app, prepare, fire)
    assert [r.status_code for r in responses] == [200] * N
    with racing_app.app_context():
        assert count(model, *where) == 1
        row = db.session.scalar(select(model).where(*where))
        assert (row.cadence == "off") if which == "email choice" else (not row.subscribed)
