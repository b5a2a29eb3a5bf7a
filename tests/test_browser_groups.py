"""Community > Groups in a real browser: the machine's Chromium, driven by Playwright's sync
API, against the app served by a live Werkzeug server on the test database (MG_TEST_DB).

Covers the tree (create, nest, collapse/expand), the members screen (add by search and by
pasted addresses, role menus, removal, bulk actions), the plan limit, a Group Admin's narrower
view, and managing/deleting a group. Screenshots go to test-artifacts/groups-*.png."""

from __future__ import annotations

import re

import pytest
from flask import Flask

from tests.conftest import ROOT, assert_accessible, assert_fits_width, quick_sign_in
from tests.factories import PASSWORD, make_account, make_member

playwright_sync = pytest.importorskip("playwright.sync_api")
expect = playwright_sync.expect

pytestmark = pytest.mark.browser

ARTIFACTS = ROOT / "test-artifacts"
GROUPS = "/admin/community/groups/"


# --- fixtures -------------------------------------------------------------------------------


def seed(app: Flask, build):
    """Run `build()` in an app context, commit, and return what it returns (plain values)."""
    from mentorgroups.extensions import db

    with app.app_context():
        result = build()
        db.session.commit()
        db.session.remove()
    return result


def school_with_admin(plan: str = "essentials", **people):
    """An account ("Hill School"), its admin, and `people` given as
    key=(account role, full name, email). Returns a dict of the rows, plus account_id and
    admin_email; call it inside seed() and hand back plain values only."""
    account = make_account(plan=plan, name="Hill School")
    admin = make_member(account, "admin", full_name="Ada Admin", email="ada@hill.test")
    out = {"account": account, "account_id": account.id, "admin": admin,
           "admin_email": admin.email}
    for key, (role, name, email) in people.items():
        out[key] = make_member(account, role, full_name=name, email=email)
    return out


def db_get_user(user_id: int):
    from mentorgroups.extensions import db
    from mentorgroups.models import User

    return db.session.get(User, user_id)


def new_group(actor, account_id: int, name: str, parent=None, description: str = ""):
    from mentorgroups.services import groups

    return groups.create_group(actor, account_id, name, description,
                               parent.id if parent is not None else None)


def add_to_group(actor, account_id: int, group, role: str, *users):
    from mentorgroups.services import group_members

    group_members.add_members(actor, account_id, group.id, role,
                              user_ids=[u.id for u in users])


# --- helpers --------------------------------------------------------------------------------


def shot(page, name: str) -> None:
    """Every screen a test shows is audited with axe-core, then photographed."""
    assert_accessible(page, name)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"groups-{name}.png"), full_page=True)


def sign_in(page, email: str, then: str = GROUPS):
    """Sign in through the real form, going straight on to `then`; returns that page's
    response."""
    page.goto(f"/login?next={then}")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    with page.expect_navigation(url=re.compile(re.escape(then) + "$")) as navigation:
        page.get_by_role("button", name="Sign in").click()
    return navigation.value


def follow(page, target) -> None:
    """Click something that loads a new page, and wait until that page has loaded (its
    scripts too: a menu clicked before Bootstrap's script has run would not open)."""
    with page.expect_navigation():
        target.click()


def alerts(page):
    return page.locator(".alert")


def tree_row(page, name: str):
    return page.locator(".mg-row").filter(
        has=page.locator(".mg-name", has_text=re.compile(rf"^{re.escape(name)}$")))


def indent(row) -> float:
    """How far the row starts from the left (nested levels are indented lists)."""
    return float(row.evaluate("el => el.getBoundingClientRect().left"))


def staff_item(page, name: str):
    return page.get_by_test_id("staff").locator("li").filter(has_text=name)


def member_row(page, name: str):
    return page.get_by_test_id("members").locator("tbody tr").filter(has_text=name)


def nest_under(page, typed: str, label: str) -> None:
    """Choose a parent in the "Nest under" picker: type, then pick the option."""
    picker = page.get_by_role("combobox", name="Nest under")
    picker.fill(typed)
    page.get_by_role("option", name=label, exact=True).click()
    expect(picker).to_have_value(label)


