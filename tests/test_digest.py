"""The weekly Mentor Digest: who gets it, what it says, and that each person gets exactly one
per school and week."""

from __future__ import annotations

import re
import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from mentorgroups.extensions import db
from mentorgroups.models import (
    AccountMembership,
    DigestDelivery,
    DigestRun,
    DigestSubscription,
    GroupMembership,
    OutboxJob,
    SentEmail,
    StepCompletion,
    Submission,
)
from mentorgroups.services import digest_subscriptions, digests, groups
from mentorgroups.services import group_members as gm
from mentorgroups.services.digest_content import (
    MEMBERS_SHOWN,
    PENDING_SHOWN,
    build_digests,
)
from mentorgroups.services.digest_weeks import latest_due_week, preview_week, week_by_key
from tests.conftest import BACKEND, statements_of
from tests.factories import make_account, make_cohort, make_member, make_path
from tests.kept_scenes import kept_scene


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


SEND = utc(2026, 11, 30, 8, 0)  # Monday 30 Nov 08:00 London (GMT)
NOW = SEND + timedelta(minutes=5)
CLOCK_START = SEND - timedelta(days=3)  # the school opens on the Friday before the send


@pytest.fixture
def s(app, clock, request):
    return kept_scene(request, build_s, clock=clock)


def build_s(clock):
    """Hill School (Europe/London, Monday 08:00), opened on Friday 27 Nov: Coaching with a
    mentor, a Group Admin and three members; Data analysts nested below it with one member;
    a path of 4 steps. The test then runs at NOW, five minutes after Monday's send time."""
    account = make_account(name="Hill School", plan="complete")
    account.time_zone = "Europe/London"
    admin = make_member(account, "admin", full_name="Ada Admin")
    mentor = make_member(account, "staff", full_name="Mo Mentor")
    boss = make_member(account, "staff", full_name="Gail Groupadmin")
    ann, bob, cid, dee = (make_member(account, "member", full_name=n)
                          for n in ("Ann", "Bob", "Cid", "Dee"))
    path = make_path(account, steps=4, review_at=(2, 3), title="Data")
    cohort = make_cohort(path, learners=[ann, bob, cid, dee])
    coaching = groups.create_group(admin, account.id, "Coaching")
    analysts = groups.create_group(admin, account.id, "Data analysts", parent_id=coaching.id)
    gm.add_members(admin, account.id, coaching.id, "mentor", user_ids=[mentor.id])
    gm.add_members(admin, account.id, coaching.id, "group_admin", user_ids=[boss.id])
    gm.add_members(admin, account.id, coaching.id, "member", user_ids=[ann.id, bob.id, cid.id])
    gm.add_members(admin, account.id, analysts.id, "member", user_ids=[dee.id])
    db.session.commit()
    clock.move_to(NOW)
    return type("S", (), dict(account=account, admin=admin, mentor=mentor, boss=boss, ann=ann,
                              bob=bob, cid=cid, dee=dee, path=path, cohort=cohort,
                              coaching=coaching, analysts=analysts))


def complete(s, person, position: int, at: datetime, submit: bool = False):
    step = s.path.steps[position - 1]
    db.session.add(StepCompletion(user_id=person.id, step_id=step.id, cohort_id=s.cohort.id,
                                  completed_at=at))
    if submit:
        db.session.add(Submission(account_id=s.account.id, user_id=person.id, step_id=step.id,
                                  cohort_id=s.cohort.id, content="work", submitted_at=at))
    db.session.commit()


def digest_of(s, person, now=NOW):
    week = latest_due_week(s.account, now)
    found = [d for d in build_digests(s.account, week, now) if d.user_id == person.id]
    return found[0] if found else None


# ---------------------------------------------------------------- weeks and time zones


def test_the_week_is_the_seven_local_days_before_the_send_date(s):
    week = latest_due_week(s.account, NOW)
    assert (week.key, week.label) == ("2026-W49", "23 Nov \u2013 29 Nov 2026")
    assert (week.start, week.end, week.send_at) == (utc(2026, 11, 23), utc(2026, 11, 30), SEND)
    # Just before 08:00 on Monday, the latest due digest is last week's.
    assert latest_due_week(s.account, SEND - timedelta(seconds=1)).key == "2026-W48"
    assert week_by_key(s.account, "2026-W49") == week


def test_a_daylight_saving_change_inside_the_week(s):
    """New York leaves summer time on Sunday 1 Nov 2026: that week has 169 hours, and a step
    done at 23:30 on Sunday (local) counts in it while 00:30 on Monday does not."""
    s.account.time_zone = "America/New_York"
    db.session.commit()
    week = week_by_key(s.account, "2026-W45")  # sent Monday 2 Nov
    assert week.end - week.start == timedelta(hours=169)
    assert week.start == utc(2026, 10, 26, 4) and week.end == utc(2026, 11, 2, 5)
    complete(s, s.ann, 1, utc(2026, 11, 2, 4, 30))  # 23:30 Sunday EST
    complete(s, s.bob, 1, utc(2026, 11, 2, 5, 30))  # 00:30 Monday EST
    digest = build_digests(s.account, week, week.send_at + timedelta(hours=1),
                           user_ids=[s.mentor.id])[0]
    rows = {m.name: m for m in digest.sections[0].members}
    assert rows["Ann"].paths[0].done_last_week == 1 and not rows["Ann"].no_progress
    assert rows["Bob"].paths[0].done_last_week == 0 and rows["Bob"].no_progress


