"""In a real browser, with email over SMTP: "Forgot your password?" end to end, and a person
of one school invited into a second school who accepts and switches between the two."""

from __future__ import annotations

import re

import pytest

from tests.conftest import assert_accessible, assert_fits_width, quick_sign_in
from tests.factories import make_account, make_member
from tests.test_browser_groups import ARTIFACTS, expect, follow, seed
from tests.test_browser_invitations import mail_server_app  # noqa: F401  (fixture)

pytestmark = pytest.mark.browser


def shot(page, name: str) -> None:
    """Every screen a test shows is audited with axe-core, then photographed."""
    assert_accessible(page, name)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"identity-{name}.png"), full_page=True)


def test_forgot_password_round_trip(browser, mail_server_app, smtp_server):  # noqa: F811
    app, base = mail_server_app

    def build():
        account = make_account(name="Hill School")
        make_member(account, "member", full_name="Lia Learner", email="lia@hill.test")

    seed(app, build)
    other_device = browser.new_context(base_url=base).new_page()
    quick_sign_in(other_device, "lia@hill.test")

    page = browser.new_context(base_url=base, viewport={"width": 390, "height": 800}).new_page()
    page.goto("/login")
    follow(page, page.get_by_role("link", name="Forgot your password?"))
    expect(page.locator("h1")).to_have_text("Forgot your password?")
    assert_accessible(page, "forgot form")
    page.get_by_label("Email").fill("lia@hill.test")
    follow(page, page.get_by_role("button", name="Email me a link"))
    expect(page.get_by_test_id("reset-sent")).to_contain_text("we've sent it a link")
    shot(page, "forgot-sent")

    assert len(smtp_server.messages) == 1
    link = re.search(r"http://127\.0\.0\.1:\d+/password/reset/\S+",
                     smtp_server.messages[0]["body"]).group(0)
    page.goto(link)
    expect(page.locator("h1")).to_have_text("Choose a new password")
    assert_accessible(page, "reset form")
    page.get_by_label("New password", exact=True).fill("brand-new-1")
    page.get_by_label("New password again").fill("brand-new-2")
    follow(page, page.get_by_role("button", name="Save password"))
    expect(page.locator(".field-error")).to_contain_text("The two passwords are not the same.")
    shot(page, "reset-mismatch")
    page.get_by_label("New password", exact=True).fill("brand-new-1")
    page.get_by_label("New password again").fill("brand-new-1")
    follow(page, page.get_by_role("button", name="Save password"))
    expect(page).to_have_url(f"{base}/paths")
    expect(page.locator(".flash.success")).to_contain_text("Your password is set")
    assert_accessible(page, "password set")

    other_device.goto("/paths")  # the session elsewhere ended with the reset
    expect(other_device).to_have_url(re.compile(r"/login"))

    page.goto(link)  # used
    expect(page.locator("h1")).to_have_text("This link can't be used")
    shot(page, "reset-used")

    fresh = browser.new_context(base_url=base).new_page()
    fresh.goto("/login")
    fresh.get_by_label("Email").fill("lia@hill.test")
    fresh.get_by_label("Password").fill("brand-new-1")
    follow(fresh, fresh.get_by_role("button", name="Sign in"))
    expect(fresh).to_have_url(f"{base}/paths")
    for p in (page, other_device, fresh):
        p.context.close()