def group_menu(page, name: str, item: str) -> None:
    page.get_by_role("button", name=f"More for {name}", exact=True).click()
    follow(page, page.get_by_role("menuitem", name=item, exact=True))


# --- tests ----------------------------------------------------------------------------------


def test_create_a_group_then_nest_groups_and_fold_the_tree(live_server, page):
    def build():
        s = school_with_admin()
        return s["admin_email"], s["account_id"], s["admin"].id

    admin_email, account_id, admin_id = seed(live_server.app, build)
    quick_sign_in(page, admin_email, then=GROUPS)
    expect(page.get_by_role("heading", name="No groups yet")).to_be_visible()
    expect(page.get_by_test_id("usage")).to_have_text(
        re.compile(r"0 of 5 groups on the Essentials plan"))
    shot(page, "01-empty")

    # 1. New group -> its members screen, ready for members.
    follow(page, page.get_by_role("link", name="New group").first)
    expect(page.get_by_role("heading", name="New group")).to_be_visible()
    expect(page.get_by_label("Name")).to_be_focused()
    page.get_by_label("Name").fill("Year 7")
    follow(page, page.get_by_role("button", name="Create"))
    expect(page).to_have_url(re.compile(r"/admin/community/groups/\d+/$"))
    expect(alerts(page)).to_have_text(
        re.compile("Group \u201cYear 7\u201d created. Now you're ready to add members."))
    expect(page.get_by_test_id("group-name")).to_have_text("Year 7")
    shot(page, "02-created-members-screen")

    # A second top-level group beside it (made directly: creating is covered above).
    seed(live_server.app, lambda: new_group(db_get_user(admin_id), account_id, "Year 8").id)

    # 2a. A nested group from the "..." menu: the parent comes preselected.
    follow(page, page.locator(".breadcrumb").get_by_role("link", name="Groups"))
    group_menu(page, "Year 7", "New nested group")
    expect(page.get_by_role("combobox", name="Nest under")).to_have_value("Year 7")
    page.get_by_label("Name").fill("Robotics club")
    shot(page, "03-new-nested-form")
    follow(page, page.get_by_role("button", name="Create"))
    expect(alerts(page)).to_contain_text("Group \u201cRobotics club\u201d created.")
    expect(page.locator(".breadcrumb")).to_have_text(re.compile(r"Groups\s*Year 7\s*Robotics club"))

    # 2b. ...and one from "New group" with Nest under, always in view, saying where it goes.
    page.goto(GROUPS + "new")
    page.get_by_label("Name").fill("Chess club")
    expect(page.get_by_test_id("placement")).to_have_text("The new group will go at the top level.")
    nest_under(page, "Year 7", "Year 7")
    expect(page.get_by_test_id("placement")).to_have_text("The new group will go under Year 7.")
    follow(page, page.get_by_role("button", name="Create"))
    expect(alerts(page)).to_contain_text("Group \u201cChess club\u201d created.")

    page.goto(GROUPS)
    expect(page.get_by_test_id("usage")).to_contain_text("4 of 5 groups")
    names = page.locator(".mg-name")
    # The top level only, newest first; a group's nested groups come when it is opened.
    expect(names).to_have_text(["Year 8", "Year 7"])
    year7, year8 = tree_row(page, "Year 7"), tree_row(page, "Year 8")
    chess, robotics = tree_row(page, "Chess club"), tree_row(page, "Robotics club")
    expect(year7).to_contain_text("2 nested")
    caret = year7.get_by_role("button", name="Expand Year 7")
    expect(caret).to_have_attribute("aria-expanded", "false")
    caret.click()
    # Newest first at every level, children right under their parent.
    expect(names).to_have_text(["Year 8", "Year 7", "Chess club", "Robotics club"])
    assert indent(chess) > indent(year7) == indent(year8)
    assert indent(robotics) == indent(chess)
    assert chess.locator(".mg-name").bounding_box()["x"] > \
        year7.locator(".mg-name").bounding_box()["x"] + 15
    shot(page, "04-tree")

    # Collapse the parent with its caret: the children hide; expand: they are back.
    toggle = year7.locator("[data-toggle-id]")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(toggle).to_have_attribute("aria-label", "Collapse Year 7")
    toggle.click()
    expect(chess).to_be_hidden()
    expect(robotics).to_be_hidden()
    expect(year8).to_be_visible()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(toggle).to_have_attribute("aria-label", "Expand Year 7")
    shot(page, "05-tree-collapsed")
    toggle.click()
    expect(chess).to_be_visible()
    expect(robotics).to_be_visible()
    expect(toggle).to_have_attribute("aria-label", "Collapse Year 7")

    page.get_by_role("button", name="Collapse all").click()
    expect(chess).to_be_hidden()
    expect(robotics).to_be_hidden()
    expect(year7).to_be_visible()
    expect(year8).to_be_visible()
    expect(page.get_by_role("button", name="Collapse all")).to_be_hidden()
    toggle.click()
    for row in (year7, year8, chess, robotics):
        expect(row).to_be_visible()

    # On a phone the rows wrap instead of squeezing names to a letter a line.
    page.set_viewport_size({"width": 390, "height": 844})
    assert_fits_width(page)
    assert year7.locator(".mg-name").bounding_box()["height"] < 30  # one line
    shot(page, "05b-tree-phone")
    assert page.dialogs == []