def test_two_time_zones_put_the_same_moment_in_different_weeks(s):
    """Sunday 29 Nov 20:00 UTC is still Sunday in London but already Monday in Auckland."""
    moment = utc(2026, 11, 29, 20)
    complete(s, s.ann, 1, moment)
    london = digest_of(s, s.mentor, now=utc(2026, 11, 30, 9))
    assert {m.name: m.no_progress for m in london.sections[0].members}["Ann"] is False
    s.account.time_zone = "Pacific/Auckland"
    db.session.commit()
    week = latest_due_week(s.account, utc(2026, 11, 30, 9))  # Mon 30 Nov 22:00 NZDT
    assert week.key == "2026-W49" and week.end == utc(2026, 11, 29, 11)
    auckland = build_digests(s.account, week, utc(2026, 11, 30, 9), user_ids=[s.mentor.id])[0]
    assert {m.name: m.no_progress for m in auckland.sections[0].members}["Ann"] is True


# ---------------------------------------------------------------- who gets it


def test_becoming_staff_turns_it_on_member_turns_it_off_and_choices_survive(s):
    assert digest_subscriptions.is_subscribed(s.mentor.id, s.coaching.id)
    assert digest_subscriptions.is_subscribed(s.boss.id, s.coaching.id)
    assert not digest_subscriptions.is_subscribed(s.ann.id, s.coaching.id)
    assert not digest_subscriptions.is_subscribed(s.boss.id, s.analysts.id)  # only direct
    digest_subscriptions.set_subscription(s.mentor, s.account.id, s.coaching.id, False)
    gm.change_role(s.admin, s.account.id, s.coaching.id, s.mentor.id, "group_admin")
    assert not digest_subscriptions.is_subscribed(s.mentor.id, s.coaching.id)  # kept off
    gm.change_role(s.admin, s.account.id, s.coaching.id, s.mentor.id, "member")
    gm.change_role(s.admin, s.account.id, s.coaching.id, s.mentor.id, "mentor")
    assert digest_subscriptions.is_subscribed(s.mentor.id, s.coaching.id)  # on again
    gm.change_role(s.admin, s.account.id, s.coaching.id, s.ann.id, "mentor")
    assert digest_subscriptions.is_subscribed(s.ann.id, s.coaching.id)
    gm.change_role(s.admin, s.account.id, s.coaching.id, s.ann.id, "member")
    assert not digest_subscriptions.is_subscribed(s.ann.id, s.coaching.id)


def test_the_switch_answers_with_that_persons_row_for_that_group(s):
    """Several people follow one group and one person several groups: each change answers
    with the row it changed."""
    for person, group, on in ((s.boss, s.analysts, True), (s.mentor, s.coaching, False),
                              (s.boss, s.coaching, False), (s.boss, s.analysts, False)):
        row = digest_subscriptions.set_subscription(person, s.account.id, group.id, on)
        assert (row.user_id, row.group_id, row.subscribed) == (person.id, group.id, on)


def test_a_group_admin_may_turn_it_on_for_a_nested_group_and_members_may_not(s):
    digest_subscriptions.set_subscription(s.boss, s.account.id, s.analysts.id, True)
    assert digest_subscriptions.is_subscribed(s.boss.id, s.analysts.id)
    from mentorgroups.services.errors import NotFound

    with pytest.raises(NotFound):
        digest_subscriptions.set_subscription(s.ann, s.account.id, s.coaching.id, True)
    with pytest.raises(NotFound):  # a mentor of Coaching does not follow the nested group
        digest_subscriptions.set_subscription(s.mentor, s.account.id, s.analysts.id, True)


def test_an_accepted_invitation_as_mentor_turns_it_on(s, mail_outbox):
    import re

    from mentorgroups.services import invitations
    from tests.factories import make_user

    newcomer = make_user(email="nia@new.test")
    gm.add_members(s.admin, s.account.id, s.coaching.id, "mentor", addresses="nia@new.test")
    db.session.commit()
    token = re.search(r"/invitations/(\S+)", mail_outbox[-1].body).group(1)
    invitations.accept(newcomer, token)
    assert digest_subscriptions.is_subscribed(newcomer.id, s.coaching.id)


def test_revoked_inactive_and_unsubscribed_people_get_nothing(s):
    complete(s, s.ann, 2, NOW - timedelta(days=2), submit=True)
    assert {d.user_id for d in build_digests(s.account, latest_due_week(s.account, NOW), NOW)} \
        == {s.mentor.id, s.boss.id}
    db.session.scalar(select(AccountMembership).where(
        AccountMembership.user_id == s.mentor.id)).status = "revoked"
    s.boss.active = False
    db.session.commit()
    assert build_digests(s.account, latest_due_week(s.account, NOW), NOW) == []


