"""Issue 13 in a real browser, the way the help article tells people to work: Home > People >
Manage opens the Community screen (Groups and Audit log tabs); inviting a new address from the
members screen's search bar; a Group Admin warned before demoting themselves and landing
somewhere they can see; a second reviewer who was beaten to it keeps what they typed.
Screenshots go to test-artifacts/ways-*.png."""

from __future__ import annotations

import re

import pytest

from tests.conftest import ROOT, quick_sign_in
from tests.factories import make_cohort, make_member, make_path
from tests.test_browser_groups import add_to_group, follow, new_group, school_with_admin, seed

playwright_sync = pytest.importorskip("playwright.sync_api")
expect = playwright_sync.expect

pytestmark = pytest.mark.browser

ARTIFACTS = ROOT / "test-artifacts"
GROUPS = "/admin/community/groups/"


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"ways-{name}.png"), full_page=True)


def no_horizontal_overflow(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_manage_on_people_opens_the_community_screen_with_its_tabs(live_server, page):
    def build():
        s = school_with_admin(plan="trial")
        group = new_group(s["admin"], s["account_id"], "Coaching circle")
        add_to_group(s["admin"], s["account_id"], group, "member", s["admin"])
        return s["admin_email"]

    admin_email = seed(live_server.app, build)
    quick_sign_in(page, admin_email, then="/paths")
    follow(page, page.get_by_role("link", name="People", exact=True))
    expect(page).to_have_url(re.compile(r"/people/groups$"))
    manage = page.get_by_role("link", name="Manage", exact=True)
    box = manage.bounding_box()
    assert box["x"] > 1280 / 2  # upper right, as the article says
    follow(page, manage)
    expect(page).to_have_url(re.compile(r"/admin/community/groups/$"))
    expect(page.get_by_role("heading", name="Community", level=1)).to_be_visible()
    tabs = page.get_by_role("navigation", name="Community tabs").get_by_role("link")
    expect(tabs).to_have_text(["Groups", "Audit log"])
    expect(tabs.first).to_have_attribute("aria-current", "page")
    expect(page.get_by_test_id("usage")).to_contain_text("1 of 1 group on the Trial plan")
    # The reports menu is there, for the account admin.
    expect(page.get_by_role("button", name="Additional actions")).to_be_visible()
    shot(page, "01-community-groups")
    follow(page, tabs.nth(1))
    expect(page).to_have_url(re.compile(r"/admin/community/audit/$"))
    expect(page.get_by_role("navigation", name="Community tabs").get_by_role(
        "link", name="Audit log")).to_have_attribute("aria-current", "page")
    expect(page.locator("table.model-list")).to_contain_text("Created the group")
    expect(page.locator("table.model-list")).to_contain_text("Added Ada Admin as Member")
    expect(page.get_by_role("button", name="Additional actions")).to_be_visible()
    shot(page, "02-community-audit")
    # The back office menu's Community entry opens the same screen.
    follow(page, page.locator(".navbar").get_by_role("link", name="Community", exact=True))
    expect(page).to_have_url(re.compile(r"/admin/community/groups/$"))
    # The Plan screen, from the meter.
    follow(page, page.get_by_test_id("usage").get_by_role("link", name="Plan"))
    expect(page.get_by_test_id("plans").locator("tbody th")).to_have_text(
        ["Trial", "Starter", "Essentials", "Complete", "Enterprise"])
    expect(page.get_by_test_id("set-plan-command")).to_contain_text("accounts set-plan")
    page.set_viewport_size({"width": 390, "height": 800})
    page.goto(GROUPS.replace("community/groups/", "community/audit/"))
    page.wait_for_load_state("load")
    shot(page, "03-phone-audit")


def test_invite_a_new_address_from_the_search_bar(live_server, page):
    def build():
        s = school_with_admin()
        for n in range(23):
            make_member(s["account"], "member", full_name=f"Sam {n:02d}", email=f"sam{n}@hill.test")
        group = new_group(s["admin"], s["account_id"], "Coaching circle")
        return s["admin_email"], group.id

    admin_email, group_id = seed(live_server.app, build)
    quick_sign_in(page, admin_email, then=f"{GROUPS}{group_id}/")
    search = page.get_by_label("Search people to add")
    # More than 20 match: the list says how many more.
    search.press_sequentially("sam")
    expect(page.locator("#mg-results .mg-result")).to_have_count(20)
    expect(page.get_by_test_id("more-results")).to_have_text(re.compile(r"^3 more people match"))
    search.fill("")
    search.press_sequentially("Newbie@Example.org")
    invite = page.get_by_test_id("invite-result")
    expect(invite).to_have_text("Invite newbie@example.org")
    shot(page, "04-invite-offered")
    invite.click()
    expect(page.locator("#mg-picked .mg-chip")).to_contain_text("Invite newbie@example.org")
    page.get_by_label("Role").select_option(label="Mentor")
    follow(page, page.get_by_role("button", name="Add", exact=True))
    expect(page.locator(".alert")).to_contain_text(
        "Invited as Mentor (an email is on its way): newbie@example.org.")
    expect(page.get_by_test_id("invitations")).to_contain_text("newbie@example.org")
    expect(page.get_by_test_id("invitations")).to_contain_text("Mentor")
    shot(page, "05-invited-from-search")
    assert page.dialogs == []


def test_group_admin_is_warned_before_demoting_themselves_and_lands_on_people(
        live_server, page):
    def build():
        s = school_with_admin(gina=("staff", "Gina Grant", "gina@hill.test"))
        group = new_group(s["admin"], s["account_id"], "Coaching circle")
        add_to_group(s["admin"], s["account_id"], group, "group_admin", s["gina"])
        return s["gina"].email, group.id

    gina_email, group_id = seed(live_server.app, build)
    quick_sign_in(page, gina_email, then=f"{GROUPS}{group_id}/")
    item = page.get_by_test_id("staff").locator("li").filter(has_text="Gina Grant")
    item.get_by_test_id("role-menu").click()
    with page.expect_navigation():
        item.get_by_role("menuitem", name="Member").click()
    assert len(page.dialogs) == 1
    assert "You will lose access to manage \u201cCoaching circle\u201d" in page.dialogs[0]
    expect(page).to_have_url(re.compile(r"/people/groups$"))
    expect(page.locator(".flash").filter(has_text="no longer manage")).to_contain_text(
        "You no longer manage \u201cCoaching circle\u201d")
    expect(page.get_by_role("heading", name="You can't open this page")).to_have_count(0)
    shot(page, "06-after-self-demotion")


def test_second_reviewer_keeps_their_feedback_and_sees_who_was_first(live_server, new_page):
    def build():
        from mentorgroups.services import learning

        s = school_with_admin(tom=("staff", "Tom Teacher", "tom@hill.test"),
                              lia=("member", "Lia Learner", "lia@hill.test"))
        path = make_path(s["account"], steps=2, review_at=(1,), title="Robotics")
        make_cohort(path, teachers=[s["tom"]], learners=[s["lia"]])
        submission = learning.submit_for_review(s["lia"], s["account_id"], path.steps[0].id,
                                                "My line follower")
        return s["admin_email"], s["tom"].email, submission.id

    admin_email, tom_email, submission_id = seed(live_server.app, build)
    tom = new_page()
    quick_sign_in(tom, tom_email, then="/notifications")
    expect(tom.get_by_test_id("bell")).to_have_attribute("aria-label", "Notifications: 1 unread")
    tom.goto(f"/review/{submission_id}")
    tom.get_by_label("Feedback").fill("Careful notes\nthat took a while")

    admin = new_page()
    quick_sign_in(admin, admin_email, then=f"/review/{submission_id}")
    admin.get_by_label("Feedback").fill("Well done")
    follow(admin, admin.get_by_role("button", name="Save review"))

    follow(tom, tom.get_by_role("button", name="Save review"))
    expect(tom.get_by_text("Ada Admin already reviewed this on")).to_be_visible()
    expect(tom.get_by_label("Your feedback (not saved)")).to_have_value(
        "Careful notes\nthat took a while")
    expect(tom.get_by_test_id("submission-status")).to_contain_text("reviewed by Ada Admin on")
    expect(tom.get_by_test_id("submission-status")).not_to_contain_text("waiting")
    shot(tom, "07-second-reviewer")
    tom.goto("/notifications")
    item = tom.get_by_test_id("notification")
    expect(item).to_contain_text("reviewed by Ada Admin")
    expect(item).not_to_have_class(re.compile(r"\bunread\b"))
    expect(tom.get_by_test_id("bell")).to_have_attribute("aria-label", "Notifications: 0 unread")
    shot(tom, "08-notification-settled")
