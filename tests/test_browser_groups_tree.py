"""The Groups tab's tree one level at a time, in a real browser: opening a group fetches its
nested groups, a level larger than a page grows with "Show more", the keyboard moves through
the visible groups and opens and closes them, the search answers from the server with each
match's path, and the screen fits a phone. Screenshots go to test-artifacts/groups-tree-*.png."""

from __future__ import annotations

import pytest

from tests.conftest import assert_accessible, assert_fits_width, quick_sign_in
from tests.test_browser_groups import (
    ARTIFACTS,
    GROUPS,
    add_to_group,
    new_group,
    school_with_admin,
    seed,
    tree_row,
)

playwright_sync = pytest.importorskip("playwright.sync_api")
expect = playwright_sync.expect
pytestmark = pytest.mark.browser


def shot(page, name: str, full_page: bool = True) -> None:
    assert_accessible(page, name)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"groups-tree-{name}.png"), full_page=full_page)


def wide_school() -> str:
    """Year 7 holds 60 groups ("Class 0".."Class 59"), the newest of them "Robotics" with
    "Lego league" in it; Year 8 and Year 9 beside it. Returns the admin's email."""
    s = school_with_admin(plan="enterprise")
    admin, account_id = s["admin"], s["account_id"]
    year7 = new_group(admin, account_id, "Year 7")
    for i in range(59):
        new_group(admin, account_id, f"Class {i}", parent=year7)
    robotics = new_group(admin, account_id, "Robotics", parent=year7,
                         description="Tuesdays <b>after</b> school")
    new_group(admin, account_id, "Lego league", parent=robotics)
    new_group(admin, account_id, "Year 8")
    new_group(admin, account_id, "Year 9")
    return s["admin_email"]


def names(page):
    return page.locator(".mg-name:visible")


def test_the_tree_opens_level_by_level_from_the_keyboard(live_server, page):
    quick_sign_in(page, seed(live_server.app, wide_school), then=GROUPS)
    expect(names(page)).to_have_text(["Year 9", "Year 8", "Year 7"])
    year7 = tree_row(page, "Year 7")
    toggle = year7.locator("[data-toggle-id]")
    expect(toggle).to_have_attribute("role", "button")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(year7).to_contain_text("60 nested")
    shot(page, "01-top-level")

    # Down twice from the first group to Year 7, Right opens it (fetched from the server).
    page.locator(".mg-name").first.focus()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    expect(year7.locator(".mg-name")).to_be_focused()
    page.keyboard.press("ArrowRight")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(page.locator("#mg-children-" + toggle.get_attribute("data-toggle-id")
                        + " > .mg-node")).to_have_count(50)
    expect(page.locator("#mg-tree-status")).to_have_text("50 nested groups of Year 7 shown")
    # Right again goes into the level, to its newest group; Right opens that one too.
    page.keyboard.press("ArrowRight")
    robotics = tree_row(page, "Robotics")
    expect(robotics.locator(".mg-name")).to_be_focused()
    expect(robotics.locator(".mg-desc")).to_have_text("Tuesdays <b>after</b> school")
    page.keyboard.press("ArrowRight")
    expect(tree_row(page, "Lego league")).to_be_visible()
    shot(page, "02-opened")

    # Left closes Robotics, Left again goes up to Year 7, Left closes Year 7.
    page.keyboard.press("ArrowLeft")
    expect(tree_row(page, "Lego league")).to_be_hidden()
    page.keyboard.press("ArrowLeft")
    expect(year7.locator(".mg-name")).to_be_focused()
    page.keyboard.press("ArrowLeft")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(robotics).to_be_hidden()
    page.keyboard.press("End")
    expect(year7.locator(".mg-name")).to_be_focused()
    page.keyboard.press("Home")
    expect(tree_row(page, "Year 9").locator(".mg-name")).to_be_focused()

    # The caret from the keyboard: Tab to it, Space opens (no second fetch), Enter closes.
    toggle.focus()
    page.keyboard.press(" ")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(robotics).to_be_visible()
    expect(tree_row(page, "Lego league")).to_be_hidden()  # closed when Robotics was

    # A level larger than a page: "Show more" appends the rest, the focus on the first new.
    more = page.get_by_role("link", name="Show more groups in Year 7")
    expect(page.locator(".mg-more")).to_contain_text("(50 of 60 shown)")
    more.click()
    level = page.locator("#mg-children-" + toggle.get_attribute("data-toggle-id") + " > .mg-node")
    expect(level).to_have_count(60)
    expect(page.locator(".mg-more")).to_have_count(0)
    expect(tree_row(page, "Class 9").locator(".mg-name")).to_be_focused()
    expect(tree_row(page, "Class 0")).to_be_visible()
    shot(page, "03-show-more")

    # The search answers from the server, each match with its path.
    search = page.get_by_role("searchbox", name="Find a group by name")
    search.press_sequentially("lego")
    found = page.get_by_test_id("group-search-results").get_by_role("link")
    expect(found).to_have_text(["Year 7 \u203a Robotics \u203a Lego league"])
    shot(page, "04-search")

    # A phone: nothing scrolls sideways, rows wrap.
    page.set_viewport_size({"width": 390, "height": 844})
    assert_fits_width(page)
    tree_row(page, "Year 7").scroll_into_view_if_needed()
    shot(page, "05-phone", full_page=False)
    assert page.dialogs == []