def test_a_person_of_one_school_accepts_an_invitation_to_a_second(browser,
                                                                  mail_server_app,  # noqa: F811
                                                                  smtp_server):
    app, base = mail_server_app

    def build():
        hill, vale = make_account(name="Hill School"), make_account(name="Vale College")
        make_member(vale, "admin", full_name="Vic Vale", email="vic@vale.test")
        make_member(hill, "member", full_name="Lia Learner", email="lia@hill.test")

    seed(app, build)
    admin = browser.new_context(base_url=base).new_page()
    quick_sign_in(admin, "vic@vale.test", then="/admin/people/new/")
    expect(admin.get_by_label("Email")).to_be_visible()
    assert admin.locator("input[type=password]").count() == 0
    admin.get_by_label("Email").fill("lia@hill.test")
    admin.get_by_label("Role").select_option("staff")
    follow(admin, admin.get_by_role("button", name="Send invitation", exact=True))
    expect(admin.locator(".alert-success")).to_contain_text(
        "Invitation sent to lia@hill.test. They join this school as Staff when they accept it.")
    expect(admin.get_by_test_id("pending-invitations")).to_contain_text("lia@hill.test")
    shot(admin, "people-invited")

    assert len(smtp_server.messages) == 1
    assert smtp_server.messages[0]["subject"] == "Vic Vale invited you to join Vale College"
    link = re.search(r"http://127\.0\.0\.1:\d+/invitations/\S+",
                     smtp_server.messages[0]["body"]).group(0)

    lia = browser.new_context(base_url=base).new_page()
    lia.goto(link)
    expect(lia.locator("h1")).to_have_text("Join \u201cVale College\u201d")
    assert_accessible(lia, "invitation, signed out")
    follow(lia, lia.get_by_role("link", name="Sign in to accept"))
    lia.get_by_label("Email").fill("lia@hill.test")
    lia.get_by_label("Password").fill("pass-word-1")
    follow(lia, lia.get_by_role("button", name="Sign in"))
    expect(lia.locator("h1")).to_have_text("Join \u201cVale College\u201d")
    shot(lia, "accept")
    follow(lia, lia.get_by_role("button", name="Accept invitation"))
    expect(lia.locator("header")).to_contain_text("Vale College")

    follow(lia, lia.get_by_role("link", name="Vale College"))  # the school switcher
    expect(lia.locator("main")).to_contain_text("Hill School")
    assert_accessible(lia, "choose a school")
    follow(lia, lia.get_by_role("button", name=re.compile("Hill School")))
    expect(lia.locator("header")).to_contain_text("Hill School")
    shot(lia, "switched")

    admin.reload()
    expect(admin.get_by_test_id("pending-invitations")).to_have_count(0)
    expect(admin.locator("main, body").first).to_contain_text("Lia Learner")
    admin.context.close()
    lia.context.close()


def test_a_held_back_sign_in_says_how_long_and_the_owners_browser_still_gets_in(browser,
                                                                              live_server):
    """Somebody has been guessing Lia's password: on a phone the sign-in form says how long
    to wait (and that nothing was checked); her laptop, where she signed in before, gets in."""
    from datetime import timedelta

    from mentorgroups.models import SignInThrottle, utcnow

    def build():
        account = make_account(name="Hill School")
        make_member(account, "member", full_name="Lia Learner", email="lia@hill.test")

    seed(live_server.app, build)
    laptop = browser.new_context(base_url=live_server.url).new_page()
    laptop.goto("/login")
    laptop.get_by_label("Email").fill("lia@hill.test")
    laptop.get_by_label("Password").fill("pass-word-1")
    follow(laptop, laptop.get_by_role("button", name="Sign in"))
    expect(laptop).to_have_url(f"{live_server.url}/paths")
    follow(laptop, laptop.get_by_role("button", name="Sign out"))

    def guessed():
        now = utcnow()
        from mentorgroups.extensions import db

        db.session.add(SignInThrottle(email="lia@hill.test", failures=9, attempts=9,
                                      last_attempt_at=now,
                                      blocked_until=now + timedelta(minutes=10)))

    seed(live_server.app, guessed)
    phone = browser.new_context(base_url=live_server.url,
                                viewport={"width": 390, "height": 800}).new_page()
    phone.goto("/login")
    phone.get_by_label("Email").fill("lia@hill.test")
    phone.get_by_label("Password").fill("pass-word-1")
    follow(phone, phone.get_by_role("button", name="Sign in"))
    message = phone.locator(".flash")
    expect(message).to_have_attribute("role", "alert")
    expect(message).to_contain_text("Too many sign-in attempts for this email address. Wait "
                                    "10 minutes, then try again.")
    expect(message).to_contain_text("The password you typed was not checked.")
    expect(message).not_to_contain_text("don't match")
    assert_fits_width(phone)
    shot(phone, "sign-in-wait")

    laptop.get_by_label("Email").fill("lia@hill.test")
    laptop.get_by_label("Password").fill("pass-word-1")
    follow(laptop, laptop.get_by_role("button", name="Sign in"))
    expect(laptop).to_have_url(f"{live_server.url}/paths")
