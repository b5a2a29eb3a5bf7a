"""Personal accounts only their owners control: no school enrols or sets the password of a
person; joining takes an invitation; password set-up and reset by email; sessions that end."""

from __future__ import annotations

import re
import statistics
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from mentorgroups.extensions import db
from mentorgroups.models import (
    AccountMembership,
    Invitation,
    PasswordLink,
    SentEmail,
    User,
    utcnow,
)
from mentorgroups.services import group_members as gm
from mentorgroups.services import groups
from tests.factories import PASSWORD, make_account, make_member, make_user

RESET_LINK = re.compile(r"http://[0-9.:]+/password/reset/([A-Za-z0-9_-]+)")
INVITE_LINK = re.compile(r"http://[0-9.:]+/invitations/([A-Za-z0-9_-]+)")


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def membership(user_id: int, account_id: int) -> AccountMembership | None:
    db.session.expire_all()
    return db.session.scalar(select(AccountMembership).where(
        AccountMembership.user_id == user_id, AccountMembership.account_id == account_id))


def link_in(outbox, pattern, email: str) -> str:
    sent = [m for m in outbox if m.recipients == [email]]
    assert sent, f"no email to {email}"
    return pattern.search(sent[-1].body).group(1)


@pytest.fixture
def two_schools(app):
    a, b = make_account(name="School A"), make_account(name="School B")
    admin_a = make_member(a, "admin", email="head@a.example", full_name="Ann A")
    admin_b = make_member(b, "admin", email="head@b.example", full_name="Bea B")
    db.session.commit()
    return type("TwoSchools", (), dict(a=a, b=b, admin_a=admin_a, admin_b=admin_b))


@pytest.fixture
def make_client(app):
    from tests.conftest import Client

    def factory():
        """Another browser: its own cookie jar, its own person."""
        return Client(app.test_client())

    return factory


# ---------------------------------------------------------------- the takeover, closed


def test_one_schools_admin_cannot_take_over_another_schools_admin(two_schools, make_client,
                                                                  mail_outbox):
    """The reported takeover: A's admin adds B's future head with a password of A's choosing,
    then B's admin adds the same address as admin. Now nobody but the address's owner can
    set that password, and B's admin role goes to the owner only when they accept."""
    s = two_schools
    admin_a, admin_b = make_client(), make_client()
    admin_a.login(s.admin_a.email, account_id=s.a.id)
    admin_b.login(s.admin_b.email, account_id=s.b.id)

    admin_a.post_form("/admin/people/new/", {"email": "new-head@b.example", "role": "member",
                                             "full_name": "Planted", "password": "a-knows-it-1"})
    assert count(User, User.email == "new-head@b.example") == 0  # nothing planted
    # The real owner accepts A's invitation with their own password...
    owner = make_client()
    token = link_in(mail_outbox, INVITE_LINK, "new-head@b.example")
    owner.post_form(f"/invitations/{token}/join", {"full_name": "Nell Head",
                                                   "password": "owners-own-1"},
                    token_page=f"/invitations/{token}")
    nell = db.session.scalar(select(User).where(User.email == "new-head@b.example"))
    assert nell.check_password("owners-own-1")

    # ...then B's admin adds the same address as admin, with a password of their own.
    admin_b.post_form("/admin/people/new/", {"email": "new-head@b.example", "role": "admin",
                                             "password": "b-knows-it-1"})
    assert membership(nell.id, s.b.id) is None  # invited, not enrolled
    db.session.refresh(nell)
    assert nell.check_password("owners-own-1")  # B's password was never applied

    # A's admin tries every password they know: no way into B's back office.
    attacker = make_client()
    for guess in ("a-knows-it-1", "b-knows-it-1"):
        response = attacker.login("new-head@b.example", password=guess)
        assert "don&#39;t match" in response.get_data(as_text=True)
    assert attacker.get("/admin/people/").status_code == 302  # to sign-in

    # The owner accepts B's invitation: now, and only now, they are B's admin.
    owner_b = make_client()
    owner_b.login("new-head@b.example", password="owners-own-1")
    token_b = link_in(mail_outbox, INVITE_LINK, "new-head@b.example")
    response = owner_b.post_form(f"/invitations/{token_b}/accept", {},
                                 token_page=f"/invitations/{token_b}")
    assert response.status_code == 302
    assert membership(nell.id, s.b.id).role == "admin"


