"""Security headers on every response: public pages, the back office, error pages and files;
and templates that need nothing the Content-Security-Policy refuses (the browser tests run
with the policy on and fail on any violation: test_browser_security_headers.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.factories import school

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
REQUIRED_CSP = ("default-src 'self'", "script-src 'self'", "object-src 'none'",
                "base-uri 'self'", "form-action 'self'", "frame-ancestors 'none'")


def csp_directives(response) -> dict[str, str]:
    policy = response.headers["Content-Security-Policy"]
    return {part.strip().split(" ", 1)[0]: part.strip() for part in policy.split(";")}


def assert_secured(response):
    directives = csp_directives(response)
    for directive in REQUIRED_CSP:
        assert directives[directive.split(" ", 1)[0]] == directive, directives
    assert "'unsafe-inline'" not in directives["script-src"]
    assert "'unsafe-eval'" not in directives["script-src"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] in ("same-origin", "no-referrer")
    assert "Strict-Transport-Security" not in response.headers  # plain HTTP


def test_public_pages_files_and_error_pages_carry_the_headers(client):
    for url in ("/login", "/static/mg.css", "/static/mg-admin.js", "/favicon.ico", "/healthz"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert_secured(response)
        assert response.headers["Referrer-Policy"] == "same-origin"
        response.close()  # a static file's response holds the file open until closed
    assert_secured(client.get("/password/forgot"))
    assert_secured(client.get("/no-such-page"))
    assert_secured(client.post("/login", data="[" * 5000, content_type="application/json"))


@pytest.mark.parametrize("url", ["/admin/", "/admin/community/groups/", "/admin/people/",
                                 "/admin/paths/", "/paths", "/review/"])
def test_signed_in_pages_and_the_back_office_carry_the_headers(client, url):
    s = school()
    client.login(s.admin.email)
    response = client.get(url)
    assert response.status_code == 200, url
    assert_secured(response)


def test_a_page_whose_url_holds_a_secret_keeps_no_referrer(client):
    from mentorgroups.services.email_choices import unsubscribe_token

    s = school()
    response = client.get(f"/email/unsubscribe/"
                          f"{unsubscribe_token(s.learner.id, s.account.id, 'reviews')}")
    assert response.status_code == 200
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


def test_hsts_only_over_https(client):
    plain = client.get("/login")
    assert "Strict-Transport-Security" not in plain.headers
    direct = client.get("/login", base_url="https://mentorgroups.example")
    assert direct.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    proxied = client.get("/login", headers={"X-Forwarded-Proto": "https"})
    assert "max-age=" in proxied.headers["Strict-Transport-Security"]


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
INLINE_HANDLER = re.compile(r"<[^>]+\s on[a-z]+\s*=", re.I | re.X)


def test_no_template_has_an_inline_script_or_handler():
    """What the policy would refuse in a browser, found in the source: every script is a
    file of static/, every handler is attached by one."""
    found = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        if path.relative_to(TEMPLATES).parts[0] == "email":
            continue  # emails run no script and get no CSP
        text = path.read_text()
        for pattern in (INLINE_SCRIPT, INLINE_HANDLER):
            found += [f"{path.relative_to(TEMPLATES)}: {m.group(0)[:60]}"
                      for m in pattern.finditer(text)]
    assert not found, "\n".join(found)


def test_flask_admins_templates_that_have_inline_handlers_are_overridden():
    """Flask-Admin's own templates with onclick= are shadowed by the app's copies (the app's
    template folder comes first), which carry data- attributes instead."""
    import flask_admin

    theirs = Path(flask_admin.__file__).parent / "templates" / "bootstrap4"
    used = ["admin/actions.html", "admin/model/row_actions.html", "admin/model/layout.html",
            "admin/model/inline_list_base.html"]
    for name in used:
        assert INLINE_HANDLER.search((theirs / name).read_text()), name  # still theirs
        assert not INLINE_HANDLER.search((TEMPLATES / name).read_text()), name
