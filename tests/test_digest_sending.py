"""Sending the weekly Mentor Digest: one school's week at a time, one email per person, and
nobody who lost their access between the digest being built and the email going out.

Two schools send at the same hour (Monday 08:00, London), so their digests share a week; some
tests also keep last week's delivery rows around, as a real database does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, func, select

from mentorgroups.extensions import db
from mentorgroups.jobs import outbox
from mentorgroups.models import (
    AccountMembership,
    DigestDelivery,
    DigestRun,
    OutboxJob,
    SentEmail,
    StepCompletion,
    Submission,
)
from mentorgroups.services import accounts, digests, groups
from mentorgroups.services import group_members as gm
from mentorgroups.services.digest_weeks import latest_due_week, week_by_key
from tests.factories import make_account, make_cohort, make_member, make_path


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


SEND = utc(2024, 12, 2, 8, 0)  # Monday 2 Dec 2024, 08:00 in London (GMT)
NOW = SEND + timedelta(minutes=5)
WEEK, LAST_WEEK = "2024-W49", "2024-W48"
CLOCK_START = NOW  # every test runs five minutes after the send time


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def statuses(account, week_key: str) -> dict[str, str]:
    """Who has which delivery status for this school and week, by name."""
    db.session.expire_all()
    return {row.user.full_name: row.status for row in db.session.scalars(
        select(DigestDelivery).where(DigestDelivery.account_id == account.id,
                                     DigestDelivery.week == week_key))}


def recipients(mail_outbox) -> list[str]:
    return sorted(m.recipients[0] for m in mail_outbox)


def school(name: str, group: str, mentors: list[str], learner: str):
    """A school in London sending on Monday 08:00 (open since January 2024): one group with
    the given Mentors and one learner who sent step 2 for review two days before the send."""
    account = make_account(name=name, plan="complete")
    account.time_zone = "Europe/London"
    account.created_at = utc(2024, 1, 1)
    admin = make_member(account, "admin", full_name=f"{name} Admin")
    staff = [make_member(account, "staff", full_name=n) for n in mentors]
    pupil = make_member(account, "member", full_name=learner)
    path = make_path(account, steps=3, review_at=(2,), title="Data")
    cohort = make_cohort(path, learners=[pupil])
    team = groups.create_group(admin, account.id, group)
    gm.add_members(admin, account.id, team.id, "mentor", user_ids=[p.id for p in staff])
    gm.add_members(admin, account.id, team.id, "member", user_ids=[pupil.id])
    db.session.add(StepCompletion(user_id=pupil.id, step_id=path.steps[1].id,
                                  cohort_id=cohort.id, completed_at=NOW - timedelta(days=2)))
    db.session.add(Submission(account_id=account.id, user_id=pupil.id, step_id=path.steps[1].id,
                              cohort_id=cohort.id, content="work",
                              submitted_at=NOW - timedelta(days=2)))
    db.session.commit()
    people = {p.full_name: p for p in staff}
    return type("School", (), dict(account=account, admin=admin, people=people, pupil=pupil,
                                   group=team, path=path, cohort=cohort))


@pytest.fixture
def hill(app, clock):
    """Hill School: Mo, Kim and Max are Mentors of Coaching; Ann waits for review."""
    return school("Hill School", "Coaching", ["Mo", "Kim", "Max"], "Ann")


@pytest.fixture
def vale(app, hill):
    """Vale School, same send time: Val is Mentor of Tutoring; Zed waits for review."""
    return school("Vale School", "Tutoring", ["Val"], "Zed")


def deliveries(account, week_key: str, **by_name) -> None:
    """Delivery rows as earlier senders left them: {name: status}."""
    names = {m.user.full_name: m.user for m in db.session.scalars(
        select(AccountMembership).where(AccountMembership.account_id == account.id))}
    for name, status in by_name.items():
        db.session.add(DigestDelivery(account_id=account.id, user_id=names[name].id,
                                      week=week_key, status=status,
                                      created_at=NOW - timedelta(days=1)))
    db.session.commit()


@pytest.fixture
def held_jobs(monkeypatch):
    """Jobs are staged but not run (the worker is busy): the test runs them when it wants."""
    held: list[int] = []
    monkeypatch.setattr(outbox, "dispatch", held.extend)
    return held


def delivery_id(account, person, week_key: str = WEEK) -> int:
    return db.session.scalar(select(DigestDelivery.id).where(
        DigestDelivery.account_id == account.id, DigestDelivery.user_id == person.id,
        DigestDelivery.week == week_key))


# ---------------------------------------------------------------- the week's run


def test_a_schools_week_is_started_once(hill):
    week = week_by_key(hill.account, WEEK)
    assert digests.start_run(hill.account, week, stage=False) is True
    db.session.commit()
    assert digests.start_run(hill.account, week, stage=False) is False
    assert count(DigestRun) == 1


def test_week_totals_count_only_this_school_and_this_week(hill, vale):
    deliveries(hill.account, LAST_WEEK, Mo="sent", Kim="sent", Max="sent")
    deliveries(hill.account, WEEK, Mo="sent", Kim="claimed")
    deliveries(vale.account, WEEK, Val="sent")
    week = week_by_key(hill.account, WEEK)
    assert digests.week_totals(hill.account, week) == {"sent": 1, "claimed": 1}
    assert digests.week_totals(vale.account, week) == {"sent": 1}
    assert digests.week_totals(hill.account, week_by_key(hill.account, LAST_WEEK)) == {"sent": 3}


def test_dry_run_counts_this_schools_week_and_changes_nothing(hill, vale):
    """Mo was sent this week and Kim skipped; Max's claim is left by a sender that died, so
    Max is still to send. Last week and Vale School do not count."""
    deliveries(hill.account, LAST_WEEK, Mo="sent", Kim="sent", Max="sent")
    deliveries(hill.account, WEEK, Mo="sent", Kim="skipped", Max="claimed")
    deliveries(vale.account, WEEK, Val="sent")
    week = week_by_key(hill.account, WEEK)
    assert digests.dry_run(hill.account, week, NOW) == {
        "would_send": 1, "nothing_to_say": 0, "already_done": 2}
    assert digests.dry_run(vale.account, week, NOW) == {
        "would_send": 0, "nothing_to_say": 0, "already_done": 1}
    assert statuses(hill.account, WEEK) == {"Mo": "sent", "Kim": "skipped", "Max": "claimed"}
    assert count(SentEmail) == 0


def test_dry_run_is_as_of_the_moment_given(hill):
    """A Mentor of a group whose only learner started after the moment has nothing to say
    as of that moment, and something to say once the step is done."""
    newcomer = make_member(hill.account, "member", full_name="Pat")
    chess = groups.create_group(hill.admin, hill.account.id, "Chess club")
    gm.add_members(hill.admin, hill.account.id, chess.id, "mentor", user_ids=[hill.admin.id])
    gm.add_members(hill.admin, hill.account.id, chess.id, "member", user_ids=[newcomer.id])
    db.session.add(StepCompletion(user_id=newcomer.id, step_id=hill.path.steps[0].id,
                                  cohort_id=hill.cohort.id, completed_at=NOW + timedelta(hours=2)))
    db.session.commit()
    week = week_by_key(hill.account, WEEK)
    assert digests.dry_run(hill.account, week, NOW) == {
        "would_send": 3, "nothing_to_say": 1, "already_done": 0}
    assert digests.dry_run(hill.account, week, NOW + timedelta(hours=3)) == {
        "would_send": 4, "nothing_to_say": 0, "already_done": 0}


def test_which_week_the_cli_means(hill):
    assert digests.resolve_week(hill.account, None, NOW).key == WEEK
    assert digests.resolve_week(hill.account, None, SEND - timedelta(minutes=1)).key == LAST_WEEK
    assert digests.resolve_week(hill.account, "2024-W40").key == "2024-W40"


# ---------------------------------------------------------------- sending a week


def test_sending_one_school_leaves_the_other_school_and_last_week_alone(hill, vale,
                                                                       mail_outbox):
    """Vale School's sender has claimed its people and is still at work; last week's Hill
    sender died after claiming Mo, Kim and Lou (a Mentor then, who has left the group since).
    Sending Hill's week touches neither."""
    make_member(hill.account, "staff", full_name="Lou")
    deliveries(hill.account, LAST_WEEK, Mo="claimed", Kim="claimed", Lou="claimed")
    deliveries(vale.account, WEEK, Val="claimed")
    week = week_by_key(hill.account, WEEK)
    assert digests.send_week(hill.account, week, NOW) == {"staged": 3, "skipped": 0}
    assert recipients(mail_outbox) == sorted(p.email for p in hill.people.values())
    assert statuses(hill.account, WEEK) == {"Mo": "sent", "Kim": "sent", "Max": "sent"}
    assert statuses(hill.account, LAST_WEEK) == {"Mo": "claimed", "Kim": "claimed",
                                                 "Lou": "claimed"}
    assert statuses(vale.account, WEEK) == {"Val": "claimed"}


