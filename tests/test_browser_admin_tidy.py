"""The back office's rough edges (issue 23, items 4-7) in a real browser: removing anyone in
one step with an in-page confirmation naming the role, the members screen's two searches
labelled apart on a phone, the tree's search and remembered folds, the "Nest under" picker,
and the back-office lists readable at 390 px. Axe-clean at 1280 and 390 px, no sideways
scroll, no native dialog, no CSP violation. Screenshots in test-artifacts/tidy-*.png."""

from __future__ import annotations

import re

import pytest

from tests.conftest import ROOT, assert_accessible, assert_fits_width, quick_sign_in
from tests.factories import make_account, make_cohort, make_member, make_path
from tests.test_browser_groups import (
    GROUPS,
    add_to_group,
    alerts,
    follow,
    member_row,
    new_group,
    seed,
    staff_item,
    tree_row,
)

playwright_sync = pytest.importorskip("playwright.sync_api")
expect = playwright_sync.expect
pytestmark = pytest.mark.browser

ARTIFACTS = ROOT / "test-artifacts"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
LONG_ADDRESS = "member.number.with.a.rather.long.address@hill-school.example"


def shot(page, name: str) -> None:
    """Audited (axe), checked for sideways scroll, then photographed."""
    assert_accessible(page, name)
    assert_fits_width(page)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"tidy-{name}.png"), full_page=True)


def both_widths(page, name: str) -> None:
    for size, suffix in ((DESKTOP, "1280"), (PHONE, "390")):
        page.set_viewport_size(size)
        shot(page, f"{name}-{suffix}")
    page.set_viewport_size(DESKTOP)


def inside_window(locator, width: int = 390) -> None:
    box = locator.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width, box


def hill_school():
    account = make_account(plan="enterprise", name="Hill School")
    admin = make_member(account, "admin", full_name="Ada Admin", email="ada@hill.test")
    pat = make_member(account, "staff", full_name="Pat Park", email="pat@hill.test")
    gina = make_member(account, "staff", full_name="Gina Grant", email="gina@hill.test")
    lia = make_member(account, "member", full_name="Lia Learner", email=LONG_ADDRESS)
    year7 = new_group(admin, account.id, "Year 7")
    numbered = {n: new_group(admin, account.id, f"group {n}", parent=year7)
                for n in (1, 2, 10, 11)}
    club = new_group(admin, account.id, "Robotics club", parent=numbered[2])
    new_group(admin, account.id, "Year 8")
    add_to_group(admin, account.id, year7, "mentor", pat)
    add_to_group(admin, account.id, year7, "group_admin", gina)
    add_to_group(admin, account.id, year7, "member", lia)
    return {"admin_email": admin.email, "year7": year7.id, "two": numbered[2].id,
            "ten": numbered[10].id, "club": club.id, "account_id": account.id,
            "admin_id": admin.id}


# --- removing anyone, in one step ---------------------------------------------------------------