def test_a_revoked_member_is_not_in_the_digest(s):
    complete(s, s.ann, 2, NOW - timedelta(days=2), submit=True)
    complete(s, s.bob, 2, NOW - timedelta(days=2), submit=True)
    db.session.scalar(select(AccountMembership).where(
        AccountMembership.user_id == s.bob.id)).status = "revoked"
    db.session.commit()
    section = digest_of(s, s.mentor).sections[0]
    assert [i.member for i in section.pending] == ["Ann"]
    assert "Bob" not in {m.name for m in section.members}


# ---------------------------------------------------------------- what it says


def test_pending_review_oldest_first_with_stale_flags_and_more(s):
    complete(s, s.ann, 2, NOW - timedelta(days=9), submit=True)
    complete(s, s.bob, 2, NOW - timedelta(hours=5), submit=True)
    complete(s, s.cid, 3, NOW - timedelta(days=3), submit=True)
    section = digest_of(s, s.mentor).sections[0]
    assert [(i.member, i.waited, i.stale) for i in section.pending] == [
        ("Ann", "9 days", True), ("Cid", "3 days", False), ("Bob", "5 hours", False)]
    assert section.pending_total == 3 and section.stale_total == 1 and section.pending_more == 0


def test_more_than_25_waiting_shows_the_oldest_25_and_and_n_more(s):
    learners = [make_member(s.account, "member", full_name=f"L{n:02d}") for n in range(30)]
    gm.add_members(s.admin, s.account.id, s.coaching.id, "member",
                   user_ids=[p.id for p in learners])
    for n, person in enumerate(learners):
        complete(s, person, 2, NOW - timedelta(hours=40 - n), submit=True)
    digest = digest_of(s, s.mentor)
    section = digest.sections[0]
    assert len(section.pending) == PENDING_SHOWN and section.pending_more == 5
    assert section.pending[0].member == "L00"
    content = digests.render(digest)
    assert "and 5 more" in content["text"] and "and 5 more" in content["html"]


def crowd(s, group, count: int, prefix: str = "M") -> list:
    people = [make_member(s.account, "member", full_name=f"{prefix}{n:02d}") for n in range(count)]
    gm.add_members(s.admin, s.account.id, group.id, "member", user_ids=[p.id for p in people])
    db.session.commit()
    return people


def test_a_group_of_51_lists_all_51_those_who_progressed_first(s):
    """The old digest stopped at 50 members, the ones without progress first, so M47 (the
    only one who moved) was cut. Now everyone is listed: progressed, no progress, not
    started; and the group page is linked for the full list."""
    people = crowd(s, s.coaching, 48)  # with Ann, Bob and Cid: 51
    complete(s, people[47], 1, NOW - timedelta(days=1))  # M47 moved last week
    complete(s, s.ann, 1, NOW - timedelta(days=10))  # Ann started, not last week
    section = digest_of(s, s.mentor).sections[0]
    assert section.members_total == 51 and len(section.members) == 51
    assert [m.name for m in section.progressed] == ["M47"]
    assert [m.name for m in section.idle] == ["Ann"]
    assert len(section.not_started) == 49 and section.members[2].name == "Bob"
    text = digests.render(digest_of(s, s.mentor))["text"]
    shown = [line for line in text.splitlines() if line.startswith("- ")]
    assert len(shown) == 51 and shown[0] == "- M47: 1 step (Data 1); now 1/4; last 29 Nov"
    assert shown[1] == "- Ann: now 1/4; last 20 Nov"
    assert [line[2:] for line in shown[2:]] == ["Bob", "Cid", *(f"M{n:02d}" for n in range(47))]
    assert "more member" not in text
    assert "Every member on the group page: http" in text and f"/people/groups/{s.coaching.id}" \
        in text
    assert "Progress last week: 1 progressed, 1 no progress, 49 not started" in text


def test_a_group_admins_tree_of_80_with_22_active_lists_all_80_active_first(s):
    """Gail administers Coaching, whose nested Data analysts' members count in her section:
    80 members over the two groups, 22 of whom moved last week: all 80, those 22 first."""
    upstairs = crowd(s, s.coaching, 40, "C")
    downstairs = crowd(s, s.analysts, 36, "D")  # with Ann, Bob, Cid and Dee: 80
    active = upstairs[:11] + downstairs[-11:]
    for person in active:
        complete(s, person, 1, NOW - timedelta(days=3))
    section = digest_of(s, s.boss).sections[0]
    assert section.members_total == len(section.members) == 80
    assert {m.user_id for m in section.members[:22]} == {p.id for p in active}
    assert all(m.no_progress for m in section.members[22:])
    mentor = digest_of(s, s.mentor).sections[0]  # Coaching's Mentor: its own 43 members
    assert len(mentor.members) == 43 and not {m.name for m in mentor.members} & {
        p.full_name for p in downstairs}
    text = digests.render(digest_of(s, s.boss))["text"]
    assert sum(1 for line in text.splitlines() if line.startswith("- ")) == 80


def test_progressed_then_no_progress_then_nothing_started_finished_is_marked(s):
    complete(s, s.ann, 1, NOW - timedelta(days=12))  # started, nothing last week
    for position in (1, 2, 3, 4):  # Bob finished the path last week
        complete(s, s.bob, position, NOW - timedelta(days=5 - position))
    section = digest_of(s, s.mentor).sections[0]
    names = [(m.name, m.no_progress, m.started) for m in section.members]
    assert names == [("Bob", False, True), ("Ann", True, True), ("Cid", True, False)]
    bob = section.members[0].paths[0]
    assert (bob.done_last_week, bob.completed, bob.total, bob.percent,
            bob.finished_last_week) == (4, 4, 4, 100, True)
    assert section.members[0].line == "4 steps (Data 4); finished Data; now 4/4; last 29 Nov"
    assert section.members[2].paths == [] and section.members[2].line == ""


