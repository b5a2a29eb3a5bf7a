"""Notification choices per person, school and kind of email: immediately (the default), a
summary at most once an hour, or off. The bell always rings; the hourly summary is sent once
per person and hour, late when the mail server refused it, never twice; every such email
carries a one-click unsubscribe (RFC 8058) for that kind in that school, in literal headers."""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from mentorgroups.extensions import db
from mentorgroups.models import (
    EmailChoice,
    EmailSummary,
    EmailSummaryItem,
    Notification,
    OutboxJob,
    SentEmail,
    User,
)
from mentorgroups.services import email_choices, email_summaries, learning
from mentorgroups.services.errors import NotFound
from tests.conftest import BACKEND
from tests.kept_scenes import kept_scene
from tests.two_schools import two_schools

CLOCK_START = datetime(2026, 12, 1, 10, 20, tzinfo=UTC)


@pytest.fixture
def w(clock, app, request):
    return kept_scene(request, build_w)


def build_w():
    return two_schools()


def choose(person, school, kind, cadence):
    email_choices.set_choices(person, school.id, {kind: cadence})
    db.session.commit()


def emails_to(person, like: str = "%") -> list[SentEmail]:
    db.session.expire_all()
    return list(db.session.scalars(select(SentEmail).where(
        SentEmail.recipient == person.email, SentEmail.idempotency_key.like(like))
        .order_by(SentEmail.id)))


def bell(person, kind: str = "submission") -> int:
    return db.session.scalar(select(func.count()).select_from(Notification).where(
        Notification.user_id == person.id, Notification.kind == kind))


def submit(w, learner, step: int, content: str = "work"):
    submission = learning.submit_for_review(learner, w.river.id, w.essay.steps[step].id, content)
    db.session.commit()  # the fan-out runs now (in-process), and the emails it staged
    return submission


# ---- choosing ---------------------------------------------------------------------------------

def test_everyone_starts_with_one_email_each_and_choices_are_per_school_and_kind(w):
    assert email_choices.choices_for(w.sam, w.river.id) == {
        "submissions": "immediately", "reviews": "immediately",
        "replies": "immediately"}
    choose(w.sam, w.river, "reviews", "hourly")
    choose(w.sam, w.hill, "submissions", "off")
    assert email_choices.choices_for(w.sam, w.river.id) == {
        "submissions": "immediately", "reviews": "hourly",
        "replies": "immediately"}
    assert email_choices.choices_for(w.sam, w.hill.id) == {
        "submissions": "off", "reviews": "immediately",
        "replies": "immediately"}
    assert email_choices.cadences(w.river.id, "reviews", [w.sam.id, w.lia.id]) == {
        w.sam.id: "hourly", w.lia.id: "immediately"}


def test_a_choice_outside_the_list_or_a_school_not_ones_own_is_refused(w):
    with pytest.raises(email_choices.ServiceError):
        email_choices.set_choices(w.meg, w.river.id, {"submissions": "weekly"})
    with pytest.raises(email_choices.ServiceError):
        email_choices.set_choices(w.meg, w.river.id, {"gossip": "off"})
    with pytest.raises(NotFound):  # Meg has no membership at Hillside
        email_choices.set_choices(w.meg, w.hill.id, {"submissions": "off"})
    with pytest.raises(NotFound):  # Rita's access to Riverside was revoked
        email_choices.set_choices(w.rita, w.river.id, {"submissions": "off"})
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(EmailChoice)) == 0


# ---- off and immediately ----------------------------------------------------------------------

def test_off_rings_the_bell_but_sends_no_email_and_others_are_emailed_at_once(w):
    choose(w.meg, w.river, "submissions", "off")
    choose(w.fay, w.river, "reviews", "off")  # another kind: no effect on these
    submit(w, w.lia, 1)
    for reviewer in (w.meg, w.fay, w.tess, w.mo):
        assert bell(reviewer) == 1, reviewer.full_name
    assert emails_to(w.meg) == []
    assert [len(emails_to(p)) for p in (w.fay, w.tess, w.mo)] == [1, 1, 1]
    for nobody in (w.gus, w.una, w.rita, w.dee, w.lia, w.aut):  # never told at all
        assert bell(nobody) == 0 and emails_to(nobody) == [], nobody.full_name
    assert db.session.scalar(select(func.count()).select_from(EmailSummaryItem)) == 0
    email = emails_to(w.fay)[0]
    assert "Lia Learner submitted work on" in email.body
    assert "/notifications/email" in email.body  # where to choose a summary instead
    assert "/email/unsubscribe/" not in email.body  # the stored copy hides the signed link