def test_add_members_by_search_and_by_pasted_addresses(live_server, page):
    def build():
        s = school_with_admin(
            nina=("member", "Nina Novak", "nina@hill.test"),
            nico=("member", "Nico Ortiz", "nico@hill.test"),
            sam=("member", "Sam Stone", "sam@hill.test"),
            pat=("staff", "Pat Park", "pat@hill.test"),
        )
        elsewhere = make_account(name="Dale Academy")
        make_member(elsewhere, "member", full_name="Otto Outsider", email="otto@dale.test")
        group = new_group(s["admin"], s["account_id"], "Year 7")
        return s["admin_email"], group.id

    admin_email, group_id = seed(live_server.app, build)
    quick_sign_in(page, admin_email, then=f"{GROUPS}{group_id}/")
    expect(page.get_by_text("No members yet.")).to_be_visible()

    # Search as you type, pick two people: each becomes a chip.
    search = page.get_by_label("Search people to add")
    search.press_sequentially("Ni")
    results = page.locator("#mg-results .mg-result")
    expect(results).to_have_count(2)
    expect(results.first).to_contain_text("Nico Ortiz")
    expect(results.nth(1)).to_contain_text("Nina Novak")
    shot(page, "06-search-results")
    results.filter(has_text="Nina Novak").click()
    chips = page.locator("#mg-picked .mg-chip")
    expect(chips).to_have_count(1)
    expect(chips).to_contain_text("Nina Novak")
    expect(search).to_have_value("")
    expect(results).to_have_count(0)
    search.press_sequentially("ortiz")
    expect(results).to_have_count(1)
    results.first.click()
    expect(chips).to_have_count(2)
    expect(chips.nth(1)).to_contain_text("Nico Ortiz")
    page.get_by_label("Role").select_option(label="Mentor")
    shot(page, "07-two-chips")
    follow(page, page.get_by_role("button", name="Add", exact=True))
    expect(alerts(page)).to_have_text(
        re.compile(r"Added 2 people as Mentor: Nina Novak, Nico Ortiz\."))
    for name, email in (("Nina Novak", "nina@hill.test"), ("Nico Ortiz", "nico@hill.test")):
        expect(staff_item(page, name)).to_contain_text(email)
        expect(staff_item(page, name).get_by_test_id("role-menu")).to_have_text("Mentor")
    expect(page.get_by_text("No members yet.")).to_be_visible()

    # Already in the group: the search says so and the person can't be picked again.
    search.press_sequentially("nina")
    expect(results).to_have_count(1)
    expect(results.first).to_contain_text("already Mentor")
    expect(results.first).to_be_disabled()
    search.press("Escape")
    expect(page.locator("#mg-results > *")).to_have_count(0)
    search.fill("")

    # Paste: commas and new lines, one malformed address, one person from another school and
    # one address nobody has. Both outsiders are invited, in the same words: nothing says
    # that one of them has an account in another school.
    expect(page.get_by_label("Role")).to_have_value("member")
    page.get_by_label("Or paste email addresses").fill(
        "sam@hill.test,\nnot-an-address, Pat Park <pat@hill.test>\notto@dale.test;"
        " nobody@nowhere.test")
    follow(page, page.get_by_role("button", name="Add", exact=True))
    expect(alerts(page)).to_have_count(3)
    expect(alerts(page).nth(0)).to_have_text(
        re.compile(r"^\W*Added 2 people as Member: Sam Stone, Pat Park\.\s*$"))
    expect(alerts(page).nth(1)).to_have_text(re.compile(
        r"^\W*Invited as Member \(an email is on its way\): otto@dale\.test, "
        r"nobody@nowhere\.test\.\s*$"))
    expect(page.locator(".alert-danger")).to_have_text(
        re.compile(r"^\W*Not valid email addresses: not-an-address\.\s*$"))
    # Nothing about the other school leaks: not its name, not the person's name.
    expect(page.locator("body")).not_to_contain_text("Dale Academy")
    expect(page.locator("body")).not_to_contain_text("Otto Outsider")
    expect(page.get_by_test_id("members").locator("tbody tr")).to_have_count(2)
    for name in ("Pat Park", "Sam Stone"):
        expect(member_row(page, name)).to_be_visible()
    expect(page.get_by_test_id("staff").locator("li")).to_have_count(2)
    expect(page.get_by_label("Or paste email addresses")).to_have_value("")
    shot(page, "08-added-with-messages")

    # The outsider is not found by search either.
    search.press_sequentially("otto")
    expect(page.locator("#mg-results")).to_have_text("Nobody in this school matches.")
    # The results close like a menu when the click goes elsewhere.
    page.get_by_role("heading", name="Add members").click()
    expect(page.locator("#mg-results > *")).to_have_count(0)
    assert page.dialogs == []