# ---------------------------------------------------------------- the school's time zone


def test_last_activity_is_the_schools_date_not_the_utc_date(s):
    """Ann works at 22:59 on Thursday 26 Nov in New York: 03:59 on Friday in UTC. The
    digest says 26 Nov, in the text and in the HTML, and never 27 Nov."""
    s.account.time_zone = "America/New_York"
    db.session.commit()
    complete(s, s.ann, 1, utc(2026, 11, 27, 3, 59))
    week = week_by_key(s.account, "2026-W49")  # Monday 30 Nov 08:00 New York
    now = week.send_at + timedelta(minutes=5)
    ann = next(m for m in build_digests(s.account, week, now, user_ids=[s.mentor.id])[0]
               .sections[0].members if m.name == "Ann")
    assert ann.last == "26 Nov" and ann.paths[0].last_activity.day == 26
    assert ann.line == "1 step (Data 1); now 1/4; last 26 Nov"
    content = digests.render(build_digests(s.account, week, now, user_ids=[s.mentor.id])[0])
    assert "last 26 Nov" in content["text"] and "last 26 Nov" in content["html"]
    assert "27 Nov" not in content["text"] and "27 Nov" not in content["html"]
    s.account.time_zone = "UTC"  # the same moment, in a school on UTC: Friday
    db.session.commit()
    assert "last 27 Nov" in digests.render(build_digests(
        s.account, week_by_key(s.account, "2026-W49"), now, user_ids=[s.mentor.id])[0])["text"]


def test_a_last_step_in_another_year_says_the_year(s):
    complete(s, s.ann, 1, utc(2025, 12, 31, 23, 30))
    ann = next(m for m in digest_of(s, s.mentor).sections[0].members if m.name == "Ann")
    assert ann.last == "31 Dec 2025"


# ---------------------------------------------------------------- who is drifting


def test_drifting_is_no_progress_for_the_schools_number_of_days(s):
    """14 days by default, counted from the last step, or from joining the group for someone
    who has taken none. Ann: 19 days (drifting); Bob: 13 days (not); Cid: joined 3 days ago
    (not); after Cid has been in the group 20 days he is; at 10 days Bob is too."""
    complete(s, s.ann, 1, NOW - timedelta(days=19, hours=1))
    complete(s, s.bob, 1, NOW - timedelta(days=13, hours=1))

    def drifting():
        section = digest_of(s, s.mentor).sections[0]
        return {m.name: m.drift_note for m in section.members if m.drifting}

    assert drifting() == {"Ann": "drifting: no progress for 19 days"}
    text = digests.render(digest_of(s, s.mentor))["text"]
    assert "- Ann: now 1/4; last 11 Nov; drifting: no progress for 19 days" in text
    assert "- Bob: now 1/4; last 17 Nov\n" in text and "- Cid\n" in text
    assert "1 drifting (no progress for 14 days or more)" in text
    membership = db.session.scalar(select(GroupMembership).where(
        GroupMembership.user_id == s.cid.id))
    membership.created_at = NOW - timedelta(days=20)
    db.session.commit()
    assert drifting() == {"Ann": "drifting: no progress for 19 days",
                          "Cid": "drifting: no progress for 20 days"}
    assert "- Cid: drifting: no progress for 20 days" in digests.render(
        digest_of(s, s.mentor))["text"]
    s.account.drift_days = 10
    db.session.commit()
    assert set(drifting()) == {"Ann", "Bob", "Cid"}
    html = digests.render(digest_of(s, s.mentor))["html"]
    assert "3 drifting</strong> (no progress for 10 days or more)" in html


def test_a_nested_groups_members_count_for_the_parents_group_admin(s):
    complete(s, s.dee, 2, NOW - timedelta(days=1), submit=True)
    boss = digest_of(s, s.boss).sections[0]
    mentor = digest_of(s, s.mentor).sections[0]
    assert "Dee" in {m.name for m in boss.members} and boss.pending[0].member == "Dee"
    assert "Dee" not in {m.name for m in mentor.members} and mentor.pending == []


def test_a_member_of_two_groups_of_a_section_counts_from_joining_the_first(s):
    """Dee is in Data analysts and also in Coaching above it: the Group Admin's section
    (Coaching and everything below) counts her idle days from the earlier of the two joins,
    whichever of the two groups it was."""
    gm.add_members(s.admin, s.account.id, s.coaching.id, "member", user_ids=[s.dee.id])
    db.session.commit()
    rows = {row.group_id: row for row in db.session.scalars(select(GroupMembership).where(
        GroupMembership.user_id == s.dee.id))}
    for long_ago, lately in ((s.analysts.id, s.coaching.id), (s.coaching.id, s.analysts.id)):
        rows[long_ago].created_at = NOW - timedelta(days=20)
        rows[lately].created_at = NOW - timedelta(days=2)
        db.session.commit()
        section = digest_of(s, s.boss).sections[0]
        dee = [m for m in section.members if m.name == "Dee"]
        assert len(dee) == 1 and dee[0].drifting
        assert dee[0].drift_note == "drifting: no progress for 20 days"


