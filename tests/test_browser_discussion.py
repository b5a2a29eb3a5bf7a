"""A learner and her mentor hold a three-message discussion in a real browser (the machine's
Chromium through Playwright, the app on a live server): the mentor on the review page at
1280 px, the learner on her path at 390 px, the mentor again from the profile card's Review
tab. Each message is notified once, to the other side only: the bells and the emails count
it. Every screen is axe-clean and fits 390 px. Screenshots: test-artifacts/discussion-*.png."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.conftest import ROOT, assert_accessible, assert_fits_width, quick_sign_in
from tests.factories import make_account, make_cohort, make_member

playwright_sync = pytest.importorskip("playwright.sync_api")
expect = playwright_sync.expect

pytestmark = pytest.mark.browser

ARTIFACTS = ROOT / "test-artifacts"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


def seed(app):
    """Hill School: Mia mentors Lia's group; Tom teaches Lia's cohort; Lia's work has waited
    two days (written as rows: nobody has been told of it, so every bell starts at zero)."""
    from mentorgroups.extensions import db
    from mentorgroups.models import Path, Step, StepCompletion, Submission, utcnow
    from mentorgroups.services import group_members, groups

    with app.app_context():
        account = make_account(name="Hill School", plan="complete")
        account.time_zone = "Europe/Berlin"
        admin = make_member(account, "admin", full_name="Ada Admin", email="ada@hill.test")
        mia = make_member(account, "staff", full_name="Mia Mentor", email="mia@hill.test")
        tom = make_member(account, "staff", full_name="Tom Teacher", email="tom@hill.test")
        lia = make_member(account, full_name="Lia Learner", email="lia@hill.test")
        path = Path(account=account, title="Intro to Robotics", steps=[
            Step(position=1, title="Safety briefing"),
            Step(position=2, title="Build a line follower", requires_review=True, points=10)])
        cohort = make_cohort(path, name="Spring", teachers=[tom], learners=[lia])
        club = groups.create_group(admin, account.id, "Robotics club")
        group_members.add_members(admin, account.id, club.id, "member", user_ids=[lia.id])
        group_members.add_members(admin, account.id, club.id, "mentor", user_ids=[mia.id])
        when = utcnow() - timedelta(days=2)
        submission = Submission(account_id=account.id, user_id=lia.id, step_id=path.steps[1].id,
                                cohort_id=cohort.id, content="Two IR sensors and a PID loop.",
                                submitted_at=when, status="pending")
        db.session.add_all([submission, StepCompletion(user_id=lia.id, step_id=path.steps[1].id,
                                                       cohort_id=cohort.id, completed_at=when)])
        db.session.commit()
        ids = dict(submission=submission.id, path=path.id, lia=lia.id, mia=mia.id, tom=tom.id,
                   account=account.id)
        db.session.remove()
    return ids


def told(app) -> dict[str, tuple[int, int]]:
    """email -> (reply notifications, reply emails) as the database has them."""
    from sqlalchemy import select

    from mentorgroups.extensions import db
    from mentorgroups.models import Notification, SentEmail, User

    with app.app_context():
        out: dict[str, list[int]] = {}
        for email, in db.session.execute(select(User.email).join(
                Notification, Notification.user_id == User.id).where(
                Notification.kind == "reply")):
            out.setdefault(email, [0, 0])[0] += 1
        for email, in db.session.execute(select(SentEmail.recipient).where(
                SentEmail.idempotency_key.like("reply:%"))):
            out.setdefault(email, [0, 0])[1] += 1
        db.session.remove()
    return {email: tuple(counts) for email, counts in out.items()}


def bell(page, unread: int) -> None:
    expect(page.get_by_test_id("bell")).to_have_attribute(
        "aria-label", f"Notifications: {unread} unread")


def check(page, name: str) -> None:
    """Axe-clean and no sideways scrolling at both widths; a screenshot of each."""
    ARTIFACTS.mkdir(exist_ok=True)
    for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(size)
        assert_accessible(page, f"{name} at {size['width']} px")
        assert_fits_width(page)
        page.screenshot(path=str(ARTIFACTS / f"discussion-{name}-{label}.png"), full_page=True)


def send(page, submission_id: int, text: str) -> None:
    box = page.locator(f"#reply-{submission_id}")
    box.fill(text)
    box.press("Tab")  # the button is reached from the keyboard
    expect(page.get_by_role("button", name="Send reply")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_text("Reply sent.")).to_be_visible()


def test_a_learner_and_a_mentor_hold_a_three_message_discussion(live_server, new_page, mail_outbox):
    ids = seed(live_server.app)
    sid = ids["submission"]
    mia, lia = new_page(), new_page()
    lia.set_viewport_size(PHONE)

    # 1. Mia asks, from the review page, on a desktop.
    quick_sign_in(mia, "mia@hill.test", f"/review/{sid}")
    bell(mia, 0)
    expect(mia.get_by_test_id("discussion")).to_contain_text("No replies yet.")
    send(mia, sid, "How did you tune the PID loop?\nNotes: https://wiki.example/pid?x=1&y=2 "
                   "<script>alert('x')</script>")
    assert mia.url.endswith(f"/review/{sid}?next=/review/#discussion-{sid}")
    messages = mia.get_by_test_id("message")
    expect(messages).to_have_count(1)
    link = messages.first.get_by_role("link", name="https://wiki.example/pid?x=1&y=2")
    expect(link).to_have_attribute("href", "https://wiki.example/pid?x=1&y=2")
    expect(link).to_have_attribute("rel", "nofollow noopener")
    expect(messages.first).to_contain_text("<script>alert('x')</script>")  # shown, not run
    assert mia.dialogs == []
    check(mia, "review-page")
    assert told(live_server.app) == {"lia@hill.test": (1, 1)}

    # 2. Lia answers on her path, on a phone; her bell has the one reply.
    quick_sign_in(lia, "lia@hill.test", f"/paths/{ids['path']}")
    bell(lia, 1)
    thread = lia.get_by_test_id("discussion")
    expect(thread).to_contain_text("Mia Mentor")
    expect(thread.get_by_test_id("message-body")).to_contain_text(
        "How did you tune the PID loop?\nNotes:")
    send(lia, sid, "By hand: Kp first, then Kd.\nKi stayed at zero.")
    expect(lia.get_by_test_id("message")).to_have_count(2)
    expect(lia.get_by_test_id("message").nth(1)).to_contain_text("Lia Learner (learner)")
    check(lia, "learner-path")
    # Mia took part, so only she is told (not Tom, who teaches the cohort).
    assert told(live_server.app) == {"lia@hill.test": (1, 1), "mia@hill.test": (1, 1)}

    # 3. Mia follows up from Lia's profile card, Review tab.
    mia.set_viewport_size(DESKTOP)
    mia.goto(f"/people/{ids['lia']}?tab=review")
    bell(mia, 1)
    expect(mia.get_by_test_id("message")).to_have_count(2)
    send(mia, sid, "Good method. Try a small Ki for the curves.")
    assert f"/people/{ids['lia']}?tab=review" in mia.url
    expect(mia.get_by_test_id("message")).to_have_count(3)
    check(mia, "profile-card")

    lia.reload()
    bell(lia, 2)
    bodies = lia.get_by_test_id("message-body").all_inner_texts()
    assert bodies[1:] == ["By hand: Kp first, then Kd.\nKi stayed at zero.",
                          "Good method. Try a small Ki for the curves."]
    assert told(live_server.app) == {"lia@hill.test": (2, 2), "mia@hill.test": (1, 1)}
    sent_to = sorted(message.recipients[0] for message in mail_outbox)
    assert sent_to == ["lia@hill.test", "lia@hill.test", "mia@hill.test"]
    assert any("Ki stayed at zero." in message.body for message in mail_outbox)