def test_roles_menus_removal_and_bulk_make_mentor(live_server, page):
    def build():
        s = school_with_admin(
            ana=("member", "Ana Alba", "ana@hill.test"),
            ben=("member", "Ben Bose", "ben@hill.test"),
            cy=("member", "Cy Cole", "cy@hill.test"),
            dee=("member", "Dee Dunn", "dee@hill.test"),
        )
        group = new_group(s["admin"], s["account_id"], "Year 7")
        add_to_group(s["admin"], s["account_id"], group, "member",
                     s["ana"], s["ben"], s["cy"], s["dee"])
        return s["admin_email"], group.id

    admin_email, group_id = seed(live_server.app, build)
    quick_sign_in(page, admin_email, then=f"{GROUPS}{group_id}/")
    expect(page.get_by_test_id("members").locator("tbody tr")).to_have_count(4)
    expect(page.get_by_text("No mentors or group admins yet.")).to_be_visible()

    # "..." -> Make mentor: Ana moves to Staff.
    page.get_by_role("button", name="More for Ana Alba").click()
    shot(page, "09-member-menu")
    follow(page, member_row(page, "Ana Alba").get_by_role("menuitem", name="Make mentor"))
    expect(alerts(page)).to_have_text(re.compile(r"Ana Alba is now a Mentor\."))
    ana = staff_item(page, "Ana Alba")
    expect(ana.get_by_test_id("role-menu")).to_have_text("Mentor")
    expect(member_row(page, "Ana Alba")).to_have_count(0)
    expect(page.get_by_role("heading", name="Staff")).to_contain_text("(1)")

    # Staff role menu -> Group Admin, after a confirm.
    dialogs_before = len(page.dialogs)
    ana.get_by_test_id("role-menu").click()
    expect(ana.locator(".dropdown-menu").get_by_role("menuitem", name="Mentor")).to_be_disabled()
    shot(page, "10-staff-role-menu")
    follow(page, ana.locator(".dropdown-menu").get_by_role("menuitem", name="Group Admin"))
    expect(alerts(page)).to_have_text(re.compile(r"Ana Alba is now a Group Admin\."))
    assert page.dialogs[dialogs_before:] == ["Change Ana Alba's role to Group Admin?"]
    ana = staff_item(page, "Ana Alba")
    expect(ana.get_by_test_id("role-menu")).to_have_text("Group Admin")

    # ...then back to Member: she is in the members table again.
    ana.get_by_test_id("role-menu").click()
    follow(page, ana.locator(".dropdown-menu").get_by_role("menuitem", name="Member"))
    expect(alerts(page)).to_have_text(re.compile(r"Ana Alba is now a Member\."))
    assert page.dialogs[-1] == "Change Ana Alba's role to Member?"
    expect(staff_item(page, "Ana Alba")).to_have_count(0)
    expect(member_row(page, "Ana Alba")).to_be_visible()

    # "..." -> Remove from group, after the in-page confirmation (no native dialog).
    dialogs_before = len(page.dialogs)
    page.get_by_role("button", name="More for Ana Alba").click()
    member_row(page, "Ana Alba").get_by_role("menuitem", name="Remove from group").click()
    confirm = page.get_by_role("dialog", name="Remove Ana Alba from Year 7?")
    expect(confirm).to_contain_text("Ana Alba is a Member of this group.")
    follow(page, confirm.get_by_role("button", name="Remove from group"))
    expect(alerts(page)).to_have_text(re.compile(r"Removed from the group: Ana Alba\."))
    assert page.dialogs[dialogs_before:] == []
    expect(page.locator("body")).not_to_contain_text("ana@hill.test")
    expect(page.get_by_test_id("members").locator("tbody tr")).to_have_count(3)

    # Bulk: select two, With selected -> Make mentor, after a confirm.
    page.get_by_role("checkbox", name="Select Ben Bose").check()
    page.get_by_role("checkbox", name="Select Dee Dunn").check()
    page.get_by_role("button", name="With selected").click()
    shot(page, "11-bulk-menu")
    follow(page, page.get_by_role("menuitem", name="Make mentor"))
    expect(alerts(page)).to_have_text(re.compile(r"Now mentors: Ben Bose, Dee Dunn\."))
    assert page.dialogs[-1] == "Make the selected members mentors?"
    for name in ("Ben Bose", "Dee Dunn"):
        expect(staff_item(page, name).get_by_test_id("role-menu")).to_have_text("Mentor")
        expect(member_row(page, name)).to_have_count(0)
    expect(page.get_by_test_id("members").locator("tbody tr")).to_have_count(1)
    expect(member_row(page, "Cy Cole")).to_be_visible()
    shot(page, "12-after-bulk")