def test_without_scripts_the_carets_open_the_page_of_a_level(live_server, browser):
    email = seed(live_server.app, wide_school)
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    context.set_default_timeout(30_000)
    try:
        page = context.new_page()
        quick_sign_in(page, email, then=GROUPS)
        with page.expect_navigation():
            tree_row(page, "Year 7").locator(".mg-toggle").click()
        expect(page.locator(".breadcrumb")).to_contain_text("Year 7")
        expect(page.locator(".mg-tree > .mg-node")).to_have_count(50)
        with page.expect_navigation():
            page.get_by_role("link", name="Show more groups in Year 7").click()
        expect(page.locator(".mg-tree > .mg-node")).to_have_count(10)
        expect(page.get_by_test_id("pager")).to_contain_text("51\u201360 of 60")
        page.set_viewport_size({"width": 390, "height": 844})
        assert_fits_width(page)
        page.screenshot(path=str(ARTIFACTS / "groups-tree-06-no-scripts.png"), full_page=True)
    finally:
        context.close()


def group_admin_of_many() -> str:
    """Gina is Group Admin of "Whole school", which holds 60 classes; her email."""
    s = school_with_admin(plan="enterprise", gina=("staff", "Gina Grant", "gina@hill.test"))
    admin, account_id = s["admin"], s["account_id"]
    top = new_group(admin, account_id, "Whole school")
    for i in range(60):
        new_group(admin, account_id, f"Class {i:02d}", parent=top)
    add_to_group(admin, account_id, top, "group_admin", s["gina"])
    return s["gina"].email


def test_a_group_admin_of_many_groups_pages_and_searches_them(live_server, page):
    quick_sign_in(page, seed(live_server.app, group_admin_of_many), then="/people/groups")
    cards = page.get_by_test_id("my-groups").locator(".card")
    expect(cards).to_have_count(50)
    expect(page.get_by_test_id("my_pager-count")).to_have_text("1\u201350 of 61 groups")
    expect(cards.first).to_contain_text("Class 00")
    shot(page, "07-people-groups")
    page.get_by_role("link", name="Page 2").click()
    expect(cards).to_have_count(11)
    expect(cards.last).to_contain_text("Whole school")
    search = page.get_by_label("Find one of your groups")
    search.fill("class 05")
    with page.expect_navigation():
        search.press("Enter")
    expect(cards).to_have_count(1)
    expect(cards.first).to_contain_text("Group Admin")
    page.set_viewport_size({"width": 390, "height": 844})
    assert_fits_width(page)
    shot(page, "08-people-groups-phone", full_page=False)