def test_the_digest_is_written_as_of_the_send(hill, mail_outbox):
    week = week_by_key(hill.account, WEEK)
    digests.send_week(hill.account, week, NOW)
    body = mail_outbox[0].body
    assert "- Ann: Step 2 in Data, waiting 2 days\n" in body
    assert mail_outbox[0].subject == "Your Mentor Digest: 25 Nov \u2013 1 Dec 2024"


def test_a_second_send_of_the_week_has_nobody_left_to_send(hill, mail_outbox):
    week = week_by_key(hill.account, WEEK)
    done: list[int] = []
    assert digests.send_week(hill.account, week, NOW, progress=done.append) == {
        "staged": 3, "skipped": 0}
    assert done == [3]
    again: list[int] = []
    assert digests.send_week(hill.account, week, NOW, progress=again.append) == {
        "staged": 0, "skipped": 0}
    assert again == []  # no progress bar for nobody
    assert len(mail_outbox) == 3 and count(OutboxJob, OutboxJob.name == "send_digest_email") == 3


def test_a_second_sender_taking_the_rest_midway_sends_nobody_twice(hill, mail_outbox,
                                                                   monkeypatch):
    """Chunks of one person: after the first person's chunk, another sender (a second
    scheduler, an operator's command) runs the whole week; the first sender then finds the
    other two taken and stages nothing more."""
    monkeypatch.setattr(digests, "CHUNK", 1)
    week = week_by_key(hill.account, WEEK)
    other: list[dict] = []

    def second_sender(_done):
        if not other:
            other.append(digests.send_week(hill.account, week, NOW))

    first = digests.send_week(hill.account, week, NOW, progress=second_sender)
    assert first == {"staged": 1, "skipped": 0}
    assert other == [{"staged": 2, "skipped": 0}]
    assert recipients(mail_outbox) == sorted(p.email for p in hill.people.values())
    assert count(OutboxJob, OutboxJob.name == "send_digest_email") == 3
    assert count(SentEmail) == 3


