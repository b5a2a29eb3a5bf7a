"""Versions and honest waiting in a real browser: a learner updates work that has waited two
days; her mentor is told once that it changed, finds it still two days old in the queue
(behind older work), "updated just now", and reads both versions on the review page. At
1280 px and 390 px, axe-clean. Screenshots go to test-artifacts/versions-*.png."""

from __future__ import annotations

import re

import pytest

from tests.conftest import ROOT, assert_accessible, assert_fits_width, quick_sign_in
from tests.test_browser_mentoring import (
    PATH_TITLE,
    STEP_TITLES,
    emails_to,
    expect_bell,
    flash,
    follow,
    notifications_of,
    seed_school,
)

playwright_sync = pytest.importorskip("playwright.sync_api")
expect = playwright_sync.expect
pytestmark = pytest.mark.browser

ARTIFACTS = ROOT / "test-artifacts"
PHONE = {"width": 390, "height": 844}


def shot(page, name: str) -> None:
    assert_accessible(page, name)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"versions-{name}.png"), full_page=True)


@pytest.mark.parametrize("viewport", [{"width": 1280, "height": 900}, PHONE],
                         ids=["desktop", "phone"])
def test_a_learner_updates_waiting_work_and_the_mentor_sees_it_updated_not_younger(
        live_server, new_page, viewport):
    s = seed_school(live_server.app, with_past_work=True)  # Lia's work waits 2 days, Ben's 9
    step2 = s.step_ids[1]
    first = "Lia Learner's line follower: two IR sensors and a PID loop."
    second = "Three IR sensors now, and a PID loop with Kp=0.8 for the tight curve."

    lia = new_page()
    lia.set_viewport_size(viewport)
    quick_sign_in(lia, s.lia_email, then=f"/paths/{s.path_id}")
    card = lia.locator(f"#step-{step2}")
    expect(card.locator("textarea[name=content]")).to_have_value(first)
    card.locator("textarea[name=content]").fill(second)
    follow(lia, card.get_by_role("button", name="Update submission"))
    expect(flash(lia)).to_contain_text("keeps its place in the review queue")
    expect(card.locator("textarea[name=content]")).to_have_value(second)
    expect(card.get_by_test_id("submitted-when")).to_contain_text("updated")
    card.get_by_text("Earlier versions (1)").click()
    expect(card.get_by_test_id("earlier-versions")).to_contain_text(first)
    if viewport == PHONE:
        assert_fits_width(lia)
    shot(lia, f"learner-{viewport['width']}")

    # Mia (Lia's mentor) and Tom (her teacher) had no notice about this work: each is told
    # once that it changed, in the app and by email. Not the admin, not Lia.
    told = (f"Lia Learner updated \u201c{STEP_TITLES[1]}\u201d in \u201c{PATH_TITLE}\u201d "
            "(waiting 2 days)")
    assert notifications_of(live_server.app, s.mia_email) == [
        ("submission_changed", told, False)]
    assert notifications_of(live_server.app, s.tom_email) == [
        ("submission_changed", told, False)]
    assert notifications_of(live_server.app, s.admin_email) == []
    assert notifications_of(live_server.app, s.lia_email) == []
    subject = f"Lia Learner updated \u201c{STEP_TITLES[1]}\u201d"
    assert emails_to(live_server.app, s.mia_email) == [subject]
    assert emails_to(live_server.app, s.tom_email) == [subject]
    assert emails_to(live_server.app, s.lia_email) == []

    mia = new_page()
    mia.set_viewport_size(viewport)
    quick_sign_in(mia, s.mia_email, then="/review/")
    expect_bell(mia, 1)
    rows = mia.locator("main table tbody tr")
    expect(rows).to_have_count(2)  # Ben's 9 days first; Lia's edit did not make hers younger
    expect(rows.nth(0)).to_contain_text("Ben Bose")
    expect(rows.nth(1)).to_contain_text("Lia Learner")
    expect(rows.nth(1)).to_contain_text("2 days")
    expect(rows.nth(1).get_by_test_id("updated")).to_have_text("updated just now")
    if viewport == PHONE:
        assert_fits_width(mia)
    shot(mia, f"queue-{viewport['width']}")

    follow(mia, rows.nth(1).get_by_role("link", name="Review"))
    expect(mia.get_by_test_id("submission-status")).to_contain_text(
        re.compile(r"waiting 2 days, updated (just now|1 minute ago)"))
    expect(mia.get_by_test_id("version-label")).to_contain_text("Version 2 of 2")
    expect(mia.get_by_test_id("submission-content")).to_have_text(second)
    older = mia.get_by_test_id("earlier-versions")
    expect(older.get_by_text(first)).to_be_hidden()
    older.get_by_text("Earlier versions (1)").click()
    expect(older.get_by_text(first)).to_be_visible()
    if viewport == PHONE:
        assert_fits_width(mia)
    shot(mia, f"review-{viewport['width']}")