def test_a_learner_who_turned_review_emails_off_sees_the_review_on_the_bell_only(w):
    choose(w.lia, w.river, "reviews", "off")
    choose(w.sam, w.river, "reviews", "off")
    submission = submit(w, w.lia, 2)
    sam_work = submit(w, w.sam, 2)
    learning.review_submission(w.tess, submission.id, "7", "Good")
    db.session.commit()
    learning.review_submission(w.tess, sam_work.id, "5", "Fine")
    db.session.commit()
    assert bell(w.lia, "review") == 1 and emails_to(w.lia, "review:%") == []
    assert bell(w.sam, "review") == 1 and emails_to(w.sam, "review:%") == []
    choose(w.lia, w.river, "reviews", "immediately")
    again = submit(w, w.lia, 1)
    learning.review_submission(w.tess, again.id, "", "Again")
    db.session.commit()
    assert len(emails_to(w.lia, "review:%")) == 1


# ---- hourly summaries -------------------------------------------------------------------------

def test_hourly_sends_nothing_at_once_then_one_summary_after_the_hour(w, clock):
    choose(w.meg, w.river, "submissions", "hourly")
    submit(w, w.lia, 1)                       # 10:20
    clock.move_to(datetime(2026, 12, 1, 10, 40, tzinfo=UTC))
    submit(w, w.lia, 2)                       # 10:40
    assert bell(w.meg) == 2 and emails_to(w.meg) == []
    assert len(emails_to(w.fay)) == 2         # Fay kept the default
    clock.move_to(datetime(2026, 12, 1, 10, 59, tzinfo=UTC))
    assert email_summaries.tick() == 0 and emails_to(w.meg) == []  # the hour is not over

    clock.move_to(datetime(2026, 12, 1, 11, 3, tzinfo=UTC))
    assert email_summaries.tick() == 1
    assert email_summaries.tick() == 0        # the scheduler's next run: nothing more
    clock.move_to(datetime(2026, 12, 1, 11, 55, tzinfo=UTC))
    assert email_summaries.tick() == 0
    [summary] = emails_to(w.meg)
    assert summary.subject == "Work submitted for you to review: 2 new items at Riverside Academy"
    assert summary.body.count("Lia Learner submitted") == 2
    assert "01 Dec 2026, 10:20" in summary.body and "01 Dec 2026, 10:40" in summary.body
    assert len(re.findall(r"http://127\.0\.0\.1:5000/review/\d+", summary.body)) == 2
    assert [len(emails_to(p, "email-summary:%")) for p in (w.fay, w.tess, w.mo)] == [0, 0, 0]

    # Something at 11:10 waits for the next hour's summary: at most one an hour.
    clock.move_to(datetime(2026, 12, 1, 11, 10, tzinfo=UTC))
    submit(w, w.sam, 1)                       # Sam's reviewers: Tess and Mo, not Meg
    choose(w.tess, w.river, "submissions", "hourly")
    submit(w, w.lia, 2, "updated")            # an update: no new fan-out
    clock.move_to(datetime(2026, 12, 1, 12, 1, tzinfo=UTC))
    assert email_summaries.tick() == 0 and len(emails_to(w.meg)) == 1
    assert emails_to(w.tess, "email-summary:%") == []


def test_a_summary_in_an_hour_counts_each_kind_and_school_apart(w, clock):
    choose(w.lia, w.river, "reviews", "hourly")
    choose(w.meg, w.river, "submissions", "hourly")
    submission = submit(w, w.lia, 1)
    learning.review_submission(w.tess, submission.id, "", "Nice start")
    db.session.commit()
    assert emails_to(w.lia) == [] and emails_to(w.meg) == []
    clock.move_to(datetime(2026, 12, 1, 11, 5, tzinfo=UTC))
    assert email_summaries.tick() == 2
    [to_lia] = emails_to(w.lia)
    assert to_lia.subject == "Reviews of your work: 1 new item at Riverside Academy"
    assert "Tess Teacher reviewed your work on \u201cStep 2\u201d" in to_lia.body
    assert len(emails_to(w.meg)) == 1
    hours = set(db.session.scalars(select(EmailSummary.hour)))
    assert {h.replace(tzinfo=UTC) if h.tzinfo is None else h for h in hours} == {
        datetime(2026, 12, 1, 10, tzinfo=UTC)}


