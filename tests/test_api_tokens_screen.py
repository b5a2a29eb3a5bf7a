"""Back office > API tokens without a browser: account admins of the school only, CSRF on
both forms, another school's token is a 404, the secret on the creation page only (never
cached), the name's errors shown on the form."""

from __future__ import annotations

import re

from sqlalchemy import select

from mentorgroups.extensions import db
from mentorgroups.models import ApiToken
from mentorgroups.services import api_tokens
from tests.factories import make_account, make_member

URL = "/admin/api-tokens/"


def admin_school(client, email="ada@screen.test"):
    account = make_account(plan="complete")
    admin = make_member(account, "admin", email=email)
    db.session.commit()
    client.login(email, account_id=account.id)
    return account, admin


def test_only_the_schools_admins_open_it(client):
    account = make_account()
    make_member(account, "staff", email="sid@screen.test")
    db.session.commit()
    assert client.get(URL).status_code == 302  # anonymous: sign in first
    client.login("sid@screen.test")
    assert client.get(URL).status_code == 403


def test_create_shows_the_secret_once_and_never_caches_it(client):
    account, _ = admin_school(client)
    page = client.post_form(URL, {"name": "HR sync", "scope": "write"})
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    html = page.get_data(as_text=True)
    secret = re.search(r'value="(mgt_[^"]+)"', html).group(1)
    token = db.session.scalar(select(ApiToken))
    assert token.secret_hash == api_tokens.hash_secret(secret) and token.scope == "write"
    listed = client.get(URL).get_data(as_text=True)
    assert secret not in listed and token.prefix in listed and "HR sync" in listed


def test_bad_input_is_shown_on_the_form_and_csrf_is_required(client):
    admin_school(client)
    html = client.post_form(URL, {"name": "  ", "scope": "write"}).get_data(as_text=True)
    assert "Give the token a name" in html
    assert client.post(URL, data={"name": "No CSRF", "scope": "read"}).status_code == 400
    assert db.session.scalar(select(ApiToken)) is None


def test_revoke_asks_first_and_another_schools_token_is_404(client):
    account, admin = admin_school(client)
    token, _ = api_tokens.create_token(admin, account.id, "Old sync", "read")
    other = make_account()
    theirs, _ = api_tokens.create_token(make_member(other, "admin"), other.id, "Theirs", "write")
    db.session.commit()
    assert client.get(f"{URL}{theirs.id}/revoke").status_code == 404
    assert client.post_form(f"{URL}{theirs.id}/revoke", token_page=URL).status_code == 404
    confirm = client.get(f"{URL}{token.id}/revoke").get_data(as_text=True)
    assert "Revoke the token \u201cOld sync\u201d?" in confirm
    assert client.post(f"{URL}{token.id}/revoke").status_code == 400  # no CSRF token
    response = client.post_form(f"{URL}{token.id}/revoke", token_page=URL)
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(ApiToken, token.id).revoked_at is not None
    assert db.session.get(ApiToken, theirs.id).revoked_at is None