def test_plan_limit_disables_new_group_and_explains_the_upgrade(live_server, page):
    def build():
        s = school_with_admin(plan="starter")
        new_group(s["admin"], s["account_id"], "Only group")
        return s["admin_email"]

    admin_email = seed(live_server.app, build)
    quick_sign_in(page, admin_email, then=GROUPS)
    expect(page.get_by_test_id("usage")).to_contain_text("1 of 1 group on the Starter plan")
    # New group opens the Plan screen; the reason is on the page, not only in a tooltip.
    expect(page.get_by_role("link", name="New group")).to_have_attribute(
        "href", "/admin/plan/?reason=limit")
    message = ("Your Starter plan includes 1 group and this school has 1. Upgrade your plan "
               "to create more groups; existing groups keep working.")
    expect(page.get_by_test_id("limit-message")).to_have_text(message + " See the plans")
    page.get_by_role("button", name="More for Only group").click()
    expect(page.get_by_role("menuitem", name="New nested group")).to_have_count(0)
    # Nothing is nested: nothing to fold.
    expect(page.get_by_role("button", name="Collapse all")).to_have_count(0)
    shot(page, "13-plan-limit")

    # The form itself (typed URL) says the same and cannot be sent.
    page.goto(GROUPS + "new")
    expect(page.get_by_test_id("limit-message")).to_have_text(message + " See the plans")
    expect(page.get_by_role("button", name="Create")).to_be_disabled()