def test_a_stuck_claim_for_a_mentor_revoked_since_is_skipped(hill, mail_outbox):
    """Mo was claimed by a sender that died; by the time the week is sent again Mo's access
    was revoked: Mo's row is closed as skipped, the others are sent."""
    deliveries(hill.account, WEEK, Mo="claimed")
    mo = hill.people["Mo"]
    membership = db.session.scalar(select(AccountMembership).where(
        AccountMembership.account_id == hill.account.id, AccountMembership.user_id == mo.id))
    accounts.set_membership_status(hill.admin, membership, "revoked")
    db.session.commit()
    week = week_by_key(hill.account, WEEK)
    assert digests.send_week(hill.account, week, NOW) == {"staged": 2, "skipped": 1}
    assert statuses(hill.account, WEEK) == {"Mo": "skipped", "Kim": "sent", "Max": "sent"}
    assert recipients(mail_outbox) == sorted([hill.people["Kim"].email,
                                              hill.people["Max"].email])


# ---------------------------------------------------------------- the scheduler's tick


def test_the_tick_leaves_a_sender_at_work_alone_and_restages_a_stuck_one(hill, mail_outbox):
    """Claims five minutes old belong to a sender still at work; after fifteen minutes they
    are taken as stuck and the week is staged again."""
    db.session.add(DigestRun(account_id=hill.account.id, week=WEEK))
    db.session.commit()
    digests.claim(hill.account, week_by_key(hill.account, WEEK))
    for row in db.session.scalars(select(DigestDelivery)):
        row.created_at = NOW
    db.session.commit()
    assert digests.tick(NOW + timedelta(minutes=5)) == 0
    assert statuses(hill.account, WEEK) == {"Mo": "claimed", "Kim": "claimed", "Max": "claimed"}
    assert count(OutboxJob) == 0 and mail_outbox == []
    assert digests.tick(NOW + timedelta(minutes=16)) == 1
    assert statuses(hill.account, WEEK) == {"Mo": "sent", "Kim": "sent", "Max": "sent"}
    assert len(mail_outbox) == 3


