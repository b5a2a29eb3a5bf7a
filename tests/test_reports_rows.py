"""The two CSV reports row by row, on two schools that share a person: what an account admin
of Hill School downloads never shows Vale School's groups, memberships, invitations, paths,
cohorts or submissions; revoked people and their invitations are left out; only pending
invitations are listed; cohorts are the learner's own (not the one they teach); mentors are
not learners; a broken group tree (a cycle, a parent in another school) still gives a report;
and the helper thread that reads rows ahead stops when the reader stops and hands its errors
on."""

from __future__ import annotations

import csv
import io
import threading
import uuid
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from mentorgroups.csvfile import csv_chunks
from mentorgroups.extensions import db
from mentorgroups.models import (
    DigestSubscription,
    GroupMembership,
    Invitation,
    MentorGroup,
    Review,
    StepCompletion,
    Submission,
)
from mentorgroups.services import reports
from tests.deadline import ends_within
from tests.factories import make_account, make_cohort, make_member, make_path

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def at(days: float, hours: float = 0) -> datetime:
    """A moment `days` (and `hours`) before NOW."""
    return NOW - timedelta(days=days, hours=hours)


def rows_of(report: reports.Report) -> list[list[str]]:
    data = b"".join(csv_chunks(report.header, report.rows()))
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def group(account, name, parent=None):
    row = MentorGroup(account_id=account.id, name=name, parent_id=parent.id if parent else None)
    db.session.add(row)
    db.session.flush()
    return row


def put_in(grp, user, role, by, when):
    db.session.add(GroupMembership(group_id=grp.id, user_id=user.id, role=role,
                                   added_by_id=by.id, created_at=when))


def invite(grp, email, role, by, sent, expires, status="pending"):
    db.session.add(Invitation(account_id=grp.account_id, group_id=grp.id, email=email,
                              role=role, status=status, nonce=uuid.uuid4().hex,
                              token_hash=uuid.uuid4().hex, invited_by_id=by.id, sent_at=sent,
                              expires_at=expires))


def complete(user, step, cohort, when):
    db.session.add(StepCompletion(user_id=user.id, step_id=step.id, cohort_id=cohort.id,
                                  completed_at=when))


def submit(account, user, step, cohort, when, status="pending"):
    submission = Submission(account_id=account.id, user_id=user.id, step_id=step.id,
                            cohort_id=cohort.id, content="work", submitted_at=when,
                            status=status)
    db.session.add(submission)
    db.session.flush()
    return submission


