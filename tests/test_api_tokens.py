"""School API tokens: created and revoked by account admins (audited under the token's
name), only a hash kept, and the bearer-token gate every API blueprint uses (api_auth)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from mentorgroups.extensions import db
from mentorgroups.models import ApiToken, AuditEvent
from mentorgroups.services import api_tokens, groups
from mentorgroups.services.audit_words import describe
from mentorgroups.services.errors import FormErrors, NotFound, PermissionDenied
from tests.factories import make_account, make_member

CLOCK_START = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def bearer(secret: str) -> dict:
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def school(app):
    account = make_account(name="Token School", plan="complete")
    admin = make_member(account, "admin", full_name="Ada Admin", email="ada@tokens.test")
    db.session.commit()
    return account, admin


def test_create_keeps_only_a_hash_and_shows_the_secret_once(school):
    account, admin = school
    token, secret = api_tokens.create_token(admin, account.id, "  HR   sync ", "write")
    db.session.commit()
    assert secret.startswith("mgt_") and len(secret) > 40
    row = db.session.get(ApiToken, token.id)
    assert row.name == "HR sync" and row.scope == "write"
    assert row.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in {row.secret_hash, row.prefix} and secret.startswith(row.prefix)
    assert row.created_by_id == admin.id and row.last_used_at is None
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "api_token.create"))
    assert event.actor_id == admin.id
    assert describe(event).what == "Created the API token \u201cHR sync\u201d (read and write)"


def test_create_refuses_bad_names_and_scopes_and_non_admins(school):
    account, admin = school
    with pytest.raises(FormErrors) as refused:
        api_tokens.create_token(admin, account.id, "  ", "admin")
    assert set(refused.value.errors) == {"name", "scope"}
    staff = make_member(account, "staff")
    with pytest.raises(PermissionDenied):
        api_tokens.create_token(staff, account.id, "Mine", "read")
    other = make_account()
    with pytest.raises(PermissionDenied):
        api_tokens.create_token(admin, other.id, "Elsewhere", "read")


def test_create_refuses_a_missing_or_too_long_name(school):
    account, admin = school
    with pytest.raises(FormErrors) as refused:
        api_tokens.create_token(admin, account.id, None, "read")
    assert set(refused.value.errors) == {"name"}
    with pytest.raises(FormErrors) as refused:
        api_tokens.create_token(admin, account.id, "x" * 81, "read")
    assert refused.value.errors == {"name": "Token names can be at most 80 characters."}
    token, _ = api_tokens.create_token(admin, account.id, "x" * 80, "read")
    assert token.name == "x" * 80


def test_a_school_has_at_most_fifty_active_tokens(school):
    account, admin = school
    other = make_account(plan="complete")
    other_admin = make_member(other, "admin")
    for n in range(50):  # another school's tokens count for that school only
        api_tokens.create_token(other_admin, other.id, f"Theirs {n}", "read")
    made = [api_tokens.create_token(admin, account.id, f"Sync {n}", "read")[0]
            for n in range(50)]
    with pytest.raises(FormErrors) as refused:
        api_tokens.create_token(admin, account.id, "One more", "read")
    assert "at most 50 active tokens" in refused.value.errors["name"]
    # Revoked tokens stay listed but no longer count.
    api_tokens.revoke_token(admin, account.id, made[0].id)
    assert api_tokens.create_token(admin, account.id, "One more", "read")[0].name == "One more"


def test_authenticate_finds_active_tokens_only(school):
    account, admin = school
    token, secret = api_tokens.create_token(admin, account.id, "Sync", "read")
    db.session.commit()
    assert api_tokens.authenticate(f"Bearer {secret}") is token
    assert api_tokens.authenticate(f"bearer   {secret}  ") is token
    for header in (None, "", secret, f"Basic {secret}", f"Bearer {secret}x", "Bearer ",
                   "Bearer " + "a" * 500):
        assert api_tokens.authenticate(header) is None
    api_tokens.revoke_token(admin, account.id, token.id)
    db.session.commit()
    assert api_tokens.authenticate(f"Bearer {secret}") is None


def test_revoke_is_audited_once_and_scoped_to_the_school(school):
    account, admin = school
    token, _ = api_tokens.create_token(admin, account.id, "Old sync", "write")
    other = make_account()
    other_admin = make_member(other, "admin")
    with pytest.raises(NotFound):
        api_tokens.revoke_token(other_admin, other.id, token.id)
    with pytest.raises(NotFound):
        api_tokens.revoke_token(admin, account.id, "nonsense")
    with pytest.raises(PermissionDenied):
        api_tokens.revoke_token(make_member(account, "staff"), account.id, token.id)
    assert api_tokens.revoke_token(admin, account.id, token.id) is token
    assert api_tokens.revoke_token(admin, account.id, token.id) is token  # again: no change
    db.session.commit()
    events = db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "api_token.revoke")).all()
    assert len(events) == 1
    assert describe(events[0]).what == "Revoked the API token \u201cOld sync\u201d"
    assert [t.name for t in api_tokens.list_tokens(admin, account.id)] == ["Old sync"]
    assert api_tokens.list_tokens(admin, account.id)[0].revoked_at is not None


def test_list_is_the_schools_own_and_for_its_admins_only(school):
    account, admin = school
    api_tokens.create_token(admin, account.id, "Ours", "read")
    other = make_account(plan="complete")
    api_tokens.create_token(make_member(other, "admin"), other.id, "Theirs", "read")
    assert [t.name for t in api_tokens.list_tokens(admin, account.id)] == ["Ours"]
    with pytest.raises(PermissionDenied):
        api_tokens.list_tokens(make_member(account, "staff"), account.id)


def test_list_shows_active_tokens_first(school, clock):
    account, admin = school
    first, _ = api_tokens.create_token(admin, account.id, "First", "read")
    clock.shift(timedelta(minutes=1))
    second, _ = api_tokens.create_token(admin, account.id, "Second", "read")
    clock.shift(timedelta(minutes=1))
    third, _ = api_tokens.create_token(admin, account.id, "Third", "write")
    api_tokens.revoke_token(admin, account.id, third.id)
    db.session.commit()
    assert [t.name for t in api_tokens.list_tokens(admin, account.id)] == [
        "Second", "First", "Third"]


def test_a_token_acts_as_an_admin_of_its_own_school_only(school):
    account, admin = school
    token, _ = api_tokens.create_token(admin, account.id, "Sync", "write")
    other = make_account(plan="complete")
    other_group = groups.create_group(make_member(other, "admin"), other.id, "Theirs")
    actor = api_tokens.TokenActor(token)
    group = groups.create_group(actor, account.id, "Made by sync")
    with pytest.raises(NotFound):
        groups.group_for_manager(actor, account.id, other_group.id)
    with pytest.raises(PermissionDenied):
        groups.create_group(actor, other.id, "Not mine")
    db.session.commit()
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.group_id == group.id))
    assert (event.actor_id, event.api_token_id) == (None, token.id)
    assert group.created_by_id is None


def test_a_token_revoked_during_a_request_acts_no_more(school):
    """The actor of a request already under way holds its token: once revoked, it is an
    admin of no school, its own included."""
    account, admin = school
    token, _ = api_tokens.create_token(admin, account.id, "Sync", "write")
    actor = api_tokens.TokenActor(token)
    groups.create_group(actor, account.id, "Before")
    api_tokens.revoke_token(admin, account.id, token.id)
    with pytest.raises(PermissionDenied):
        groups.create_group(actor, account.id, "After")


def test_each_token_has_its_own_invitation_limit(make_app):
    """The per-inviter limit counts each token apart (a token has no person's id)."""
    from mentorgroups.services import group_members as gm

    app = make_app(INVITES_PER_INVITER="1/hour", RATELIMIT_STORAGE_URI="memory://")
    with app.app_context():
        account = make_account(plan="complete")
        admin = make_member(account, "admin")
        first, _ = api_tokens.create_token(admin, account.id, "First", "write")
        second, _ = api_tokens.create_token(admin, account.id, "Second", "write")
        group = groups.create_group(admin, account.id, "G")
        db.session.commit()
        report = gm.add_members(api_tokens.TokenActor(first), account.id, group.id, "member",
                                addresses="a@x.test b@x.test")
        assert report.invited == ["a@x.test"] and "you can send 1 per hour" in report.refused[0]
        report = gm.add_members(api_tokens.TokenActor(second), account.id, group.id, "member",
                                addresses="c@x.test")
        assert report.invited == ["c@x.test"] and report.refused == []
        report = gm.add_members(admin, account.id, group.id, "member", addresses="d@x.test")
        assert report.invited == ["d@x.test"]
        db.session.remove()


# ---- the gate (api_auth) on /api/v1/ ------------------------------------------------------------

def test_requests_without_an_active_token_are_401_problems(school, client):
    account, admin = school
    token, secret = api_tokens.create_token(admin, account.id, "Sync", "read")
    db.session.commit()
    assert client.get("/api/v1/school", headers=bearer(secret)).status_code == 200
    api_tokens.revoke_token(admin, account.id, token.id)
    db.session.commit()
    for headers in ({}, bearer("mgt_unknown"), bearer(secret), {"Authorization": secret}):
        response = client.get("/api/v1/school", headers=headers)
        assert response.status_code == 401
        assert response.mimetype == "application/problem+json"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        body = response.get_json()
        assert (body["status"], body["title"]) == (401, "Not authenticated")
        assert body["type"].endswith("/unauthorized")


def test_a_signed_in_session_cookie_never_acts_on_the_api(school, client):
    account, admin = school
    client.login("ada@tokens.test", account_id=account.id)
    assert client.get("/admin/").status_code == 200  # the cookie does sign in the back office
    assert client.get("/api/v1/school").status_code == 401
    _, secret = api_tokens.create_token(admin, account.id, "Sync", "read")
    db.session.commit()
    body = client.get("/api/v1/school", headers=bearer(secret)).get_json()
    assert body["token"] == {"name": "Sync", "scope": "read"}


@pytest.fixture
def gated_app(make_app):
    """An app with one more blueprint behind `protect()`, in an error format of its own (as
    SCIM's is): a route that reads and one that writes, each saying who acts."""
    from flask import Blueprint, g, jsonify

    from mentorgroups.api_auth import protect

    app = make_app()
    bp = Blueprint("gated", __name__, url_prefix="/gated")

    def scim_error(status, title, detail, headers):
        response = jsonify(schemas=["urn:ietf:params:scim:api:messages:2.0:Error"],
                           status=str(status), detail=detail)
        response.status_code = status
        return response

    protect(bp, scim_error)

    @bp.route("/who", methods=("GET", "POST"))
    def who():
        return {"actor": g.api_actor.full_name, "account": g.api_account_id}

    app.register_blueprint(bp)
    with app.app_context():
        yield app
        db.session.remove()


def test_a_read_token_writing_is_403_and_no_csrf_is_asked_of_a_write_token(gated_app):
    account = make_account(plan="complete")
    admin = make_member(account, "admin")
    _, read_secret = api_tokens.create_token(admin, account.id, "Reader", "read")
    _, write_secret = api_tokens.create_token(admin, account.id, "Writer", "write")
    db.session.commit()
    client = gated_app.test_client()
    assert client.get("/gated/who", headers=bearer(read_secret)).get_json() == {
        "actor": "API token \u201cReader\u201d", "account": account.id}
    refused = client.post("/gated/who", headers=bearer(read_secret), json={})
    assert refused.status_code == 403
    assert refused.get_json()["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    # No CSRF token, and a form body: the write token passes (CSRFProtect is on in tests).
    assert gated_app.config.get("WTF_CSRF_ENABLED", True)
    response = client.post("/gated/who", headers=bearer(write_secret), data={"a": "b"})
    assert response.status_code == 200
    assert response.get_json()["actor"] == "API token \u201cWriter\u201d"
    missing = client.get("/gated/nowhere", headers=bearer(write_secret))
    assert (missing.status_code, missing.get_json()["status"]) == (404, "404")


def test_last_use_is_written_at_most_once_a_minute(school, client, clock):
    account, admin = school
    token, secret = api_tokens.create_token(admin, account.id, "Sync", "read")
    db.session.commit()
    client.get("/api/v1/school", headers=bearer(secret))
    db.session.expire_all()
    assert db.session.get(ApiToken, token.id).last_used_at == CLOCK_START
    clock.shift(timedelta(seconds=59))
    assert api_tokens.record_use(db.session.get(ApiToken, token.id)) is False
    client.get("/api/v1/school", headers=bearer(secret))
    db.session.expire_all()
    assert db.session.get(ApiToken, token.id).last_used_at == CLOCK_START
    clock.shift(timedelta(seconds=2))
    client.get("/api/v1/school", headers=bearer(secret))
    db.session.expire_all()
    assert db.session.get(ApiToken, token.id).last_used_at == CLOCK_START + timedelta(
        seconds=61)


def test_record_use_as_of_a_moment_says_whether_it_wrote(school, clock):
    """The moment given, not the clock's; the token in hand shows the write at once; a use
    within the minute writes nothing and asks nothing of the database."""
    from tests.conftest import statements_of

    account, admin = school
    token, _ = api_tokens.create_token(admin, account.id, "Sync", "read")
    db.session.commit()
    later = CLOCK_START + timedelta(hours=2)
    assert api_tokens.record_use(token, now=later) is True
    assert token.last_used_at == later
    results = []
    assert statements_of(lambda: results.append(
        api_tokens.record_use(token, now=later + timedelta(seconds=30)))) == 0
    assert results == [False]
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(ApiToken, token.id).last_used_at == later


def test_record_use_writes_that_token_once_whatever_another_process_did(school, clock):
    """Two processes at the same moment: the one whose token in hand is stale writes
    nothing; and a use of one token never touches another's."""
    from sqlalchemy import update

    account, admin = school
    token, _ = api_tokens.create_token(admin, account.id, "Sync", "read")
    other, _ = api_tokens.create_token(admin, account.id, "Other", "read")
    db.session.commit()
    assert token.last_used_at is None  # what this process holds
    moment = CLOCK_START + timedelta(hours=1)
    db.session.execute(update(ApiToken).where(ApiToken.id == token.id)
                       .values(last_used_at=moment)
                       .execution_options(synchronize_session=False))  # the other process
    assert api_tokens.record_use(token, now=moment + timedelta(seconds=30)) is False
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(ApiToken, token.id).last_used_at == moment
    assert db.session.get(ApiToken, other.id).last_used_at is None
    assert api_tokens.record_use(db.session.get(ApiToken, other.id), now=moment) is True
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(ApiToken, token.id).last_used_at == moment


def test_requests_are_limited_per_token_with_retry_after(make_app, clock):
    app = make_app(API_RATE_LIMIT="3/minute")
    with app.app_context():
        account = make_account(plan="complete")
        admin = make_member(account, "admin")
        _, first = api_tokens.create_token(admin, account.id, "First", "read")
        _, second = api_tokens.create_token(admin, account.id, "Second", "read")
        db.session.commit()
        client = app.test_client()
        statuses = [client.get("/api/v1/school", headers=bearer(first)).status_code
                    for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        limited = client.get("/api/v1/school", headers=bearer(first))
        assert limited.mimetype == "application/problem+json"
        assert 1 <= int(limited.headers["Retry-After"]) <= 61
        assert client.get("/api/v1/school", headers=bearer(second)).status_code == 200
        clock.shift(timedelta(seconds=61))
        assert client.get("/api/v1/school", headers=bearer(first)).status_code == 200
        db.session.remove()


def test_both_apis_add_their_401_and_429_headers_through_one_helper(make_app, monkeypatch):
    """/api/v1/ (problem+json) and /scim/v2/ (SCIM errors) say who may try again alike:
    401 with `WWW-Authenticate: Bearer realm=...` naming each API, 429 with `Retry-After`
    (the limiter's own seconds, unless the refusal gave its own), through
    api_auth.auth_headers."""
    from mentorgroups import api_auth

    calls = []
    helper = api_auth.auth_headers

    def spy(response, status, realm, headers=None):
        calls.append((status, realm))
        return helper(response, status, realm, headers)

    monkeypatch.setattr(api_auth, "auth_headers", spy)
    app = make_app(API_RATE_LIMIT="2/minute")
    with app.app_context():
        account = make_account(plan="complete")
        admin = make_member(account, "admin")
        _, secret = api_tokens.create_token(admin, account.id, "Sync", "write")
        db.session.commit()
        client = app.test_client()
        api = client.get("/api/v1/school")
        scim = client.get("/scim/v2/Users")
        assert (api.status_code, scim.status_code) == (401, 401)
        assert api.headers["WWW-Authenticate"] == 'Bearer realm="Mentor Groups API"'
        assert scim.headers["WWW-Authenticate"] == 'Bearer realm="Mentor Groups SCIM"'
        assert scim.mimetype == "application/scim+json"
        for url in ("/api/v1/school", "/scim/v2/Users"):
            statuses = [client.get(url, headers=bearer(secret)).status_code for _ in range(3)]
            assert statuses[-1] == 429, (url, statuses)
        limited = [client.get(url, headers=bearer(secret))
                   for url in ("/api/v1/school", "/scim/v2/Users")]
        assert all(1 <= int(r.headers["Retry-After"]) <= 61 for r in limited)
        assert "WWW-Authenticate" not in limited[0].headers
        assert calls.count((401, "Mentor Groups API")) == 1
        assert calls.count((401, "Mentor Groups SCIM")) == 1
        assert {(429, "Mentor Groups API"), (429, "Mentor Groups SCIM")} <= set(calls)
        # A refusal that knows its own wait keeps it.
        with app.test_request_context():
            kept = helper(app.response_class(), 429, "Mentor Groups API", {"Retry-After": "7"})
        assert kept.headers["Retry-After"] == "7" and "WWW-Authenticate" not in kept.headers
        db.session.remove()
