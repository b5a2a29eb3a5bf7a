"""In a real browser, with the Content-Security-Policy on: the fixtures catch what it refuses,
no site can frame a page, the back office's Flask-Admin controls (bulk actions, row delete,
filters, inline rows) work without inline scripts, and the error pages, the database-down one
included, are branded, accessible and fit a phone."""

from __future__ import annotations

import time

import pytest

from tests.conftest import CSP_VIOLATIONS, assert_accessible, assert_fits_width, quick_sign_in
from tests.test_browser import seed_school, shot
from tests.test_error_pages import database_cut

playwright_sync = pytest.importorskip("playwright.sync_api")
expect = playwright_sync.expect
pytestmark = pytest.mark.browser

PROBE = """<!doctype html><html lang="en"><head><title>Probe</title></head><body><main>
<h1>Probe</h1><script>document.title = 'inline ran';</script>
<button id="b" onclick="document.title = 'handler ran'">Click</button></main></body></html>"""


def wait_for_violation(page, what: str, count: int = 1) -> None:
    """Wait (a generous deadline, not a timing) for the browser to report `count` violations
    whose text contains `what`."""
    deadline = time.monotonic() + 30
    while len([v for v in CSP_VIOLATIONS if what in v]) < count:
        assert time.monotonic() < deadline, f"no {what} violation reported: {CSP_VIOLATIONS}"
        page.wait_for_timeout(50)


def test_the_fixtures_fail_a_test_on_a_csp_violation(live_server, page):
    """An inline script and an inline handler are refused and reported to the test (which
    clears them here: finding them is the point)."""
    live_server.app.add_url_rule("/csp-probe", "csp_probe", lambda: PROBE)
    page.goto("/csp-probe")
    page.click("#b")
    wait_for_violation(page, "script-src", 2)
    assert page.title() == "Probe"  # neither ran
    with pytest.raises(AssertionError, match="Content-Security-Policy violations"):
        assert_accessible(page, "probe")
    CSP_VIOLATIONS.clear()


def test_no_other_site_can_frame_a_page(live_server, page):
    page.set_content(f'<iframe title="framed" src="{live_server("/login")}"></iframe>')
    frame = page.frames[1]
    wait_for_violation(page, "frame-ancestors")
    assert "Sign in" not in frame.content()
    CSP_VIOLATIONS.clear()


def test_flask_admin_controls_work_under_the_policy(live_server, page):
    data = seed_school(live_server.app)
    quick_sign_in(page, data.admin_email, then="/admin/people/")
    # A filter: "Add Filter" and a filter name are javascript: links in Flask-Admin.
    page.get_by_role("button", name="Add Filter").click()
    page.get_by_role("menuitem", name="School role").click()
    expect(page.locator("table.filters select, table.filters input").first).to_be_visible()
    shot(page, "csp-people-filter")
    # A bulk action (With selected -> Revoke access), after a confirm.
    page.goto("/admin/people/")
    row = page.locator("tbody tr", has_text=data.other_email)
    row.locator("input.action-checkbox").check()
    page.get_by_role("button", name="With selected").click()
    page.get_by_role("menuitem", name="Revoke access").click()
    expect(page.get_by_role("status")).to_contain_text("1 person lost access")
    assert page.dialogs[-1] == "Revoke access for the selected people? Their work is kept."
    # Paths: an inline row (Add Step) and a row's delete button with its confirm.
    page.goto(f"/admin/paths/edit/?id={data.path_id}")
    steps = page.locator("#steps .inline-field-list > .inline-field")
    expect(steps).to_have_count(4)
    page.get_by_role("button", name="Add Step").click()
    expect(steps).to_have_count(5)
    page.goto("/admin/paths/")
    page.locator("form.icon button[data-mg-confirm]").first.click()
    expect(page.get_by_role("status")).to_contain_text("deleted")
    assert page.dialogs[-1] == "Are you sure you want to delete this record?"
    shot(page, "csp-paths-after-delete")


def test_error_pages_are_branded_accessible_and_fit_a_phone(live_server, page):
    data = seed_school(live_server.app)
    page.set_viewport_size({"width": 390, "height": 844})
    response = page.goto("/no-such-page")
    assert response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Not found")
    assert_accessible(page, "404")
    assert_fits_width(page)
    quick_sign_in(page, data.learner_email, then="/paths")
    with database_cut(live_server.app):
        response = page.goto("/paths")
        assert response.status == 503 and response.headers["retry-after"] == "60"
        expect(page.get_by_role("heading", level=1)).to_have_text(
            "Mentor Groups is unavailable for a moment")
        expect(page.locator("main")).to_contain_text(
            "We can't reach the database right now; nothing you sent was saved.")
        shot(page, "database-down-390")
        assert_fits_width(page)
    response = page.goto("/paths")
    assert response.status == 200
