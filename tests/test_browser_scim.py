"""What an identity provider's SCIM push looks like in the back office, in a real browser:
the Okta-style push of scripts/scim_okta_demo.py (create, add members, remove one, rename;
the group kept, not deleted, to be looked at) shows on Community > Groups, on the group's
members screen (its Members, the invitation to the outsider) and in the audit log under the
token's name. Each screen axe-clean at 1280 and 390 px, none scrolling sideways.
Screenshots go to test-artifacts/scim-*.png."""

from __future__ import annotations

import importlib.util

import pytest

from tests.conftest import ROOT, assert_accessible, assert_fits_width
from tests.test_browser_groups import seed, sign_in

playwright_sync = pytest.importorskip("playwright.sync_api")
expect = playwright_sync.expect

pytestmark = pytest.mark.browser

ARTIFACTS = ROOT / "test-artifacts"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
TOKEN = "Okta provisioning"


def demo():
    spec = importlib.util.spec_from_file_location("scim_okta_demo",
                                                  ROOT / "scripts" / "scim_okta_demo.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def shot(page, name: str) -> None:
    for size, suffix in ((DESKTOP, "1280"), (PHONE, "390")):
        page.set_viewport_size(size)
        assert_accessible(page, f"{name} at {suffix} px")
        assert_fits_width(page)
        page.screenshot(path=str(ARTIFACTS / f"scim-{name}-{suffix}.png"), full_page=True)


def build():
    from tests.scim_rows import scim_school

    school = scim_school(people=3, name=TOKEN)
    return {"admin_email": school.admin.email, "secret": school.secret,
            "emails": [p.email for p in school.people[:2]], "names": [p.full_name
                                                                     for p in school.people]}


def test_an_okta_push_shows_on_the_groups_members_and_audit_screens(live_server, page):
    ARTIFACTS.mkdir(exist_ok=True)
    s = seed(live_server.app, build)
    script = demo()
    scim = script.Scim(live_server("/scim/v2"), s["secret"])
    status, group = scim.call("POST", "/Groups", {
        "schemas": [script.GROUP], "displayName": "Okta: Engineering", "externalId": "00g1",
        "members": [{"value": email} for email in s["emails"]]
        + [{"value": "outsider@partner.test"}]})
    assert status == 201, group
    gid = group["id"]
    first = group["members"][0]["value"]
    for operations in ([{"op": "remove", "path": f'members[value eq "{first}"]'}],
                       [{"op": "replace", "value": {"id": gid,
                                                    "displayName": "Okta: Platform"}}]):
        status, answer = scim.call("PATCH", f"/Groups/{gid}", script.patch(*operations))
        assert status == 204, answer

    sign_in(page, s["admin_email"], then="/admin/community/groups/")
    expect(page.get_by_text("Okta: Platform")).to_be_visible()
    shot(page, "groups")

    page.goto(f"/admin/community/groups/{gid.removeprefix('group-')}/")
    main = page.get_by_role("main")
    expect(main.get_by_text(s["names"][1])).to_be_visible()
    expect(main.get_by_text(s["names"][0])).to_have_count(0)  # removed by the push
    expect(main.get_by_text("outsider@partner.test")).to_be_visible()  # invited, not added
    invitation = main.get_by_role("row").filter(has_text="outsider@partner.test")
    expect(invitation).to_contain_text(f"API token \u201c{TOKEN}\u201d")  # who invited
    shot(page, "members")

    page.goto("/admin/community/audit/")
    rows = page.get_by_role("main").get_by_text(f"API token \u201c{TOKEN}\u201d")
    # group.create, invitation.send, two member.add, member.remove, group.edit, and the
    # admin's row that created the token.
    expect(rows).to_have_count(7)
    shot(page, "audit")