def test_a_reader_who_is_a_member_of_a_group_in_their_section_is_not_listed(s):
    """Gail administers Coaching and is also a member of Data analysts below it: her
    section lists Dee there, not Gail herself."""
    gm.add_members(s.admin, s.account.id, s.analysts.id, "member", user_ids=[s.boss.id])
    db.session.commit()
    names = {m.name for m in digest_of(s, s.boss).sections[0].members}
    assert "Dee" in names and "Gail Groupadmin" not in names


def test_more_idle_members_than_shown_are_counted_for_the_preview(s):
    """30 members who started but did nothing last week: the preview shows MEMBERS_SHOWN of
    them and counts the rest; the email lists all."""
    people = crowd(s, s.coaching, 30, prefix="I")
    for person in people:
        complete(s, person, 1, NOW - timedelta(days=10))
    section = digest_of(s, s.mentor).sections[0]
    assert len(section.idle) == 30 and len(section.idle_shown) == MEMBERS_SHOWN
    assert section.idle_more == 30 - MEMBERS_SHOWN
    html = digests.render(digest_of(s, s.mentor))["html"]
    assert sum(1 for name in (p.full_name for p in people) if f"<strong>{name}</strong>" in html
               ) == 30


def test_a_group_with_nothing_to_report_sends_nothing(s):
    digest = digest_of(s, s.mentor)
    assert digest.is_empty
    counts = digests.send_week(s.account, latest_due_week(s.account, NOW), NOW)
    assert counts == {"staged": 0, "skipped": 2}
    assert count(SentEmail) == 0 and count(DigestDelivery, DigestDelivery.status == "skipped") == 2


def test_header_totals(s):
    complete(s, s.ann, 2, NOW - timedelta(days=8), submit=True)
    complete(s, s.dee, 2, NOW - timedelta(days=1), submit=True)
    digest = digest_of(s, s.boss)
    assert (digest.waiting, digest.stale, digest.active_members) == (2, 1, 1)


# ---------------------------------------------------------------- scale


def _school_of(size: int):
    account = make_account(plan="enterprise")
    admin = make_member(account, "admin")
    path = make_path(account, steps=3, review_at=(2,))
    people = [make_member(account, "member") for _ in range(size)]
    cohort = make_cohort(path, learners=people)
    parent = groups.create_group(admin, account.id, "Parent")
    child = groups.create_group(admin, account.id, "Child", parent_id=parent.id)
    mentors = [make_member(account, "staff") for _ in range(3)]
    gm.add_members(admin, account.id, parent.id, "mentor", user_ids=[m.id for m in mentors])
    gm.add_members(admin, account.id, child.id, "group_admin", user_ids=[mentors[0].id])
    half = size // 2
    gm.add_members(admin, account.id, parent.id, "member", user_ids=[p.id for p in people[:half]])
    gm.add_members(admin, account.id, child.id, "member", user_ids=[p.id for p in people[half:]])
    for n, person in enumerate(people):
        db.session.add(StepCompletion(user_id=person.id, step_id=path.steps[0].id,
                                      cohort_id=cohort.id, completed_at=NOW - timedelta(days=2)))
        if n % 3 == 0:
            db.session.add(Submission(account_id=account.id, user_id=person.id,
                                      step_id=path.steps[1].id, cohort_id=cohort.id,
                                      content="x", submitted_at=NOW - timedelta(days=n % 10)))
    db.session.commit()
    return account


@pytest.mark.scale
def test_building_every_digest_takes_the_same_statements_for_10_and_200_members(app):
    small, large = _school_of(10), _school_of(200)
    db.session.expire_all()
    results = {}

    def build(account):
        results[account.id] = build_digests(account, latest_due_week(account, NOW), NOW)

    few = statements_of(lambda: build(small))
    many = statements_of(lambda: build(large))
    assert few == many, (few, many)
    assert sum(s.members_total for d in results[large.id] for s in d.sections) > 200


def _bulk_members(account, group, size: int, path, cohort) -> None:
    """`size` members of `group` written in a few bulk INSERTs (factories would take minutes):
    a third moved last week, a third before, a third started nothing."""
    from sqlalchemy import insert

    from mentorgroups.models import User

    ids = list(db.session.scalars(insert(User).returning(User.id), [
        {"email": f"crowd{group.id}-{n}@example.test", "full_name": f"Crowd {n:04d} Member",
         "password_hash": None, "active": True} for n in range(size)]))
    db.session.execute(insert(AccountMembership), [
        {"account_id": account.id, "user_id": uid, "role": "member", "status": "active"}
        for uid in ids])
    db.session.execute(insert(GroupMembership), [
        {"group_id": group.id, "user_id": uid, "role": "member"} for uid in ids])
    db.session.execute(insert(StepCompletion), [
        {"user_id": uid, "step_id": path.steps[0].id, "cohort_id": cohort.id,
         "completed_at": NOW - timedelta(days=2 if n % 3 == 0 else 20)}
        for n, uid in enumerate(ids) if n % 3 != 2])
    db.session.commit()