def test_remove_a_mentor_in_one_step_with_an_in_page_confirmation(live_server, page):
    s = seed(live_server.app, hill_school)
    quick_sign_in(page, s["admin_email"], then=f"{GROUPS}{s['year7']}/")
    pat = staff_item(page, "Pat Park")

    # The role menu offers Remove from group below the roles.
    pat.get_by_test_id("role-menu").click()
    pat.get_by_role("menuitem", name="Remove from group").click()
    confirm = page.get_by_role("dialog", name="Remove Pat Park from Year 7?")
    expect(confirm).to_be_visible()
    expect(confirm).to_contain_text("Pat Park is a Mentor of this group.")
    expect(confirm).to_contain_text("no weekly digest for it")
    expect(confirm.get_by_role("button", name="Cancel")).to_be_focused()
    both_widths(page, "01-remove-mentor-dialog")

    # Cancel: nothing changes, the focus goes back to the menu's button.
    confirm.get_by_role("button", name="Cancel").click()
    expect(confirm).to_be_hidden()
    expect(pat.get_by_test_id("role-menu")).to_be_focused()
    expect(pat).to_be_visible()

    # Escape closes it too; then Remove for real.
    pat.get_by_test_id("role-menu").click()
    pat.get_by_role("menuitem", name="Remove from group").click()
    page.keyboard.press("Escape")
    expect(confirm).to_be_hidden()
    pat.get_by_test_id("role-menu").click()
    pat.get_by_role("menuitem", name="Remove from group").click()
    follow(page, confirm.get_by_role("button", name="Remove from group"))
    expect(alerts(page)).to_have_text(re.compile(r"Removed from the group: Pat Park\."))
    expect(staff_item(page, "Pat Park")).to_have_count(0)

    # A Group Admin is named as one; a member from the "..." menu, the same dialog.
    gina = staff_item(page, "Gina Grant")
    gina.get_by_test_id("role-menu").click()
    gina.get_by_role("menuitem", name="Remove from group").click()
    expect(page.get_by_role("dialog")).to_contain_text("Gina Grant is a Group Admin of this group.")
    page.get_by_role("dialog").get_by_role("button", name="Cancel").click()
    page.get_by_role("button", name="More for Lia Learner").click()
    member_row(page, "Lia Learner").get_by_role("menuitem", name="Remove from group").click()
    lia = page.get_by_role("dialog", name="Remove Lia Learner from Year 7?")
    expect(lia).to_contain_text("Lia Learner is a Member of this group.")
    expect(lia).not_to_contain_text("digest")
    follow(page, lia.get_by_role("button", name="Remove from group"))
    expect(alerts(page)).to_have_text(re.compile(r"Removed from the group: Lia Learner\."))
    assert page.dialogs == []  # never a native confirm()

    # The audit log keeps each removal with the role the person had.
    page.goto("/admin/community/audit/")
    expect(page.locator("table.model-list tbody")).to_contain_text("Pat Park")


def test_without_scripts_remove_is_a_confirmation_page(live_server, browser):
    s = seed(live_server.app, hill_school)
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False,
                                  viewport=PHONE)
    try:
        page = context.new_page()
        quick_sign_in(page, s["admin_email"], then=f"{GROUPS}{s['year7']}/")
        # The menus don't open without scripts: follow Pat's Remove link as a browser would.
        page.goto(page.locator("[data-mg-remove][data-name='Pat Park']").get_attribute("href"))
        expect(page.get_by_role("heading", name="Remove Pat Park from Year 7?")).to_be_visible()
        expect(page.get_by_test_id("remove-role")).to_contain_text("Pat Park is a Mentor")
        assert_fits_width(page)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "tidy-02-remove-page-no-js-390.png"),
                        full_page=True)
        with page.expect_navigation():
            page.get_by_role("button", name="Remove from group").click()
        expect(page.locator(".alert")).to_have_text(
            re.compile(r"Removed from the group: Pat Park\."))
    finally:
        context.close()


# --- the members screen's two searches ------------------------------------------------------


def text_fits(locator) -> bool:
    """Whether the input's placeholder is shown whole (not cut off) at its current width."""
    return locator.evaluate("""el => {
        const style = getComputedStyle(el);
        const canvas = document.createElement('canvas').getContext('2d');
        canvas.font = style.font;
        const room = el.clientWidth - parseFloat(style.paddingLeft)
            - parseFloat(style.paddingRight);
        return canvas.measureText(el.placeholder).width <= room;
    }""")


def test_members_screen_has_two_labelled_searches_that_fit_a_phone(live_server, page):
    s = seed(live_server.app, hill_school)
    page.set_viewport_size(PHONE)
    quick_sign_in(page, s["admin_email"], then=f"{GROUPS}{s['year7']}/")
    add = page.get_by_role("searchbox", name="Search people to add")
    group_filter = page.get_by_role("searchbox", name="Filter this group's staff and members")
    for box in (add, group_filter):
        expect(box).to_be_visible()
        inside_window(box)
        assert text_fits(box), box
    expect(page.get_by_text("type a full address to invite someone new")).to_be_visible()
    shot(page, "03-members-two-searches-390")

    # The filter narrows the group's own lists; the search above still finds the school.
    group_filter.fill("gina")
    follow(page, page.get_by_role("button", name="Filter"))
    expect(page.get_by_test_id("staff").locator("li")).to_have_count(1)
    expect(staff_item(page, "Gina Grant")).to_be_visible()
    expect(page.get_by_role("link", name="Show everyone")).to_be_visible()
    add.press_sequentially("Lia")
    expect(page.locator("#mg-results .mg-result")).to_have_count(1)
    expect(page.locator("#mg-results .mg-result")).to_contain_text("already Member")
    page.set_viewport_size(DESKTOP)
    shot(page, "04-members-filtered-1280")


