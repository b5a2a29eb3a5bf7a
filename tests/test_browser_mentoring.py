"""Mentors at work in a real browser: the machine's Chromium, driven by Playwright's sync API,
against the app served by a live Werkzeug server on the test database (MG_TEST_DB).

Covers a learner's submission reaching a mentor who does not teach her cohort (bell,
notification list, review screen, grade error, saved review, the learner told), the mentor's
People pages (groups, a group's members, the profile's Paths/Activity/Review tabs), "Mark all
as read", and the 404 a mentor gets for a learner or group that is not theirs. Screenshots go
to test-artifacts/mentor-*.png."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

import pytest
from flask import Flask

from tests.conftest import ROOT, assert_accessible, assert_fits_width, quick_sign_in
from tests.factories import make_account, make_cohort, make_member

playwright_sync = pytest.importorskip("playwright.sync_api")
expect = playwright_sync.expect

pytestmark = pytest.mark.browser

ARTIFACTS = ROOT / "test-artifacts"
PATH_TITLE = "Intro to Robotics"
STEP_TITLES = ("Safety briefing", "Build a line follower", "Reflect on the build", "Demo day")


# --- fixtures -------------------------------------------------------------------------------


# --- data -----------------------------------------------------------------------------------


@dataclass
class Hill:
    """Plain ids and emails of the school built by `seed_school`, usable outside the app."""

    account_id: int
    mia_email: str  # staff: mentor of Robotics club; teaches Spreadsheets, not Robotics
    tom_email: str  # staff: teaches the Robotics cohort
    admin_email: str
    lia_id: int
    lia_email: str  # member of Robotics club, learner in the Robotics cohort
    ben_id: int
    cy_id: int
    olu_id: int  # learner in the Robotics cohort, in Chess club only (not Mia's)
    olu_submission_id: int | None
    robotics_id: int
    chess_id: int
    dale_group_id: int  # a group of another school
    dale_person_id: int
    path_id: int
    step_ids: list[int]
    ben_submission_id: int | None
    lia_submission_id: int | None


def seed(app: Flask, build):
    """Run `build()` in an app context, commit, and return what it returns (plain values)."""
    from mentorgroups.extensions import db

    with app.app_context():
        result = build()
        db.session.commit()
        db.session.remove()
    return result


def add_to_group(actor, account_id: int, group, role: str, *users) -> None:
    from mentorgroups.services import group_members

    group_members.add_members(actor, account_id, group.id, role, user_ids=[u.id for u in users])


def past_work(person, cohort, steps, submitted: int | None, completed: dict[int, int]):
    """Work done before the test, written as rows (so no notification job runs): a completion
    of steps[i] `completed[i]` days ago, and a pending submission of the first step marked for
    review `submitted` days ago, which completes that step at the same instant as the app
    does. Returns the submission's id."""
    from mentorgroups.extensions import db
    from mentorgroups.models import StepCompletion, Submission, utcnow

    now = utcnow()
    for index, days in completed.items():
        db.session.add(StepCompletion(user_id=person.id, step_id=steps[index].id,
                                      cohort_id=cohort.id,
                                      completed_at=now - timedelta(days=days)))
    if submitted is None:
        return None
    step = next(s for s in steps if s.requires_review)
    when = now - timedelta(days=submitted, minutes=5)
    submission = Submission(account_id=cohort.path.account_id, user_id=person.id,
                            step_id=step.id, cohort_id=cohort.id, submitted_at=when,
                            content=f"{person.full_name}'s line follower: two IR sensors "
                                    "and a PID loop.", status="pending")
    db.session.add_all([submission, StepCompletion(user_id=person.id, step_id=step.id,
                                                   cohort_id=cohort.id, completed_at=when)])
    db.session.flush()
    return submission.id


