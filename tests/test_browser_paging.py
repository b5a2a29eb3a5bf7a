"""Paging in a real browser (the machine's Chromium through Playwright): the members screen
in the back office and the mentor's group page, each with 60 members: next page, page size,
search that keeps paging, and a row action from page 2. Screenshots go to
test-artifacts/paging-*.png."""

from __future__ import annotations

import re

import pytest

from tests.conftest import ROOT, assert_accessible, assert_fits_width, quick_sign_in

playwright_sync = pytest.importorskip("playwright.sync_api")
expect = playwright_sync.expect

pytestmark = pytest.mark.browser

ARTIFACTS = ROOT / "test-artifacts"


def shot(page, name: str, full_page: bool = True) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"paging-{name}.png"), full_page=full_page)


def seed_school(app) -> dict:
    """A school with a group of 60 learners (Crowd 0001...0060) mentored by Mia."""
    from mentorgroups.extensions import db
    from mentorgroups.services import group_members, groups
    from tests.factories import make_member, school
    from tests.test_paging import crowd

    with app.app_context():
        s = school(plan="complete")
        mentor = make_member(s.account, "staff", full_name="Mia Mentor")
        group = groups.create_group(s.admin, s.account.id, "Crowded")
        group_members.add_members(s.admin, s.account.id, group.id, "mentor",
                                  user_ids=[mentor.id])
        db.session.commit()
        crowd(s, group.id, 60)
        out = {"group_id": group.id, "admin": s.admin.email, "mentor": mentor.email}
        db.session.remove()
    return out


def follow(page, target) -> None:
    with page.expect_navigation():
        target.click()


def test_members_screen_pages_and_searches(live_server, page):
    s = seed_school(live_server.app)
    url = f"/admin/community/groups/{s['group_id']}/"
    quick_sign_in(page, s["admin"], then=url)
    count = page.get_by_test_id("pager-count")
    expect(count).to_have_text("1–50 of 60 members")
    rows = page.get_by_test_id("members").locator("tbody tr")
    expect(rows).to_have_count(50)
    expect(rows.first).to_contain_text("Crowd 0001")
    shot(page, "01-members-first-page")

    follow(page, page.get_by_test_id("pager").get_by_role("link", name="Next"))
    expect(page).to_have_url(re.compile(r"page=2"))
    expect(count).to_have_text("51–60 of 60 members")
    expect(rows).to_have_count(10)
    expect(rows.first).to_contain_text("Crowd 0051")

    follow(page, page.get_by_role("link", name="25 per page"))
    expect(count).to_have_text("1–25 of 60 members")
    follow(page, page.get_by_role("link", name="Page 3"))
    expect(count).to_have_text("51–60 of 60 members")
    expect(page).to_have_url(re.compile(r"per_page=25"))

    # Search: the count is of the matches; paging keeps the search and the size.
    page.get_by_label("Filter this group's staff and members").fill("crowd 00")
    follow(page, page.get_by_role("button", name="Filter"))
    expect(count).to_have_text("1–25 of 60 members matching “crowd 00”")
    follow(page, page.get_by_test_id("pager").get_by_role("link", name="Next"))
    expect(count).to_have_text("26–50 of 60 members matching “crowd 00”")
    expect(page).to_have_url(re.compile(r"q=crowd\+00"))
    page.get_by_label("Filter this group's staff and members").fill("0042")
    follow(page, page.get_by_role("button", name="Filter"))
    expect(count).to_have_text("1 member matching “0042”")
    shot(page, "02-members-search")

    # A row action from a later page still works (the page's one shared form).
    member = page.get_by_test_id("members").locator("tbody tr").first
    member.get_by_role("button", name="More for Crowd 0042").click()
    follow(page, member.get_by_role("menuitem", name="Make mentor"))
    expect(page.get_by_test_id("staff")).to_contain_text("Crowd 0042")
    expect(page.get_by_text("Members (59)")).to_be_visible()


def test_group_page_pages_and_searches(live_server, page):
    s = seed_school(live_server.app)
    quick_sign_in(page, s["mentor"], then=f"/people/groups/{s['group_id']}")
    count = page.get_by_test_id("pager-count")
    rows = page.get_by_test_id("members").locator("tbody tr")
    expect(count).to_have_text("1–50 of 60 members")
    expect(rows).to_have_count(50)
    expect(rows.first).to_contain_text("1/4")  # progress computed for the page's rows
    shot(page, "03-group-page-first")

    follow(page, page.get_by_role("link", name="Page 2"))
    expect(count).to_have_text("51–60 of 60 members")
    expect(rows).to_have_count(10)
    expect(rows.first).to_contain_text("Crowd 0051")
    expect(rows.first.get_by_test_id("review-icon")).to_be_visible()

    follow(page, page.get_by_role("link", name="100 per page"))
    expect(count).to_have_text("60 members")
    expect(rows).to_have_count(60)

    page.get_by_label("Find a member").fill("crowd 005")
    follow(page, page.get_by_role("button", name="Search"))
    expect(count).to_have_text("10 members matching “crowd 005”")
    expect(rows).to_have_count(10)
    shot(page, "04-group-page-search")
    follow(page, page.get_by_role("link", name="Clear"))
    expect(count).to_have_text("60 members")  # the size is kept, the search gone

    # At phone width the pager stays usable.
    page.set_viewport_size({"width": 390, "height": 800})
    expect(page.get_by_test_id("pager")).to_be_visible()
    shot(page, "05-group-page-390")


def test_a_group_past_the_exact_count_says_about_and_the_trail_reads_at_phone_width(
        live_server, page, monkeypatch):
    """Above page_counts.EXACT_UP_TO (40 here) the group page says "about"; the members
    screen of a group four levels down shows its trail. Both at 390 px, axe-clean."""
    from mentorgroups.extensions import db
    from mentorgroups.models import MentorGroup, User
    from mentorgroups.services import groups, page_counts
    from mentorgroups.services.groups import update_group

    monkeypatch.setattr(page_counts, "EXACT_UP_TO", 40)
    s = seed_school(live_server.app)
    with live_server.app.app_context():
        admin = db.session.scalar(db.select(User).where(User.email == s["admin"]))
        crowded = db.session.get(MentorGroup, s["group_id"])
        parent = None
        for name in ("Whole school", "Upper years", "Year 11"):
            parent = groups.create_group(admin, crowded.account_id, name,
                                         parent_id=parent.id if parent else None)
        update_group(admin, crowded.account_id, crowded.id, crowded.name, "", parent.id)
        db.session.commit()
        db.session.remove()
    page.set_viewport_size({"width": 390, "height": 800})
    quick_sign_in(page, s["mentor"], then=f"/people/groups/{s['group_id']}")
    expect(page.get_by_test_id("pager-count")).to_have_text("1–50 of about 60 members")
    assert_accessible(page, "group page, about")
    assert_fits_width(page)
    shot(page, "06-group-page-about-390", full_page=False)

    page.context.clear_cookies()
    quick_sign_in(page, s["admin"], then=f"/admin/community/groups/{s['group_id']}/")
    trail = page.get_by_role("navigation", name="breadcrumb")
    expect(trail).to_contain_text("Whole school")
    expect(trail.get_by_role("link")).to_have_text(
        ["Groups", "Whole school", "Upper years", "Year 11"])
    expect(page.get_by_test_id("pager-count")).to_have_text("1–50 of 60 members")
    assert_accessible(page, "members screen with its trail")
    assert_fits_width(page)
    shot(page, "07-members-trail-390", full_page=False)
