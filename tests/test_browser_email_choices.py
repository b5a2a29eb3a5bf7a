"""In a real browser: from Notifications a person opens Email choices, picks a summary for
one kind and none for the other with the keyboard and mouse, saves, and sees the choices kept;
the one-click unsubscribe page works without signing in. Desktop and phone, axe-clean."""

from __future__ import annotations

import pytest

from tests.conftest import assert_accessible, assert_fits_width, quick_sign_in
from tests.test_browser_groups import ARTIFACTS, expect, follow, seed

pytestmark = pytest.mark.browser


def build_school():
    from tests.factories import make_account, make_member

    account = make_account(name="Hill School")
    mentor = make_member(account, "staff", full_name="Mo Mentor", email="mo@hill.test")
    other = make_account(name="Vale School")
    make_member(other, "staff", user=mentor)
    return {"account_id": account.id, "other_id": other.id, "mentor_id": mentor.id}


@pytest.mark.parametrize("width", [1280, 390])
def test_choosing_emails_and_unsubscribing(new_page, live_server, width):
    ids = seed(live_server.app, build_school)
    page = new_page()
    page.set_viewport_size({"width": width, "height": 844})
    quick_sign_in(page, "mo@hill.test", then="/notifications")
    if "/accounts" in page.url:  # a person of two schools says which one first
        follow(page, page.get_by_role("button", name="Work in Hill School"))
        page.goto("/notifications")
    follow(page, page.get_by_test_id("email-choices"))
    expect(page.locator("h1")).to_have_text("Email choices")
    submissions = page.get_by_role("group", name="Work submitted for you to review")
    expect(submissions.get_by_label("Immediately, one email each")).to_be_checked()
    assert_accessible(page, "email choices")
    assert_fits_width(page)
    submissions.get_by_label("A summary, at most once an hour").check()
    reviews = page.get_by_role("group", name="Reviews of your work")
    reviews.get_by_label("Off (the bell still shows them)").focus()
    page.keyboard.press("Space")
    follow(page, page.get_by_role("button", name="Save"))
    expect(page.locator(".flash.success")).to_contain_text("Email choices for Hill School saved.")
    expect(submissions.get_by_label("A summary, at most once an hour")).to_be_checked()
    expect(reviews.get_by_label("Off (the bell still shows them)")).to_be_checked()
    assert_accessible(page, "email choices saved")
    assert_fits_width(page)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"email-choices-{width}.png"), full_page=True)

    with live_server.app.app_context():
        from mentorgroups.extensions import db
        from mentorgroups.models import User
        from mentorgroups.services import email_choices

        mentor = db.session.get(User, ids["mentor_id"])
        assert email_choices.choices_for(mentor, ids["account_id"]) == {
            "submissions": "hourly", "reviews": "off", "replies": "immediately"}
        assert email_choices.choices_for(mentor, ids["other_id"]) == {
            "submissions": "immediately", "reviews": "immediately", "replies": "immediately"}
        with live_server.app.test_request_context():
            token = email_choices.unsubscribe_token(ids["mentor_id"], ids["account_id"],
                                                    "submissions")
        db.session.remove()

    visitor = new_page()
    visitor.set_viewport_size({"width": width, "height": 844})
    visitor.goto(f"/email/unsubscribe/{token}")
    expect(visitor.locator("h1")).to_have_text("Stop these emails?")
    assert_accessible(visitor, "unsubscribe")
    assert_fits_width(visitor)
    follow(visitor, visitor.get_by_role("button", name="Stop these emails"))
    expect(visitor.get_by_test_id("unsubscribed")).to_contain_text(
        "work submitted for you to review")
    assert_accessible(visitor, "unsubscribed")
    assert_fits_width(visitor)
    visitor.screenshot(path=str(ARTIFACTS / f"email-unsubscribed-{width}.png"), full_page=True)