def test_nobody_who_turned_it_off_or_lost_access_before_the_hour_ended_gets_the_summary(w,
                                                                                       clock):
    from mentorgroups.services import accounts
    from tests.two_schools import membership

    for person in (w.meg, w.fay, w.tess):
        choose(person, w.river, "submissions", "hourly")
    submit(w, w.lia, 1)
    choose(w.meg, w.river, "submissions", "off")
    accounts.set_membership_status(w.ada, membership(w.fay, w.river), "revoked")
    db.session.commit()
    clock.move_to(datetime(2026, 12, 1, 11, 5, tzinfo=UTC))
    email_summaries.tick()
    assert emails_to(w.meg) == [] and emails_to(w.fay) == []
    assert len(emails_to(w.tess)) == 1
    assert sorted(db.session.scalars(select(EmailSummary.status))) == [
        "sent", "skipped", "skipped"]


def test_the_summary_job_run_twice_sends_once(w, clock):
    choose(w.meg, w.river, "submissions", "hourly")
    submit(w, w.lia, 1)
    clock.move_to(datetime(2026, 12, 1, 11, 5, tzinfo=UTC))
    email_summaries.tick()
    summary_id = db.session.scalar(select(EmailSummary.id))
    assert email_summaries.send_email_summary(summary_id) is False  # already sent
    assert email_summaries.send_email_summary(10_000_000) is False
    assert len(emails_to(w.meg)) == 1


def test_a_summary_refused_by_the_mail_server_is_sent_late_and_once(make_app, smtp_server,
                                                                    clock):
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_server.port)
    with app.app_context():
        w = two_schools()
        choose(w.meg, w.river, "submissions", "hourly")
        smtp_server.refuse_until = float("inf")   # the server says 451 to everything
        submit(w, w.lia, 1)
        clock.move_to(datetime(2026, 12, 1, 11, 5, tzinfo=UTC))
        assert email_summaries.tick() == 1
        assert email_summaries.tick() == 0
        job = db.session.scalar(select(OutboxJob).where(OutboxJob.name == "send_email_summary"))
        db.session.refresh(job)
        assert job.status == "failed" and "451" in job.errors[-1]["error"]
        assert smtp_server.messages == []

        smtp_server.refuse_until = 0.0             # the server is back
        clock.move_to(datetime(2026, 12, 1, 12, 30, tzinfo=UTC))
        from mentorgroups.jobs.outbox import sweep

        sweep(app)
        sweep(app)
        assert email_summaries.tick() == 0         # and the next hour adds no second one
        to_meg = [m for m in smtp_server.messages if m["to"] == [w.meg.email]]
        assert len(to_meg) == 1
        assert to_meg[0]["subject"].startswith("Work submitted for you to review: 1 new item")
        assert "Lia Learner submitted" in to_meg[0]["body"]
        assert db.session.scalar(select(EmailSummary.status)) == "sent"


