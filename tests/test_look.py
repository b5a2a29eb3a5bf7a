"""One look for the site and the back office, through HTTP: the same header, stylesheet and
icon on both, the icon served (no 404), what every back-office page needs for WCAG 2.1 AA
(lang, a main landmark, one h1), flash messages read out by their kind, and `make run PORT=`
with email links that follow the port. The browser tests audit the rendered screens."""

from __future__ import annotations

import os
import re
import subprocess

import pytest

from tests.conftest import ROOT
from tests.factories import school


@pytest.fixture
def s(app):
    return school()


def header_of(html: str) -> str:
    match = re.search(r'<header class="top">.*?</header>', html, re.S)
    assert match is not None, "no shared header"
    return match.group(0)


def test_the_icon_is_served_both_ways(client):
    with client.get("/favicon.ico") as ico:
        assert ico.status_code == 200
        assert ico.mimetype == "image/vnd.microsoft.icon"
        assert ico.data[:4] == b"\x00\x00\x01\x00"  # an ICO file...
        assert ico.data[22:30] == b"\x89PNG\r\n\x1a\n"  # ...holding a 32 x 32 PNG
    with client.get("/static/favicon.svg") as svg:
        assert svg.status_code == 200 and svg.mimetype == "image/svg+xml"
    for asset in ("mg.css", "mg-menu.js", "mg-admin.js"):
        with client.get(f"/static/{asset}") as response:
            assert response.status_code == 200


@pytest.mark.parametrize("who, url", [("learner", "/paths"), ("admin", "/admin/"),
                                      ("admin", "/admin/people/"),
                                      ("admin", "/admin/community/groups/"),
                                      ("teacher", "/review/")])
def test_site_and_back_office_share_header_stylesheet_and_icon(client, s, who, url):
    person = getattr(s, who)
    client.login(person.email)
    html = client.get(url).get_data(as_text=True)
    assert '<link rel="icon" href="/static/favicon.svg"' in html
    assert '<link rel="stylesheet" href="/static/mg.css">' in html
    header = header_of(html)
    assert 'alt="" width="22" height="22">Mentor Groups</a>' in header
    assert 'data-testid="bell"' in header
    assert f'data-testid="school-switcher">{s.account.name}' in header
    assert f'href="/password/change" title="Change your password" ' \
           f'data-testid="change-password">{person.full_name}' in header
    assert ">Sign out</button>" in header
    # The place the person is in is marked in the header's navigation.
    current = re.findall(r'<a href="([^"]+)" aria-current="page">', header)
    assert len(current) == 1 and url.startswith(current[0])


@pytest.mark.parametrize("url", ["/admin/", "/admin/people/", "/admin/paths/",
                                 "/admin/cohorts/", "/admin/sent_emails/",
                                 "/admin/community/groups/", "/admin/community/audit/",
                                 "/admin/school/", "/admin/people/new/"])
def test_back_office_pages_have_lang_main_and_one_h1(client, s, url):
    client.login(s.admin.email)
    response = client.get(url)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert '<html lang="en">' in html
    assert html.count("<main ") == 1
    assert len(re.findall(r"<h1[ >]", html)) == 1
    assert 'src="/static/mg-admin.js"' in html


def test_flash_messages_are_announced_by_their_kind(client, s):
    # An error on the site: read out at once.
    response = client.post_form("/login", {"email": s.learner.email, "password": "wrong"},
                                follow_redirects=True)
    assert re.search(r'<div class="flash error" role="alert">', response.get_data(as_text=True))
    # News in the back office: read out politely.
    client.login(s.admin.email)
    response = client.post_form("/admin/community/groups/new", {"name": "Year 7"},
                                follow_redirects=True)
    html = response.get_data(as_text=True)
    assert re.search(r'<div class="alert alert-success" role="status">\s*Group', html)
    # ...and a refusal in the back office: at once.
    response = client.post_form("/admin/community/groups/new", {"name": "year 7"},
                                follow_redirects=True)
    assert 'role="alert"' in response.get_data(as_text=True)


def run_commands(**env) -> list[str]:
    """The commands `make run PORT=5001` would run (make -n: nothing is run)."""
    clean = {k: v for k, v in os.environ.items()
             if k not in ("BASE_URL", "MAKEFLAGS", "MFLAGS", "MAKELEVEL")}  # under `make test`
    out = subprocess.run(["make", "--no-print-directory", "-n", "run", "PORT=5001"], cwd=ROOT,
                         env={**clean, **env}, check=True, capture_output=True, text=True).stdout
    return out.splitlines()


def test_make_run_on_another_port_sets_email_links_to_match():
    """The served port goes into the development file every command reads, so links in
    emails and in what the CLI prints point at it."""
    lines = run_commands()
    serve = next(line for line in lines if " run --host " in line)
    assert serve.endswith("run --host 127.0.0.1 --port 5001")
    written = next(line for line in lines if "instance/development.env" in line)
    assert "'MENTORGROUPS_DEV=1' 'BASE_URL=http://127.0.0.1:5001' > " in written
    # A BASE_URL given by the person wins.
    written = next(line for line in run_commands(BASE_URL="https://mentor.example")
                   if "instance/development.env" in line)
    assert "'BASE_URL=https://mentor.example' > " in written