def test_operator_command_does_not_adopt_a_planted_account(two_schools, app, make_client):
    planted = make_member(two_schools.a, "member", email="head@riverside.example")
    db.session.commit()
    result = app.test_cli_runner().invoke(args=[
        "accounts", "create", "Riverside Academy", "--admin-email", "head@riverside.example",
        "--print-link"])
    assert result.exit_code == 0, result.output
    assert "already has a personal account, so they were invited" in result.output
    assert INVITE_LINK.search(result.output)
    riverside = db.session.scalar(select(AccountMembership.account_id).where(
        AccountMembership.user_id == planted.id, AccountMembership.role == "admin"))
    assert riverside is None  # whoever planted it has no way in
    client = make_client()
    client.login(planted.email)
    assert client.get("/admin/people/").status_code == 403


def test_operator_first_admin_sets_their_own_password_from_the_printed_link(app, make_client):
    result = app.test_cli_runner().invoke(args=[
        "accounts", "create", "Riverside Academy", "--admin-email", "head@riverside.example",
        "--print-link"])
    assert result.exit_code == 0, result.output
    assert "no password yet" in result.output
    token = RESET_LINK.search(result.output).group(1)
    assert count(SentEmail) == 0  # printed, not emailed
    client = make_client()
    page = client.get(f"/password/reset/{token}")
    assert page.status_code == 200 and "Set your password" in page.get_data(as_text=True)
    response = client.post_form(f"/password/reset/{token}", {
        "password": "riverside-1", "confirm": "riverside-1"}, token_page=f"/password/reset/{token}")
    assert response.status_code == 302 and response.headers["Location"] == "/admin/"
    assert client.get("/admin/people/").status_code == 200


def test_users_create_takes_no_password_and_emails_a_setup_link(app, mail_outbox):
    result = app.test_cli_runner().invoke(args=["users", "create", "--email", "op@x.example",
                                                "--name", "Op"])
    assert result.exit_code == 0, result.output
    assert "Emailed them a link" in result.output
    user = db.session.scalar(select(User).where(User.email == "op@x.example"))
    assert user.password_hash is None
    assert RESET_LINK.search(mail_outbox[-1].body)
    result = app.test_cli_runner().invoke(args=["users", "create", "--email", "op@x.example",
                                                "--name", "Op", "--password", "x"])
    assert result.exit_code != 0


def test_demo_seed_never_enrols_an_existing_person(app):
    make_user(email="admin@demo.test")
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code != 0
    assert "already has a personal account" in result.output
    assert count(AccountMembership) == 0


# ---------------------------------------------------------------- the admin learns nothing


def _add(client, email: str, role: str = "staff"):
    started = time.perf_counter()
    response = client.post_form("/admin/people/new/", {"email": email, "role": role},
                                token_page="/admin/people/new/")
    elapsed = time.perf_counter() - started
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    flash = re.search(r'class="alert[^"]*"[^>]*>(.*?)</div>', page, re.S)
    return response.status_code, " ".join(re.sub(r"<[^>]+>", " ", flash.group(1)).split()), \
        elapsed