def seed_school(app: Flask, with_past_work: bool = False) -> Hill:
    """Hill School: Mia mentors Robotics club (Lia, Ben, Cy) and teaches only a Spreadsheets
    cohort; Tom teaches the Robotics cohort (Lia, Ben, Olu); Olu is in Chess club, which Mia
    does not mentor. Dale Academy is another school with a group and a person."""

    def build():
        from mentorgroups.models import Path, Step
        from mentorgroups.services import groups

        account = make_account(name="Hill School", plan="complete")
        admin = make_member(account, "admin", full_name="Ada Admin", email="ada@hill.test")
        mia = make_member(account, "staff", full_name="Mia Mentor", email="mia@hill.test")
        tom = make_member(account, "staff", full_name="Tom Teacher", email="tom@hill.test")
        lia = make_member(account, full_name="Lia Learner", email="lia@hill.test")
        ben = make_member(account, full_name="Ben Bose", email="ben@hill.test")
        cy = make_member(account, full_name="Cy Cole", email="cy@hill.test")
        olu = make_member(account, full_name="Olu Other", email="olu@hill.test")

        robotics_path = Path(account=account, title=PATH_TITLE, steps=[
            Step(position=1, title=STEP_TITLES[0]),
            Step(position=2, title=STEP_TITLES[1], requires_review=True, points=10,
                 body="Build a robot that follows a black line. Describe how you tuned it."),
            Step(position=3, title=STEP_TITLES[2], requires_review=True),
            Step(position=4, title=STEP_TITLES[3]),
        ])
        sheets_path = Path(account=account, title="Spreadsheets", steps=[
            Step(position=1, title="Formulas")])
        cohort = make_cohort(robotics_path, name="Spring 2025", teachers=[tom],
                             learners=[lia, ben, olu])
        make_cohort(sheets_path, name="Autumn", teachers=[mia])

        robotics = groups.create_group(admin, account.id, "Robotics club",
                                       "Thursdays in the lab.")
        chess = groups.create_group(admin, account.id, "Chess club")
        add_to_group(admin, account.id, robotics, "mentor", mia)
        add_to_group(admin, account.id, robotics, "member", lia, ben, cy)
        add_to_group(admin, account.id, chess, "member", olu)

        dale = make_account(name="Dale Academy", plan="complete")
        dale_admin = make_member(dale, "admin", full_name="Dan Dale", email="dan@dale.test")
        dale_person = make_member(dale, full_name="Dora Dale", email="dora@dale.test")
        dale_group = groups.create_group(dale_admin, dale.id, "Dale robotics")
        add_to_group(dale_admin, dale.id, dale_group, "member", dale_person)

        steps = robotics_path.steps
        lia_sub = ben_sub = olu_sub = None
        if with_past_work:
            lia_sub = past_work(lia, cohort, steps, submitted=2, completed={0: 3})
            ben_sub = past_work(ben, cohort, steps, submitted=9, completed={0: 10})
            olu_sub = past_work(olu, cohort, steps, submitted=1, completed={})
        return Hill(
            account_id=account.id, mia_email=mia.email, tom_email=tom.email,
            admin_email=admin.email, lia_id=lia.id, lia_email=lia.email, ben_id=ben.id,
            cy_id=cy.id, olu_id=olu.id, olu_submission_id=olu_sub, robotics_id=robotics.id,
            chess_id=chess.id, dale_group_id=dale_group.id, dale_person_id=dale_person.id,
            path_id=robotics_path.id, step_ids=[s.id for s in steps],
            ben_submission_id=ben_sub, lia_submission_id=lia_sub)

    return seed(app, build)


def notifications_of(app: Flask, email: str) -> list[tuple[str, str, bool]]:
    """(kind, text, read?) of everything in this person's inbox, oldest first."""
    from sqlalchemy import select

    from mentorgroups.extensions import db
    from mentorgroups.models import Notification, User

    with app.app_context():
        rows = db.session.execute(
            select(Notification.kind, Notification.text, Notification.read_at)
            .join(User, User.id == Notification.user_id)
            .where(User.email == email).order_by(Notification.id)).all()
        db.session.remove()
    return [(kind, text, read_at is not None) for kind, text, read_at in rows]


def emails_to(app: Flask, email: str) -> list[str]:
    from sqlalchemy import select

    from mentorgroups.extensions import db
    from mentorgroups.models import SentEmail

    with app.app_context():
        subjects = list(db.session.scalars(select(SentEmail.subject)
                                           .where(SentEmail.recipient == email)
                                           .order_by(SentEmail.id)))
        db.session.remove()
    return subjects


# --- helpers --------------------------------------------------------------------------------


def shot(page, name: str) -> None:
    """Every screen a test shows is audited with axe-core, then photographed."""
    assert_accessible(page, name)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"mentor-{name}.png"), full_page=True)


def follow(page, target) -> None:
    """Click something that loads a new page and wait for that page."""
    with page.expect_navigation():
        target.click()


