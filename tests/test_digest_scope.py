"""A person's digest reads only that person's groups: the preview and the weekly send take
the same statements in a school of 10 groups and of 500, say the same about the same group,
and a Group Admin's walk down (or a section's walk up) a tree left with a loop ends.

Each school: a Root group with Gail as its Group Admin, and groups below it (two levels),
each with a Mentor and two members who moved last week, one with work waiting. Mo mentors
"Group 0001" only; it looks the same in every school."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, insert, select, update

from mentorgroups.extensions import db
from mentorgroups.jobs import outbox
from mentorgroups.models import (
    AccountMembership,
    DigestDelivery,
    DigestSubscription,
    GroupMembership,
    MentorGroup,
    OutboxJob,
    StepCompletion,
    Submission,
    User,
)
from mentorgroups.services import digests, groups
from mentorgroups.services import group_members as gm
from mentorgroups.services.digest_content import build_digests
from mentorgroups.services.digest_weeks import latest_due_week
from tests.conftest import statements_for, statements_of
from tests.deadline import sql_ends_within
from tests.factories import make_account, make_cohort, make_member, make_path
from tests.kept_scenes import kept_scene

NOW = datetime(2026, 11, 30, 8, 5, tzinfo=UTC)  # five minutes after Monday's send
CLOCK_START = NOW - timedelta(days=40)  # the schools are built then; the tests run at NOW


def _school(size: int):
    """A school of `size` groups, written in a few bulk INSERTs."""
    account = make_account(plan="complete")
    admin = make_member(account, "admin", full_name="Ada Admin")
    mo = make_member(account, "staff", full_name="Mo Mentor")
    gail = make_member(account, "staff", full_name="Gail Groupadmin")
    path = make_path(account, steps=3, review_at=(2,), title="Data")
    cohort = make_cohort(path)
    root = groups.create_group(admin, account.id, "Root")
    gm.add_members(admin, account.id, root.id, "group_admin", user_ids=[gail.id])
    db.session.flush()
    first_level = max((size - 1) // 10, 1)
    ids = list(db.session.scalars(insert(MentorGroup).returning(MentorGroup.id), [
        {"account_id": account.id, "name": f"Group {n:04d}", "parent_id": root.id,
         "description": "", "created_at": NOW - timedelta(days=30)}
        for n in range(1, first_level + 1)]))
    ids += list(db.session.scalars(insert(MentorGroup).returning(MentorGroup.id), [
        {"account_id": account.id, "name": f"Group {n:04d}",
         "parent_id": ids[(n - first_level - 1) % first_level], "description": "",
         "created_at": NOW - timedelta(days=30)}
        for n in range(first_level + 1, size)]))
    people = list(db.session.scalars(insert(User).returning(User.id), [
        {"email": f"p{account.id}-{n}@example.test", "full_name": f"Person {n:04d}",
         "password_hash": None, "active": True} for n in range(3 * len(ids))]))
    db.session.execute(insert(AccountMembership), [
        {"account_id": account.id, "user_id": uid, "role": "member" if n % 3 else "staff",
         "status": "active"} for n, uid in enumerate(people)])
    memberships, subscriptions = [], []
    for g, gid in enumerate(ids):
        staff, *learners = people[3 * g:3 * g + 3]
        if g == 0:
            staff = mo.id  # Mo mentors Group 0001 (its own mentor stays a member of nothing)
        memberships.append({"group_id": gid, "user_id": staff, "role": "mentor",
                            "created_at": NOW - timedelta(days=30)})
        subscriptions.append({"user_id": staff, "group_id": gid, "subscribed": True,
                              "updated_at": NOW - timedelta(days=30)})
        memberships += [{"group_id": gid, "user_id": uid, "role": "member",
                         "created_at": NOW - timedelta(days=30)} for uid in learners]
    db.session.execute(insert(GroupMembership), memberships)
    db.session.execute(insert(DigestSubscription), subscriptions)
    learners = [uid for n, uid in enumerate(people) if n % 3]
    db.session.execute(insert(StepCompletion), [
        {"user_id": uid, "step_id": path.steps[k].id, "cohort_id": cohort.id,
         "completed_at": NOW - timedelta(days=2, hours=k)}
        for uid in learners for k in range(2)])
    db.session.execute(insert(Submission), [
        {"account_id": account.id, "user_id": uid, "step_id": path.steps[1].id,
         "cohort_id": cohort.id, "content": "work", "status": "pending",
         "submitted_at": NOW - timedelta(days=2, hours=1)} for uid in learners[::2]])
    db.session.commit()
    return account, mo, gail


def _section_lines(digest) -> list[str]:
    text = re.sub(r":? ?https?://\S+", "", digests.render(digest)["text"])
    shown = [line.rstrip() for line in text.splitlines() if line.strip()]
    return shown[shown.index(next(x for x in shown if x.startswith("== "))):shown.index("--")]


def rows_read(fn) -> int:
    """Rows the SELECT statements `fn()` runs return: each statement recorded with its
    parameters, then run again on its own and its rows counted (the database's answer, not
    what the code kept of it)."""
    recorded = []

    def record(conn, cursor, statement, parameters, context, executemany):
        recorded.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        fn()
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    connection = db.session.connection()
    return sum(len(connection.exec_driver_sql(statement, parameters).all())
               for statement, parameters in recorded
               if statement.lstrip().upper().startswith(("SELECT", "WITH")))


@pytest.fixture
def schools(app, clock, request):
    return kept_scene(request, build_schools, clock=clock)


def build_schools(clock):
    few, many = _school(10), _school(500)
    clock.move_to(NOW)
    db.session.expire_all()
    return few, many


@pytest.mark.scale
def test_a_mentors_preview_takes_the_same_statements_in_a_school_of_10_and_of_500_groups(
        schools, client):
    (few, mo_few, _), (many, mo_many, _) = schools
    counts, previews = [], []
    for account, mo in ((few, mo_few), (many, mo_many)):
        counts.append(statements_of(lambda a=account, m=mo: previews.append(
            digests.preview_for(m, a, NOW))))
    assert counts[0] == counts[1], counts
    # And the same rows: Mo's group's, not the school's members and completions.
    read = [rows_read(lambda a=account, m=mo: digests.preview_for(m, a, NOW))
            for account, mo in ((few, mo_few), (many, mo_many))]
    assert read[0] == read[1], read
    assert [s.group_name for s in previews[1].sections] == ["Group 0001"]
    assert _section_lines(previews[0]) == _section_lines(previews[1])
    assert (previews[1].waiting, previews[1].active_members) == (1, 2)

    # The page too, signed in as each school's Mo: the same statements, the same content.
    pages = []
    for account, mo in ((few, mo_few), (many, mo_many)):
        client.login(mo.email, account_id=account.id)
        pages.append(statements_for(client, "/people/digest"))
        html = client.get("/people/digest").get_data(as_text=True)
        assert "Group 0001" in html and "Group 0002" not in html
        client.post_form("/logout", token_page="/people/digest")
    assert pages[0] == pages[1], pages


@pytest.mark.scale
def test_a_group_admin_at_the_root_takes_the_same_statements_over_10_and_500_groups(schools):
    (few, _, gail_few), (many, _, gail_many) = schools
    built = {}
    counts = [statements_of(lambda a=a, g=g: built.setdefault(a.id, build_digests(
        a, latest_due_week(a, NOW), NOW, user_ids=[g.id])))
        for a, g in ((few, gail_few), (many, gail_many))]
    assert counts[0] == counts[1], counts
    # Her Root section counts every member below it: two per group.
    assert [s.members_total for s in built[many.id][0].sections] == [2 * 499]
    assert [s.members_total for s in built[few.id][0].sections] == [2 * 9]


@pytest.mark.scale
def test_one_recipients_weekly_send_takes_the_same_statements_at_10_and_500_groups(
        schools, mail_outbox):
    """Everyone else turned the digest off: sending the week builds, stages and mails Mo's
    digest in the same statements whatever the size of the school."""
    (few, mo_few, _), (many, mo_many, _) = schools
    db.session.execute(update(DigestSubscription).where(
        DigestSubscription.user_id.not_in([mo_few.id, mo_many.id])).values(subscribed=False))
    db.session.commit()
    counts = []
    for account in (few, many):
        week = latest_due_week(account, NOW)
        counts.append(statements_of(lambda a=account, w=week: digests.send_week(a, w, NOW)))
    assert counts[0] == counts[1], counts
    read = [rows_read(lambda a=account, m=mo: build_digests(
        a, latest_due_week(a, NOW), NOW, user_ids=[m.id]))
        for account, mo in ((few, mo_few), (many, mo_many))]
    assert read[0] == read[1], read
    sent = sorted(m.recipients[0] for m in mail_outbox)
    assert sent == sorted([mo_few.email, mo_many.email])
    assert list(db.session.scalars(select(DigestDelivery.status).where(
        DigestDelivery.user_id == mo_many.id))) == ["sent"]


@pytest.mark.scale
def test_each_chunk_of_the_weekly_send_builds_only_its_own_peoples_digests(schools,
                                                                           monkeypatch):
    """A school of 500 mentors: the send builds the digests a chunk of people at a time,
    each from those people's groups only, and every mentor's digest is staged once. (The
    staged emails are not run: rendering and recording 500 emails is other tests' subject,
    and was nearly all of this test's time.)"""
    _, (many, _, _) = schools
    monkeypatch.setattr(digests, "CHUNK", 100)
    dispatched = []
    monkeypatch.setattr(outbox, "dispatch", dispatched.extend)
    asked = []
    real = digests.build_digests

    def build(account, week, now, user_ids=None):
        asked.append(list(user_ids))
        return real(account, week, now, user_ids=user_ids)

    monkeypatch.setattr(digests, "build_digests", build)
    counts = digests.send_week(many, latest_due_week(many, NOW), NOW)
    assert counts == {"staged": 500, "skipped": 0}  # 499 mentors (Mo one of them), Gail
    assert [len(ids) for ids in asked] == [100] * 5
    assert len({uid for ids in asked for uid in ids}) == 500
    staged = db.session.execute(select(OutboxJob.name, OutboxJob.status)
                                .where(OutboxJob.id.in_(dispatched))).all()
    assert len(dispatched) == 500
    assert {tuple(row) for row in staged} == {("send_digest_email", "staged")}
    assert len(staged) == 500


def test_a_loop_with_groups_below_it_ends_for_the_group_admin_and_the_mentor(app, clock):
    """Moves that raced left A under C under B under A, with D below C and E below D. Gail
    administers B, so her sections (B, and D she turned on) walk down through the loop and
    up from D into it; Mo mentors E only. Every walk ends, and says who is where."""
    account = make_account(plan="complete")
    admin = make_member(account, "admin")
    gail = make_member(account, "staff", full_name="Gail Groupadmin")
    mo = make_member(account, "staff", full_name="Mo Mentor")
    learners = {name: make_member(account, "member", full_name=f"{name} Learner")
                for name in "ABCDE"}
    made = {}
    for name, parent in (("A", None), ("B", "A"), ("C", "B"), ("D", "C"), ("E", "D")):
        made[name] = groups.create_group(admin, account.id, name,
                                         parent_id=made[parent].id if parent else None)
        gm.add_members(admin, account.id, made[name].id, "member",
                       user_ids=[learners[name].id])
    gm.add_members(admin, account.id, made["B"].id, "group_admin", user_ids=[gail.id])
    gm.add_members(admin, account.id, made["E"].id, "mentor", user_ids=[mo.id])
    from mentorgroups.services import digest_subscriptions

    digest_subscriptions.set_subscription(gail, account.id, made["D"].id, True)
    db.session.commit()
    db.session.execute(update(MentorGroup).where(MentorGroup.id == made["A"].id)
                       .values(parent_id=made["C"].id))
    db.session.commit()
    clock.move_to(NOW)
    with sql_ends_within(10, "the digests of a school whose tree has a loop with groups below"):
        built = {d.name: {s.group_name: sorted(m.name for m in s.members) for s in d.sections}
                 for d in build_digests(account, latest_due_week(account, NOW), NOW)}
    everyone = sorted(f"{name} Learner" for name in "ABCDE")
    assert built == {"Gail Groupadmin": {"B": everyone, "D": ["D Learner", "E Learner"]},
                     "Mo Mentor": {"E": ["E Learner"]}}


def _sections(account) -> dict[str, dict[str, list[str]]]:
    return {d.name: {s.group_name: sorted(m.name for m in s.members) for s in d.sections}
            for d in build_digests(account, latest_due_week(account, NOW), NOW)}


def test_a_group_admin_who_also_mentors_a_group_gets_that_groups_members_only(app, clock):
    """Gail administers Top (Below nested in it) and mentors Side (Side below nested in
    it): her Top section counts the tree under it, her Side section Side's own members,
    as for any mentor; her role in one group never widens another section."""
    account = make_account(plan="complete")
    admin = make_member(account, "admin")
    gail = make_member(account, "staff", full_name="Gail Groupadmin")
    made = {}
    for name, parent in (("Top", None), ("Below", "Top"), ("Side", None),
                         ("Side below", "Side")):
        made[name] = groups.create_group(admin, account.id, name,
                                         parent_id=made[parent].id if parent else None)
        learner = make_member(account, "member", full_name=f"{name} Learner")
        gm.add_members(admin, account.id, made[name].id, "member", user_ids=[learner.id])
    gm.add_members(admin, account.id, made["Top"].id, "group_admin", user_ids=[gail.id])
    gm.add_members(admin, account.id, made["Side"].id, "mentor", user_ids=[gail.id])
    db.session.commit()
    clock.move_to(NOW)
    assert _sections(account)["Gail Groupadmin"] == {
        "Side": ["Side Learner"], "Top": ["Below Learner", "Top Learner"]}


def test_a_group_of_another_school_hung_below_a_section_is_not_walked_into(app, clock):
    """Damage `flask groups check` repairs: another school's group whose parent is Gail's
    Top. Her Top section stops at her school's edge, so a person of both schools who is a
    member there only is not in it."""
    account, elsewhere = make_account(plan="complete"), make_account(plan="complete")
    admin, their_admin = make_member(account, "admin"), make_member(elsewhere, "admin")
    gail = make_member(account, "staff", full_name="Gail Groupadmin")
    top = groups.create_group(admin, account.id, "Top")
    learner = make_member(account, "member", full_name="Top Learner")
    gm.add_members(admin, account.id, top.id, "member", user_ids=[learner.id])
    gm.add_members(admin, account.id, top.id, "group_admin", user_ids=[gail.id])
    guest = make_member(account, "member", full_name="Guest Learner")
    make_member(elsewhere, "member", user=guest)
    theirs = groups.create_group(their_admin, elsewhere.id, "Theirs")
    gm.add_members(their_admin, elsewhere.id, theirs.id, "member", user_ids=[guest.id])
    db.session.commit()
    db.session.execute(update(MentorGroup).where(MentorGroup.id == theirs.id)
                       .values(parent_id=top.id))
    db.session.commit()
    clock.move_to(NOW)
    assert _sections(account)["Gail Groupadmin"] == {"Top": ["Top Learner"]}