def test_group_admin_sees_only_their_groups_and_a_learner_gets_403(live_server, new_page):
    def build():
        s = school_with_admin(
            gina=("staff", "Gina Grant", "gina@hill.test"),
            lia=("member", "Lia Learner", "lia@hill.test"),
        )
        admin, account_id = s["admin"], s["account_id"]
        year7 = new_group(admin, account_id, "Year 7")
        new_group(admin, account_id, "Robotics club", parent=year7)
        new_group(admin, account_id, "Year 8")
        add_to_group(admin, account_id, year7, "group_admin", s["gina"])
        add_to_group(admin, account_id, year7, "member", s["lia"])
        return s["gina"].email, s["lia"].email

    gina_email, lia_email = seed(live_server.app, build)
    gina = new_page()
    # She lands where every non-admin lands; People > Manage takes her to her groups.
    sign_in(gina, gina_email, then="/paths")
    follow(gina, gina.get_by_role("link", name="People", exact=True))
    follow(gina, gina.get_by_role("link", name="Manage", exact=True))
    expect(gina).to_have_url(re.compile(r"/admin/community/groups/$"))
    expect(gina.locator(".mg-name")).to_have_text(["Year 7", "Robotics club"])
    expect(gina.locator("body")).not_to_contain_text("Year 8")
    # The plan's usage counts the whole school's groups: not shown to a Group Admin.
    expect(gina.get_by_test_id("usage")).to_have_count(0)
    assert indent(tree_row(gina, "Robotics club")) > indent(tree_row(gina, "Year 7"))
    expect(tree_row(gina, "Year 7").get_by_test_id("counts").locator("span")).to_have_text(
        ["1 member", "0 mentors", "1 group admin"])
    shot(gina, "14-group-admin-tree")

    # A new group of hers goes under one of her groups, and the form shows which.
    follow(gina, gina.get_by_role("link", name="New group"))
    parent = gina.get_by_role("combobox", name="Nest under")
    expect(parent).to_be_visible()
    parent.click()
    expect(gina.get_by_role("option")).to_have_text(["Year 7", "Year 7 \u203a Robotics club"])
    expect(gina.locator("#parent_id option")).to_have_text(
        ["Year 7", "Year 7 \u203a Robotics club"])
    expect(gina.locator("#parent_id option", has_text="Year 8")).to_have_count(0)
    shot(gina, "15-group-admin-new-group")
    gina.go_back()
    follow(gina, tree_row(gina, "Robotics club").locator(".mg-name"))
    expect(gina.get_by_test_id("group-name")).to_have_text("Robotics club")
    expect(gina.locator(".breadcrumb")).to_have_text(re.compile(r"Groups\s*Year 7\s*Robotics club"))

    lia = new_page()
    response = quick_sign_in(lia, lia_email, then=GROUPS)
    assert response is not None and response.status == 403
    expect(lia.get_by_role("heading", level=1)).to_have_text("You can't open this page")
    expect(lia.locator("body")).not_to_contain_text("Year 7")
    expect(lia.get_by_role("link", name="Manage groups")).to_have_count(0)
    shot(lia, "16-learner-403")


def year7_with_robotics_club() -> str:
    """Hill School with "Year 7" and "Robotics club" nested under it; the admin's email."""
    s = school_with_admin()
    year7 = new_group(s["admin"], s["account_id"], "Year 7")
    new_group(s["admin"], s["account_id"], "Robotics club", parent=year7)
    return s["admin_email"]