@pytest.mark.skipif(BACKEND != "postgresql", reason="two schedulers at once: PostgreSQL")
def test_two_schedulers_at_the_same_moment_send_one_summary(make_app, clock):
    app = make_app(SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 8, "max_overflow": 0})
    with app.app_context():
        w = two_schools()
        for person in (w.meg, w.fay, w.tess, w.mo):
            choose(person, w.river, "submissions", "hourly")
        submit(w, w.lia, 1)
        submit(w, w.lia, 2)
        meg = w.meg.email
    clock.move_to(datetime(2026, 12, 1, 11, 5, tzinfo=UTC))
    barrier = threading.Barrier(4)
    staged: list[int] = []

    def scheduler():
        with app.app_context():
            barrier.wait()
            staged.append(email_summaries.tick())

    threads = [threading.Thread(target=scheduler) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    with app.app_context():
        assert sorted(staged)[-1] >= 1 and sum(staged) == 4  # each summary staged once
        assert db.session.scalar(select(func.count()).select_from(EmailSummary)) == 4
        assert db.session.scalar(select(func.count()).select_from(SentEmail).where(
            SentEmail.idempotency_key.like("email-summary:%"))) == 4
        assert db.session.scalar(select(func.count()).select_from(SentEmail).where(
            SentEmail.recipient == meg)) == 1
        assert db.session.scalar(select(func.count()).select_from(EmailSummaryItem).where(
            EmailSummaryItem.summary_id.is_(None))) == 0


# ---- one-click unsubscribe --------------------------------------------------------------------

def test_the_headers_are_literal_and_one_click_turns_off_only_that_kind_here(make_app,
                                                                            smtp_server,
                                                                            clock):
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_server.port)
    with app.app_context():
        w = two_schools()
        choose(w.fay, w.river, "submissions", "hourly")
        choose(w.sam, w.hill, "submissions", "hourly")   # another school: left alone
        choose(w.meg, w.river, "reviews", "hourly")      # another kind: left alone
        submit(w, w.lia, 1)
        clock.move_to(datetime(2026, 12, 1, 11, 5, tzinfo=UTC))
        email_summaries.tick()
        by_person = {m["to"][0]: m for m in smtp_server.messages}
        assert set(by_person) == {w.meg.email, w.fay.email, w.tess.email, w.mo.email}
        links = {}
        for address, message in by_person.items():
            raw = message["raw"]
            found = re.search(rb"\r\nList-Unsubscribe: <(http://127\.0\.0\.1:5000/email/"
                              rb"unsubscribe/[A-Za-z0-9._-]+)>\r\n", raw)
            assert found, raw[:1500]  # one literal line, not =?utf-8?q?...
            assert b"\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n" in raw
            assert b"=?utf-8?q?=3Chttp" not in raw
            links[address] = found.group(1).decode()
            assert links[address] in message["body"]     # also in the email itself
        meg_id, river_id, hill_id = w.meg.id, w.river.id, w.hill.id

        client = app.test_client()
        path = "/" + links[w.meg.email].split("/", 3)[3]
        page = client.get(path)
        assert page.status_code == 200 and "Stop these emails?" in page.get_data(as_text=True)
        assert page.headers["Referrer-Policy"] == "no-referrer"
        assert db.session.scalar(select(func.count()).select_from(EmailChoice).where(
            EmailChoice.cadence == "off")) == 0          # GET changes nothing
        # RFC 8058: the mail client posts List-Unsubscribe=One-Click, not signed in, no CSRF.
        done = client.post(path, data={"List-Unsubscribe": "One-Click"})
        assert done.status_code == 200 and "Riverside Academy" in done.get_data(as_text=True)
        db.session.expire_all()
        meg = db.session.get(User, meg_id)
        assert email_choices.choices_for(meg, river_id) == {
            "submissions": "off", "reviews": "hourly", "replies": "immediately"}
        sam = db.session.get(User, w.sam.id)
        assert email_choices.choices_for(sam, hill_id)["submissions"] == "hourly"
        fay = db.session.get(User, w.fay.id)
        assert email_choices.choices_for(fay, river_id)["submissions"] == "hourly"  # hers

        assert client.post(path[:-3] + "xyz").status_code == 404  # a forged token
        assert client.get("/email/unsubscribe/nonsense").status_code == 404
        assert db.session.scalar(select(func.count()).select_from(EmailChoice).where(
            EmailChoice.cadence == "off")) == 1