def build_two_schools():
    """Hill School (three groups, one nested) and Vale School share Sam, who is a member of a
    group in each and learns a path in each. Rex's access to Hill is revoked; Pat's access to
    Vale is revoked (Pat was never in Hill). Mo mentors Hill's Circle and has also done a
    step himself; Tia mentors Analysts."""
    hill = make_account(name="Hill School")
    vale = make_account(name="Vale School")
    ada = make_member(hill, "admin", full_name="Ada Admin", email="ada@hill.test")
    mo = make_member(hill, "staff", full_name="Mo Mentor", email="mo@hill.test")
    tia = make_member(hill, "staff", full_name="Tia Teacher", email="tia@hill.test")
    bo = make_member(hill, "member", full_name="Bo Learner", email="bo@hill.test")
    rex = make_member(hill, "member", status="revoked", full_name="Rex Revoked",
                      email="rex@hill.test")
    sam = make_member(hill, "member", full_name="Sam Shared", email="sam@both.test")
    val = make_member(vale, "admin", full_name="Val Vale", email="val@vale.test")
    make_member(vale, "member", user=sam)
    pat = make_member(vale, "member", status="revoked", full_name="Pat Past",
                      email="pat@vale.test")

    circle = group(hill, "Circle")
    analysts = group(hill, "Analysts", parent=circle)
    writers = group(hill, "Writers")
    valeside = group(vale, "Vale Circle")

    put_in(circle, mo, "mentor", ada, at(10))
    put_in(circle, bo, "member", ada, at(9))
    put_in(circle, sam, "member", mo, at(8))
    put_in(circle, rex, "member", ada, at(9))
    put_in(analysts, tia, "mentor", ada, at(7))
    put_in(analysts, bo, "member", tia, at(6))
    put_in(valeside, sam, "member", val, at(5))
    put_in(valeside, val, "mentor", val, at(5))
    db.session.add(DigestSubscription(user_id=mo.id, group_id=circle.id, subscribed=True))
    db.session.add(DigestSubscription(user_id=tia.id, group_id=analysts.id, subscribed=False))

    invite(circle, "new@else.test", "member", ada, at(2), at(-5))
    invite(circle, "bo@hill.test", "member", ada, at(9), at(-1), status="accepted")
    invite(analysts, "sam@both.test", "mentor", tia, at(3), at(1))  # already expired
    invite(writers, "pat@vale.test", "member", ada, at(4), at(-3))  # revoked elsewhere only
    invite(writers, "rex@hill.test", "member", ada, at(4), at(-3))  # revoked here: left out
    invite(valeside, "vale-only@else.test", "member", val, at(1), at(-6))

    data = make_path(hill, steps=3, review_at=(2,), title="Data 101")
    make_path(hill, steps=0, title="Empty path")
    basics = make_path(vale, steps=2, review_at=(2,), title="Vale Basics")
    evening = make_cohort(data, name="Evening", teachers=[sam])  # Sam teaches this one...
    morning = make_cohort(data, name="Morning", learners=[bo, sam, rex, mo])  # ...learns here
    vale_spring = make_cohort(basics, name="Vale Spring", learners=[sam])
    s1, s2, s3 = data.steps
    b1, b2 = basics.steps

    complete(bo, s1, morning, at(5))
    complete(bo, s2, morning, at(4))
    complete(bo, s3, morning, at(1))  # finished after the last work handed in
    reviewed = submit(hill, bo, s2, morning, at(4), status="reviewed")
    db.session.add(Review(submission_id=reviewed.id, reviewer_id=mo.id, feedback="ok",
                          created_at=at(3)))
    complete(sam, s1, morning, at(6))
    submit(hill, sam, s2, morning, at(2, 6))  # waiting; later than Sam's last step
    complete(mo, s1, morning, at(7))  # a mentor trying the path: not a learner row
    complete(rex, s1, morning, at(3))
    complete(sam, b1, vale_spring, at(3))
    submit(vale, sam, b2, vale_spring, at(1))
    db.session.commit()
    return SimpleNamespace(hill=hill, vale=vale, ada=ada, val=val, mo=mo, sam=sam, pat=pat,
                           circle=circle, analysts=analysts, writers=writers,
                           valeside=valeside, evening=evening)


@pytest.fixture
def schools(app):
    return build_two_schools()


MEMBERS_HEADER = ["Group", "Group path", "Parent group", "Name", "Email", "Role", "Status",
                  "Added or invited on", "Added or invited by", "Weekly digest"]

HILL_MEMBERS = [
    MEMBERS_HEADER,
    ["Analysts", "Circle / Analysts", "Circle", "", "sam@both.test", "Mentor",
     "invitation expired", "2026-11-25", "Tia Teacher", ""],
    ["Analysts", "Circle / Analysts", "Circle", "Tia Teacher", "tia@hill.test", "Mentor",
     "active", "2026-11-21", "Ada Admin", "off"],
    ["Analysts", "Circle / Analysts", "Circle", "Bo Learner", "bo@hill.test", "Member",
     "active", "2026-11-22", "Tia Teacher", "off"],
    ["Circle", "Circle", "", "Mo Mentor", "mo@hill.test", "Mentor", "active", "2026-11-18",
     "Ada Admin", "on"],
    ["Circle", "Circle", "", "Bo Learner", "bo@hill.test", "Member", "active", "2026-11-19",
     "Ada Admin", "off"],
    ["Circle", "Circle", "", "", "new@else.test", "Member", "invited", "2026-11-26",
     "Ada Admin", ""],
    ["Circle", "Circle", "", "Sam Shared", "sam@both.test", "Member", "active", "2026-11-20",
     "Mo Mentor", "off"],
    ["Writers", "Writers", "", "", "pat@vale.test", "Member", "invited", "2026-11-24",
     "Ada Admin", ""],
]

VALE_MEMBERS = [
    MEMBERS_HEADER,
    ["Vale Circle", "Vale Circle", "", "Val Vale", "val@vale.test", "Mentor", "active",
     "2026-11-23", "Val Vale", "off"],
    ["Vale Circle", "Vale Circle", "", "Sam Shared", "sam@both.test", "Member", "active",
     "2026-11-23", "Val Vale", "off"],
    ["Vale Circle", "Vale Circle", "", "", "vale-only@else.test", "Member", "invited",
     "2026-11-27", "Val Vale", ""],
]

