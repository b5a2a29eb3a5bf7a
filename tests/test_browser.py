"""Real-browser tests: the machine's Chromium, driven by Playwright's sync API, against the app
served by a live Werkzeug server on the test database (MG_TEST_DB).

Screenshots of the key screens are written to test-artifacts/ (gitignored) for a human look."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from flask import Flask

from tests.conftest import ROOT, assert_accessible, assert_fits_width
from tests.factories import PASSWORD, school

playwright_sync = pytest.importorskip("playwright.sync_api")
expect = playwright_sync.expect

pytestmark = pytest.mark.browser

ARTIFACTS = ROOT / "test-artifacts"
BAD_CREDENTIALS = "That email and password don't match an account. Check both and try again."


# --- fixtures -------------------------------------------------------------------------------


@dataclass
class SchoolData:
    """Plain values of factories.school(), readable outside the app context."""

    account_id: int
    account_name: str
    admin_email: str
    teacher_email: str
    learner_email: str
    learner_name: str
    other_email: str
    path_id: int
    path_title: str
    step_ids: list[int]
    cohort_name: str

    @property
    def people_emails(self) -> list[str]:
        return [self.admin_email, self.teacher_email, self.learner_email, self.other_email]


def seed_school(app: Flask, setup=None) -> SchoolData:
    """Build a school in one short transaction; `setup(s)` may add rows before it ends."""
    from mentorgroups.extensions import db

    with app.app_context():
        s = school()
        if setup is not None:
            setup(s)
            db.session.commit()
        data = SchoolData(
            account_id=s.account.id, account_name=s.account.name,
            admin_email=s.admin.email, teacher_email=s.teacher.email,
            learner_email=s.learner.email, learner_name=s.learner.full_name,
            other_email=s.other.email, path_id=s.path.id, path_title=s.path.title,
            step_ids=[step.id for step in s.path.steps], cohort_name=s.cohort.name,
        )
        db.session.remove()
    return data


# --- helpers --------------------------------------------------------------------------------


def shot(page, name: str) -> None:
    """Every screen a test shows is audited with axe-core, then photographed."""
    assert_accessible(page, name)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def sign_in(page, email: str, password: str = PASSWORD, *, open_form: bool = True) -> None:
    if open_form:
        page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()


def flash(page):
    return page.locator(".flash")


def step_card(page, step_id: int):
    return page.locator(f"#step-{step_id}")


def open_path(page, title: str) -> None:
    page.get_by_role("link", name="My paths").first.click()
    page.get_by_role("link", name=title).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(title)


# --- tests ----------------------------------------------------------------------------------


def test_learner_signs_in_and_sees_her_paths_with_progress(live_server, page):
    def one_step_done(s):
        from mentorgroups.services import learning

        learning.complete_step(s.learner, s.account.id, s.path.steps[0].id)

    s = seed_school(live_server.app, one_step_done)

    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    shot(page, "01-login")

    sign_in(page, s.learner_email, open_form=False)

    expect(page).to_have_url(live_server("/paths"))
    expect(page.get_by_role("heading", level=1)).to_have_text("My paths")
    card = page.locator(".path-card")
    expect(card).to_have_count(1)
    expect(card.get_by_role("link", name=s.path_title)).to_be_visible()
    expect(card).to_contain_text(s.cohort_name)
    expect(card).to_contain_text("1 of 4 steps · 25%")
    expect(card.locator(".progress > span")).to_have_attribute("style", "width:25%")
    expect(page.locator("header.top")).to_contain_text(s.learner_name)
    expect(page.locator("header.top")).to_contain_text(s.account_name)
    shot(page, "02-my-paths")


def test_wrong_password_and_unknown_email_get_the_same_message(live_server, page):
    s = seed_school(live_server.app)

    sign_in(page, s.learner_email, "not-the-password")
    expect(page).to_have_url(live_server("/login"))
    expect(flash(page)).to_have_count(1)
    expect(flash(page)).to_have_text(BAD_CREDENTIALS)
    expect(flash(page)).to_have_attribute("role", "alert")  # read out at once
    wrong_password = flash(page).inner_text()
    expect(page.get_by_label("Password")).to_have_value("")
    shot(page, "03-login-wrong-password")

    sign_in(page, "nobody-here@example.test", "not-the-password")
    expect(page).to_have_url(live_server("/login"))
    expect(flash(page)).to_have_count(1)
    expect(flash(page)).to_have_text(BAD_CREDENTIALS)
    assert flash(page).inner_text() == wrong_password

    # Nobody got in: a protected page still sends to the sign-in form.
    page.goto("/paths")
    expect(page).to_have_url(re.compile(r"/login\?next=/paths"))


def test_admin_opens_back_office_and_people_and_a_learner_gets_403(live_server, page):
    s = seed_school(live_server.app)
    elsewhere = seed_school(live_server.app)  # another school: none of it may show

    admin = page
    sign_in(admin, s.admin_email)
    expect(admin).to_have_url(live_server("/admin/"))
    expect(admin.get_by_role("heading", level=1)).to_contain_text(s.account_name)
    menu = admin.get_by_role("navigation", name="Back office")
    for item in ("People", "Paths", "Cohorts", "Sent emails"):
        expect(menu.get_by_role("link", name=item, exact=True)).to_be_visible()
    # The site's header, on the back office too: the school, the person, Sign out.
    header = admin.locator("header.top")
    expect(header).to_contain_text(s.account_name)
    expect(header.get_by_role("link", name="Back office")).to_have_attribute("aria-current", "page")
    shot(admin, "04-admin-home")

    menu.get_by_role("link", name="People", exact=True).click()
    expect(admin).to_have_url(re.compile(r"/admin/people/"))
    table = admin.locator("table.model-list")
    for name in ("Ada Admin", "Tom Teacher", "Lia Learner", "Olu Other"):
        expect(table).to_contain_text(name)
    for email in s.people_emails:
        expect(table).to_contain_text(email)
    expect(table.locator("tbody tr")).to_have_count(4)
    for email in elsewhere.people_emails:
        expect(table).not_to_contain_text(email)
    shot(admin, "05-admin-people")
    # Flask-Admin's list controls have real labels: the row checkboxes, the search, and a
    # filter's fields once added (from the keyboard: its menu opens on the first item).
    expect(table.get_by_label("Select Lia Learner")).to_have_count(1)
    expect(admin.get_by_label("Name, Email")).to_be_visible()
    add_filter = admin.get_by_role("button", name="Add Filter")
    add_filter.focus()
    admin.keyboard.press("Enter")
    expect(add_filter).to_have_attribute("aria-expanded", "true")
    expect(admin.get_by_role("menuitem", name="Role")).to_be_focused()
    assert_accessible(admin, "Add Filter menu open")
    admin.keyboard.press("ArrowDown")
    expect(admin.get_by_role("menuitem", name="Access")).to_be_focused()
    admin.keyboard.press("Enter")
    expect(admin.get_by_label("Access: how to compare")).to_have_count(1)
    assert_accessible(admin, "a filter added")

    header.get_by_role("button", name="Sign out").click()
    expect(admin.locator(".flash")).to_have_text("You are signed out.")
    learner = admin
    sign_in(learner, s.learner_email)
    response = learner.goto("/admin/")
    assert response is not None and response.status == 403
    expect(learner.get_by_role("heading", level=1)).to_have_text("You can't open this page")
    expect(learner.locator("main")).to_contain_text("doesn't give access")
    expect(learner.get_by_role("link", name="Back office")).to_have_count(0)
    shot(learner, "06-learner-admin-403")


def test_learner_completes_a_step_and_submits_work(live_server, page):
    s = seed_school(live_server.app)
    step1, step2, step3, _ = s.step_ids
    essay = "My plan for the project:\n1. read\n2. write"
    html = "</textarea><script>alert(1)</script><b>bold?</b>"

    sign_in(page, s.learner_email)
    open_path(page, s.path_title)
    expect(page.locator("main")).to_contain_text("0 of 4 steps complete (0%)")
    shot(page, "07-path-start")

    step_card(page, step1).get_by_role("button", name="Mark complete").click()
    expect(flash(page)).to_have_text("Step completed.")
    expect(flash(page)).to_have_attribute("role", "status")  # read out politely
    expect(step_card(page, step1).locator(".pill.done")).to_have_text("Complete")
    expect(step_card(page, step1).get_by_role("button")).to_have_count(0)
    expect(page.locator("main")).to_contain_text("1 of 4 steps complete (25%)")

    step_card(page, step2).locator("textarea[name=content]").fill(essay)
    step_card(page, step2).get_by_role("button", name="Submit for review").click()
    expect(flash(page)).to_contain_text("Submitted for review.")
    expect(step_card(page, step2)).to_contain_text("Waiting for review")
    expect(step_card(page, step2).locator("textarea[name=content]")).to_have_value(essay)
    expect(step_card(page, step2).get_by_role("button", name="Update submission")).to_be_visible()
    expect(page.locator("main")).to_contain_text("2 of 4 steps complete (50%)")

    # An empty (blank) submission is refused with a message; nothing done so far is lost.
    step_card(page, step3).locator("textarea[name=content]").fill("   \n  ")
    with page.expect_response(re.compile(rf"/steps/{step3}/submit$")) as refused:
        step_card(page, step3).get_by_role("button", name="Submit for review").click()
    assert refused.value.status == 422
    expect(flash(page)).to_have_text("Write something before submitting.")
    expect(flash(page)).to_have_class(re.compile(r"\berror\b"))
    # ...and next to the step it is about, with the focus there.
    expect(step_card(page, step3).locator(".field-error")).to_have_text(
        "Write something before submitting.")
    expect(step_card(page, step3).locator("textarea[name=content]")).to_be_focused()
    expect(step_card(page, step2).locator(".field-error")).to_have_count(0)
    shot(page, "08-path-empty-submission")

    # Blanking a pending submission is refused too, and the saved text stays on screen.
    step_card(page, step2).locator("textarea[name=content]").fill("")
    step_card(page, step2).get_by_role("button", name="Update submission").click()
    expect(step_card(page, step2).locator(".field-error")).to_have_text(
        "Write something before submitting.")

    for reloaded in (False, True):
        if reloaded:
            page.goto(f"/paths/{s.path_id}")
            expect(page.locator(".field-error")).to_have_count(0)
        expect(step_card(page, step1).locator(".pill.done")).to_have_text("Complete")
        expect(step_card(page, step2)).to_contain_text("Waiting for review")
        expect(step_card(page, step2).locator("textarea[name=content]")).to_have_value(essay)
        expect(step_card(page, step3)).not_to_contain_text("Waiting for review")
        expect(page.locator("main")).to_contain_text("2 of 4 steps complete (50%)")

    # HTML in a submission is kept and shown as text, never run.
    step_card(page, step3).locator("textarea[name=content]").fill(html)
    step_card(page, step3).get_by_role("button", name="Submit for review").click()
    expect(flash(page)).to_contain_text("Submitted for review.")
    expect(step_card(page, step3)).to_contain_text("Waiting for review")
    expect(step_card(page, step3).locator("textarea[name=content]")).to_have_value(html)
    expect(step_card(page, step3).locator("textarea[name=content]")).to_be_visible()
    expect(step_card(page, step3).locator("b")).to_have_count(0)
    assert page.evaluate("document.querySelectorAll('main script').length") == 0
    page.reload()
    expect(step_card(page, step3).locator("textarea[name=content]")).to_have_value(html)
    expect(page.locator("main")).to_contain_text("3 of 4 steps complete (75%)")
    assert page.dialogs == []
    shot(page, "09-path-submitted")

    page.set_viewport_size({"width": 390, "height": 844})
    assert_fits_width(page)
    shot(page, "10-path-phone")


def test_teacher_grades_a_submission_and_the_learner_sees_it(live_server, new_page):
    s = seed_school(live_server.app)
    step3 = s.step_ids[2]
    work = ("Step 3: I compared <b>two</b> approaches."
            "<script>alert(1)</script><img src=x onerror=alert(2)>")
    feedback = "Clear comparison.\nNext time, say why the first approach fails."

    learner = new_page()
    sign_in(learner, s.learner_email)
    learner.goto(f"/paths/{s.path_id}")
    step_card(learner, step3).locator("textarea[name=content]").fill(work)
    step_card(learner, step3).get_by_role("button", name="Submit for review").click()
    expect(step_card(learner, step3)).to_contain_text("Waiting for review")

    teacher = new_page()
    sign_in(teacher, s.teacher_email)
    teacher.get_by_role("link", name="Review", exact=True).click()
    expect(teacher).to_have_url(live_server("/review/"))
    expect(teacher.get_by_role("heading", level=1)).to_have_text("Waiting for review")
    rows = teacher.locator("main table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text(s.learner_name)
    expect(rows).to_contain_text("Step 3")
    expect(rows).to_contain_text(s.path_title)
    expect(rows).to_contain_text("just now")
    shot(teacher, "11-review-queue")

    rows.get_by_role("link", name="Review").click()
    expect(teacher.get_by_role("heading", level=1)).to_have_text("Step 3")
    # The learner's text exactly as written: HTML in it is shown, never run.
    expect(teacher.locator("main .feedback")).to_have_text(work)
    expect(teacher.locator("main .feedback").locator("b, script, img")).to_have_count(0)

    teacher.get_by_label("Grade (0 to 10)").fill("11")
    teacher.get_by_label("Feedback").fill(feedback)
    with teacher.expect_response(lambda r: r.request.method == "POST") as refused:
        teacher.get_by_role("button", name="Save review").click()
    assert refused.value.status == 422
    grade_error = teacher.locator(".field-error")
    expect(grade_error).to_have_text("The grade must be from 0 to 10.")
    expect(teacher.get_by_label("Grade (0 to 10)")).to_have_attribute("aria-invalid", "true")
    expect(teacher.get_by_label("Grade (0 to 10)")).to_have_value("11")
    expect(teacher.get_by_label("Feedback")).to_have_value(feedback)
    shot(teacher, "12-review-grade-error")

    teacher.get_by_label("Grade (0 to 10)").fill("8")
    teacher.get_by_role("button", name="Save review").click()
    expect(teacher).to_have_url(live_server("/review/"))
    expect(flash(teacher)).to_have_text(f"Review saved. {s.learner_name} has been told.")
    expect(teacher.locator("main")).to_contain_text("Nothing is waiting for you to review.")

    learner.reload()
    card = step_card(learner, step3)
    expect(card.locator(".pill.done")).to_have_text("Reviewed")
    expect(card.locator(".grade")).to_have_text("Grade: 8 of 10")
    expect(card).to_contain_text("Reviewed by Tom Teacher")
    expect(card.locator(".review-result .feedback")).to_have_text(feedback)
    # Reviewed: a new version is offered only folded away, for another round of review.
    expect(card.locator("textarea[name=content]")).to_be_hidden()
    expect(card.locator("details.resubmit summary")).to_have_text(
        "Submit a new version for another review")
    expect(card.locator(".feedback").first).to_have_text(work)
    assert_accessible(teacher, "review queue after saving")
    assert teacher.dialogs == [] and learner.dialogs == []
    shot(learner, "13-path-reviewed")