def test_an_immediate_email_leaves_with_the_literal_headers_on_a_production_address(
        make_app, smtp_server, clock):
    """The one-email-each path (most emails), read as the bytes the real SMTP server got,
    with a production-length https BASE_URL: the header line is longer than the 78
    characters Python's SMTP policy refolds at, and still leaves as one literal
    `<https://...>` line (RFC 2369), with `List-Unsubscribe-Post` (RFC 8058)."""
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_server.port,
                   BASE_URL="https://mentorgroups.school.example")
    with app.app_context():
        w = two_schools()
        submit(w, w.lia, 1)
        raw = next(m["raw"] for m in smtp_server.messages if m["to"] == [w.meg.email])
        head = raw.split(b"\r\n\r\n", 1)[0] + b"\r\n"
        found = re.search(rb"\r\n(List-Unsubscribe: <(https://mentorgroups\.school\.example"
                          rb"/email/unsubscribe/[A-Za-z0-9._-]+)>)\r\n", head)
        assert found, head
        assert len(found.group(1)) > 78  # long enough that a refolding policy would mangle it
        assert b"\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n" in head
        assert head.count(b"List-Unsubscribe:") == 1
        assert not re.search(rb"List-Unsubscribe: *=\?", head)  # no RFC 2047 encoded word
        path = "/" + found.group(2).decode().split("/", 3)[3]
        assert app.test_client().post(path, data={"List-Unsubscribe": "One-Click"}
                                      ).status_code == 200
        db.session.expire_all()
        assert email_choices.choices_for(db.session.get(User, w.meg.id), w.river.id)[
            "submissions"] == "off"


def test_a_token_names_a_person_school_and_kind_and_nothing_else(w):
    token = email_choices.unsubscribe_token(w.sam.id, w.river.id, "reviews")
    choose(w.sam, w.hill, "reviews", "hourly")
    person, school, kind = email_choices.unsubscribe(token)
    db.session.commit()
    assert (person.id, school.id, kind) == (w.sam.id, w.river.id, "reviews")
    assert email_choices.choices_for(w.sam, w.river.id)["reviews"] == "off"
    assert email_choices.choices_for(w.sam, w.hill.id)["reviews"] == "hourly"
    stranger = email_choices.unsubscribe_token(w.sam.id, w.river.id, "gossip")
    with pytest.raises(NotFound):
        email_choices.unsubscribe(stranger)


# ---- the preferences page ---------------------------------------------------------------------

def test_the_preferences_page_saves_this_schools_choices_only(w, client):
    client.login(w.sam.email, account_id=w.river.id)
    notes = client.get("/notifications").get_data(as_text=True)
    assert 'href="/notifications/email"' in notes
    page = client.get("/notifications/email").get_data(as_text=True)
    assert "For Riverside Academy only" in page
    assert len(re.findall(r'<input checked id="\w+-0" name="\w+" type="radio" '
                          r'value="immediately">', page)) == 3
    assert client.post("/notifications/email",
                       data={"submissions": "off", "reviews": "off"}).status_code == 400
    bad = client.post_form("/notifications/email", {"submissions": "weekly", "reviews": "off"})
    assert bad.status_code == 422 and "Choose one of the options shown." in \
        bad.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(EmailChoice)) == 0
    saved = client.post_form("/notifications/email",
                             {"submissions": "off", "reviews": "hourly",
                              "replies": "hourly"}, follow_redirects=True)
    assert "Email choices for Riverside Academy saved." in saved.get_data(as_text=True)
    db.session.expire_all()
    assert email_choices.choices_for(w.sam, w.river.id) == {
        "submissions": "off", "reviews": "hourly", "replies": "hourly"}
    assert email_choices.choices_for(w.sam, w.hill.id) == {
        "submissions": "immediately", "reviews": "immediately",
        "replies": "immediately"}
    assert db.session.scalar(select(func.count()).select_from(EmailChoice).where(
        EmailChoice.user_id != w.sam.id)) == 0


def test_the_preferences_page_needs_signing_in(w, client):
    response = client.get("/notifications/email")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert client.post("/notifications/email", data={"submissions": "off"}).status_code in (
        302, 400)
    assert db.session.scalar(select(func.count()).select_from(EmailChoice)) == 0


def test_a_summary_lists_at_most_fifty_lines_and_says_how_many_more(w, clock):
    from mentorgroups.models import EmailSummaryItem as Item

    choose(w.meg, w.river, "submissions", "hourly")
    for n in range(53):
        db.session.add(Item(account_id=w.river.id, user_id=w.meg.id, kind="submissions",
                            key=f"x:{n}", text=f"Item {n}", link=f"http://x/{n}",
                            created_at=CLOCK_START + timedelta(seconds=n)))
    db.session.commit()
    clock.move_to(datetime(2026, 12, 1, 11, 5, tzinfo=UTC))
    email_summaries.tick()
    [summary] = emails_to(w.meg)
    assert "53 new items" in summary.subject and "Item 49" in summary.body
    assert "Item 50" not in summary.body and "... and 3 more" in summary.body