def test_people_add_answers_the_same_with_or_without_a_personal_account(two_schools,
                                                                       make_client):
    """An admin probing addresses learns nothing about other schools: same status, same
    message (but for the address), and time of the same order."""
    for n in range(6):
        make_member(two_schools.b, "member", email=f"known{n}@x.example")
    db.session.commit()
    client = make_client()
    client.login(two_schools.admin_a.email, account_id=two_schools.a.id)
    known, unknown = [], []
    for n in range(6):  # interleaved, so drift hits both alike
        known.append(_add(client, f"known{n}@x.example"))
        unknown.append(_add(client, f"unknown{n}@x.example"))
    for (k_status, k_text, _), (u_status, u_text, _) in zip(known, unknown, strict=True):
        assert k_status == u_status == 302
        assert re.sub(r"\S+@x\.example", "ADDR", k_text) == \
            re.sub(r"\S+@x\.example", "ADDR", u_text)
    k_time = statistics.median(t for *_, t in known)
    u_time = statistics.median(t for *_, t in unknown)
    assert max(k_time, u_time) / min(k_time, u_time) < 3, (k_time, u_time)
    assert count(AccountMembership, AccountMembership.account_id == two_schools.a.id) == 1


def test_group_add_answers_the_same_with_or_without_a_personal_account(two_schools):
    s = two_schools
    make_member(s.b, "member", email="known@x.example")
    group = groups.create_group(s.admin_a, s.a.id, "Coaching")
    db.session.commit()
    known = gm.add_members(s.admin_a, s.a.id, group.id, "member", addresses="known@x.example")
    unknown = gm.add_members(s.admin_a, s.a.id, group.id, "member",
                             addresses="unknown@x.example")
    assert (known.invited, known.added) == (["known@x.example"], [])
    assert (unknown.invited, unknown.added) == (["unknown@x.example"], [])


# ---------------------------------------------------------------- no live secret kept


def test_sent_emails_keep_no_live_link_but_the_email_carries_one(two_schools, make_client,
                                                                 mail_outbox):
    client = make_client()
    client.login(two_schools.admin_a.email, account_id=two_schools.a.id)
    client.post_form("/admin/people/new/", {"email": "ivy@new.example", "role": "member"})
    token = link_in(mail_outbox, INVITE_LINK, "ivy@new.example")
    stored = db.session.scalar(select(SentEmail).where(SentEmail.recipient == "ivy@new.example"))
    assert token not in stored.body and "[link hidden]" in stored.body
    details = client.get(f"/admin/sent_emails/details/?id={stored.id}").get_data(as_text=True)
    assert token not in details and "[link hidden]" in details


# ---------------------------------------------------------------- forgot / reset


@pytest.fixture
def smtp_app(make_app, smtp_server):
    return make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_server.port)


def test_reset_round_trip_over_smtp(app, smtp_app, smtp_server):
    person = make_user(email="lia@x.example")
    db.session.commit()
    with smtp_app.test_client() as raw:
        from tests.conftest import Client

        client = Client(raw)
        response = client.post_form("/password/forgot", {"email": "LIA@x.example"})
        assert response.status_code == 200
        assert "we&#39;ve sent it a link" in response.get_data(as_text=True)
    assert len(smtp_server.messages) == 1
    message = smtp_server.messages[0]
    assert message["to"] == ["lia@x.example"]
    assert message["subject"] == "Reset your Mentor Groups password"
    token = RESET_LINK.search(message["body"]).group(1)
    stored = db.session.scalar(select(PasswordLink))
    assert token not in (stored.token_hash, stored.nonce)  # only a hash is kept
    assert token not in db.session.scalar(select(SentEmail.body))

    with smtp_app.test_client() as raw:
        client = Client(raw)
        response = client.post_form(f"/password/reset/{token}",
                                     {"password": "brand-new-1", "confirm": "brand-new-1"})
        assert response.status_code == 302
        assert client.get("/paths").status_code in (200, 302)
        # Once only.
        assert client.get(f"/password/reset/{token}").status_code == 410
    db.session.expire_all()
    assert db.session.get(User, person.id).check_password("brand-new-1")