def expect_bell(page, unread: int) -> None:
    bell = page.get_by_test_id("bell")
    expect(bell).to_have_attribute("aria-label", f"Notifications: {unread} unread")
    if unread:
        expect(bell.locator(".bell-count")).to_have_text(str(unread))
    else:
        expect(bell.locator(".bell-count")).to_have_count(0)


def flash(page):
    return page.locator(".flash")


def notification_cards(page):
    return page.get_by_test_id("notification")


def member_row(page, user_id: int):
    return page.get_by_test_id("members").locator(f'tbody tr[data-user="{user_id}"]')


def expect_not_found(page, response) -> None:
    assert response is not None and response.status == 404, response and response.status
    expect(page.get_by_role("heading", level=1)).to_have_text("Not found")


# --- tests ----------------------------------------------------------------------------------


def test_submission_reaches_the_mentor_who_grades_it_and_the_learner_is_told(
        live_server, new_page):
    s = seed_school(live_server.app)
    step2 = s.step_ids[1]
    work = "Two IR sensors and a PID loop.\nKp=0.8 worked best on the tight curve."
    feedback = "Lovely tuning notes.\nTry a derivative term for the S-bend."
    told = (f"Lia Learner submitted \u201c{STEP_TITLES[1]}\u201d in \u201c{PATH_TITLE}\u201d "
            "for review")

    # The learner submits her work on the step marked for review.
    lia = new_page()
    quick_sign_in(lia, s.lia_email, then=f"/paths/{s.path_id}")
    card = lia.locator(f"#step-{step2}")
    card.locator("textarea[name=content]").fill(work)
    follow(lia, card.get_by_role("button", name="Submit for review"))
    expect(flash(lia)).to_contain_text("Submitted for review.")
    expect(card.locator(".pill.review").last).to_have_text("Waiting for review")
    expect_bell(lia, 0)

    # Mia mentors Lia's group but not her cohort: she is told, and so is Lia's teacher, once
    # each, in the app and by email. The school's admin is not told.
    assert notifications_of(live_server.app, s.mia_email) == [("submission", told, False)]
    assert notifications_of(live_server.app, s.tom_email) == [("submission", told, False)]
    assert notifications_of(live_server.app, s.admin_email) == []
    subject = f"Lia Learner submitted \u201c{STEP_TITLES[1]}\u201d for review"
    assert emails_to(live_server.app, s.mia_email) == [subject]
    assert emails_to(live_server.app, s.tom_email) == [subject]

    mia = new_page()
    quick_sign_in(mia, s.mia_email)
    expect_bell(mia, 1)
    shot(mia, "01-bell")
    follow(mia, mia.get_by_test_id("bell"))
    expect(mia.get_by_role("heading", level=1)).to_have_text("Notifications")
    expect(notification_cards(mia)).to_have_count(1)
    item = notification_cards(mia).first
    expect(item).to_have_class(re.compile(r"\bunread\b"))
    expect(item.locator(".muted")).to_have_text("just now")
    expect(mia.get_by_role("button", name="Mark all as read")).to_be_visible()
    shot(mia, "02-notifications")

    # The notification opens the review screen: the learner's work, how long it waited.
    follow(mia, item.get_by_role("button", name=told))
    expect(mia).to_have_url(re.compile(r"/review/\d+$"))
    expect(mia.get_by_role("heading", level=1)).to_have_text(STEP_TITLES[1])
    # What the step asked for, so the work can be judged against it.
    expect(mia.get_by_test_id("step-body")).to_have_text(
        "Build a robot that follows a black line. Describe how you tuned it.")
    about = mia.locator("main .card").first
    expect(about).to_contain_text("Lia Learner")
    expect(about).to_contain_text("Spring 2025")
    expect(about).to_contain_text(re.compile(r"waiting (just now|1 minute)"))
    expect(about.locator(".feedback")).to_have_text(work)
    # Opening it read it.
    expect_bell(mia, 0)
    shot(mia, "03-review-screen")

    # A grade out of range: a clear message by the field; nothing typed is lost.
    mia.get_by_label("Grade (0 to 10)").fill("12")
    mia.get_by_label("Feedback").fill(feedback)
    with mia.expect_response(lambda r: r.request.method == "POST") as refused:
        mia.get_by_role("button", name="Save review").click()
    assert refused.value.status == 422
    expect(mia.locator(".field-error")).to_have_text("The grade must be from 0 to 10.")
    grade = mia.get_by_label("Grade (0 to 10)")
    expect(grade).to_have_attribute("aria-invalid", "true")
    expect(grade).to_have_accessible_description("The grade must be from 0 to 10.")
    assert grade.evaluate("el => getComputedStyle(el).borderTopColor") == "rgb(197, 48, 48)"
    expect(mia.get_by_label("Grade (0 to 10)")).to_be_focused()
    expect(mia.get_by_label("Grade (0 to 10)")).to_have_value("12")
    expect(mia.get_by_label("Feedback")).to_have_value(feedback)
    shot(mia, "04-grade-error")

    mia.get_by_label("Grade (0 to 10)").fill("9")
    follow(mia, mia.get_by_role("button", name="Save review"))
    expect(mia).to_have_url(live_server("/review/"))
    expect(flash(mia)).to_have_text("Review saved. Lia Learner has been told.")
    expect(mia.locator("main")).to_contain_text("Nothing is waiting for you to review.")
    expect_bell(mia, 0)
    follow(mia, mia.get_by_test_id("bell"))
    expect(notification_cards(mia)).to_have_count(1)
    expect(notification_cards(mia).first).not_to_have_class(re.compile(r"\bunread\b"))
    expect(mia.get_by_role("button", name="Mark read")).to_have_count(0)
    expect(mia.get_by_role("button", name="Mark all as read")).to_have_count(0)
    # Tom's copy says who reviewed it and no longer counts as unread: nobody else need act.
    assert notifications_of(live_server.app, s.tom_email) == [
        ("submission", told + " \u00b7 reviewed by Mia Mentor", True)]

    # The learner's bell rings; her notification leads to the grade and feedback.
    lia.reload()
    expect_bell(lia, 1)
    follow(lia, lia.get_by_test_id("bell"))
    reviewed = f"Mia Mentor reviewed your work on \u201c{STEP_TITLES[1]}\u201d"
    expect(notification_cards(lia)).to_have_text([re.compile(re.escape(reviewed))])
    follow(lia, lia.get_by_role("button", name=reviewed))
    expect(lia).to_have_url(live_server(f"/paths/{s.path_id}#step-{step2}"))
    expect_bell(lia, 0)
    card = lia.locator(f"#step-{step2}")
    expect(card.locator(".pill.done")).to_have_text("Reviewed")
    expect(card.locator(".grade")).to_have_text("Grade: 9 of 10")
    expect(card).to_contain_text("Reviewed by Mia Mentor")
    expect(card.locator(".review-result .feedback")).to_have_text(feedback)
    # Reviewed: a new version is offered only folded away, for another round of review.
    expect(card.locator("textarea[name=content]")).to_be_hidden()
    expect(card.locator("details.resubmit summary")).to_have_text(
        "Submit a new version for another review")
    assert emails_to(live_server.app, s.lia_email) == [
        f"Your work on \u201c{STEP_TITLES[1]}\u201d was reviewed"]
    shot(lia, "05-learner-path-reviewed")
    assert mia.dialogs == [] and lia.dialogs == []