@pytest.mark.scale
def test_the_digest_of_a_5000_member_group(s):
    """The same statements as for the 4 members of the fixture, and an email that grows by
    one short line per member: all 5,000 listed, within a per-member budget of bytes."""
    week = latest_due_week(s.account, NOW)
    complete(s, s.ann, 1, NOW - timedelta(days=1))
    small = statements_of(lambda: build_digests(s.account, week, NOW, user_ids=[s.mentor.id]))
    big = groups.create_group(s.admin, s.account.id, "Everyone")
    gm.add_members(s.admin, s.account.id, big.id, "mentor", user_ids=[s.mentor.id])
    _bulk_members(s.account, big, 5000, s.path, s.cohort)
    db.session.expire_all()
    built = []
    large = statements_of(lambda: built.extend(
        build_digests(s.account, week, NOW, user_ids=[s.mentor.id])))
    assert large == small, (small, large)
    section = next(x for x in built[0].sections if x.group_name == "Everyone")
    assert (len(section.members), len(section.progressed), len(section.idle),
            len(section.not_started), section.drifting_total) == (5000, 1667, 1667, 1666, 1667)
    content = digests.render(built[0])
    text, html = content["text"], content["html"]
    assert sum(1 for line in text.splitlines() if line.startswith("- Crowd")) == 5000
    assert html.count("<li><strong>Crowd") == 5000
    longest = max(len(line) for line in text.splitlines() if line.startswith("- Crowd"))
    assert longest <= 100, longest  # one short line per member
    print("digest of 5000:", small, "statements;", len(text.encode()), "bytes text,",
          len(html.encode()), "bytes html, longest line", longest)
    assert len(text.encode()) < 5000 * 60 + 10_000, len(text)
    assert len(html.encode()) < 5000 * 100 + 20_000, len(html)


# ---------------------------------------------------------------- exactly once


def test_sending_twice_sends_once_and_the_tick_starts_a_week_once(s, mail_outbox):
    complete(s, s.ann, 2, NOW - timedelta(days=2), submit=True)
    assert digests.tick(NOW) == 1
    assert digests.tick(NOW) == 0  # the same week: nothing new
    assert count(DigestRun) == 1
    week = latest_due_week(s.account, NOW)
    digests.send_week(s.account, week, NOW)
    digests.send_week(s.account, week, NOW)
    assert count(DigestDelivery) == 2 and count(SentEmail) == 2
    assert sorted(m.recipients[0] for m in mail_outbox) == sorted(
        [s.mentor.email, s.boss.email])
    assert count(OutboxJob, OutboxJob.name == "send_digest_email") == 2


def test_a_missed_week_is_sent_late_not_skipped(s):
    complete(s, s.ann, 2, NOW - timedelta(days=2), submit=True)
    late = SEND + timedelta(days=2, hours=3)  # everything was down until Wednesday
    assert digests.tick(late) == 1
    assert db.session.scalar(select(DigestRun.week)) == "2026-W49"
    assert count(SentEmail) == 2


def test_no_digest_for_a_week_before_the_school_existed(s):
    s.account.created_at = SEND + timedelta(hours=1)
    db.session.commit()
    assert digests.tick(SEND + timedelta(hours=2)) == 0


def test_stuck_claims_are_picked_up_by_the_next_tick(s):
    complete(s, s.ann, 2, NOW - timedelta(days=2), submit=True)
    week = latest_due_week(s.account, NOW)
    digests.claim(s.account, week)  # a sender died right after claiming
    for row in db.session.scalars(select(DigestDelivery)):
        row.created_at = NOW - timedelta(hours=1)
    db.session.add(DigestRun(account_id=s.account.id, week=week.key))
    db.session.commit()
    digests.tick(NOW)
    assert count(SentEmail) == 2 and count(DigestDelivery, DigestDelivery.status == "sent") == 2


@pytest.mark.skipif(BACKEND != "postgresql", reason="concurrent senders: a PostgreSQL matter")
def test_five_concurrent_sends_of_one_week_send_one_email_per_person(make_app, s):
    complete(s, s.ann, 2, NOW - timedelta(days=2), submit=True)
    extra = [make_member(s.account, "staff", full_name=f"Mentor {n}") for n in range(8)]
    gm.add_members(s.admin, s.account.id, s.coaching.id, "mentor",
                   user_ids=[m.id for m in extra])
    db.session.commit()
    app = make_app()
    account_id, barrier, errors = s.account.id, threading.Barrier(5), []

    def sender():
        try:
            with app.app_context():
                from mentorgroups.models import Account

                account = db.session.get(Account, account_id)
                barrier.wait()
                digests.send_week(account, week_by_key(account, "2026-W49"), NOW)
                db.session.remove()
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=sender) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    db.session.expire_all()
    recipients = list(db.session.scalars(select(SentEmail.recipient)))
    assert len(recipients) == len(set(recipients)) == 10


# ---------------------------------------------------------------- the switch, unsubscribing