def test_the_tick_commits_the_stuck_weeks_it_stages_again(hill, held_jobs):
    """The scheduler runs the tick and keeps nothing it did not commit: a stuck week staged
    again must be in the database (and handed to the workers) when the tick returns."""
    db.session.add(DigestRun(account_id=hill.account.id, week=WEEK))
    db.session.commit()
    digests.claim(hill.account, week_by_key(hill.account, WEEK))
    for row in db.session.scalars(select(DigestDelivery)):
        row.created_at = NOW
    db.session.commit()
    assert digests.tick(NOW + timedelta(minutes=16)) == 1
    db.session.rollback()
    assert count(OutboxJob, OutboxJob.name == "send_digests") == 1 and len(held_jobs) == 1


def test_a_school_that_breaks_the_tick_leaves_the_schools_before_it_started(
        hill, vale, held_jobs, monkeypatch):
    """Each school's start is committed as the tick goes: when a later school's week cannot
    be worked out (here: its settings raise), the schools before it keep their started run
    and their staged send, and the next tick only has the rest to do."""
    real = digests.latest_due_week

    def broken_for_vale(account, now):
        if account.id == vale.account.id:
            raise RuntimeError("broken settings")
        return real(account, now)

    monkeypatch.setattr(digests, "latest_due_week", broken_for_vale)
    with pytest.raises(RuntimeError):
        digests.tick(NOW)
    db.session.rollback()
    assert set(db.session.scalars(select(DigestRun.account_id))) == {hill.account.id}
    assert len(held_jobs) == 1


def test_a_school_with_nobody_following_a_group_sends_nothing(app, clock, mail_outbox):
    lone = make_account(name="Lone School", plan="complete")
    lone.created_at = utc(2024, 1, 1)
    db.session.commit()
    week = week_by_key(lone, WEEK)
    assert digests.send_week(lone, week, NOW) == {"staged": 0, "skipped": 0}
    assert count(DigestDelivery) == 0 and mail_outbox == []


def test_the_tick_goes_by_the_clock_when_given_no_time(hill, vale):
    expected = {latest_due_week(hill.account, datetime.now(UTC)).key}
    assert digests.tick() == 2
    db.session.expire_all()
    assert set(db.session.scalars(select(DigestRun.week))) == expected
    assert count(DigestRun) == 2


# ---------------------------------------------------------------- the email job


def test_nobody_who_lost_access_after_staging_gets_the_email(hill, vale, held_jobs,
                                                             mail_outbox):
    """Staged at 08:05; before the email worker gets to them, Mo's access to Hill School is
    revoked, Kim's login is deactivated and Max is taken out of Hill School (Max also works
    at Vale School). Only the fourth Mentor, Lee, gets the digest."""
    lee = make_member(hill.account, "staff", full_name="Lee")
    gm.add_members(hill.admin, hill.account.id, hill.group.id, "mentor", user_ids=[lee.id])
    mo, kim, max_ = (hill.people[n] for n in ("Mo", "Kim", "Max"))
    make_member(vale.account, "staff", user=max_)
    db.session.commit()
    week = week_by_key(hill.account, WEEK)
    assert digests.send_week(hill.account, week, NOW) == {"staged": 4, "skipped": 0}
    assert len(held_jobs) == 4 and mail_outbox == []
    ids = {p.full_name: delivery_id(hill.account, p) for p in (mo, kim, max_, lee)}

    accounts.set_membership_status(hill.admin, db.session.scalar(select(AccountMembership).where(
        AccountMembership.account_id == hill.account.id, AccountMembership.user_id == mo.id)),
        "revoked")
    kim.active = False
    db.session.execute(delete(AccountMembership).where(
        AccountMembership.account_id == hill.account.id, AccountMembership.user_id == max_.id))
    db.session.commit()

    sent = {name: digests.send_digest_email(i) for name, i in ids.items()}
    assert sent == {"Mo": False, "Kim": False, "Max": False, "Lee": True}
    assert recipients(mail_outbox) == [lee.email]
    assert statuses(hill.account, WEEK) == {"Mo": "skipped", "Kim": "skipped",
                                            "Max": "skipped", "Lee": "sent"}


def test_the_email_job_run_twice_sends_one_email(hill, held_jobs, mail_outbox):
    week = week_by_key(hill.account, WEEK)
    digests.send_week(hill.account, week, NOW)
    mo = delivery_id(hill.account, hill.people["Mo"])
    assert digests.send_digest_email(mo) is True
    sent_at = db.session.get(DigestDelivery, mo).sent_at
    assert digests.send_digest_email(mo) is False
    db.session.expire_all()
    assert db.session.get(DigestDelivery, mo).sent_at == sent_at
    assert recipients(mail_outbox) == [hill.people["Mo"].email]
    assert count(SentEmail) == 1