PROGRESS_HEADER = ["Group", "Group path", "Member", "Email", "Mentors", "Path", "Cohort",
                   "Steps completed", "Total steps", "Percent", "Started on",
                   "Last activity (UTC)", "Completed on", "Waiting for review",
                   "Days the oldest has waited", "Reviews received",
                   "Group's median days to first review (4 weeks)",
                   "Group's 90% reviewed within days (4 weeks)",
                   "Group's rounds reviewed (4 weeks)"]
# Bo's one round (handed in 4 days before NOW, reviewed a day later) is in both his groups.
BO_REVIEWED = ["1.0", "1.0", "1"]

HILL_PROGRESS = [
    PROGRESS_HEADER,
    ["Analysts", "Circle / Analysts", "Bo Learner", "bo@hill.test", "Tia Teacher", "Data 101",
     "Morning", "3", "3", "100", "2026-11-23", "2026-11-27 12:00", "2026-11-27", "0", "", "1",
     *BO_REVIEWED],
    ["Circle", "Circle", "Bo Learner", "bo@hill.test", "Mo Mentor", "Data 101", "Morning",
     "3", "3", "100", "2026-11-23", "2026-11-27 12:00", "2026-11-27", "0", "", "1",
     *BO_REVIEWED],
    ["Circle", "Circle", "Sam Shared", "sam@both.test", "Mo Mentor", "Data 101", "Morning",
     "1", "3", "33", "2026-11-22", "2026-11-26 06:00", "", "1", "2", "0", *BO_REVIEWED],
]

VALE_PROGRESS = [
    PROGRESS_HEADER,
    ["Vale Circle", "Vale Circle", "Sam Shared", "sam@both.test", "Val Vale", "Vale Basics",
     "Vale Spring", "1", "2", "50", "2026-11-25", "2026-11-27 12:00", "", "1", "1", "0",
     "", "", "0"],  # no reviews at Vale: blank, not 0 days
]


# ---- members ------------------------------------------------------------------------------------

def test_members_report_lists_only_this_schools_groups_people_and_pending_invitations(schools):
    """Sam's Vale group is not in Hill's report; Rex (revoked) and his invitation are left
    out; the accepted invitation is not listed again; Pat, revoked at Vale only, and Sam,
    active at Hill, still show as invited."""
    report = reports.members_report(schools.ada, schools.hill.id, now=NOW)
    assert rows_of(report) == HILL_MEMBERS
    assert report.count() == len(HILL_MEMBERS) - 1


def test_members_report_of_the_other_school_shows_none_of_hill(schools):
    report = reports.members_report(schools.val, schools.vale.id, now=NOW)
    assert rows_of(report) == VALE_MEMBERS


def test_invitation_of_a_person_revoked_in_this_school_is_left_out(schools):
    """Revoking Sam's access to Hill also hides his pending invitation to Analysts (and his
    membership); at Vale, where he is still active, nothing changes."""
    from mentorgroups.models import AccountMembership
    db.session.scalar(db.select(AccountMembership).where(
        AccountMembership.account_id == schools.hill.id,
        AccountMembership.user_id == schools.sam.id)).status = "revoked"
    db.session.commit()
    emails = [row[4] for row in rows_of(reports.members_report(schools.ada, schools.hill.id,
                                                                now=NOW))[1:]]
    assert emails == ["tia@hill.test", "bo@hill.test", "mo@hill.test", "bo@hill.test",
                      "new@else.test", "pat@vale.test"]
    assert rows_of(reports.members_report(schools.val, schools.vale.id, now=NOW)) == \
        VALE_MEMBERS


def test_operator_report_uses_the_moment_given(schools):
    for kind, expected, name in (("members", HILL_MEMBERS, "members"),
                                 ("progress", HILL_PROGRESS, "learner-progress")):
        report = reports.operator_report(kind, schools.hill.slug, now=NOW)
        assert report.filename == f"{schools.hill.slug}-mentor-group-{name}-2026-11-28.csv"
        assert rows_of(report) == expected
    # A moment that is surely not today: the file's date and each invitation's state follow it.
    before = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
    report = reports.operator_report("members", schools.hill.slug, now=before)
    assert report.filename == f"{schools.hill.slug}-mentor-group-members-2026-01-05.csv"
    assert [(row[4], row[6]) for row in rows_of(report)[1:] if row[6] != "active"] == [
        ("sam@both.test", "invited"), ("new@else.test", "invited"),
        ("pat@vale.test", "invited")]


# ---- learner progress ---------------------------------------------------------------------------

