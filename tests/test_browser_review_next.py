"""Next in queue in a real browser (the machine's Chromium through Playwright, against a live
server on MG_TEST_DB): a mentor of two groups reviews five items of one group in a row from the
keyboard, the filter kept, "N left" counting down, one item reviewed by someone else meanwhile
passed over; then, on a 390 px phone, Skip with typed text asks first (Cancel keeps the text),
and a save that lost the race keeps the text, names the reviewer and offers Next.
Screenshots go to test-artifacts/review-next-*.png."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.conftest import ROOT, assert_accessible, assert_fits_width, quick_sign_in
from tests.factories import make_account, make_cohort, make_member

playwright_sync = pytest.importorskip("playwright.sync_api")
expect = playwright_sync.expect

pytestmark = pytest.mark.browser

ARTIFACTS = ROOT / "test-artifacts"


def seed(app):
    """Mia mentors Robotics club (Lia, Ben) and Chess club (Olu). Six Robotics items and
    three Chess items wait, interleaved by age: L1 O1 B1 L2 O2 B2 L3 O3 B3... oldest first."""
    from mentorgroups.extensions import db
    from mentorgroups.models import Path, Step, Submission, utcnow
    from mentorgroups.services import group_members, groups

    with app.app_context():
        account = make_account(name="Hill School", plan="complete")
        admin = make_member(account, "admin", full_name="Ada Admin", email="ada@hill.test")
        mia = make_member(account, "staff", full_name="Mia Mentor", email="mia@hill.test")
        tom = make_member(account, "staff", full_name="Tom Teacher", email="tom@hill.test")
        lia = make_member(account, full_name="Lia Learner", email="lia@hill.test")
        ben = make_member(account, full_name="Ben Bose", email="ben@hill.test")
        olu = make_member(account, full_name="Olu Other", email="olu@hill.test")
        path = Path(account=account, title="Robot journal", steps=[
            Step(position=i, title=f"Entry {i}", requires_review=True, points=10)
            for i in range(1, 4)])
        db.session.add(path)
        db.session.flush()
        cohort = make_cohort(path, name="Spring", teachers=[tom], learners=[lia, ben, olu])
        robotics = groups.create_group(admin, account.id, "Robotics club")
        chess = groups.create_group(admin, account.id, "Chess club")
        for group, role, people in ((robotics, "mentor", [mia]), (chess, "mentor", [mia]),
                                    (robotics, "member", [lia, ben]),
                                    (chess, "member", [olu])):
            group_members.add_members(admin, account.id, group.id, role,
                                      user_ids=[p.id for p in people])
        now = utcnow()
        work = {}
        hours = 100
        for step in path.steps:
            for person in (lia, olu, ben):
                submission = Submission(
                    account_id=account.id, user_id=person.id, step_id=step.id,
                    cohort_id=cohort.id, content=f"{person.full_name}: {step.title}",
                    submitted_at=now - timedelta(hours=hours), status="pending")
                db.session.add(submission)
                db.session.flush()
                work[(person.full_name.split()[0], step.position)] = submission.id
                hours -= 1
        db.session.commit()
        out = {"work": work, "robotics": robotics.id, "chess": chess.id, "mia": mia.id,
               "tom": tom.id}
        db.session.remove()
    return out


def review_by(app, who_id: int, submission_id: int, feedback: str) -> None:
    """Someone else reviews, in their own session, while the browser is on another page."""
    from mentorgroups.extensions import db
    from mentorgroups.models import User
    from mentorgroups.services import learning

    with app.app_context():
        learning.review_submission(db.session.get(User, who_id), submission_id, "6", feedback)
        db.session.commit()
        db.session.remove()


def reviewed(app) -> dict[int, str]:
    from sqlalchemy import select

    from mentorgroups.extensions import db
    from mentorgroups.models import Review, User

    with app.app_context():
        rows = db.session.execute(select(Review.submission_id, User.full_name)
                                  .join(User, User.id == Review.reviewer_id)).all()
        db.session.remove()
    return dict(rows)


def shot(page, name: str) -> None:
    assert_accessible(page, name)
    assert_fits_width(page)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"review-next-{name}.png"), full_page=True)


def follow(page, target) -> None:
    with page.expect_navigation():
        target.click()


def test_a_mentor_reviews_five_in_a_row_with_next_then_skips_and_loses_a_race_on_a_phone(
        live_server, new_page):
    s = seed(live_server.app)
    work, robotics = s["work"], s["robotics"]
    in_order = [work[(name, step)] for step in (1, 2, 3) for name in ("Lia", "Ben")]

    mia = new_page()
    quick_sign_in(mia, "mia@hill.test", then="/people/groups")
    follow(mia, mia.get_by_role("link", name="6 waiting for review"))
    expect(mia).to_have_url(live_server(f"/review/?group={robotics}"))
    expect(mia.get_by_role("heading", level=1)).to_have_text("Waiting for review: Robotics club")
    expect(mia.get_by_label("Group")).to_have_value(str(robotics))
    expect(mia.locator("main tbody tr")).to_have_count(6)
    expect(mia.locator("main")).not_to_contain_text("Olu Other")
    shot(mia, "01-queue-filtered")

    follow(mia, mia.locator("main tbody").get_by_role("link", name="Review").first)
    saved_by_mia = []
    for n, expected in enumerate(in_order):
        if n == 3:
            continue  # Tom reviewed it meanwhile (below): Next passed it over
        expect(mia).to_have_url(live_server(f"/review/{expected}?group={robotics}"))
        left = {0: 6, 1: 5, 2: 4, 4: 2, 5: 1}[n]
        expect(mia.get_by_test_id("queue-left")).to_have_text(f"{left} left")
        expect(mia.locator("main")).not_to_contain_text("Olu Other")
        if n == 0:
            shot(mia, "02-first-item")
        # From the keyboard: grade, Tab, feedback, Tab to Save (a visible focus ring), Tab
        # to Skip, back to Save, Enter.
        mia.get_by_label("Grade (0 to 10)").focus()
        mia.keyboard.type("8")
        mia.keyboard.press("Tab")
        expect(mia.get_by_label("Feedback")).to_be_focused()
        mia.keyboard.type(f"Well kept entry {n}.")
        mia.keyboard.press("Tab")
        save = mia.get_by_role("button", name="Save review")
        expect(save).to_be_focused()
        mia.keyboard.press("Tab")
        expect(mia.get_by_role("link", name="Skip")).to_be_focused()
        assert mia.evaluate("getComputedStyle(document.activeElement).outlineStyle") == "solid"
        mia.keyboard.press("Shift+Tab")
        expect(save).to_be_focused()
        if n == 2:
            review_by(live_server.app, s["tom"], in_order[3], "Tom got there first")
        with mia.expect_navigation():
            mia.keyboard.press("Enter")
        saved_by_mia.append(expected)
        expect(mia.locator(".flash.success")).to_contain_text("Review saved.")
    expect(mia).to_have_url(live_server(f"/review/?group={robotics}"))
    expect(mia.get_by_test_id("queue-empty")).to_contain_text("Nothing left to review")
    expect(mia.get_by_role("heading", level=1)).to_have_text("Waiting for review: Robotics club")
    shot(mia, "03-nothing-left")
    done = reviewed(live_server.app)
    assert {sid for sid, who in done.items() if who == "Mia Mentor"} == set(saved_by_mia)
    assert len(saved_by_mia) == 5 and done[in_order[3]] == "Tom Teacher"
    assert not any(work[("Olu", step)] in done for step in (1, 2, 3))
    assert mia.dialogs == []

    # On a phone: the Chess club queue, three of Olu's entries.
    phone = new_page()
    phone.set_viewport_size({"width": 390, "height": 844})
    quick_sign_in(phone, "mia@hill.test", then=f"/review/?group={s['chess']}")
    follow(phone, phone.locator("main tbody").get_by_role("link", name="Review").first)
    olu = [work[("Olu", step)] for step in (1, 2, 3)]
    expect(phone).to_have_url(live_server(f"/review/{olu[0]}?group={s['chess']}"))
    expect(phone.get_by_test_id("queue-left")).to_have_text("3 left")
    shot(phone, "04-phone-item")
    # Skip with nothing typed: no question, on to the next, nothing saved.
    follow(phone, phone.get_by_role("link", name="Skip"))
    expect(phone).to_have_url(live_server(f"/review/{olu[1]}?group={s['chess']}"))
    expect(phone.get_by_test_id("queue-left")).to_have_text("3 left")
    assert phone.dialogs == []
    # Typed feedback, then Skip, then Cancel: the page and the text stay.
    phone.get_by_label("Feedback").fill("Half a thought")
    phone.evaluate("window.confirm = (message) => { window.asked = message; return false; }")
    phone.get_by_role("link", name="Skip").click()
    assert phone.evaluate("window.asked") == (
        "Skip without saving? What you typed for this review will be lost.")
    expect(phone).to_have_url(live_server(f"/review/{olu[1]}?group={s['chess']}"))
    expect(phone.get_by_label("Feedback")).to_have_value("Half a thought")
    # OK on the question moves on (the real dialog, accepted by the test's page).
    phone.reload()
    phone.get_by_label("Feedback").fill("Changed my mind")
    follow(phone, phone.get_by_role("link", name="Skip"))
    assert phone.dialogs == [
        "Skip without saving? What you typed for this review will be lost."]
    expect(phone).to_have_url(live_server(f"/review/{olu[2]}?group={s['chess']}"))

    # A race lost: Ada (admin) reviews this one while Mia types; Mia's Save keeps her text.
    phone.get_by_label("Grade (0 to 10)").fill("9")
    phone.get_by_label("Feedback").fill("Careful notes\non two lines")
    admin_id = _id_of(live_server.app, "ada@hill.test")
    review_by(live_server.app, admin_id, olu[2], "Ada was quicker")
    with phone.expect_response(lambda r: r.request.method == "POST") as refused:
        phone.get_by_role("button", name="Save review").click()
    assert refused.value.status == 422
    unsaved = phone.get_by_test_id("unsaved-review")
    expect(unsaved).to_contain_text("Ada Admin reviewed this first")
    expect(unsaved).to_contain_text("Your grade: 9")
    expect(phone.get_by_label("Your feedback (not saved)")).to_have_value(
        "Careful notes\non two lines")
    expect(phone.get_by_test_id("queue-left")).to_have_text("2 left")
    shot(phone, "05-phone-conflict")
    follow(phone, phone.get_by_role("link", name="Next", exact=True))
    expect(phone).to_have_url(live_server(f"/review/{olu[0]}?group={s['chess']}"))
    assert reviewed(live_server.app)[olu[2]] == "Ada Admin"
    assert olu[0] not in reviewed(live_server.app) and olu[1] not in reviewed(live_server.app)


def _id_of(app, email: str) -> int:
    from sqlalchemy import select

    from mentorgroups.extensions import db
    from mentorgroups.models import User

    with app.app_context():
        uid = db.session.scalar(select(User.id).where(User.email == email))
        db.session.remove()
    return uid


def seed_many_groups(app) -> dict:
    """Hill School with 45 groups ("Form 00" ... "Form 44", nested in "Year 7"); Lia, a
    member of Form 37, has one entry waiting, Ben, of Form 02, another."""
    from mentorgroups.extensions import db
    from mentorgroups.models import GroupMembership, MentorGroup, Path, Step, Submission, utcnow

    with app.app_context():
        account = make_account(name="Hill School", plan="enterprise")
        make_member(account, "admin", full_name="Ada Admin", email="ada@hill.test")
        tom = make_member(account, "staff", full_name="Tom Teacher", email="tom@hill.test")
        lia = make_member(account, full_name="Lia Learner", email="lia@hill.test")
        ben = make_member(account, full_name="Ben Bose", email="ben@hill.test")
        year = MentorGroup(account_id=account.id, name="Year 7", description="")
        db.session.add(year)
        db.session.flush()
        forms = [MentorGroup(account_id=account.id, name=f"Form {i:02d}", parent_id=year.id,
                             description="") for i in range(45)]
        db.session.add_all(forms)
        db.session.flush()
        db.session.add_all([GroupMembership(group_id=forms[37].id, user_id=lia.id, role="member"),
                            GroupMembership(group_id=forms[2].id, user_id=ben.id, role="member")])
        path = Path(account=account, title="Robot journal", steps=[
            Step(position=1, title="Entry 1", requires_review=True, points=10)])
        db.session.add(path)
        db.session.flush()
        cohort = make_cohort(path, name="Spring", teachers=[tom], learners=[lia, ben])
        for hours, person in ((5, lia), (4, ben)):
            db.session.add(Submission(account_id=account.id, user_id=person.id,
                                      step_id=path.steps[0].id, cohort_id=cohort.id,
                                      content="entry", status="pending",
                                      submitted_at=utcnow() - timedelta(hours=hours)))
        db.session.commit()
        out = {"form37": forms[37].id}
        db.session.remove()
    return out


@pytest.mark.parametrize("width", [1280, 390])
def test_finding_a_group_among_many_from_the_keyboard(live_server, new_page, width):
    """An account admin of 46 groups: the Group select lists 20; typing in "Find a group"
    narrows it from the server, the status line says how many match (read out: role
    status), Tab to the select, ArrowDown to the match, Tab to Show, Enter: the queue of that
    group, its id in the URL and its path in the select. Axe-clean, no sideways scroll."""
    s = seed_many_groups(live_server.app)
    ada = new_page()
    ada.set_viewport_size({"width": width, "height": 900})
    quick_sign_in(ada, "ada@hill.test", then="/review/")
    group = ada.get_by_label("Group", exact=True)
    expect(group.locator("option")).to_have_count(21)
    status = ada.get_by_role("status")
    expect(status).to_have_text("The first 20 groups by name are listed: find others by name.")
    expect(ada.locator("main tbody tr")).to_have_count(2)
    shot(ada, f"06-many-groups-{width}")
    find = ada.get_by_label("Find a group")
    find.focus()
    ada.keyboard.type("form 37")
    expect(status).to_have_text("1 group matches \u201cform 37\u201d.")
    expect(group.locator("option")).to_have_count(2)
    expect(group.locator("option").nth(1)).to_have_text("Year 7 \u203a Form 37")
    shot(ada, f"07-found-{width}")
    ada.keyboard.press("Tab")
    expect(ada.get_by_role("button", name="Find")).to_be_focused()
    ada.keyboard.press("Tab")
    expect(group).to_be_focused()
    ada.keyboard.press("ArrowDown")
    expect(group).to_have_value(str(s["form37"]))
    ada.keyboard.press("Tab")
    expect(ada.get_by_role("button", name="Show")).to_be_focused()
    with ada.expect_navigation():
        ada.keyboard.press("Enter")
    assert f"group={s['form37']}" in ada.url
    expect(ada.get_by_role("heading", level=1)).to_have_text("Waiting for review: Form 37")
    expect(group).to_have_value(str(s["form37"]))
    expect(ada.locator("main tbody tr")).to_have_count(1)
    expect(ada.locator("main tbody")).to_contain_text("Lia Learner")
    shot(ada, f"08-chosen-{width}")
    # Nothing found is said, and the chosen group stays offered.
    find.fill("zzz")
    expect(status).to_have_text("No group whose work you review is called anything like "
                                "\u201czzz\u201d.")
    expect(group.locator("option")).to_have_count(2)
    expect(group).to_have_value(str(s["form37"]))
    assert ada.dialogs == []
