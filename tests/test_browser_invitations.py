"""In a real browser: an admin invites an unknown address, the email arrives over SMTP, the
link opens, the person creates their account, lands where a mentor should, and is in the
group."""

from __future__ import annotations

import re
import threading

import pytest
from werkzeug.serving import make_server

from tests.conftest import assert_accessible, free_port, quick_sign_in
from tests.test_browser_groups import (  # noqa: F401  (fixtures)
    ARTIFACTS,
    expect,
    follow,
    new_group,
    school_with_admin,
    seed,
)

pytestmark = pytest.mark.browser


@pytest.fixture
def mail_server_app(make_app, smtp_server):
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_server.port)
    server = make_server("127.0.0.1", free_port(), app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    app.config["BASE_URL"] = f"http://127.0.0.1:{server.server_port}"
    try:
        yield app, app.config["BASE_URL"]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_invited_person_creates_an_account_and_joins_the_group(browser, mail_server_app,  # noqa: F811
                                                               smtp_server):
    app, base = mail_server_app

    def build():
        rows = school_with_admin()
        group = new_group(rows["admin"], rows["account_id"], "Coaching")
        return rows["admin_email"], group.id

    admin_email, group_id = seed(app, build)
    admin = browser.new_context(base_url=base).new_page()
    quick_sign_in(admin, admin_email, then=f"/admin/community/groups/{group_id}/")
    admin.get_by_label("Role").select_option("mentor")
    admin.get_by_label("Or paste email addresses").fill("Ivy New <ivy@new.test>")
    follow(admin, admin.get_by_role("button", name="Add", exact=True))
    expect(admin.locator(".alert-success")).to_contain_text(
        "Invited as Mentor (an email is on its way): ivy@new.test.")
    expect(admin.get_by_test_id("invitations")).to_contain_text("ivy@new.test")
    assert_accessible(admin, "invitation sent")

    assert len(smtp_server.messages) == 1
    message = smtp_server.messages[0]
    assert message["to"] == ["ivy@new.test"]
    assert message["subject"] == "Ada Admin invited you to Coaching at Hill School"
    link = re.search(r"http://127\.0\.0\.1:\d+/invitations/\S+", message["body"]).group(0)

    invitee = browser.new_context().new_page()
    invitee.goto(link)
    expect(invitee.locator("h1")).to_have_text("Join \u201cCoaching\u201d")
    expect(invitee.locator("main")).to_contain_text("as Mentor")
    assert_accessible(invitee, "join form")
    invitee.get_by_label("Your full name").fill("Ivy New")
    invitee.get_by_label("Choose a password").fill("short")
    invitee.get_by_role("button", name="Create account and join").click()
    expect(invitee.locator(".field-error")).to_contain_text("at least 8 characters")
    expect(invitee.get_by_label("Your full name")).to_have_value("Ivy New")
    assert_accessible(invitee, "join form with an error")
    invitee.get_by_label("Choose a password").fill("long-enough-1")
    invitee.get_by_role("button", name="Create account and join").click()
    expect(invitee).to_have_url(f"{base}/people/groups")  # mentors land on their groups
    expect(invitee.locator("main")).to_contain_text("Coaching")
    expect(invitee.locator("header")).to_contain_text("Ivy New")
    assert_accessible(invitee, "landed")
    ARTIFACTS.mkdir(exist_ok=True)
    invitee.screenshot(path=str(ARTIFACTS / "invitation-landed.png"), full_page=True)

    invitee.goto(link)  # used: a clear page, nothing changes
    expect(invitee.locator("h1")).to_have_text("This invitation can't be used")
    expect(invitee.locator("main")).to_contain_text("already been used")
    assert_accessible(invitee, "used invitation")

    admin.reload()
    expect(admin.get_by_test_id("staff")).to_contain_text("Ivy New")
    expect(admin.get_by_test_id("staff")).to_contain_text("Mentor")
    expect(admin.get_by_test_id("invitations")).to_have_count(0)
    admin.context.close()
    invitee.context.close()