def test_manage_rename_describe_safely_and_delete_with_a_nested_child(live_server, page):
    admin_email = seed(live_server.app, year7_with_robotics_club)
    description = "Tuesdays after school. <script>alert(1)</script>"
    quick_sign_in(page, admin_email, then=GROUPS)
    group_menu(page, "Year 7", "Manage group")
    expect(page.get_by_role("heading", name="Manage group")).to_be_visible()
    expect(page.get_by_role("combobox", name="Nest under")).to_have_value(
        "No parent (top level)")
    # Its own nested group is never offered as a parent.
    expect(page.locator("#parent_id option")).to_have_text(["No parent (top level)"])
    page.get_by_role("combobox", name="Nest under").click()
    expect(page.get_by_role("option")).to_have_text(["No parent (top level)"])
    page.get_by_label("Name").fill("Year 7 (2025)")
    page.get_by_label("Description").fill(description)
    shot(page, "17-manage-form")
    follow(page, page.get_by_role("button", name="Save"))
    expect(alerts(page)).to_have_text(re.compile("Group saved."))
    expect(page.get_by_test_id("group-name")).to_have_text("Year 7 (2025)")
    expect(page.get_by_text(description)).to_be_visible()
    shot(page, "18-renamed-members-screen")

    page.goto(GROUPS)
    row = tree_row(page, "Year 7 (2025)")
    expect(row.locator(".mg-desc")).to_have_text(description)
    assert page.evaluate("document.querySelectorAll('.mg-tree script').length") == 0
    shot(page, "19-tree-with-description")
    assert page.dialogs == []

    group_menu(page, "Year 7 (2025)", "Manage group")
    danger = page.locator(".card.border-danger")
    expect(danger).to_contain_text("its nested group moves up to the top level")
    expect(danger).not_to_contain_text("membership")  # it has none: nothing said
    follow(page, danger.get_by_role("button", name="Delete group"))
    expect(alerts(page)).to_have_text(re.compile(
        "Group \u201cYear 7 \\(2025\\)\u201d deleted: 1 nested group moved up\\."))
    assert page.dialogs == ["Delete the group \u201cYear 7 (2025)\u201d? Its nested groups "
                            "move up and its memberships end."]
    expect(page).to_have_url(re.compile(r"/admin/community/groups/$"))
    expect(page.locator(".mg-name")).to_have_text(["Robotics club"])
    robotics = tree_row(page, "Robotics club")
    assert indent(robotics) == indent(page.locator(".mg-tree > .mg-node > .mg-row").first)
    expect(robotics.locator("[data-toggle-id]")).to_have_count(0)
    shot(page, "20-after-delete")


# --- keyboard only, and a phone ---------------------------------------------------------------