def test_group_options_switch_on_the_group_page(client, s):
    client.login(s.mentor.email)
    page = client.get(f"/people/groups/{s.coaching.id}").get_data(as_text=True)
    assert "Weekly digest: <strong>on</strong>" in page
    client.post_form(f"/people/groups/{s.coaching.id}/digest", {"on": "0"},
                     token_page=f"/people/groups/{s.coaching.id}")
    assert not digest_subscriptions.is_subscribed(s.mentor.id, s.coaching.id)
    page = client.get(f"/people/groups/{s.coaching.id}").get_data(as_text=True)
    assert "Weekly digest: <strong>off</strong>" in page
    forged = client.post_form(f"/people/groups/{s.analysts.id}/digest", {"on": "1"},
                              token_page=f"/people/groups/{s.coaching.id}")
    assert forged.status_code == 404


def test_unsubscribe_link_turns_off_only_that_group_without_signing_in(client, s):
    digest_subscriptions.set_subscription(s.boss, s.account.id, s.analysts.id, True)
    db.session.commit()
    token = digest_subscriptions.unsubscribe_token(s.boss.id, [s.coaching.id])
    page = client.get(f"/digest/unsubscribe/{token}")
    assert page.status_code == 200 and "Stop the weekly digest?" in page.get_data(as_text=True)
    assert digest_subscriptions.is_subscribed(s.boss.id, s.coaching.id)  # a GET changes nothing
    done = client.post(f"/digest/unsubscribe/{token}")
    assert done.status_code == 200 and "Digest turned off" in done.get_data(as_text=True)
    db.session.expire_all()
    assert not digest_subscriptions.is_subscribed(s.boss.id, s.coaching.id)
    assert digest_subscriptions.is_subscribed(s.boss.id, s.analysts.id)
    assert digest_subscriptions.is_subscribed(s.mentor.id, s.coaching.id)
    assert client.post(f"/digest/unsubscribe/{token}x").status_code == 404


def test_an_expired_unsubscribe_link_says_so(make_app, s):
    app = make_app(DIGEST_UNSUBSCRIBE_TTL_DAYS=-1)
    with app.test_request_context():
        token = digest_subscriptions.unsubscribe_token(s.mentor.id, [s.coaching.id])
    response = app.test_client().post(f"/digest/unsubscribe/{token}")
    assert response.status_code == 404
    assert digest_subscriptions.is_subscribed(s.mentor.id, s.coaching.id)


# ---------------------------------------------------------------- CLI, preview, settings


