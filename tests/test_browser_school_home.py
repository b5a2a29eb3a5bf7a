"""Issue 23 in a real browser: a new admin signs in and starts on the school home; upgrades
from Essentials to Complete on the Plan screen (New group at the limit leads there, the
reason on the page) and creates the sixth group without an operator; a learner's header has
no staff places. Every screen axe-clean at 1280 and 390 px, none scrolling sideways.
Screenshots go to test-artifacts/home-*.png."""

from __future__ import annotations

import re

import pytest

from tests.conftest import ROOT, assert_accessible, assert_fits_width
from tests.factories import make_cohort, make_member, make_path
from tests.test_browser import sign_in
from tests.test_browser_groups import add_to_group, follow, new_group, school_with_admin, seed

playwright_sync = pytest.importorskip("playwright.sync_api")
expect = playwright_sync.expect

pytestmark = pytest.mark.browser

ARTIFACTS = ROOT / "test-artifacts"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def shot(page, name: str) -> None:
    assert_accessible(page, name)
    assert_fits_width(page)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"home-{name}.png"), full_page=True)


def build_school():
    from mentorgroups.services import learning

    s = school_with_admin(plan="essentials",
                          mo=("staff", "Mo Mentor", "mo@hill.test"),
                          lia=("member", "Lia Learner", "lia@hill.test"),
                          sam=("member", "Sam Student", "sam@hill.test"))
    path = make_path(s["account"], steps=3, review_at=(1,), title="Essay writing")
    make_cohort(path, learners=[s["lia"], s["sam"]])
    made = [new_group(s["admin"], s["account_id"], name) for name in (
        "Coaching circle", "Data analysts", "Writers' room", "Year 7 <tutors>")]
    new_group(s["admin"], s["account_id"], "Robotics club", made[3])
    add_to_group(s["admin"], s["account_id"], made[0], "mentor", s["mo"])
    add_to_group(s["admin"], s["account_id"], made[0], "member", s["lia"], s["sam"])
    learning.submit_for_review(s["lia"], s["account_id"], path.steps[0].id, "My essay")
    make_member(s["account"], "member", full_name="Extra Person", email="x@hill.test")
    return {"admin_email": s["admin_email"], "learner_email": "sam@hill.test"}


def test_a_new_admin_starts_home_upgrades_and_creates_the_sixth_group(live_server, page):
    s = seed(live_server.app, build_school)
    page.set_viewport_size(DESKTOP)
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login\?next=/$"))
    sign_in(page, s["admin_email"], open_form=False)

    # The school home, not an empty "My paths".
    expect(page).to_have_url(live_server("/admin/"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Hill School")
    table = page.get_by_test_id("school-groups")
    expect(table.locator("tbody tr")).to_have_count(5)
    coaching = table.locator("tbody tr", has_text="Coaching circle")
    expect(coaching.locator("td[data-label=Members]")).to_have_text("2")
    expect(coaching.locator("td[data-label=Mentors]")).to_have_text("1")
    expect(coaching.locator("td[data-label='Waiting reviews']")).to_have_text("1")
    expect(table).to_contain_text("Year 7 <tutors>")  # escaped, shown as typed
    expect(page.get_by_test_id("unmentored")).to_have_text("4")
    expect(page.get_by_test_id("home-usage")).to_have_text(
        "5 of 5 groups on the Essentials plan")
    expect(page.locator(".mg-subnav").get_by_role("link", name="Home")).to_be_visible()
    shot(page, "01-school-home")

    follow(page, table.get_by_role("link", name="Waiting reviews"))
    expect(page.get_by_role("columnheader", name=re.compile("Waiting reviews"))
           ).to_have_attribute("aria-sort", "descending")
    expect(table.locator("tbody tr").first).to_contain_text("Coaching circle")
    follow(page, page.get_by_role("link", name="Show them"))
    expect(table.locator("tbody tr")).to_have_count(4)
    expect(table).not_to_contain_text("Coaching circle")

    # Community > Groups at the limit: New group opens the Plan screen, saying why.
    page.goto("/admin/community/groups/")
    expect(page.get_by_test_id("limit-message")).to_be_visible()
    follow(page, page.get_by_test_id("new-group-at-limit"))
    expect(page.get_by_test_id("plan-reason")).to_contain_text(
        "Your Essentials plan includes 5 groups and this school has 5.")
    shot(page, "02-plan-at-limit")
    follow(page, page.get_by_role("link", name="Choose Complete"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Change to the Complete plan?")
    expect(page.get_by_test_id("plan-consequences")).to_contain_text(
        "You can create 15 more groups from now on.")
    shot(page, "03-plan-confirm")
    follow(page, page.get_by_role("button", name="Change to Complete"))
    expect(page.locator(".alert-success, [role=status]").filter(
        has_text="now on the Complete plan (was Essentials)")).to_have_count(1)
    expect(page.get_by_test_id("plan-usage")).to_contain_text("5 of 20 groups")

    # The sixth group, with no operator.
    page.goto("/admin/community/groups/")
    follow(page, page.get_by_role("link", name="New group").first)
    page.get_by_label("Name").fill("Sixth form")
    follow(page, page.get_by_role("button", name="Create"))
    expect(page).to_have_url(re.compile(r"/admin/community/groups/\d+/$"))
    page.goto("/admin/")
    expect(page.get_by_test_id("school-groups").locator("tbody tr")).to_have_count(6)
    expect(page.get_by_test_id("home-usage")).to_have_text(
        "6 of 20 groups on the Complete plan")

    # The change is in the audit log.
    page.goto("/admin/community/audit/")
    expect(page.locator("table.model-list")).to_contain_text(
        "Changed the plan from Essentials to Complete")

    # Home > People > Groups: All groups, each opening its mentor page.
    page.goto("/people/groups")
    all_groups = page.get_by_test_id("all_school-groups")
    follow(page, all_groups.get_by_role("link", name="Data analysts"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Data analysts")

    # The same screens on a phone.
    page.set_viewport_size(PHONE)
    for url, name in (("/admin/", "04-phone-home"), ("/admin/plan/", "05-phone-plan"),
                      ("/admin/plan/change?plan=trial", "06-phone-downgrade"),
                      ("/people/groups", "07-phone-people-groups")):
        page.goto(url)
        page.wait_for_load_state("load")
        shot(page, name)
    expect(page.get_by_test_id("all_school-groups")).to_be_visible()
    # On a phone the headers are hidden: the order is chosen from a menu.
    page.goto("/admin/?sort=name&dir=desc")
    page.get_by_label("Sort by").select_option(label="Most waiting")
    follow(page, page.get_by_role("button", name="Sort", exact=True))
    expect(page.get_by_test_id("school-groups").locator("tbody tr").first).to_contain_text(
        "Coaching circle")


def test_a_learner_sees_no_staff_places(live_server, page):
    s = seed(live_server.app, build_school)
    page.set_viewport_size(PHONE)
    page.goto("/")
    sign_in(page, s["learner_email"], open_form=False)
    expect(page).to_have_url(live_server("/paths"))
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link")).to_have_text(["My paths"])
    shot(page, "08-phone-learner")