def tab_to(page, target, limit: int = 80) -> None:
    """Press Tab until `target` has the focus, as a keyboard user would; fails if it never
    does. Every stop on the way has a visible focus indicator."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if target.evaluate("el => el === document.activeElement"):
            expect_visible_focus(page)
            return
    raise AssertionError(f"Tab never reached {target}")


def expect_visible_focus(page) -> None:
    outline = page.evaluate("() => { const s = getComputedStyle(document.activeElement);"
                            " return [s.outlineStyle, parseFloat(s.outlineWidth)]; }")
    assert outline[0] != "none" and outline[1] >= 2, outline


def test_add_members_with_the_keyboard_only(live_server, page):
    def build():
        s = school_with_admin(
            nina=("member", "Nina Novak", "nina@hill.test"),
            nico=("member", "Nico Ortiz", "nico@hill.test"),
        )
        group = new_group(s["admin"], s["account_id"], "Year 7")
        return s["admin_email"], group.id

    admin_email, group_id = seed(live_server.app, build)
    quick_sign_in(page, admin_email, then=f"{GROUPS}{group_id}/")
    search = page.get_by_label("Search people to add")
    results = page.locator("#mg-results .mg-result")
    chips = page.locator("#mg-picked .mg-chip")

    # From the top of the page to the search box, then type: ArrowDown goes into the people
    # found, down again to the second, Enter picks her and brings the focus back.
    tab_to(page, search)
    page.keyboard.type("Ni")
    expect(results).to_have_count(2)
    assert_accessible(page, "search results")
    page.keyboard.press("ArrowDown")
    expect(results.nth(0)).to_be_focused()
    expect_visible_focus(page)
    page.keyboard.press("ArrowDown")
    expect(results.nth(1)).to_be_focused()
    page.keyboard.press("Enter")
    expect(chips).to_have_text([re.compile("Nina Novak")])
    expect(search).to_be_focused()
    # Enter in the search box picks the first person found.
    page.keyboard.type("ortiz")
    expect(results).to_have_count(1)
    page.keyboard.press("Enter")
    expect(chips).to_have_count(2)

    # Past the chips' remove buttons to the role, Mentor chosen with the arrow key, then Add.
    role = page.get_by_label("Role", exact=True)
    tab_to(page, role)
    page.keyboard.press("ArrowDown")
    expect(role).to_have_value("mentor")
    add = page.get_by_role("button", name="Add", exact=True)
    tab_to(page, add)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(alerts(page)).to_have_text(
        re.compile(r"Added 2 people as Mentor: Nina Novak, Nico Ortiz\."))
    expect(alerts(page)).to_have_attribute("role", "status")

    # A staff role menu from the keyboard: Enter opens it on its first item, the arrows move,
    # Escape closes it and gives the focus back to its button.
    toggle = staff_item(page, "Nina Novak").get_by_test_id("role-menu")
    expect(toggle).to_have_attribute("aria-haspopup", "menu")
    tab_to(page, toggle)
    expect(toggle).to_have_attribute("aria-expanded", "false")
    page.keyboard.press("Enter")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    menu = page.get_by_role("menu", name=re.compile("Nina Novak"))
    items = menu.get_by_role("menuitem")
    expect(items).to_have_text(["Mentor", "Group Admin", "Member", "Remove from group"])
    expect(items.nth(1)).to_be_focused()  # the first one she may choose (Mentor she is)
    expect_visible_focus(page)
    assert_accessible(page, "role menu open")
    page.keyboard.press("ArrowDown")
    expect(items.nth(2)).to_be_focused()
    page.keyboard.press("Escape")
    expect(toggle).to_be_focused()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(menu).to_be_hidden()
    assert page.dialogs == []


def test_tree_folds_from_the_keyboard(live_server, page):
    quick_sign_in(page, seed(live_server.app, year7_with_robotics_club), then=GROUPS)
    toggle = tree_row(page, "Year 7").locator("[data-toggle-id]")
    tab_to(page, toggle)
    expect(toggle).to_have_attribute("aria-expanded", "true")
    page.keyboard.press("Enter")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(tree_row(page, "Robotics club")).to_be_hidden()
    page.keyboard.press(" ")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(tree_row(page, "Robotics club")).to_be_visible()

    # The group's "..." menu: ArrowDown opens it on its first item, Escape closes it.
    more = page.get_by_role("button", name="More for Year 7", exact=True)
    tab_to(page, more)
    page.keyboard.press("ArrowDown")
    expect(more).to_have_attribute("aria-expanded", "true")
    expect(page.get_by_role("menuitem", name="Manage group")).to_be_focused()
    assert_accessible(page, "group menu open")
    page.keyboard.press("Escape")
    expect(more).to_be_focused()
    expect(more).to_have_attribute("aria-expanded", "false")


def test_members_screen_fits_a_phone(live_server, page):
    def build():
        s = school_with_admin(
            pat=("staff", "Pat Park", "pat@hill.test"),
            **{f"m{n}": ("member", f"Member Number{n} With-A-Long-Surname",
                         f"member.number{n}.with.a.long.address@hill-school.example")
               for n in range(3)})
        group = new_group(s["admin"], s["account_id"], "Year 7 with a rather long group name")
        add_to_group(s["admin"], s["account_id"], group, "mentor", s["pat"])
        add_to_group(s["admin"], s["account_id"], group, "member", s["m0"], s["m1"], s["m2"])
        from mentorgroups.services import group_members

        group_members.add_members(s["admin"], s["account_id"], group.id, "member",
                                  addresses="a.new.person.with.a.long.address@elsewhere.example")
        return s["admin_email"], group.id

    admin_email, group_id = seed(live_server.app, build)
    page.set_viewport_size({"width": 390, "height": 844})
    quick_sign_in(page, admin_email, then=f"{GROUPS}{group_id}/")
    expect(page.get_by_test_id("members").locator("tbody tr")).to_have_count(3)
    expect(page.get_by_test_id("invitations").locator("tbody tr")).to_have_count(1)
    assert_fits_width(page)
    # Every member's name, address and "..." are on screen, inside the window.
    for row in page.get_by_test_id("members").locator("tbody tr").all():
        for part in (row.locator("td").nth(1), row.locator("td").nth(2),
                     row.get_by_role("button", name=re.compile("^More for"))):
            box = part.bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, box
    more = page.get_by_role("button", name="More for Member Number2 With-A-Long-Surname")
    more.click()
    expect(page.get_by_role("menuitem", name="Remove from group")).to_be_visible()
    assert_fits_width(page)
    shot(page, "21-members-phone")