# --- the tree: search, remembered folds ----------------------------------------------------------


def test_tree_search_shows_paths_and_folds_are_remembered(live_server, page):
    s = seed(live_server.app, hill_school)
    quick_sign_in(page, s["admin_email"], then=GROUPS)
    search = page.get_by_role("searchbox", name="Find a group by name")
    search.press_sequentially("group 1")
    found = page.get_by_test_id("group-search-results").get_by_role("link")
    # Natural order: group 1, group 10, group 11 (never 1, 10, 11, 2 as text).
    expect(found).to_have_text(["Year 7 \u203a group 1", "Year 7 \u203a group 10",
                                "Year 7 \u203a group 11"])
    expect(page.get_by_test_id("group-search-results")).to_contain_text(
        "3 groups match \u201cgroup 1\u201d")
    both_widths(page, "05-tree-search")
    search.fill("")
    search.press_sequentially("robot")
    expect(found).to_have_text(["Year 7 \u203a group 2 \u203a Robotics club"])
    follow(page, found.first)
    expect(page.get_by_test_id("group-name")).to_have_text("Robotics club")

    # Opened branches survive a reload, per person: open Year 7 and group 2, reload.
    page.goto(GROUPS)
    year7 = tree_row(page, "Year 7")
    expect(tree_row(page, "group 2")).to_have_count(0)  # fetched when Year 7 is opened
    year7.get_by_role("button", name="Expand Year 7").click()
    expect(tree_row(page, "group 2")).to_be_visible()
    tree_row(page, "group 2").get_by_role("button", name="Expand group 2").click()
    expect(tree_row(page, "Robotics club")).to_be_visible()
    page.reload()
    expect(tree_row(page, "Robotics club")).to_be_visible()
    expect(year7.locator("[data-toggle-id]")).to_have_attribute("aria-expanded", "true")
    expect(tree_row(page, "Year 8")).to_be_visible()
    tree_row(page, "group 2").get_by_role("button", name="Collapse group 2").click()
    expect(tree_row(page, "Robotics club")).to_be_hidden()
    page.reload()
    expect(tree_row(page, "group 2")).to_be_visible()
    expect(tree_row(page, "Robotics club")).to_have_count(0)
    page.get_by_role("button", name="Collapse all").click()
    expect(tree_row(page, "group 2")).to_be_hidden()
    page.reload()
    expect(tree_row(page, "Year 7")).to_be_visible()
    expect(tree_row(page, "group 2")).to_have_count(0)
    key = page.locator("#mg-tree").get_attribute("data-state-key")
    assert key == f"mg-tree-open:{s['account_id']}:{s['admin_id']}"
    assert page.evaluate("k => localStorage.getItem(k)", key) is None

    # Without scripts the search is a form answered by the page itself.
    page.goto(GROUPS + "?q=club")
    expect(page.get_by_test_id("group-search-results")).to_contain_text(
        "1 group matches \u201cclub\u201d")
    assert page.dialogs == []


# --- the "Nest under" picker -------------------------------------------------------------------


