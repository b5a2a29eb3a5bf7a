"""In a real browser: the mentor's Group options menu turns the weekly digest off and on (and
the page says so after a reload), and "Preview my digest" shows the items the email holds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import assert_accessible, assert_fits_width, quick_sign_in
from tests.test_browser_groups import ARTIFACTS, expect, follow, seed

pytestmark = pytest.mark.browser


def build_school():
    from mentorgroups.models import StepCompletion, Submission
    from mentorgroups.services import group_members as gm
    from mentorgroups.services import groups
    from tests.factories import make_account, make_cohort, make_member, make_path

    account = make_account(name="Hill School")
    admin = make_member(account, "admin", full_name="Ada Admin")
    mentor = make_member(account, "staff", full_name="Mo Mentor", email="mo@hill.test")
    learners = [make_member(account, "member", full_name=n) for n in ("Ann", "Bob", "Cid")]
    path = make_path(account, steps=4, review_at=(2,), title="Data")
    cohort = make_cohort(path, learners=learners)
    group = groups.create_group(admin, account.id, "Coaching")
    gm.add_members(admin, account.id, group.id, "mentor", user_ids=[mentor.id])
    gm.add_members(admin, account.id, group.id, "member", user_ids=[p.id for p in learners])
    now = datetime.now(UTC)
    for n, person in enumerate(learners[:2]):
        at = now - timedelta(days=2 + 7 * n)
        from mentorgroups.extensions import db

        db.session.add(StepCompletion(user_id=person.id, step_id=path.steps[0].id,
                                      cohort_id=cohort.id, completed_at=at))
        db.session.add(StepCompletion(user_id=person.id, step_id=path.steps[1].id,
                                      cohort_id=cohort.id, completed_at=at))
        db.session.add(Submission(account_id=account.id, user_id=person.id,
                                  step_id=path.steps[1].id, cohort_id=cohort.id, content="w",
                                  submitted_at=at))
    return {"group_id": group.id, "account_id": account.id, "mentor_id": mentor.id,
            "admin_id": admin.id, "cohort_id": cohort.id, "step_id": path.steps[0].id}


def test_group_options_switch_and_preview(browser, live_server):
    ids = seed(live_server.app, build_school)
    page = browser.new_context(base_url=live_server.url,
                               viewport={"width": 390, "height": 844}).new_page()
    quick_sign_in(page, "mo@hill.test", then=f"/people/groups/{ids['group_id']}")
    options = page.get_by_test_id("group-options")
    options.locator("summary").click()
    switch = page.get_by_test_id("digest-switch")
    expect(switch).to_contain_text("Weekly digest: on")
    assert_accessible(page, "group options open")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "digest-group-options.png"), full_page=True)
    follow(page, switch)
    expect(page.locator(".flash.success")).to_contain_text("Weekly digest for Coaching: off")
    assert_accessible(page, "digest switched off")
    page.reload()
    page.get_by_test_id("group-options").locator("summary").click()
    expect(page.get_by_test_id("digest-switch")).to_contain_text("Weekly digest: off")
    follow(page, page.get_by_test_id("digest-switch"))
    page.reload()
    page.get_by_test_id("group-options").locator("summary").click()
    expect(page.get_by_test_id("digest-switch")).to_contain_text("Weekly digest: on")

    follow(page, page.get_by_role("link", name="Preview my digest"))
    expect(page.locator("h1")).to_have_text("Preview my digest")
    shown_pending = page.get_by_test_id("digest-pending").locator("li").all_inner_texts()
    shown_members = page.get_by_test_id("digest-progress").locator(
        "li > strong:first-child").all_inner_texts()
    assert_accessible(page, "digest preview")
    page.screenshot(path=str(ARTIFACTS / "digest-preview.png"), full_page=True)

    with live_server.app.app_context():
        from mentorgroups.extensions import db
        from mentorgroups.models import Account, User
        from mentorgroups.services import digests

        with live_server.app.test_request_context():
            digest = digests.preview_for(db.session.get(User, ids["mentor_id"]),
                                         db.session.get(Account, ids["account_id"]))
            email_text = digests.render(digest)["text"]
        db.session.remove()
    # Every member: who moved last week, who did not, who started nothing.
    assert len(shown_pending) == 2 and shown_members == ["Ann", "Bob", "Cid"]
    for line in shown_pending:
        who_what = line.split(" in ")[0].strip()
        assert who_what in email_text
    for name in shown_members:
        assert f"- {name}" in email_text
    expect(page.get_by_test_id("digest-totals")).to_contain_text("2 waiting for review")
    page.context.close()


def build_drifting_school():
    """build_school, and Eve, whose last step was 20 days ago: drifting after 14 days."""
    from mentorgroups.extensions import db
    from mentorgroups.models import Account, CohortMembership, StepCompletion, User
    from mentorgroups.services import group_members as gm
    from tests.factories import make_member

    ids = build_school()
    account = db.session.get(Account, ids["account_id"])
    eve = make_member(account, "member", full_name="Eve Idle")
    gm.add_members(db.session.get(User, ids["admin_id"]), account.id, ids["group_id"],
                   "member", user_ids=[eve.id])
    db.session.add(CohortMembership(cohort_id=ids["cohort_id"], user_id=eve.id, role="learner"))
    db.session.add(StepCompletion(user_id=eve.id, step_id=ids["step_id"],
                                  cohort_id=ids["cohort_id"],
                                  completed_at=datetime.now(UTC) - timedelta(days=20)))
    return ids


@pytest.mark.parametrize("width", [1280, 390])
def test_preview_and_drifting_members_on_the_group_page(new_page, live_server, width):
    """The preview lists every member in one line each, with Eve drifting; the group page's
    Show/Sort form narrows the list to the drifting members, longest without progress first."""
    ids = seed(live_server.app, build_drifting_school)
    page = new_page()
    page.set_viewport_size({"width": width, "height": 900})
    quick_sign_in(page, "mo@hill.test", then="/people/digest")
    progress = page.get_by_test_id("digest-progress")
    expect(progress.locator("[data-part=progressed] li")).to_have_count(1)
    expect(progress.locator("[data-part=idle] li")).to_have_count(2)
    expect(progress.locator("[data-part=not-started] li")).to_have_count(1)
    expect(progress.locator("[data-part=idle] li").last).to_contain_text(
        "Eve Idle: now 1/4; last ")
    expect(progress.locator("[data-part=idle] li").last).to_contain_text(
        "drifting: no progress for 20 days")
    expect(progress.locator("[data-part=idle] li").first).not_to_contain_text("drifting")
    expect(progress.get_by_role("link", name="Every member of Coaching on the group page")
           ).to_have_attribute("href", f"/people/groups/{ids['group_id']}")
    assert_accessible(page, f"digest preview {width}")
    assert_fits_width(page)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"digest-preview-members-{width}.png"), full_page=True)

    page.goto(f"/people/groups/{ids['group_id']}")
    page.get_by_label("Show").select_option("drifting")
    page.get_by_label("Sort by").select_option("drifting")
    follow(page, page.get_by_role("button", name="Apply"))
    rows = page.get_by_test_id("members").locator("tbody tr")
    expect(rows).to_have_count(1)  # Eve; not Cid, who started nothing but joined today
    expect(rows.first).to_contain_text("Eve Idle")
    expect(rows.first.get_by_test_id("drifting")).to_contain_text(
        "Drifting · no progress for 20 days")
    expect(page.get_by_test_id("members")).not_to_contain_text("Ann")
    assert "show=drifting" in page.url and "sort=drifting" in page.url
    assert_accessible(page, f"group page drifting {width}")
    assert_fits_width(page)
    page.screenshot(path=str(ARTIFACTS / f"group-drifting-{width}.png"), full_page=True)


def build_crowded_school():
    """build_school, and 30 more members of Coaching who started nothing: 31 not started."""
    from mentorgroups.extensions import db
    from mentorgroups.models import Account, User
    from mentorgroups.services import group_members as gm
    from tests.factories import make_member

    ids = build_school()
    account = db.session.get(Account, ids["account_id"])
    crowd = [make_member(account, "member", full_name=f"Newcomer {n:02d}") for n in range(30)]
    gm.add_members(db.session.get(User, ids["admin_id"]), account.id, ids["group_id"],
                   "member", user_ids=[p.id for p in crowd])
    return ids


@pytest.mark.parametrize("width", [1280, 390])
def test_the_preview_of_a_big_group_lists_the_first_25_not_started_and_links_the_rest(
        new_page, live_server, width):
    """Everyone who progressed is listed; of the 31 who started nothing, the first 25, then
    "and 6 more on the group page", a link to the group page."""
    ids = seed(live_server.app, build_crowded_school)
    page = new_page()
    page.set_viewport_size({"width": width, "height": 900})
    quick_sign_in(page, "mo@hill.test", then="/people/digest")
    progress = page.get_by_test_id("digest-progress")
    expect(progress.locator("[data-part=progressed] li")).to_have_count(1)
    expect(progress.locator("[data-part=not-started] li")).to_have_count(25)
    expect(progress).to_contain_text("Not started (31)")
    more = progress.get_by_role("link", name="and 6 more on the group page")
    expect(more).to_have_attribute("href", f"/people/groups/{ids['group_id']}")
    assert_accessible(page, f"digest preview of a big group {width}")
    assert_fits_width(page)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"digest-preview-big-group-{width}.png"),
                    full_page=True)
    follow(page, more)
    expect(page.locator("h1")).to_contain_text("Coaching")


@pytest.mark.parametrize("width", [1280, 390])
def test_settings_password_and_unsubscribe_screens_fit_and_pass_axe(new_page, live_server,
                                                                    width):
    """The screens these issues added that no other browser test shows: School settings,
    Change password and the digest's unsubscribe page, on a desktop and on a phone."""
    ids = seed(live_server.app, build_school)
    with live_server.app.test_request_context():
        from mentorgroups.services.digest_subscriptions import unsubscribe_token

        token = unsubscribe_token(ids["mentor_id"], [ids["group_id"]])
    admin = new_page()
    admin.set_viewport_size({"width": width, "height": 844})
    quick_sign_in(admin, admin_email(live_server.app, ids["account_id"]), then="/admin/school/")
    expect(admin.get_by_label("Time zone")).to_be_visible()
    mentor = new_page()
    mentor.set_viewport_size({"width": width, "height": 844})
    quick_sign_in(mentor, "mo@hill.test", then="/password/change")
    expect(mentor.locator("h1")).to_have_text("Change your password")
    visitor = new_page()
    visitor.set_viewport_size({"width": width, "height": 844})
    visitor.goto(f"/digest/unsubscribe/{token}")
    expect(visitor.locator("h1")).to_have_text("Stop the weekly digest?")
    for page, name in ((admin, "school-settings"), (mentor, "change-password"),
                       (visitor, "unsubscribe")):
        assert_accessible(page, name)
        assert page.evaluate("document.scrollingElement.scrollWidth <= innerWidth"), name
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"digest-{name}-{width}.png"), full_page=True)


def admin_email(app, account_id: int) -> str:
    from sqlalchemy import select

    from mentorgroups.extensions import db
    from mentorgroups.models import AccountMembership, User

    with app.app_context():
        email = db.session.scalar(select(User.email).join(AccountMembership).where(
            AccountMembership.account_id == account_id, AccountMembership.role == "admin"))
        db.session.remove()
    return email
