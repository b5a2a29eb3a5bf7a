"""The "..." additional-actions menu of Community (Groups tab and Audit log) in a real
browser: opened with the keyboard and the mouse, both reports downloaded through
Playwright's download API and read back. Screenshots go to test-artifacts/reports-*.png."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import ROOT, assert_accessible, assert_fits_width, quick_sign_in
from tests.test_browser_groups import seed
from tests.test_reports import MEMBERS, PROGRESS, build_school

playwright_sync = pytest.importorskip("playwright.sync_api")
expect = playwright_sync.expect

pytestmark = pytest.mark.browser

ARTIFACTS = ROOT / "test-artifacts"
GROUPS = "/admin/community/groups/"
AUDIT = "/admin/community/audit/"


def shot(page, name: str) -> None:
    """Every screen a test shows is audited with axe-core, then photographed."""
    assert_accessible(page, name)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"reports-{name}.png"), full_page=True)


def without(rows: list[list[str]], *headers: str) -> list[list[str]]:
    """The rows minus the columns that depend on today's date (statuses, days waited)."""
    drop = {rows[0].index(h) for h in headers}
    return [[cell for n, cell in enumerate(row) if n not in drop] for row in rows]


def download(page, item: str) -> tuple[str, list[list[str]]]:
    page.get_by_role("button", name="Additional actions").click()
    expect(page.get_by_role("menu")).to_be_visible()
    with page.expect_download() as info:
        page.get_by_role("menuitem", name=item).click()
    data = info.value.path().read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    return info.value.suggested_filename, list(csv.reader(io.StringIO(
        data.decode("utf-8-sig"), newline="")))


def test_admin_downloads_both_reports_from_the_menu(live_server, page):
    def build():
        school = build_school()
        return {"admin": school.admin.email, "slug": school.account.slug}

    hill = seed(live_server.app, build)
    quick_sign_in(page, hill["admin"], then=GROUPS)
    page.wait_for_load_state("load")
    button = page.get_by_role("button", name="Additional actions")
    expect(button).to_have_attribute("aria-expanded", "false")
    expect(button).to_have_attribute("aria-haspopup", "menu")

    # Keyboard: Enter opens on the first item, arrows move, Escape closes on the button.
    button.focus()
    page.keyboard.press("Enter")
    menu = page.get_by_role("menu")
    expect(menu).to_be_visible()
    expect(button).to_have_attribute("aria-expanded", "true")
    members_item = page.get_by_role("menuitem", name="Mentor Group members")
    progress_item = page.get_by_role("menuitem", name="Mentor Group learner progress")
    expect(members_item).to_be_focused()
    outline = members_item.evaluate("el => getComputedStyle(el).outlineStyle")
    assert outline != "none"  # focus is visible
    page.keyboard.press("ArrowDown")
    expect(progress_item).to_be_focused()
    shot(page, "01-menu-open")
    page.keyboard.press("Escape")
    expect(menu).to_be_hidden()
    expect(button).to_be_focused()
    expect(button).to_have_attribute("aria-expanded", "false")

    today = datetime.now(ZoneInfo("Asia/Tokyo")).date().isoformat()
    name, rows = download(page, "Mentor Group members")
    assert name == f"{hill['slug']}-mentor-group-members-{today}.csv"
    assert without(rows, "Status") == without(MEMBERS, "Status")

    page.goto(AUDIT)
    page.wait_for_load_state("load")
    expect(page.get_by_role("heading", name="Audit log")).to_be_visible()
    assert_accessible(page, "audit log")
    name, rows = download(page, "Mentor Group learner progress")
    assert name == f"{hill['slug']}-mentor-group-learner-progress-{today}.csv"
    assert without(rows, "Days the oldest has waited") == \
        without(PROGRESS, "Days the oldest has waited")

    # On a phone the menu opens inside the screen.
    page.set_viewport_size({"width": 390, "height": 800})
    page.goto(GROUPS)
    page.wait_for_load_state("load")
    page.get_by_role("button", name="Additional actions").click()
    box = page.get_by_role("menu").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390
    assert_fits_width(page)
    shot(page, "02-phone-menu")


def test_group_admin_has_no_reports_menu(live_server, page):
    hill = seed(live_server.app, lambda: {"gadmin": build_school().gadmin.email})
    quick_sign_in(page, hill["gadmin"], then=GROUPS)
    expect(page.get_by_role("heading", name="Groups")).to_be_visible()
    expect(page.get_by_role("button", name="Additional actions")).to_have_count(0)
    assert_accessible(page, "Group Admin's groups")
    response = page.goto("/admin/community/reports/members.csv")
    assert response.status == 403
