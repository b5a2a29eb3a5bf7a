"""Back office > API tokens in a real browser: an admin creates a read and write token,
copies the secret with the button (the one page that shows it), the token works on the API,
its last use shows on the list, a group it creates is in the audit log under its name, and
revoking it after the confirmation ends it (401) and is in the audit log too. Axe-clean at
1280 and 390 px, nothing scrolling sideways. Screenshots go to
test-artifacts/api-tokens-*.png."""

from __future__ import annotations

import pytest

from tests.conftest import ROOT, assert_accessible, assert_fits_width, quick_sign_in
from tests.test_browser_groups import follow, school_with_admin, seed

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
    page.screenshot(path=str(ARTIFACTS / f"api-tokens-{name}.png"), full_page=True)


def test_an_admin_creates_copies_uses_and_revokes_a_token(live_server, page):
    s = seed(live_server.app, lambda: {"email": school_with_admin(plan="complete")[
        "admin_email"]})
    page.context.grant_permissions(["clipboard-read", "clipboard-write"],
                                   origin=live_server.url)
    page.set_viewport_size(DESKTOP)
    quick_sign_in(page, s["email"], then="/admin/api-tokens/")
    expect(page.get_by_role("heading", level=1)).to_have_text("API tokens")
    expect(page.get_by_text("No tokens yet.")).to_be_visible()
    shot(page, "01-empty")

    page.get_by_label("Name").fill("<HR> sync")
    page.get_by_label("Read and write").check()
    follow(page, page.get_by_role("button", name="Create token"))
    secret_field = page.get_by_test_id("new-token-secret")
    secret = secret_field.input_value()
    assert secret.startswith("mgt_")
    expect(page.get_by_role("heading", name="Copy the token \u201c<HR> sync\u201d now")
           ).to_be_visible()
    page.get_by_role("button", name="Copy token").click()
    expect(page.get_by_role("status")).to_contain_text("Copied")
    assert page.evaluate("() => navigator.clipboard.readText()") == secret
    row = page.get_by_test_id("token-list").locator("tbody tr", has_text="<HR> sync")
    expect(row.locator("td[data-label=Access]")).to_have_text("Read and write")
    expect(row.locator("td[data-label='Last used']")).to_have_text("Never")
    shot(page, "02-created")

    api = page.context.request
    used = api.get("/api/v1/school", headers={"Authorization": f"Bearer {secret}"})
    assert used.status == 200 and used.json()["token"]["name"] == "<HR> sync"
    made = api.post("/api/v1/groups", headers={"Authorization": f"Bearer {secret}"},
                    data={"name": "Synced group"})
    assert made.status == 201, made.text()

    page.goto("/admin/api-tokens/")  # the secret is never shown again
    expect(page.get_by_test_id("new-token-secret")).to_have_count(0)
    assert secret not in page.content()
    expect(row.locator("td[data-label='Last used']")).not_to_have_text("Never")

    page.set_viewport_size(PHONE)
    shot(page, "03-list-phone")
    follow(page, row.get_by_role("link", name="Revoke <HR> sync"))
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Revoke the token \u201c<HR> sync\u201d?")
    shot(page, "04-confirm-phone")
    follow(page, page.get_by_role("button", name="Revoke \u201c<HR> sync\u201d"))
    expect(page.locator(".alert")).to_contain_text("is revoked")
    expect(row.locator("td[data-label=Status]")).to_contain_text("Revoked")
    expect(row.get_by_role("link", name="Revoke <HR> sync")).to_have_count(0)
    shot(page, "05-revoked-phone")
    refused = api.get("/api/v1/school", headers={"Authorization": f"Bearer {secret}"})
    assert refused.status == 401

    page.set_viewport_size(DESKTOP)
    page.goto("/admin/community/audit/")
    expect(page.locator("body")).to_contain_text("Revoked the API token \u201c<HR> sync\u201d")
    expect(page.locator("body")).to_contain_text("Created the API token \u201c<HR> sync\u201d")
    created = page.locator("tbody tr", has_text="Created the group")
    expect(created.locator("td").nth(2)).to_have_text("API token \u201c<HR> sync\u201d")
    shot(page, "06-audit-log")