def test_reset_link_expires_is_bound_to_the_address_and_checks_both_fields(client, app,
                                                                           mail_outbox):
    person = make_user(email="lia@x.example")
    db.session.commit()
    client.post_form("/password/forgot", {"email": "lia@x.example"})
    token = link_in(mail_outbox, RESET_LINK, "lia@x.example")
    mismatch = client.post_form(f"/password/reset/{token}",
                                {"password": "brand-new-1", "confirm": "brand-new-2"})
    assert mismatch.status_code == 422
    assert "The two passwords are not the same." in mismatch.get_data(as_text=True)
    short = client.post_form(f"/password/reset/{token}", {"password": "short",
                                                          "confirm": "short"})
    assert "at least 8 characters" in short.get_data(as_text=True)

    link = db.session.scalar(select(PasswordLink))
    link.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    response = client.get(f"/password/reset/{token}")
    assert response.status_code == 410 and "expired" in response.get_data(as_text=True)

    link.expires_at = utcnow() + timedelta(hours=1)
    person.email = "lia@elsewhere.example"  # the address changed: the link was for the old one
    db.session.commit()
    assert client.get(f"/password/reset/{token}").status_code == 410
    assert client.get("/password/reset/forged-token").status_code == 410
    db.session.expire_all()
    assert db.session.get(User, person.id).check_password(PASSWORD)


def test_unknown_address_gets_the_same_answer_and_no_email(client, mail_outbox):
    make_user(email="lia@x.example")
    db.session.commit()
    known = client.post_form("/password/forgot", {"email": "lia@x.example"})
    unknown = client.post_form("/password/forgot", {"email": "nobody@x.example"})
    assert known.status_code == unknown.status_code == 200

    def body(response, email):
        return response.get_data(as_text=True).replace(email, "ADDR")

    assert body(known, "lia@x.example") == body(unknown, "nobody@x.example")
    assert [m.recipients for m in mail_outbox] == [["lia@x.example"]]
    assert count(PasswordLink) == 1


def test_reset_requests_are_rate_limited_per_address_and_per_client(make_app):
    from tests.conftest import Client

    app = make_app(PASSWORD_RESETS_PER_ADDRESS="2/hour", PASSWORD_RESETS_PER_CLIENT="4/hour")
    with app.app_context(), app.test_client() as raw:
        client = Client(raw)
        statuses = [client.post_form("/password/forgot", {"email": "x@x.example"}).status_code
                    for _ in range(3)]
        assert statuses == [200, 200, 429]
        statuses = [client.post_form("/password/forgot", {"email": f"y{n}@x.example"})
                    .status_code for n in range(3)]
        assert statuses == [200, 200, 429]  # 4 per client in all
        limited = client.post_form("/password/forgot", {"email": "z@x.example"})
        assert "Too many reset requests" in limited.get_data(as_text=True)


def test_a_reset_ends_every_other_session(client, make_client, mail_outbox):
    person = make_user(email="lia@x.example")
    make_member(make_account(), "member", user=person)
    db.session.commit()
    elsewhere = make_client()
    elsewhere.login("lia@x.example")
    assert elsewhere.get("/paths").status_code == 200
    client.post_form("/password/forgot", {"email": "lia@x.example"})
    token = link_in(mail_outbox, RESET_LINK, "lia@x.example")
    client.post_form(f"/password/reset/{token}", {"password": "brand-new-1",
                                                  "confirm": "brand-new-1"})
    assert elsewhere.get("/paths").status_code == 302  # signed out there
    assert client.get("/paths").status_code == 200  # the person who reset is signed in


# ---------------------------------------------------------------- sessions that end


@pytest.fixture
def learner(app):
    account = make_account()
    admin = make_member(account, "admin", email="boss@x.example")
    person = make_member(account, "member", email="lia@x.example")
    db.session.commit()
    return type("L", (), dict(account=account, admin=admin, person=person))


def _copied_session(client, make_client):
    cookie = client.raw.get_cookie("session")
    assert cookie is not None
    thief = make_client()
    thief.raw.set_cookie("session", cookie.value)
    assert thief.get("/paths").status_code == 200  # the copy works while the session lives
    return thief