def test_mentor_people_pages_groups_members_and_profile_tabs(live_server, page):
    s = seed_school(live_server.app, with_past_work=True)
    quick_sign_in(page, s.mia_email)

    # People > Groups: her group first, then the cohort she teaches.
    follow(page, page.get_by_role("link", name="People", exact=True))
    expect(page).to_have_url(live_server("/people/groups"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Groups")
    expect(page.get_by_role("heading", level=2)).to_have_text(["Mentor Groups", "Cohorts"])
    group_card = page.locator(".card").filter(has=page.get_by_role("link", name="Robotics club"))
    expect(group_card).to_contain_text("Mentor · 3 members")
    expect(group_card.locator(".pill")).to_have_text("2 waiting for review")
    expect(page.locator("main")).not_to_contain_text("Chess club")
    expect(page.locator("main .card").last).to_have_text(
        re.compile(r"Spreadsheets\s*·\s*Autumn\s*\(Teacher\)"))
    shot(page, "06-people-groups")

    # The group: each member with paths and progress, last activity and waiting work.
    follow(page, group_card.get_by_role("link", name="Robotics club"))
    expect(page).to_have_url(live_server(f"/people/groups/{s.robotics_id}"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Robotics club")
    expect(page.locator("main")).to_contain_text("Thursdays in the lab.")
    rows = page.get_by_test_id("members").locator("tbody tr")
    expect(rows.locator("td:first-child")).to_have_text(["Ben Bose", "Cy Cole", "Lia Learner"])
    lia_row, ben_row, cy_row = (member_row(page, uid) for uid in (s.lia_id, s.ben_id, s.cy_id))
    expect(lia_row.locator("td").nth(1)).to_have_text(re.compile(rf"{PATH_TITLE}\s+2/4"))
    expect(lia_row.locator(".mini-progress > span")).to_have_attribute("style", "width:50%")
    expect(lia_row.locator("td").nth(2)).to_have_text("2 days ago")
    expect(ben_row.locator("td").nth(1)).to_have_text(re.compile(rf"{PATH_TITLE}\s+2/4"))
    expect(cy_row.locator("td").nth(1)).to_have_text("No path started")
    expect(cy_row.locator("td").nth(2)).to_have_text("Never")
    expect(cy_row.get_by_test_id("review-icon")).to_have_count(0)
    lia_icon = lia_row.get_by_test_id("review-icon")
    expect(lia_icon).to_have_text(re.compile(r"1 · 2 days$"))
    expect(lia_icon).to_have_class(re.compile(r"\breview\b"))
    # Ben's has waited over a week: marked as stale.
    expect(ben_row.get_by_test_id("review-icon")).to_have_text(re.compile(r"1 · 9 days$"))
    expect(ben_row.get_by_test_id("review-icon")).to_have_class(re.compile(r"\bstale\b"))
    expect(page.locator("main")).not_to_contain_text("Olu Other")
    shot(page, "07-group-members")
    # "..." opens the member's other actions in a menu that floats over the table: no
    # column moves.
    columns = [cell.bounding_box()["x"] for cell in lia_row.locator("td").all()]
    lia_row.get_by_label("More for Lia Learner").click()
    expect(lia_row.get_by_role("menuitem", name="Email Lia Learner")).to_have_attribute(
        "href", "mailto:lia@hill.test")
    assert [cell.bounding_box()["x"] for cell in lia_row.locator("td").all()] == columns
    shot(page, "07a-group-member-menu")
    page.keyboard.press("Escape")
    expect(lia_row.get_by_role("menu")).to_be_hidden()

    # The review icon jumps to the member's profile, on the Review tab.
    follow(page, lia_icon)
    expect(page).to_have_url(live_server(f"/people/{s.lia_id}?tab=review"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Lia Learner")
    expect(page.locator(".tabs a.active")).to_have_text("Review (1)")
    waiting = page.locator("main .card")
    expect(waiting).to_have_count(1)
    expect(waiting).to_contain_text(STEP_TITLES[1])
    expect(waiting).to_contain_text(PATH_TITLE)
    expect(waiting.locator(".pill")).to_have_text("waiting 2 days")
    expect(waiting.get_by_role("link", name="Review")).to_have_attribute(
        "href", re.compile(rf"^/review/{s.lia_submission_id}\?next=/people/{s.lia_id}"))
    shot(page, "08-profile-review")

    # Paths: step-level progress.
    follow(page, page.locator(".tabs").get_by_role("link", name="Paths"))
    expect(page.locator(".tabs a.active")).to_have_text("Paths")
    path_card = page.locator("main .card").filter(has_text=PATH_TITLE)
    expect(path_card).to_contain_text("2 of 4 steps · 50%")
    steps = path_card.locator("tr")
    expect(steps.locator("td:first-child")).to_have_text(
        [f"{n}. {title}" for n, title in enumerate(STEP_TITLES, start=1)])
    expect(steps.locator("td:nth-child(2)")).to_have_text(
        ["Complete", "Waiting for review", "Not started", "Not started"])
    shot(page, "09-profile-paths")

    # Activity: recent completions and submissions, newest first; a submitted step is one
    # act ("Submitted"), not a completion and a submission.
    follow(page, page.locator(".tabs").get_by_role("link", name="Activity"))
    expect(page.locator(".tabs a.active")).to_have_text("Activity")
    items = page.locator("main .card > div")
    expect(items).to_have_text([
        re.compile(rf"Submitted {STEP_TITLES[1]} in {PATH_TITLE} · 2 days ago"),
        re.compile(rf"Completed {STEP_TITLES[0]} in {PATH_TITLE} · 3 days ago"),
    ])
    shot(page, "10-profile-activity")

    # The Review button goes to the review screen of that submission.
    page.goto(f"/people/{s.lia_id}?tab=review")
    follow(page, page.locator("main .card").get_by_role("link", name="Review"))
    expect(page).to_have_url(re.compile(
        rf"{re.escape(live_server(f'/review/{s.lia_submission_id}'))}\?next="))
    expect(page.locator("main .card").first).to_contain_text("waiting 2 days")
    assert page.dialogs == []


def test_mark_one_then_all_as_read_clears_the_bell(live_server, page):
    s = seed_school(live_server.app)

    def notify_mia():
        from sqlalchemy import select

        from mentorgroups.extensions import db
        from mentorgroups.models import User
        from mentorgroups.services import inbox

        mia = db.session.scalar(select(User).where(User.email == s.mia_email))
        for n, who in enumerate(("Lia Learner", "Ben Bose", "Cy Cole"), start=1):
            inbox.notify(mia.id, s.account_id, key=f"test:{n}", kind="submission",
                         text=f"{who} submitted \u201c{STEP_TITLES[1]}\u201d for review",
                         link="/people/groups")

    seed(live_server.app, notify_mia)
    quick_sign_in(page, s.mia_email, then="/notifications")
    expect_bell(page, 3)
    expect(notification_cards(page)).to_have_count(3)
    expect(page.locator(".unread")).to_have_count(3)

    ben = notification_cards(page).filter(has_text="Ben Bose")
    follow(page, ben.get_by_role("button", name="Mark read"))
    expect(page).to_have_url(live_server("/notifications"))
    expect_bell(page, 2)
    expect(ben).not_to_have_class(re.compile(r"\bunread\b"))
    expect(ben.get_by_role("button", name="Mark read")).to_have_count(0)
    shot(page, "11-one-marked-read")

    follow(page, page.get_by_role("button", name="Mark all as read"))
    expect_bell(page, 0)
    expect(notification_cards(page)).to_have_count(3)
    expect(page.locator(".unread")).to_have_count(0)
    expect(page.get_by_role("button", name=re.compile("Mark"))).to_have_count(0)
    shot(page, "12-all-read")
    assert [read for _, _, read in notifications_of(live_server.app, s.mia_email)] == [True] * 3


def test_other_learners_and_groups_are_not_found_by_url(live_server, new_page):
    s = seed_school(live_server.app, with_past_work=True)
    mia = new_page()
    # Her own group and member open (the control)...
    response = quick_sign_in(mia, s.mia_email, then=f"/people/groups/{s.robotics_id}")
    assert response is not None and response.status == 200
    assert mia.goto(f"/people/{s.lia_id}").status == 200

    # ...a learner of the school who is in none of her groups does not, on any tab, though
    # Mia may see the cohort's path; nor does that learner's waiting work.
    for url in (f"/people/{s.olu_id}", f"/people/{s.olu_id}?tab=review",
                f"/review/{s.olu_submission_id}"):
        expect_not_found(mia, mia.goto(url))
        expect(mia.locator("main")).not_to_contain_text("Olu")
    shot(mia, "13-not-found")
    # A group of the school she does not mentor, a group and a person of another school, a
    # group that does not exist.
    for url in (f"/people/groups/{s.chess_id}", f"/people/groups/{s.dale_group_id}",
                f"/people/{s.dale_person_id}", f"/people/groups/{s.dale_group_id + 1000}"):
        expect_not_found(mia, mia.goto(url))
        expect(mia.locator("main")).not_to_contain_text(re.compile("Chess|Dale|Dora"))

    # A member of the group is not its mentor: the group page is not hers either.
    lia = new_page()
    expect_not_found(lia, quick_sign_in(lia, s.lia_email, then=f"/people/groups/{s.robotics_id}"))
    expect_not_found(lia, lia.goto(f"/people/{s.ben_id}"))
    lia.goto("/people/groups")
    expect(lia.locator("main")).to_contain_text(
        "You don't mentor or manage any Mentor Group in Hill School.")
    expect(lia.locator("main")).not_to_contain_text("Robotics club")
    shot(lia, "14-member-people-empty")
    assert mia.dialogs == [] and lia.dialogs == []


def test_mentor_member_menu_from_the_keyboard_and_the_group_page_on_a_phone(live_server, page):
    s = seed_school(live_server.app, with_past_work=True)
    quick_sign_in(page, s.mia_email, then=f"/people/groups/{s.robotics_id}")
    lia_row, ben_row = member_row(page, s.lia_id), member_row(page, s.ben_id)
    more = lia_row.get_by_role("button", name="More for Lia Learner")
    expect(more).to_have_attribute("aria-haspopup", "menu")
    expect(more).to_have_attribute("aria-expanded", "false")
    menu = lia_row.get_by_role("menu", name="More for Lia Learner")
    email = menu.get_by_role("menuitem", name="Email Lia Learner")

    # Enter, Space and ArrowDown each open it on its item; Escape closes it and gives the focus
    # back to the button.
    for key in ("Enter", " ", "ArrowDown"):
        more.focus()
        page.keyboard.press(key)
        expect(more).to_have_attribute("aria-expanded", "true")
        expect(email).to_be_focused()
        outline = email.evaluate("el => getComputedStyle(el).outlineStyle")
        assert outline != "none", f"no visible focus after {key!r}"
        page.keyboard.press("Escape")
        expect(menu).to_be_hidden()
        expect(more).to_have_attribute("aria-expanded", "false")
        expect(more).to_be_focused()
    # One menu at a time; Tab or a click elsewhere closes it.
    more.click()
    expect(menu).to_be_visible()
    assert_accessible(page, "member menu open")
    ben_row.get_by_role("button", name="More for Ben Bose").click()
    expect(menu).to_be_hidden()
    expect(ben_row.get_by_role("menu")).to_be_visible()
    page.keyboard.press("Tab")
    page.locator("h1").click()
    expect(ben_row.get_by_role("menu")).to_be_hidden()

    # On a phone every member's name, Review and "..." are on screen; nothing scrolls sideways.
    page.set_viewport_size({"width": 390, "height": 844})
    assert_fits_width(page)
    for row in (lia_row, ben_row):
        for part in (row.locator("td").first, row.get_by_test_id("review-icon"),
                     row.get_by_role("button", name=re.compile("^More for"))):
            box = part.bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, box
    more.click()
    expect(email).to_be_visible()
    box = email.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390, box
    assert_fits_width(page)
    shot(page, "07b-group-members-phone")


def test_group_page_says_how_long_work_waits_for_a_first_review(live_server, page):
    """Lia's work, handed in 3 days ago and reviewed by Mia 36 hours later: the group's line
    and Mia's own, on a desktop and on a phone, axe-clean with the mentors' list open."""
    s = seed_school(live_server.app)

    def review_past_work():
        from mentorgroups.extensions import db
        from mentorgroups.models import Path, Review, Submission, User, utcnow

        lia, mia = (db.session.scalar(db.select(User).where(User.email == email))
                    for email in (s.lia_email, s.mia_email))
        step = db.session.get(Path, s.path_id).steps[1]
        start = utcnow() - timedelta(days=3)
        work = Submission(account_id=s.account_id, user_id=lia.id, step_id=step.id,
                          cohort_id=db.session.get(Path, s.path_id).cohorts[0].id,
                          content="done", submitted_at=start, status="reviewed")
        db.session.add(work)
        db.session.flush()
        db.session.add(Review(submission_id=work.id, reviewer_id=mia.id, feedback="ok",
                              created_at=start + timedelta(hours=36)))

    seed(live_server.app, review_past_work)
    quick_sign_in(page, s.mia_email, then=f"/people/groups/{s.robotics_id}")
    page.set_viewport_size({"width": 1280, "height": 900})
    line = page.get_by_test_id("turnaround")
    expect(line.locator("p")).to_have_text(
        "Median wait for a first review, last 4 weeks: 1.5 days · 90% within 1.5 days · "
        "1 reviewed")
    mentors = page.get_by_test_id("turnaround-mentors")
    mentors.locator("summary").click()
    expect(mentors.locator("li")).to_have_text(
        ["Mia Mentor: 1.5 days · 90% within 1.5 days · 1 reviewed"])
    shot(page, "07c-group-turnaround")
    page.set_viewport_size({"width": 390, "height": 844})
    assert_fits_width(page)
    shot(page, "07d-group-turnaround-phone")
