"""Hourly summaries, line by line: two people, two schools, two kinds and two hours, and each
line reaches the one person, school and kind it was collected for, in the summary of the hour
it happened in, exactly once. Nobody who left the school, lost their account or turned the
kind off is mailed; an unsubscribe link naming someone or a school that is gone is refused."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, insert, select, update

from mentorgroups.extensions import db
from mentorgroups.models import EmailSummary, EmailSummaryItem, SentEmail, User
from mentorgroups.models.email_choices import EMAIL_KINDS
from mentorgroups.services import accounts, email_choices, email_summaries, learning
from mentorgroups.services.errors import NotFound
from tests.kept_scenes import kept_scene
from tests.two_schools import membership, two_schools

CLOCK_START = datetime(2026, 12, 1, 10, 20, tzinfo=UTC)


@pytest.fixture
def w(clock, app, request):
    return kept_scene(request, build_w)


def build_w():
    return two_schools()


def at(clock, hour: int, minute: int) -> None:
    clock.move_to(datetime(2026, 12, 1, hour, minute, tzinfo=UTC))


def choose(person, school, kind, cadence="hourly"):
    email_choices.set_choices(person, school.id, {kind: cadence})
    db.session.commit()


def collect(person, school, kind: str, line: str) -> None:
    """What a fan-out does for someone who chose the hourly summary (services.notifications,
    services.discussion): hand their email to email_or_collect, which keeps the line."""
    cadence = email_choices.cadences(school.id, kind, [person.id])[person.id]
    email_choices.email_or_collect(person, school.id, kind, cadence, key=f"test:{line}",
                                   subject=line, body=line, line=line,
                                   link=f"http://127.0.0.1:5000/x/{line}")
    db.session.commit()


def summaries() -> dict[tuple[str, str], list[list[str]]]:
    """Every summary sent so far: (recipient, subject without the count) -> the lines of each
    email, in the order sent."""
    db.session.expire_all()
    sent: dict[tuple[str, str], list[list[str]]] = {}
    for email in db.session.scalars(select(SentEmail).where(
            SentEmail.idempotency_key.like("email-summary:%")).order_by(SentEmail.id)):
        what, school = re.fullmatch(r"(.+): \d+ new items? at (.+)", email.subject).groups()
        lines = re.findall(r"^- [^\n]*?: (\S+)$", email.body, flags=re.MULTILINE)
        sent.setdefault((email.recipient, f"{what} at {school}"), []).append(lines)
    return sent


def subject(kind: str, school) -> str:
    return f"{EMAIL_KINDS[kind]} at {school.name}"


def statuses() -> list[str]:
    db.session.expire_all()
    return sorted(db.session.scalars(select(EmailSummary.status)))


# ---- the right lines to the right person, once ------------------------------------------------

def test_each_line_goes_to_its_person_school_and_kind_in_its_hour_once(w, clock):
    for person in (w.lia, w.sam):
        for school in (w.river, w.hill):
            for kind in ("reviews", "replies"):
                choose(person, school, kind)
    collect(w.lia, w.river, "reviews", "lia-river-reviews-10")
    collect(w.lia, w.river, "replies", "lia-river-replies-10")
    collect(w.lia, w.hill, "reviews", "lia-hill-reviews-10")
    collect(w.sam, w.river, "reviews", "sam-river-reviews-10")
    collect(w.sam, w.hill, "replies", "sam-hill-replies-10")
    at(clock, 11, 2)  # after the hour ended, before the scheduler's run: the next hour's
    collect(w.lia, w.river, "reviews", "lia-river-reviews-11a")

    at(clock, 11, 5)
    assert email_summaries.tick() == 5
    assert summaries() == {
        (w.lia.email, subject("reviews", w.river)): [["lia-river-reviews-10"]],
        (w.lia.email, subject("replies", w.river)): [["lia-river-replies-10"]],
        (w.lia.email, subject("reviews", w.hill)): [["lia-hill-reviews-10"]],
        (w.sam.email, subject("reviews", w.river)): [["sam-river-reviews-10"]],
        (w.sam.email, subject("replies", w.hill)): [["sam-hill-replies-10"]],
    }

    at(clock, 11, 40)
    collect(w.sam, w.river, "reviews", "sam-river-reviews-11")
    at(clock, 11, 50)
    assert email_summaries.tick() == 0  # this hour is not over

    at(clock, 12, 5)
    assert email_summaries.tick() == 2
    assert email_summaries.tick() == 0
    sent = summaries()
    assert sent[(w.lia.email, subject("reviews", w.river))] == [
        ["lia-river-reviews-10"], ["lia-river-reviews-11a"]]
    assert sent[(w.sam.email, subject("reviews", w.river))] == [
        ["sam-river-reviews-10"], ["sam-river-reviews-11"]]
    assert sum(len(emails) for emails in sent.values()) == 7
    assert statuses() == ["sent"] * 7
    assert db.session.scalar(select(EmailSummaryItem.id).where(
        EmailSummaryItem.summary_id.is_(None))) is None


def test_the_hour_is_the_one_before_the_moment_the_run_is_given(w, clock):
    choose(w.meg, w.river, "submissions")
    collect(w.meg, w.river, "submissions", "meg-10")
    at(clock, 10, 40)
    assert email_summaries.tick(now=datetime(2026, 12, 1, 11, 5, tzinfo=UTC)) == 1
    assert summaries() == {(w.meg.email, subject("submissions", w.river)): [["meg-10"]]}
    hour = db.session.scalar(select(EmailSummary.hour))
    assert hour.replace(tzinfo=UTC) == datetime(2026, 12, 1, 10, tzinfo=UTC)


def test_a_school_with_many_summaries_sent_still_sends_the_next_one(w, clock):
    """The summaries of past hours pile up (one per person, school, kind and hour): more of
    them than a run stages at once must not hide the hour that has just ended."""
    choose(w.meg, w.river, "submissions")
    first = datetime(2026, 11, 1, tzinfo=UTC)
    db.session.execute(insert(EmailSummary), [
        {"account_id": w.river.id, "user_id": w.meg.id, "kind": "submissions",
         "hour": first + timedelta(hours=n), "status": "sent", "created_at": first}
        for n in range(email_summaries.CHUNK + 1)])
    db.session.commit()
    collect(w.meg, w.river, "submissions", "meg-10")
    at(clock, 11, 5)
    assert email_summaries.tick() == 1
    assert summaries() == {(w.meg.email, subject("submissions", w.river)): [["meg-10"]]}


def test_a_claim_left_by_a_run_that_stopped_half_way_sends_one_summary_not_an_empty_one(w,
                                                                                      clock):
    """A run that claimed the 10:00 summary and died before staging it leaves a 'claimed'
    row; the next run stages it with the 11:00 one: every line goes to one of them, and the
    one left with no lines is skipped, not sent as "0 new items"."""
    choose(w.meg, w.river, "submissions")
    collect(w.meg, w.river, "submissions", "meg-10")
    at(clock, 11, 5)
    db.session.add(EmailSummary(account_id=w.river.id, user_id=w.meg.id, kind="submissions",
                                hour=datetime(2026, 12, 1, 10, tzinfo=UTC), status="claimed",
                                created_at=datetime(2026, 12, 1, 11, 5, tzinfo=UTC)))
    db.session.commit()
    at(clock, 11, 30)
    collect(w.meg, w.river, "submissions", "meg-11")
    at(clock, 12, 5)
    assert email_summaries.tick() == 2
    assert summaries() == {
        (w.meg.email, subject("submissions", w.river)): [["meg-10", "meg-11"]]}
    assert statuses() == ["sent", "skipped"]


def test_a_big_run_hands_out_its_summaries_a_chunk_at_a_time(w, clock, monkeypatch):
    """Each chunk of summaries is staged and committed on its own, so its emails leave while
    the rest are still waiting (in production: pushed to the workers), not after the whole
    run; another run sees the ones still waiting as claimed."""
    from flask_mail import email_dispatched

    monkeypatch.setattr(email_summaries, "CHUNK", 2)
    for person in (w.meg, w.fay, w.tess):
        choose(person, w.river, "submissions")
        collect(person, w.river, "submissions", f"{person.email}-10")
    waiting_when_sent = []

    def look(sender, message, **extra):
        with db.engine.connect() as other_run:
            waiting_when_sent.append(other_run.scalar(select(func.count()).select_from(
                EmailSummary).where(EmailSummary.status == "claimed")))

    at(clock, 11, 5)
    email_dispatched.connect(look)
    try:
        assert email_summaries.tick() == 3
    finally:
        email_dispatched.disconnect(look)
    assert waiting_when_sent == [1, 1, 0]
    assert len(summaries()) == 3 and statuses() == ["sent"] * 3


# ---- the job: who still wants it, and what it answers -----------------------------------------

def staged_summary(person, school, kind: str, lines: list[str]) -> int:
    """A summary as a run leaves it for its job: staged, with its lines attached."""
    row = EmailSummary(account_id=school.id, user_id=person.id, kind=kind,
                       hour=datetime(2026, 12, 1, 10, tzinfo=UTC), status="staged",
                       created_at=datetime(2026, 12, 1, 11, 5, tzinfo=UTC))
    db.session.add(row)
    db.session.flush()
    for line in lines:
        db.session.add(EmailSummaryItem(account_id=school.id, user_id=person.id, kind=kind,
                                        key=f"test:{line}", text=line, link=f"http://x/{line}",
                                        created_at=CLOCK_START, summary_id=row.id))
    db.session.commit()
    return row.id


def test_the_job_says_whether_it_sent_the_summary(w, clock):
    choose(w.meg, w.river, "submissions")
    at(clock, 11, 5)
    sent = staged_summary(w.meg, w.river, "submissions", ["meg-10"])
    empty = staged_summary(w.fay, w.river, "submissions", [])
    assert email_summaries.send_email_summary(sent) is True
    assert email_summaries.send_email_summary(empty) is False
    assert email_summaries.send_email_summary(sent) is False  # once
    assert summaries() == {(w.meg.email, subject("submissions", w.river)): [["meg-10"]]}
    assert statuses() == ["sent", "skipped"]


def test_a_person_whose_account_was_deactivated_before_the_hour_ended_gets_no_summary(w,
                                                                                    clock):
    for person in (w.meg, w.fay):
        choose(person, w.river, "submissions")
        collect(person, w.river, "submissions", f"{person.email}-10")
    db.session.execute(update(User).where(User.id == w.meg.id).values(active=False))
    db.session.commit()
    at(clock, 11, 5)
    assert email_summaries.tick() == 2
    assert list(summaries()) == [(w.fay.email, subject("submissions", w.river))]
    assert statuses() == ["sent", "skipped"]


def test_leaving_one_school_stops_only_that_schools_summaries(w, clock):
    """Lia leaves Riverside and Sam leaves Hillside, each still active in the other school:
    whichever school's membership is read first, each gets only the other school's summary."""
    for person in (w.lia, w.sam):
        for school in (w.river, w.hill):
            choose(person, school, "reviews")
            collect(person, school, "reviews", f"{person.email}-{school.id}")
    accounts.set_membership_status(w.ada, membership(w.lia, w.river), "revoked")
    accounts.set_membership_status(w.hal, membership(w.sam, w.hill), "revoked")
    db.session.commit()
    at(clock, 11, 5)
    assert email_summaries.tick() == 4
    assert summaries() == {
        (w.lia.email, subject("reviews", w.hill)): [[f"{w.lia.email}-{w.hill.id}"]],
        (w.sam.email, subject("reviews", w.river)): [[f"{w.sam.email}-{w.river.id}"]],
    }


# ---- choices are per school -------------------------------------------------------------------

def test_turning_a_kind_off_in_one_school_leaves_it_on_in_the_other(w):
    choose(w.sam, w.hill, "reviews", "off")
    work = learning.submit_for_review(w.sam, w.river.id, w.essay.steps[2].id, "work")
    db.session.commit()
    learning.review_submission(w.tess, work.id, "5", "Fine")
    db.session.commit()
    db.session.expire_all()
    [email] = db.session.scalars(select(SentEmail).where(
        SentEmail.recipient == w.sam.email, SentEmail.idempotency_key.like("review:%")))
    assert "Tess Teacher reviewed your work" in email.body
    assert email_choices.cadences(w.river.id, "reviews", [w.sam.id]) == {
        w.sam.id: "immediately"}


# ---- an unsubscribe link naming someone or a school that is gone ------------------------------

@pytest.mark.parametrize("gone", ["person", "school"])
def test_an_unsubscribe_link_naming_a_person_or_school_that_is_gone_is_refused(w, client,
                                                                             gone):
    missing = 10_000_000
    person, school = (missing, w.river.id) if gone == "person" else (w.sam.id, missing)
    token = email_choices.unsubscribe_token(person, school, "reviews")
    with pytest.raises(NotFound):
        email_choices.read_unsubscribe_token(token)
    for method in (client.get, client.post):
        page = method(f"/email/unsubscribe/{token}")
        assert page.status_code == 404
        assert "This unsubscribe link is not valid any more." in page.get_data(as_text=True)