def test_a_copied_cookie_is_refused_after_sign_out(client, make_client, learner):
    client.login("lia@x.example")
    thief = _copied_session(client, make_client)
    client.post_form("/logout", token_page="/paths")
    assert thief.get("/paths").status_code == 302


def test_a_copied_cookie_is_refused_after_a_password_change(client, make_client, learner):
    client.login("lia@x.example")
    thief = _copied_session(client, make_client)
    wrong = client.post_form("/password/change", {"current": "nope-nope-1",
                                                  "password": "brand-new-1",
                                                  "confirm": "brand-new-1"})
    assert "That is not your current password." in wrong.get_data(as_text=True)
    assert thief.get("/paths").status_code == 200
    response = client.post_form("/password/change", {"current": PASSWORD,
                                                     "password": "brand-new-1",
                                                     "confirm": "brand-new-1"})
    assert response.status_code == 302
    assert thief.get("/paths").status_code == 302
    assert client.get("/paths").status_code == 200  # the one who changed it stays in


def test_a_copied_cookie_is_refused_after_revoke(client, make_client, learner):
    client.login("lia@x.example")
    thief = _copied_session(client, make_client)
    admin = make_client()
    admin.login("boss@x.example")
    row = membership(learner.person.id, learner.account.id)
    admin.post_form(f"/admin/people/edit/?id={row.id}", {"role": "member", "status": "revoked"},
                    token_page=f"/admin/people/edit/?id={row.id}")
    assert membership(learner.person.id, learner.account.id).status == "revoked"
    assert thief.get("/paths").status_code == 302
    assert client.get("/paths").status_code == 302


def test_revoking_in_one_school_leaves_the_persons_session_in_another(two_schools,
                                                                      make_client):
    """Ann (School A) revokes Kim, who also belongs to School B: Kim's session working in A
    loses A at its next click (and lands in B, her one school left), her session working in
    B goes on, and revoking, restoring and revoking again signs her out of nothing."""
    kim = make_member(two_schools.a, "member", email="kim@both.example", full_name="Kim Both")
    make_member(two_schools.b, "member", user=kim)
    db.session.commit()
    in_a, in_b = make_client(), make_client()
    in_a.login("kim@both.example", account_id=two_schools.a.id)
    in_b.login("kim@both.example", account_id=two_schools.b.id)
    assert "School A" in in_a.get("/paths").get_data(as_text=True)
    assert "School B" in in_b.get("/paths").get_data(as_text=True)
    ann = make_client()
    ann.login("head@a.example")
    row = membership(kim.id, two_schools.a.id)
    edit = f"/admin/people/edit/?id={row.id}"
    for status in ("revoked", "active", "revoked"):  # an admin repeating it changes nothing
        response = ann.post_form(edit, {"role": "member", "status": status}, token_page=edit)
        assert response.status_code == 302
        assert membership(kim.id, two_schools.a.id).status == status
        page = in_b.get("/paths")
        assert page.status_code == 200 and "School B" in page.get_data(as_text=True)
    assert membership(kim.id, two_schools.b.id).status == "active"
    page = in_a.get("/paths")  # A is gone from the session that worked in it
    assert page.status_code == 200
    assert "School B" in page.get_data(as_text=True)
    assert "School A" not in page.get_data(as_text=True)
    assert in_a.post_form("/accounts", {"account_id": str(two_schools.a.id)},
                          token_page="/accounts").status_code == 200  # no way back in
    assert "School A" not in in_a.get("/paths").get_data(as_text=True)
    assert ann.get(edit).status_code == 200  # the admin's own session is untouched


def test_the_csrf_token_from_before_sign_in_is_dead_after_it(client, learner):
    before = client.csrf("/login")
    client.login("lia@x.example")
    response = client.post("/logout", data={"csrf_token": before})
    assert response.status_code == 400
    assert client.get("/paths").status_code == 200  # still signed in