def test_cli_dry_run_send_and_preview(app, s):
    complete(s, s.ann, 2, NOW - timedelta(days=2), submit=True)
    runner = app.test_cli_runner()
    dry = runner.invoke(args=["digests", "send", "--account", s.account.slug, "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "would send 2" in dry.output and count(DigestDelivery) == 0
    preview = runner.invoke(args=["digests", "preview", s.mentor.email])
    assert "Pending review (1)" in preview.output and "Ann: Step 2" in preview.output
    sent = runner.invoke(args=["digests", "send", "--account", s.account.slug])
    assert sent.exit_code == 0, sent.output
    assert "2 digest(s) on their way" in sent.output and count(SentEmail) == 2
    again = runner.invoke(args=["digests", "send", "--account", s.account.slug])
    assert "0 digest(s) on their way" in again.output and count(SentEmail) == 2
    bad = runner.invoke(args=["digests", "send", "--week", "2026-48"])
    assert bad.exit_code != 0 and "YYYY-Www" in bad.output


def test_preview_page_shows_the_digest_without_sending(client, s):
    complete(s, s.ann, 2, datetime.now(UTC) - timedelta(days=2), submit=True)
    client.login(s.mentor.email)
    page = client.get("/people/digest").get_data(as_text=True)
    assert "Pending review (1)" in page and "Ann: Step 2" in page
    assert count(SentEmail) == 0 and count(DigestDelivery) == 0


def test_the_preview_lists_who_progressed_and_the_first_others_of_a_big_group(client, s):
    """The preview page of a group of 63: the one who moved, Ann (no progress) and the first
    MEMBERS_SHOWN who started nothing, then how many more, linked to the group page; the
    email still lists all 63."""
    people = crowd(s, s.coaching, 60)  # with Ann, Bob and Cid: 63
    complete(s, people[59], 1, datetime.now(UTC) - timedelta(days=1))
    complete(s, s.ann, 1, datetime.now(UTC) - timedelta(days=10))
    client.login(s.mentor.email)
    page = client.get("/people/digest").get_data(as_text=True)
    part = re.search(r'data-part="not-started">(.*?)</ul>', page, re.S).group(1)
    listed = re.findall(r"<li><strong>([^<]+)</strong>", part)
    assert listed == ["Bob", "Cid", *(f"M{n:02d}" for n in range(MEMBERS_SHOWN - 2))]
    assert "Not started (61)" in page and "M59" in page and "Ann" in page
    more = re.search(r'data-more="not-started"><a href="([^"]+)"[^>]*>([^<]+)</a>', page)
    assert more.groups() == (f"/people/groups/{s.coaching.id}",
                             f"and {61 - MEMBERS_SHOWN} more on the group page")
    assert 'data-more="idle"' not in page and f"first {MEMBERS_SHOWN} of the others" in page
    text = digests.render(digest_of(s, s.mentor, now=datetime.now(UTC)))["text"]
    assert sum(1 for line in text.splitlines() if line.startswith("- ")) == 63
    assert "more on the group page" not in text


def test_school_settings_screen(client, s):
    client.login(s.admin.email)
    response = client.post_form("/admin/school/", {"time_zone": "Asia/Tokyo",
                                                   "digest_weekday": "4", "digest_hour": "17",
                                                   "drift_days": "21"})
    assert response.status_code == 302
    db.session.expire_all()
    account = db.session.get(type(s.account), s.account.id)
    assert (account.time_zone, account.digest_weekday, account.digest_hour,
            account.drift_days) == ("Asia/Tokyo", 4, 17, 21)
    for days, message in (("0", "from 1 to 365"), ("400", "from 1 to 365"),
                          ("soon", "Not a valid integer"), ("", "Give a number of days")):
        refused = client.post_form("/admin/school/", {"time_zone": "UTC", "digest_weekday": "0",
                                                      "digest_hour": "8", "drift_days": days})
        page = refused.get_data(as_text=True)
        assert refused.status_code == 200 and message in page, days
        assert 'value="UTC" selected' in page or 'selected value="UTC"' in page  # kept
        db.session.expire_all()
        assert db.session.get(type(s.account), s.account.id).drift_days == 21
    week = latest_due_week(account, utc(2026, 11, 27, 8, 30))  # Fri 17:30 Tokyo
    assert week.send_at == utc(2026, 11, 27, 8) and week.key == "2026-W48"
    bad = client.post_form("/admin/school/", {"time_zone": "Mars/Olympus",
                                              "digest_weekday": "9", "digest_hour": "30"})
    assert bad.status_code == 200 and "Not a valid choice" in bad.get_data(as_text=True)
    client.post_form("/logout", token_page="/admin/school/")
    client.login(s.mentor.email)
    assert client.get("/admin/school/").status_code == 403


def test_preview_week_covers_the_seven_days_before_today(s):
    week = preview_week(s.account, utc(2026, 11, 28, 12))
    assert week.start == utc(2026, 11, 21) and week.end == utc(2026, 11, 28)
    assert date(2026, 11, 28).isocalendar().week == int(week.key[-2:])


def test_becoming_a_member_writes_no_switch_and_only_staff_changes_flip_it(s):
    """A switch row exists only for people who were staff: adding a Member or moving between
    Mentor and Group Admin writes nothing new."""
    rows = lambda: count(DigestSubscription)  # noqa: E731
    before = rows()
    newcomer = make_member(s.account, "member", full_name="Nia")
    gm.add_members(s.admin, s.account.id, s.coaching.id, "member", user_ids=[newcomer.id])
    assert rows() == before
    gm.change_role(s.admin, s.account.id, s.coaching.id, s.mentor.id, "group_admin")
    assert rows() == before and digest_subscriptions.is_subscribed(s.mentor.id, s.coaching.id)


def test_an_unsubscribe_link_for_a_deleted_group_or_person_is_refused(s):
    from mentorgroups.services.errors import NotFound

    gone_group = digest_subscriptions.unsubscribe_token(s.mentor.id, [999_999])
    with pytest.raises(NotFound, match="not valid any more"):
        digest_subscriptions.unsubscribe(gone_group)
    gone_person = digest_subscriptions.unsubscribe_token(999_999, [s.coaching.id])
    with pytest.raises(NotFound, match="not valid any more"):
        digest_subscriptions.unsubscribe(gone_person)
    assert digest_subscriptions.is_subscribed(s.mentor.id, s.coaching.id)


def test_school_settings_service_checks_each_value_and_the_actor(s):
    from mentorgroups.services import school_settings
    from mentorgroups.services.errors import PermissionDenied, ServiceError

    account = school_settings.update(s.admin, s.account.id, "Asia/Tokyo", 2, 9)
    assert account is s.account and (account.time_zone, account.digest_weekday,
                                     account.digest_hour) == ("Asia/Tokyo", 2, 9)
    assert account.drift_days == 14  # the default, unchanged when not given
    school_settings.update(s.admin, s.account.id, "Asia/Tokyo", 2, 9, drift_days=30)
    assert account.drift_days == 30
    for days in (0, 366, -1):
        with pytest.raises(ServiceError) as refused:
            school_settings.update(s.admin, s.account.id, "Asia/Tokyo", 2, 9, drift_days=days)
        assert refused.value.field == "drift_days" and account.drift_days == 30
    with pytest.raises(PermissionDenied):
        school_settings.update(s.mentor, s.account.id, "Asia/Tokyo", 2, 9, drift_days=5)
    for zone, weekday, hour, field in (("Mars/Olympus", 0, 8, "time_zone"),
                                       ("UTC", 7, 8, "digest_weekday"),
                                       ("UTC", 0, 24, "digest_hour")):
        with pytest.raises(ServiceError) as refused:
            school_settings.update(s.admin, s.account.id, zone, weekday, hour)
        assert refused.value.field == field
    with pytest.raises(PermissionDenied):
        school_settings.update(s.mentor, s.account.id, "UTC", 0, 8)
    assert (s.account.time_zone, s.account.digest_weekday, s.account.digest_hour) == (
        "Asia/Tokyo", 2, 9)