def test_the_email_job_sends_nothing_for_a_digest_with_nothing_to_say(hill, held_jobs,
                                                                      mail_outbox):
    quiet = groups.create_group(hill.admin, hill.account.id, "Quiet group")
    gm.add_members(hill.admin, hill.account.id, quiet.id, "mentor", user_ids=[hill.admin.id])
    db.session.commit()
    week = week_by_key(hill.account, WEEK)
    assert digests.send_week(hill.account, week, NOW) == {"staged": 3, "skipped": 1}
    skipped = delivery_id(hill.account, hill.admin)
    assert digests.send_digest_email(skipped) is False
    assert mail_outbox == [] and count(SentEmail) == 0
    assert statuses(hill.account, WEEK)["Hill School Admin"] == "skipped"


def test_the_email_job_for_a_delivery_that_is_gone_sends_nothing(hill, held_jobs,
                                                                 mail_outbox):
    """The school's deliveries were deleted (the school closed) before the worker ran."""
    week = week_by_key(hill.account, WEEK)
    digests.send_week(hill.account, week, NOW)
    mo = delivery_id(hill.account, hill.people["Mo"])
    db.session.execute(delete(DigestDelivery))
    db.session.commit()
    assert digests.send_digest_email(mo) is False
    assert mail_outbox == [] and count(SentEmail) == 0


def test_the_stored_copy_hides_the_unsubscribe_links(hill, mail_outbox):
    week = week_by_key(hill.account, WEEK)
    digests.send_week(hill.account, week, NOW)
    message = next(m for m in mail_outbox if m.recipients == [hill.people["Mo"].email])
    links = [line.rsplit(": ", 1)[1] for line in message.body.splitlines()
             if line.startswith("Stop the digest for Coaching: ")]
    assert len(links) == 1 and "/digest/unsubscribe/" in links[0]
    stored = db.session.scalar(select(SentEmail.body).where(
        SentEmail.recipient == hill.people["Mo"].email))
    assert "Stop the digest for Coaching: [link hidden]" in stored
    assert "/digest/unsubscribe/" not in stored


# ---------------------------------------------------------------- preview


def test_preview_is_the_digest_as_of_the_moment_given(hill):
    digest = digests.preview_for(hill.people["Mo"], hill.account, NOW)
    assert [(i.member, i.waited) for i in digest.sections[0].pending] == [("Ann", "2 days")]
    assert digest.week.send_at == NOW
    assert digests.preview_for(hill.pupil, hill.account, NOW) is None
    later = digests.preview_for(hill.people["Mo"], hill.account, NOW + timedelta(days=1))
    assert [(i.member, i.waited) for i in later.sections[0].pending] == [("Ann", "3 days")]


def test_a_week_sent_later_than_the_clock_says_is_written_as_of_that_moment(hill, mail_outbox):
    """`send_week(now=...)` is the moment the digest speaks of, not the machine's clock (the
    CLI's `--as-of` and a late tick both pass it): Ann has waited five days three days on."""
    week = week_by_key(hill.account, WEEK)
    digests.send_week(hill.account, week, NOW + timedelta(days=3))
    assert "- Ann: Step 2 in Data, waiting 5 days\n" in mail_outbox[0].body


def test_the_email_carries_its_html_part_and_one_click_unsubscribe(hill, mail_outbox):
    week = week_by_key(hill.account, WEEK)
    digests.send_week(hill.account, week, NOW)
    message = next(m for m in mail_outbox if m.recipients == [hill.people["Mo"].email])
    row = db.session.scalar(select(DigestDelivery).where(
        DigestDelivery.user_id == hill.people["Mo"].id, DigestDelivery.week == WEEK))
    assert row.html_body and "Ann" in message.html and message.html == row.html_body
    assert row.unsubscribe_url and "/digest/unsubscribe/" in row.unsubscribe_url
    assert message.extra_headers["List-Unsubscribe"] == f"<{row.unsubscribe_url}>"


def test_the_send_job_for_a_school_that_is_gone_does_nothing(hill, mail_outbox):
    """The job was staged, then the school was deleted before a worker took it."""
    from mentorgroups.models import Account

    gone = db.session.scalar(select(func.max(Account.id))) + 1
    assert digests.send_digests(gone, WEEK) is None
    assert mail_outbox == [] and count(DigestDelivery) == 0