# ---------------------------------------------------------------- invitations and sessions


@pytest.fixture
def invited(two_schools, mail_outbox):
    s = two_schools
    group = groups.create_group(s.admin_a, s.a.id, "Coaching")
    db.session.commit()
    gm.add_members(s.admin_a, s.a.id, group.id, "mentor", addresses="ivy@new.example")
    db.session.commit()
    return link_in(mail_outbox, INVITE_LINK, "ivy@new.example")


def test_join_is_refused_while_signed_in_as_someone_else(client, two_schools, invited):
    client.login(two_schools.admin_b.email)
    page = client.get(f"/invitations/{invited}")
    assert page.status_code == 403
    assert "Sign out and continue" in page.get_data(as_text=True)
    response = client.post_form(f"/invitations/{invited}/join",
                                {"full_name": "Ivy", "password": "long-enough-1"},
                                token_page=f"/invitations/{invited}")
    assert response.status_code == 403
    assert count(User, User.email == "ivy@new.example") == 0
    assert db.session.scalar(select(Invitation.status)) == "pending"
    page = client.get("/admin/").get_data(as_text=True)
    assert "Bea B" in page  # still the same person in this browser


def test_accept_is_refused_while_signed_in_as_someone_else(client, two_schools, invited):
    client.login(two_schools.admin_b.email)
    response = client.post_form(f"/invitations/{invited}/accept", {},
                                token_page=f"/invitations/{invited}")
    assert response.status_code == 403
    assert db.session.scalar(select(Invitation.status)) == "pending"


def test_sign_out_first_returns_to_the_invitation(client, two_schools, invited):
    client.login(two_schools.admin_b.email)
    response = client.post_form("/logout", {"next": f"/invitations/{invited}"},
                                token_page=f"/invitations/{invited}")
    assert response.headers["Location"] == f"/invitations/{invited}"
    page = client.get(f"/invitations/{invited}")
    assert page.status_code == 200 and "Create account and join" in page.get_data(as_text=True)


def test_an_existing_person_accepts_a_school_invitation_and_switches(client, two_schools,
                                                                    mail_outbox):
    s = two_schools
    person = make_member(s.a, "member", email="lia@x.example")
    db.session.commit()
    admin_b = type(client)(client.raw.application.test_client())
    admin_b.login(s.admin_b.email)
    admin_b.post_form("/admin/people/new/", {"email": "lia@x.example", "role": "staff"})
    token = link_in(mail_outbox, INVITE_LINK, "lia@x.example")
    client.login("lia@x.example")
    page = client.get(f"/invitations/{token}").get_data(as_text=True)
    assert "Join &ldquo;School B&rdquo;" in page and "as <strong>Staff</strong>" in page
    response = client.post_form(f"/invitations/{token}/accept", {},
                                token_page=f"/invitations/{token}")
    assert response.status_code == 302
    assert membership(person.id, s.b.id).role == "staff"
    choose = client.get("/accounts").get_data(as_text=True)
    assert "School A" in choose and "School B" in choose


def test_reset_and_invitations_keep_working_when_the_rate_limit_store_is_down(make_app):
    """Redis (the limiter's storage) unreachable: the limits move to memory, no 500."""
    from tests.conftest import Client, free_port

    app = make_app(RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:{free_port()}/0",
                   PASSWORD_RESETS_PER_ADDRESS="2/hour")
    with app.app_context():
        account = make_account()
        admin = make_member(account, "admin", email="boss@x.example")
        group = groups.create_group(admin, account.id, "Coaching")
        db.session.commit()
        report = gm.add_members(admin, account.id, group.id, "member", addresses="n@x.example")
        db.session.commit()
        assert report.invited == ["n@x.example"]
        with app.test_client() as raw:
            client = Client(raw)
            statuses = [client.post_form("/password/forgot", {"email": "boss@x.example"})
                        .status_code for _ in range(3)]
        assert statuses == [200, 200, 429]  # still limited, in memory