def test_progress_report_rows_are_this_schools_learners_and_paths(schools):
    """Sam's Vale path, Vale group and Vale work are not in Hill's report; Mo (a mentor who
    tried a step) and Rex (revoked) are no learner rows; Sam's cohort is the one he learns
    in, not the one he teaches; the empty path has no row. Bo's last activity is his last
    step (after his last submission); Sam's is his submission (after his last step)."""
    report = reports.progress_report(schools.ada, schools.hill.id, now=NOW)
    assert rows_of(report) == HILL_PROGRESS
    assert report.count() == len(HILL_PROGRESS) - 1


def test_progress_report_of_the_other_school_shows_none_of_hill(schools):
    assert rows_of(reports.progress_report(schools.val, schools.vale.id, now=NOW)) == \
        VALE_PROGRESS


def test_a_teacher_of_a_cohort_only_has_no_cohort_in_the_report(schools):
    """Sam leaves the cohort he learns in; he still teaches Evening, which is not his."""
    from mentorgroups.models import CohortMembership
    db.session.execute(db.delete(CohortMembership).where(
        CohortMembership.user_id == schools.sam.id, CohortMembership.role == "learner",
        CohortMembership.cohort_id != schools.evening.id))
    db.session.commit()
    rows = rows_of(reports.progress_report(schools.ada, schools.hill.id, now=NOW))
    sam = [row for row in rows if row[2] == "Sam Shared"]
    assert [(row[5], row[6]) for row in sam] == [("Data 101", "")]


def test_a_path_that_appears_while_the_report_is_read_is_not_called_completed(schools):
    """The report counts each path's steps (and names the cohorts) when it is made; a path
    made, and a step of it done, before its rows are read has no count yet, so it is never
    shown as completed."""
    report = reports.progress_report(schools.ada, schools.hill.id, now=NOW)
    late = make_path(schools.hill, steps=1, review_at=(), title="Late path")
    cohort = make_cohort(late, name="Late", learners=[schools.sam])
    complete(schools.sam, late.steps[0], cohort, at(0, 1))
    db.session.commit()
    row = [r for r in rows_of(report) if r[5] == "Late path"]
    assert row == [["Circle", "Circle", "Sam Shared", "sam@both.test", "Mo Mentor",
                    "Late path", "", "1", "0", "0", "2026-11-28", "2026-11-28 11:00", "",
                    "0", "", "0", *BO_REVIEWED]]


def test_later_of_two_moments_either_may_be_missing():
    early, late = at(3), at(1)
    assert reports._latest((early, late)) == late
    assert reports._latest((late, early)) == late
    assert reports._latest((late, None)) == late
    assert reports._latest((None, early)) == early
    assert reports._latest((None, None)) is None


def test_unknown_time_zone_falls_back_to_utc(schools):
    schools.hill.time_zone = "Mars/Olympus"  # e.g. a zone gone from the system's tz data
    db.session.commit()
    assert reports.school_zone(schools.hill) is UTC
    rows = rows_of(reports.progress_report(schools.ada, schools.hill.id, now=NOW))
    assert rows == HILL_PROGRESS


# ---- a broken group tree ------------------------------------------------------------------------

def test_group_cycle_still_gives_a_report(schools):
    """Two groups left each other's parent by a race: each is labelled by the walk up to the
    first group seen twice, and the report finishes."""
    schools.circle.parent_id = schools.analysts.id
    db.session.commit()
    rows = rows_of(reports.members_report(schools.ada, schools.hill.id, now=NOW))
    labels = {(row[0], row[1], row[2]) for row in rows[1:]}
    assert labels == {("Analysts", "Circle / Analysts", "Circle"),
                      ("Circle", "Analysts / Circle", "Analysts"),
                      ("Writers", "Writers", "")}


def test_a_group_nested_below_a_cycle_is_labelled_and_the_report_ends(schools):
    """The same loop with Writers nested under Analysts, below it: Writers' path is the walk
    up into the loop, each group named once."""
    schools.circle.parent_id = schools.analysts.id
    schools.writers.parent_id = schools.analysts.id
    db.session.commit()
    with ends_within(10, "the members report of a school with a loop in its tree"):
        rows = rows_of(reports.members_report(schools.ada, schools.hill.id, now=NOW))
    labels = {(row[0], row[1], row[2]) for row in rows[1:]}
    assert labels == {("Analysts", "Circle / Analysts", "Circle"),
                      ("Circle", "Analysts / Circle", "Analysts"),
                      ("Writers", "Circle / Analysts / Writers", "Analysts")}