def test_nest_under_picker_searches_the_server_and_never_offers_below(live_server, page):
    s = seed(live_server.app, hill_school)
    quick_sign_in(page, s["admin_email"], then=f"{GROUPS}{s['two']}/manage")
    picker = page.get_by_role("combobox", name="Nest under")
    expect(picker).to_have_value("Year 7")
    expect(page.locator("#parent_id")).to_be_hidden()

    # Opening it lists what it may go under: not itself, not Robotics club below it.
    picker.click()
    options = page.get_by_role("option")
    expect(options.first).to_have_text("No parent (top level)")
    expect(options).to_have_text(["No parent (top level)", "Year 7", "Year 7 \u203a group 1",
                                  "Year 7 \u203a group 10", "Year 7 \u203a group 11",
                                  "Year 8"])
    both_widths(page, "06-nest-under-open")

    # Typing asks the server; the keyboard picks.
    picker.fill("")
    picker.press_sequentially("1")
    expect(options).to_have_text(["Year 7 \u203a group 1", "Year 7 \u203a group 10",
                                  "Year 7 \u203a group 11"])
    picker.press("ArrowDown")
    picker.press("ArrowDown")
    expect(options.nth(1)).to_have_attribute("aria-selected", "true")
    expect(picker).to_have_attribute("aria-activedescendant", options.nth(1).get_attribute("id"))
    picker.press("Enter")
    expect(picker).to_have_value("Year 7 \u203a group 10")
    expect(picker).to_have_attribute("aria-expanded", "false")
    follow(page, page.get_by_role("button", name="Save"))
    expect(alerts(page)).to_have_text(re.compile("Group saved."))
    expect(page.locator(".breadcrumb")).to_have_text(
        re.compile(r"Groups\s*Year 7\s*group 10\s*group 2"))

    # New group: the placement sentence follows the picker.
    page.goto(GROUPS + "new")
    page.get_by_label("Name").fill("Chess club")
    picker = page.get_by_role("combobox", name="Nest under")
    expect(picker).to_have_value("No parent (top level)")
    picker.click()  # the current choice's text is selected: typing replaces it
    picker.press_sequentially("robot")
    page.get_by_role("option", name=re.compile("Robotics club")).click()
    expect(page.get_by_test_id("placement")).to_have_text(
        "The new group will go under Year 7 \u203a group 10 \u203a group 2 \u203a Robotics club.")
    page.set_viewport_size(PHONE)
    shot(page, "07-new-group-picker-390")
    follow(page, page.get_by_role("button", name="Create"))
    expect(page.locator(".breadcrumb")).to_contain_text("Robotics club")
    assert page.dialogs == []


# --- back-office lists at 390 px ----------------------------------------------------------


def lists_school():
    from mentorgroups.extensions import db
    from mentorgroups.models import Account, SentEmail, utcnow

    s = hill_school()
    account = db.session.get(Account, s["account_id"])
    path = make_path(account, title="Essay writing for the long winter term")
    make_cohort(path, name="Autumn cohort with a long name")
    for n, status in enumerate(("logged", "failed", "sent")):
        db.session.add(SentEmail(
            account_id=account.id, idempotency_key=f"tidy-{n}", recipient=LONG_ADDRESS,
            subject="A submission of Lia Learner's is waiting for your review", body="Hello",
            status=status, attempts=1, sent_at=utcnow(),
            last_error="smtplib.SMTPDataError: (451, b'Try again later')"
            if status == "failed" else None))
    return s


@pytest.mark.parametrize("url, name, testid_text", [
    ("/admin/people/", "people", LONG_ADDRESS),
    ("/admin/community/audit/", "audit-log", "Year 7"),
    ("/admin/sent_emails/", "sent-emails", LONG_ADDRESS),
    ("/admin/paths/", "paths", "Essay writing"),
    ("/admin/cohorts/", "cohorts", "Autumn cohort"),
])
def test_back_office_lists_are_readable_at_390px(live_server, page, url, name, testid_text):
    s = seed(live_server.app, lists_school)
    quick_sign_in(page, s["admin_email"], then=url)
    expect(page.locator("table.model-list tbody tr").first).to_be_visible()
    shot(page, f"08-list-{name}-1280")
    page.set_viewport_size(PHONE)
    shot(page, f"08-list-{name}-390")
    # Every cell of the first rows is inside the window, labelled with its column, and the
    # long text is there whole (wrapped, not cut off).
    rows = page.locator("table.model-list tbody tr")
    for row in rows.all()[:3]:
        for cell in row.locator("td[data-label]").all():
            if cell.is_visible():
                inside_window(cell)
                assert cell.inner_text().strip(), "an empty labelled line"
    if name == "sent-emails":  # the delivered emails have no reason: no "Reason:" line
        expect(page.locator("td.col-last_error.mg-empty")).to_have_count(2)
        expect(page.locator("td.col-last_error.mg-empty").first).to_be_hidden()
    cell = page.locator("table.model-list tbody td[data-label]", has_text=testid_text).first
    inside_window(cell)
    assert cell.evaluate("td => td.scrollWidth <= td.clientWidth + 1")
    label = cell.evaluate("td => getComputedStyle(td, '::before').content")
    assert label.startswith('"') and label.endswith(': "'), label
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")
