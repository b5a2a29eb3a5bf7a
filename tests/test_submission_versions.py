"""Versions and honest waiting: an update to pending work adds a version and keeps the round's
waiting time (queue order, STALE, digest, reports); reviewers without an unread notice about
it are told once that it changed; resubmitting after a review opens a new round, waiting
from then, with the earlier review kept. Jobs run in-process at commit (no Redis here)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from mentorgroups.extensions import db
from mentorgroups.models import (
    Notification,
    OutboxJob,
    Review,
    SentEmail,
    SubmissionVersion,
    utcnow,
)
from mentorgroups.services import inbox, learning, mentoring, notifications, reports
from mentorgroups.services.digest_content import build_digests
from mentorgroups.services.digest_weeks import latest_due_week
from tests.kept_scenes import kept_scene
from tests.test_reports_rows import rows_of
from tests.two_schools import two_schools

T0 = datetime(2026, 11, 2, 9, tzinfo=UTC)  # a Monday
CLOCK_START = T0


@pytest.fixture
def w(app, clock, request):
    return kept_scene(request, build_w)


def build_w():
    return two_schools()


def submit(w, person, text, step=1):
    submission = learning.submit_for_review(person, w.river.id, w.essay.steps[step].id, text)
    db.session.commit()
    return submission


def versions(submission):
    return [(v.number, v.round, v.content, v.created_at) for v in db.session.scalars(
        select(SubmissionVersion).where(SubmissionVersion.submission_id == submission.id)
        .order_by(SubmissionVersion.number))]


def told(kind, submission_id):
    return sorted(db.session.scalars(select(Notification.user_id).where(
        Notification.kind == kind, Notification.key.like(f"submission:{submission_id}:%"))))


def emailed(pattern):
    return sorted(db.session.scalars(select(SentEmail.recipient).where(
        SentEmail.idempotency_key.like(pattern))))


def ids(*people):
    return sorted(p.id for p in people)


def test_updating_pending_work_adds_a_version_and_keeps_its_age(w, clock):
    submission = submit(w, w.lia, "first draft")
    clock.shift(timedelta(days=4))
    submit(w, w.lia, "second draft")
    db.session.refresh(submission)
    assert submission.submitted_at == T0  # waiting since the first submission, still
    assert submission.updated_at == T0 + timedelta(days=4)
    assert submission.content == "second draft" and submission.round == 1
    assert versions(submission) == [(1, 1, "first draft", T0),
                                    (2, 1, "second draft", T0 + timedelta(days=4))]
    clock.shift(timedelta(hours=1))
    submit(w, w.lia, "  second draft ")  # the same text again (a second click): no version
    assert len(versions(submission)) == 2
    assert [job.name for job in db.session.scalars(select(OutboxJob).where(
        OutboxJob.name.like("notify_%")).order_by(OutboxJob.id))] == [
        "notify_submission", "notify_submission_changed"]


def test_an_edit_keeps_the_work_s_place_in_the_queue(w, clock):
    lia_work = submit(w, w.lia, "Lia's essay")
    clock.shift(timedelta(hours=1))
    sam_work = submit(w, w.sam, "Sam's essay")
    clock.shift(timedelta(days=2))
    submit(w, w.lia, "Lia's essay, improved")
    rows = learning.review_queue(w.tess, w.river.id).items
    assert [(r.id, r.submitted_at, r.updated_at) for r in rows] == [
        (lia_work.id, T0, T0 + timedelta(days=2, hours=1)),
        (sam_work.id, T0 + timedelta(hours=1), None)]
    assert learning.pending_reviews_for(w.tess, w.river.id) == [lia_work, sam_work]


def test_reviewers_are_told_of_a_change_once_unless_a_notice_waits_unread(w, clock):
    submission = submit(w, w.lia, "first draft")
    # Told that it waits: Meg and Fay (mentors of Coaching), Tess and Mo (Spring's staff).
    assert told("submission", submission.id) == ids(w.meg, w.fay, w.tess, w.mo)
    meg_notice = db.session.scalar(select(Notification.id).where(
        Notification.user_id == w.meg.id, Notification.kind == "submission"))
    inbox.mark_read(w.meg, w.river.id, meg_notice)
    inbox.mark_read(w.tess, w.river.id)
    db.session.commit()
    clock.shift(timedelta(days=3))
    submit(w, w.lia, "second draft")
    # Meg and Tess read theirs: told once, in-app and by email. Fay and Mo still have the
    # first notice unread: nothing new. Never Lia, revoked Rita, deactivated Dee, Gus (a
    # Group Admin), Una (another group), nor Hillside's Sam and Hugo.
    assert told("submission_changed", submission.id) == ids(w.meg, w.tess)
    assert emailed(f"submission:{submission.id}:round:1:version:2:%") == sorted(
        [w.meg.email, w.tess.email])
    notice = db.session.scalar(select(Notification).where(
        Notification.user_id == w.meg.id, Notification.kind == "submission_changed"))
    assert notice.text == ("Lia Learner updated \u201cStep 2\u201d in \u201cEssay writing\u201d"
                           " (waiting 3 days)") and notice.link == f"/review/{submission.id}"
    email = db.session.scalar(select(SentEmail).where(
        SentEmail.idempotency_key.like("%version:2:reviewer:%"),
        SentEmail.recipient == w.meg.email))
    assert "waiting for review 3 days" in email.body and f"/review/{submission.id}" in email.body
    # Safe to run twice; a further update finds Meg's and Tess's change notices unread.
    assert notifications.notify_submission_changed(submission.id, 2) == 0
    clock.shift(timedelta(hours=2))
    submit(w, w.lia, "third draft")
    assert told("submission_changed", submission.id) == ids(w.meg, w.tess)
    assert len(emailed(f"submission:{submission.id}:%")) == 4 + 2


def test_an_unread_notice_about_other_work_does_not_hold_back_this_change(w, clock):
    """Meg read that Lia's step 2 waits but not that her step 3 does: when Lia changes step
    2, Meg is told (only a notice about this same work, unread, makes a new one needless)."""
    first = submit(w, w.lia, "step three", step=2)
    second = submit(w, w.lia, "step two draft")
    notice = db.session.scalar(select(Notification.id).where(
        Notification.user_id == w.meg.id, Notification.kind == "submission",
        Notification.key.like(f"submission:{second.id}:%")))
    inbox.mark_read(w.meg, w.river.id, notice)
    db.session.commit()
    assert told("submission", first.id) == ids(w.meg, w.fay, w.tess, w.mo)
    clock.shift(timedelta(days=1))
    submit(w, w.lia, "step two, better")
    assert told("submission_changed", second.id) == ids(w.meg)


def test_a_change_after_the_work_was_reviewed_tells_nobody(w, clock):
    submission = submit(w, w.lia, "first draft")
    learning.submit_for_review(w.lia, w.river.id, w.essay.steps[1].id, "second draft")
    db.session.flush()
    version = versions(submission)[-1][0]
    learning.review_submission(w.tess, submission.id, None, "Good")
    db.session.flush()
    assert notifications.notify_submission_changed(submission.id, version) == 0
    db.session.commit()
    assert told("submission_changed", submission.id) == []


def test_resubmitting_after_a_review_opens_round_two_waiting_from_then(w, clock, client):
    submission = submit(w, w.lia, "first draft", step=2)
    clock.shift(timedelta(days=2))
    learning.review_submission(w.tess, submission.id, "6", "Expand the middle part")
    db.session.commit()
    clock.shift(timedelta(days=1))
    submit(w, w.lia, "longer draft", step=2)
    db.session.refresh(submission)
    resubmitted = T0 + timedelta(days=3)
    assert (submission.round, submission.status, submission.submitted_at,
            submission.updated_at) == (2, "pending", resubmitted, None)
    assert versions(submission) == [(1, 1, "first draft", T0), (2, 2, "longer draft", resubmitted)]
    assert submission.review is None and [r.round for r in submission.earlier_reviews] == [1]
    # Round 2 is announced to the same reviewers as a new submission, keyed by its round.
    assert told("submission", submission.id) == sorted(ids(w.meg, w.fay, w.tess, w.mo) * 2)
    assert len(emailed(f"submission:{submission.id}:round:2:reviewer:%")) == 4
    round_two = db.session.scalar(select(Notification).where(
        Notification.user_id == w.meg.id, Notification.key.like("%:round:2:%")))
    assert round_two.read_at is None and "resubmitted" in round_two.text
    # It waits from the resubmission: first in nothing, one day old a day later.
    clock.shift(timedelta(days=1))
    [row] = learning.review_queue(w.tess, w.river.id).items
    assert (row.id, row.submitted_at, row.round) == (submission.id, resubmitted, 2)
    # Round 2's review is a second row; round 1's stays, with its grade and reviewer.
    learning.review_submission(w.meg, submission.id, "9", "Much better")
    db.session.commit()
    assert [(r.round, r.grade, r.reviewer_id) for r in db.session.scalars(
        select(Review).where(Review.submission_id == submission.id).order_by(Review.round))] \
        == [(1, 6, w.tess.id), (2, 9, w.meg.id)]
    assert round_two.read_at is not None and "reviewed by Meg Mentor" in round_two.text
    round_one = db.session.scalar(select(Notification).where(
        Notification.user_id == w.meg.id, Notification.key == f"submission:{submission.id}"
        f":user:{w.meg.id}"))
    assert round_one.text.endswith("reviewed by Tess Teacher")  # not re-settled by round 2
    # Both reviews on the learner's path and on the review page.
    client.login(w.lia.email, account_id=w.river.id)
    path = client.get(f"/paths/{w.essay.id}").get_data(as_text=True)
    assert "Round 1: reviewed by Tess Teacher" in path and "Expand the middle part" in path
    assert "Round 2: reviewed by Meg Mentor" in path and "Much better" in path
    assert "Earlier versions (1)" in path and "first draft" in path


def test_review_page_shows_versions_and_the_earlier_round(w, clock, client):
    submission = submit(w, w.lia, "first <b>draft</b>", step=2)
    learning.review_submission(w.tess, submission.id, "6", "Expand it")
    db.session.commit()
    clock.shift(timedelta(days=4))
    submit(w, w.lia, "second draft", step=2)
    clock.shift(timedelta(days=2))
    submit(w, w.lia, "third draft", step=2)
    clock.shift(timedelta(hours=2))
    client.login(w.meg.email, account_id=w.river.id)
    page = client.get(f"/review/{submission.id}").get_data(as_text=True)
    assert "round 2" in page and "waiting 2 days, updated 2 hours ago" in page
    assert "Version 3 of 3" in page and "Earlier versions (2)" in page
    assert "first &lt;b&gt;draft&lt;/b&gt;" in page and "<b>draft" not in page
    assert "Round 1 was reviewed by <strong>Tess Teacher</strong>" in page
    assert "Grade 6 of 10." in page and "Expand it" in page
    queue = client.get("/review/").get_data(as_text=True)
    assert "updated 2 hours ago" in queue and "resubmitted (round 2)" in queue
    card = client.get(f"/people/{w.lia.id}?tab=review").get_data(as_text=True)
    assert "waiting 2 days" in card and "updated 2 hours ago" in card


def test_reports_and_digest_count_waiting_from_the_round_s_first_submission(w, clock):
    reviewed_twice = submit(w, w.lia, "essay", step=2)
    learning.review_submission(w.tess, reviewed_twice.id, "5", "Again")
    db.session.commit()
    submit(w, w.lia, "essay again", step=2)  # round 2, waiting from T0
    learning.review_submission(w.tess, reviewed_twice.id, "7", "Once more")
    db.session.commit()
    clock.shift(timedelta(days=1))
    submit(w, w.lia, "essay, third round", step=2)  # round 3 waits from T0 + 1 day
    submit(w, w.lia, "notes", step=1)  # waits from T0 + 1 day
    clock.shift(timedelta(days=8))
    submit(w, w.lia, "notes, edited", step=1)  # 8 days old; updated now
    now = T0 + timedelta(days=9)
    clock.move_to(now)

    report = reports.progress_report(w.ada, w.river.id, now=now)
    header, *rows = rows_of(report)
    [lia] = [dict(zip(header, row, strict=True)) for row in rows if row[header.index("Member")] ==
             "Lia Learner"]
    assert lia["Waiting for review"] == "2"  # not 4: two reviews joined the round-3 row
    assert lia["Days the oldest has waited"] == "8"
    assert lia["Reviews received"] == "2"
    assert lia[next(h for h in header if h.startswith("Last activity"))].startswith(
        "2026-11-11")  # the edit is activity

    _, page = mentoring.group_page(w.meg, w.river.id, w.coaching.id)
    [row] = [r for r in page.items if r.user.id == w.lia.id]
    assert (row.waiting, row.oldest_waiting, row.updated, row.last_activity) == (
        2, T0 + timedelta(days=1), now, now)

    [digest] = build_digests(w.river, latest_due_week(w.river, now), now, user_ids=[w.meg.id])
    [section] = [s for s in digest.sections if s.group_id == w.coaching.id]
    assert [(item.step, item.waited, item.stale) for item in section.pending] == [
        ("Step 3", "8 days", True), ("Step 2", "8 days", True)]
    assert section.stale_total == 2


def _read_everything():
    db.session.execute(update(Notification).values(read_at=utcnow()))
    db.session.commit()


def test_the_change_job_counts_whom_it_told_and_ignores_versions_of_other_work(w, clock):
    """The jobs called as the outbox calls them: a version is looked up by this work and its
    number, in this round; each call says how many reviewers it told (0 when nobody)."""
    first = submit(w, w.lia, "step two", step=1)
    other = submit(w, w.lia, "step three", step=2)
    clock.shift(timedelta(hours=1))
    submit(w, w.lia, "step three, again", step=2)  # the other work has a version 2
    _read_everything()
    assert notifications.notify_submission_changed(first.id, 2) == 0  # the other work's
    assert notifications.notify_submission_changed(first.id, 99) == 0  # no such version
    assert notifications.notify_submission_changed(10_000_000, 1) == 0  # no such work
    assert notifications.notify_submission(first.id, round=2) == 0  # not in round 2
    assert told("submission_changed", first.id) == []
    notice = db.session.scalar(select(Notification.text).where(
        Notification.user_id == w.meg.id, Notification.key.like(f"submission:{first.id}:%")))
    assert notice == ("Lia Learner submitted \u201cStep 2\u201d in \u201cEssay writing\u201d"
                      " for review")
    clock.shift(timedelta(hours=1))
    learning.submit_for_review(w.lia, w.river.id, w.essay.steps[1].id, "step two, better")
    db.session.flush()  # the job staged at commit has not run yet
    version = versions(first)[-1][0]
    assert notifications.notify_submission_changed(first.id, version) == 4  # Meg, Fay, Tess, Mo
    db.session.commit()
    assert told("submission_changed", first.id) == ids(w.meg, w.fay, w.tess, w.mo)
    assert told("submission_changed", other.id) == []


def test_a_version_of_an_earlier_round_tells_nobody_in_the_next(w, clock):
    submission = submit(w, w.lia, "first draft", step=1)
    learning.review_submission(w.tess, submission.id, None, "Expand it")
    db.session.commit()
    clock.shift(timedelta(days=1))
    submit(w, w.lia, "longer draft", step=1)  # round 2
    _read_everything()
    first_round = [number for number, round_, *_ in versions(submission) if round_ == 1]
    assert first_round and all(
        notifications.notify_submission_changed(submission.id, n) == 0 for n in first_round)
    assert told("submission_changed", submission.id) == []