def test_parent_in_another_school_is_never_named(schools):
    """Writers was left with Vale's group as its parent: Hill's report names no Vale group."""
    schools.writers.parent_id = schools.valeside.id
    db.session.commit()
    rows = rows_of(reports.members_report(schools.ada, schools.hill.id, now=NOW))
    assert rows[-1] == ["Writers", "Writers", "", "", "pat@vale.test", "Member", "invited",
                        "2026-11-24", "Ada Admin", ""]
    assert not any("Vale Circle" in cell for row in rows for cell in row)


def test_mentors_of_each_group_listed_once(schools):
    """With several groups in the school each group lists its own mentors, once each."""
    extra = make_member(schools.hill, "staff", full_name="Ann Second", email="ann@hill.test")
    put_in(schools.circle, extra, "mentor", schools.ada, at(1))
    db.session.commit()
    assert reports.group_mentors(schools.hill.id) == {
        schools.circle.id: "Ann Second; Mo Mentor", schools.analysts.id: "Tia Teacher"}


# ---- reading rows ahead in a helper thread ------------------------------------------------------

def prefetch_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "report-prefetch" and t.is_alive()]


class FakeResult:
    """Stands for a database result read in batches; can fail after some batches."""

    def __init__(self, batches: int, fail_after: int | None = None):
        self.batches, self.fail_after, self.fetched = batches, fail_after, 0

    def partitions(self):
        for n in range(self.batches):
            if n == self.fail_after:
                raise ConnectionError("server closed the connection")
            self.fetched += 1
            yield [(n, k) for k in range(3)]


def read_all(rows, timeout: float = 10) -> list:
    """Every row, or AssertionError if the reader waits for more than `timeout` seconds."""
    out, errors = [], []

    def work():
        try:
            out.extend(rows)
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            errors.append(exc)

    reader = threading.Thread(target=work, daemon=True)
    reader.start()
    reader.join(timeout)
    assert not reader.is_alive(), "the reader was left waiting for rows that never came"
    if errors:
        raise errors[0]
    return out


def test_prefetched_gives_every_row_in_order():
    result = FakeResult(batches=7)
    assert read_all(reports._prefetched(result)) == [(n, k) for n in range(7) for k in range(3)]
    assert result.fetched == 7
    assert prefetch_threads() == []


def test_prefetched_of_an_empty_result_is_empty():
    assert read_all(reports._prefetched(FakeResult(batches=0))) == []
    assert prefetch_threads() == []


def test_error_while_reading_ahead_reaches_the_caller():
    rows = reports._prefetched(FakeResult(batches=5, fail_after=2))
    seen = []
    with pytest.raises(ConnectionError, match="server closed the connection"):
        read_all(_collecting(rows, seen))
    assert seen == [(n, k) for n in range(2) for k in range(3)]
    assert prefetch_threads() == []


def _collecting(rows, seen):
    for row in rows:
        seen.append(row)
        yield row


def test_stopping_early_stops_the_reader_thread():
    result = FakeResult(batches=1000)
    rows = reports._prefetched(result)
    assert next(rows) == (0, 0)
    assert len(prefetch_threads()) == 1
    rows.close()
    assert prefetch_threads() == []
    assert result.fetched <= 5  # at most two batches wait; the rest is never read


# ---- the report's own reading -------------------------------------------------------------------

def test_rows_are_read_ahead_only_on_postgresql_and_the_reader_stops_first(schools,
                                                                           monkeypatch):
    """On PostgreSQL a helper thread reads the next batches while the caller writes CSV, and
    it is stopped before the result is closed (the result belongs to it until then). SQLite
    connections belong to one thread: there the rows are read by the caller."""
    from sqlalchemy.engine import CursorResult
    monkeypatch.setattr(reports, "YIELD_PER", 1)
    threads_at_close = []
    real_close = CursorResult.close

    def close(self):
        threads_at_close.append(len(prefetch_threads()))
        return real_close(self)

    monkeypatch.setattr(CursorResult, "close", close)
    report = reports.members_report(schools.ada, schools.hill.id, now=NOW)
    rows = report.rows()
    assert next(rows)[4] == "sam@both.test"
    postgresql = db.engine.dialect.name == "postgresql"
    assert len(prefetch_threads()) == (1 if postgresql else 0)
    threads_at_close.clear()
    rows.close()
    assert threads_at_close and set(threads_at_close) == {0}
    assert prefetch_threads() == []
