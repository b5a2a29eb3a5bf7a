"""The two Mentor Group CSV reports: exact headers and values on a known school, agreement
with the mentor's group page and profile card, formula safety and round-trips (Hypothesis),
who may download them, streaming, and the operator CLI."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event

from mentorgroups.csvfile import FORMULA_TRIGGERS, csv_chunks, neutralize
from mentorgroups.extensions import db
from mentorgroups.models import (
    GroupMembership,
    Invitation,
    Review,
    StepCompletion,
    Submission,
)
from mentorgroups.services import group_members, groups, mentoring, reports
from mentorgroups.services.errors import PermissionDenied
from tests.factories import make_account, make_cohort, make_member, make_path, make_user
from tests.kept_scenes import kept_scene

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
URLS = {"members": "/admin/community/reports/members.csv",
        "progress": "/admin/community/reports/learner-progress.csv"}


def at(days: float, hours: float = 0) -> datetime:
    """A moment `days` (and `hours`) before NOW."""
    return NOW - timedelta(days=days, hours=hours)


def parse(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf"), "UTF-8 with a byte order mark"
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def report_bytes(report: reports.Report) -> bytes:
    return b"".join(csv_chunks(report.header, report.rows()))


def set_added(group, user, when: datetime) -> None:
    membership = db.session.scalar(db.select(GroupMembership).where(
        GroupMembership.group_id == group.id, GroupMembership.user_id == user.id))
    membership.created_at = when


def build_school():
    """Hill School (Tokyo time, so a UTC evening is the next day there), two nested groups,
    staff, members (one revoked), two invitations (one expired) and some progress."""
    account = make_account(name="Hill School")
    account.time_zone = "Asia/Tokyo"
    admin = make_member(account, "admin", full_name="Ada Admin", email="ada@hill.test")
    mentor = make_member(account, "staff", full_name="Mo Mentor", email="mo@hill.test")
    second = make_member(account, "staff", full_name="Ann Second", email="ann@hill.test")
    gadmin = make_member(account, "staff", full_name="Gia Groupadmin", email="gia@hill.test")
    zoe = make_member(account, "member", full_name="Lin, Zoë \"Z\"", email="zoe@hill.test")
    evil = make_member(account, "member", full_name="=HYPERLINK(\"http://x\")",
                       email="evil@hill.test")
    bo = make_member(account, "member", full_name="Bo Learner", email="bo@hill.test")
    rex = make_member(account, "member", full_name="Rex Revoked", email="rex@hill.test")

    circle = groups.create_group(admin, account.id, "Coaching circle", "", None)
    analysts = groups.create_group(admin, account.id, "Data analysts", "", circle.id)
    group_members.add_members(admin, account.id, circle.id, "group_admin", user_ids=[gadmin.id])
    group_members.add_members(admin, account.id, circle.id, "mentor", user_ids=[mentor.id])
    group_members.add_members(admin, account.id, circle.id, "member",
                              user_ids=[zoe.id, evil.id, bo.id, rex.id])
    group_members.add_members(admin, account.id, analysts.id, "mentor",
                              user_ids=[mentor.id, second.id])
    group_members.add_members(gadmin, account.id, analysts.id, "member", user_ids=[bo.id])
    group_members.add_members(admin, account.id, circle.id, "member", addresses="new@else.test")
    group_members.add_members(gadmin, account.id, analysts.id, "mentor",
                              addresses="old@else.test")
    from mentorgroups.services import digest_subscriptions
    digest_subscriptions.set_subscription(mentor, account.id, analysts.id, False)
    db.session.flush()
    for group, user in [(circle, gadmin), (circle, mentor), (circle, zoe), (circle, evil),
                        (circle, bo), (circle, rex), (analysts, mentor), (analysts, second)]:
        set_added(group, user, at(10))
    set_added(analysts, bo, at(1, 1))  # 2026-11-27 11:00 UTC: 20:00 in Tokyo, same day
    set_added(circle, zoe, at(0, 16))  # 2026-11-27 20:00 UTC: already the 28th in Tokyo
    for email, sent, expires in (("new@else.test", at(2), at(-12)),
                                 ("old@else.test", at(20), at(6))):
        invitation = db.session.scalar(db.select(Invitation).where(Invitation.email == email))
        invitation.sent_at, invitation.expires_at = sent, expires
    # Rex's access to the school is revoked: he is in neither report.
    from mentorgroups.models import AccountMembership
    db.session.scalar(db.select(AccountMembership).where(
        AccountMembership.user_id == rex.id)).status = "revoked"

    data = make_path(account, steps=4, review_at=(2, 3), points={3: 10}, title="Data 101")
    writing = make_path(account, steps=2, review_at=(), title="Writing")
    make_path(account, steps=3, title="Unstarted")
    autumn = make_cohort(data, name="Autumn", learners=[zoe, bo, rex])
    spring = make_cohort(writing, name="Spring", learners=[zoe])
    s1, s2, s3, _ = data.steps
    w1, w2 = writing.steps

    def done(user, step, cohort, when):
        db.session.add(StepCompletion(user_id=user.id, step_id=step.id, cohort_id=cohort.id,
                                      completed_at=when))

    done(zoe, s1, autumn, at(6))
    done(zoe, s2, autumn, at(3, 1))
    db.session.add(Submission(account_id=account.id, user_id=zoe.id, step_id=s2.id,
                              cohort_id=autumn.id, content="x", submitted_at=at(3, 1),
                              status="pending"))
    done(zoe, w1, spring, at(9))
    done(zoe, w2, spring, at(8, -3))  # 2026-11-20 15:00 UTC: the 21st at 00:00 in Tokyo
    done(bo, s1, autumn, at(5))
    done(bo, s2, autumn, at(4))
    done(bo, s3, autumn, at(2))
    reviewed = Submission(account_id=account.id, user_id=bo.id, step_id=s2.id,
                          cohort_id=autumn.id, content="y", submitted_at=at(4),
                          status="reviewed")
    waiting = Submission(account_id=account.id, user_id=bo.id, step_id=s3.id,
                         cohort_id=autumn.id, content="z", submitted_at=at(1, 20),
                         status="pending")
    db.session.add_all([reviewed, waiting])
    db.session.flush()
    db.session.add(Review(submission_id=reviewed.id, reviewer_id=mentor.id, feedback="ok",
                          created_at=at(3)))
    done(rex, s1, autumn, at(2))
    db.session.commit()
    return SimpleNamespace(account=account, admin=admin, mentor=mentor, second=second,
                           gadmin=gadmin, zoe=zoe, evil=evil, bo=bo, rex=rex, circle=circle,
                           analysts=analysts, data=data, writing=writing)


@pytest.fixture
def hill(app, request):
    return kept_scene(request, build_school)


# ---- known values -------------------------------------------------------------------------------

MEMBERS = [
    ["Group", "Group path", "Parent group", "Name", "Email", "Role", "Status",
     "Added or invited on", "Added or invited by", "Weekly digest"],
    ["Coaching circle", "Coaching circle", "", "Gia Groupadmin", "gia@hill.test",
     "Group Admin", "active", "2026-11-18", "Ada Admin", "on"],
    ["Coaching circle", "Coaching circle", "", "Mo Mentor", "mo@hill.test", "Mentor", "active",
     "2026-11-18", "Ada Admin", "on"],
    ["Coaching circle", "Coaching circle", "", "'=HYPERLINK(\"http://x\")", "evil@hill.test",
     "Member", "active", "2026-11-18", "Ada Admin", "off"],
    ["Coaching circle", "Coaching circle", "", "Bo Learner", "bo@hill.test", "Member", "active",
     "2026-11-18", "Ada Admin", "off"],
    ["Coaching circle", "Coaching circle", "", "Lin, Zoë \"Z\"", "zoe@hill.test", "Member",
     "active", "2026-11-28", "Ada Admin", "off"],
    ["Coaching circle", "Coaching circle", "", "", "new@else.test", "Member", "invited",
     "2026-11-26", "Ada Admin", ""],
    ["Data analysts", "Coaching circle / Data analysts", "Coaching circle", "Ann Second",
     "ann@hill.test", "Mentor", "active", "2026-11-18", "Ada Admin", "on"],
    ["Data analysts", "Coaching circle / Data analysts", "Coaching circle", "Mo Mentor",
     "mo@hill.test", "Mentor", "active", "2026-11-18", "Ada Admin", "off"],
    ["Data analysts", "Coaching circle / Data analysts", "Coaching circle", "", "old@else.test",
     "Mentor", "invitation expired", "2026-11-08", "Gia Groupadmin", ""],
    ["Data analysts", "Coaching circle / Data analysts", "Coaching circle", "Bo Learner",
     "bo@hill.test", "Member", "active", "2026-11-27", "Gia Groupadmin", "off"],
]

PROGRESS = [
    ["Group", "Group path", "Member", "Email", "Mentors", "Path", "Cohort", "Steps completed",
     "Total steps", "Percent", "Started on", "Last activity (Asia/Tokyo)", "Completed on",
     "Waiting for review", "Days the oldest has waited", "Reviews received",
     "Group's median days to first review (4 weeks)",
     "Group's 90% reviewed within days (4 weeks)", "Group's rounds reviewed (4 weeks)"],
    ["Coaching circle", "Coaching circle", "Bo Learner", "bo@hill.test", "Mo Mentor",
     "Data 101", "Autumn", "3", "4", "75", "2026-11-23", "2026-11-27 01:00", "", "1", "1", "1",
     "1.0", "1.0", "1"],
    ["Coaching circle", "Coaching circle", "Lin, Zoë \"Z\"", "zoe@hill.test", "Mo Mentor",
     "Data 101", "Autumn", "2", "4", "50", "2026-11-22", "2026-11-25 20:00", "", "1", "3", "0",
     "1.0", "1.0", "1"],
    ["Coaching circle", "Coaching circle", "Lin, Zoë \"Z\"", "zoe@hill.test", "Mo Mentor",
     "Writing", "Spring", "2", "2", "100", "2026-11-19", "2026-11-21 00:00", "2026-11-21", "0",
     "", "0", "1.0", "1.0", "1"],
    ["Data analysts", "Coaching circle / Data analysts", "Bo Learner", "bo@hill.test",
     "Ann Second; Mo Mentor", "Data 101", "Autumn", "3", "4", "75", "2026-11-23",
     "2026-11-27 01:00", "", "1", "1", "1", "1.0", "1.0", "1"],
]


def test_members_report_headers_and_values(hill):
    report = reports.members_report(hill.admin, hill.account.id, now=NOW)
    assert report.filename == f"{hill.account.slug}-mentor-group-members-2026-11-28.csv"
    assert parse(report_bytes(report)) == MEMBERS
    assert report.count() == len(MEMBERS) - 1


def test_progress_report_headers_and_values(hill):
    report = reports.progress_report(hill.admin, hill.account.id, now=NOW)
    assert report.filename == \
        f"{hill.account.slug}-mentor-group-learner-progress-2026-11-28.csv"
    assert parse(report_bytes(report)) == PROGRESS
    assert report.count() == len(PROGRESS) - 1


def test_filename_date_is_the_schools(hill):
    late = datetime(2026, 11, 28, 20, 0, tzinfo=UTC)  # already the 29th in Tokyo
    assert reports.members_report(hill.admin, hill.account.id, now=late).filename.endswith(
        "-members-2026-11-29.csv")


def test_progress_agrees_with_group_page_and_profile_card(hill):
    """For every group the mentor follows and every member in it, the report's rows say what
    the group page and the profile card say."""
    rows = parse(report_bytes(reports.progress_report(hill.admin, hill.account.id)))
    header, rows = rows[0], [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]
    zone = reports.school_zone(hill.account)
    now = datetime.now(UTC)
    checked = 0
    for group_id in mentoring.mentored_group_ids(hill.mentor, hill.account.id):
        group, page = mentoring.group_page(hill.mentor, hill.account.id, group_id)
        members = page.items
        for member in members:
            mine = [r for r in rows
                    if r["Group"] == group.name and r["Email"] == member.user.email]
            assert [r["Path"] for r in mine] == [p["path"].title for p in member.paths]
            for row, shown in zip(mine, member.paths, strict=True):
                assert (int(row["Steps completed"]), int(row["Total steps"]),
                        int(row["Percent"])) == (shown["completed"], shown["total"],
                                                 shown["percent"])
                checked += 1
            assert sum(int(r["Waiting for review"]) for r in mine) == member.waiting
            days = [int(r["Days the oldest has waited"]) for r in mine
                    if r["Days the oldest has waited"]]
            assert max(days, default=None) == (
                (now - member.oldest_waiting).days if member.oldest_waiting else None)
            latest = max(r[header[11]] for r in mine) if mine else None
            shown_latest = member.last_activity.astimezone(zone).strftime("%Y-%m-%d %H:%M") \
                if member.last_activity else None
            assert latest == shown_latest

            card = mentoring.learner_profile(hill.mentor, hill.account.id, member.user.id)
            by_path = {c["path"].title: c for c in card["paths"]}
            for row in mine:
                c = by_path[row["Path"]]
                assert (int(row["Steps completed"]), int(row["Total steps"]),
                        int(row["Percent"])) == (c["completed"], c["total"], c["percent"])
                assert int(row["Waiting for review"]) == sum(
                    1 for s in card["waiting"] if s.step.path.title == row["Path"])
    assert checked == 4  # not vacuous: every progress row was compared


# ---- formulas and round trips -------------------------------------------------------------------

CELL = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.sampled_from(list("=+-@\t\r\n ,\"'|%aZé漢ß")), max_size=12),
    st.builds(lambda lead, body: lead + body, st.sampled_from(["", " ", "  ", "\t", "\n "]),
              st.sampled_from(["=1+1", "+A1", "-2", "@SUM(A1)", "=cmd|' /C calc'!A0"])),
    st.integers(), st.none())


def is_formula(cell: str) -> bool:
    return bool(cell) and (cell[0] in FORMULA_TRIGGERS or cell.lstrip()[:1] in FORMULA_TRIGGERS)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(CELL, min_size=1, max_size=6), max_size=8))
def test_csv_cells_round_trip_and_never_run(rows):
    data = b"".join(csv_chunks(["Name", "=Header"], rows, chunk_rows=3))
    parsed = parse(data)
    assert parsed[0] == ["Name", "'=Header"]
    assert len(parsed) == len(rows) + 1
    for row, back in zip(rows, parsed[1:], strict=True):
        expected = ["" if cell is None else str(neutralize(cell)) for cell in row]
        assert back == expected
        for cell, original in zip(back, row, strict=True):
            if not isinstance(original, str):
                continue  # numbers (-1 included) stay numbers
            assert not is_formula(cell)  # a spreadsheet shows it as text
            if is_formula(original):
                assert cell == "'" + original


NAME = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
               min_size=1, max_size=60).filter(lambda s: s.strip() == s and s)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(group_name=NAME, person=NAME, path_title=NAME, cohort=NAME)
def test_arbitrary_names_round_trip_through_both_reports(app, group_name, person, path_title,
                                                         cohort):
    account = make_account()
    admin = make_member(account, "admin", full_name="Admin")
    learner = make_member(account, "member", full_name=person)
    group = groups.create_group(admin, account.id, group_name, "", None)
    group_members.add_members(admin, account.id, group.id, "member", user_ids=[learner.id])
    path = make_path(account, steps=2, review_at=(), title=path_title)
    cohort_row = make_cohort(path, name=cohort, learners=[learner])
    db.session.add(StepCompletion(user_id=learner.id, step_id=path.steps[0].id,
                                  cohort_id=cohort_row.id))
    db.session.commit()
    try:
        members = parse(report_bytes(reports.members_report(admin, account.id)))
        assert members[1][0] == neutralize(group.name)
        assert members[1][3] == neutralize(person)
        progress = parse(report_bytes(reports.progress_report(admin, account.id)))
        assert len(progress) == 2
        row = dict(zip(progress[0], progress[1], strict=True))
        assert (row["Group"], row["Member"], row["Path"], row["Cohort"]) == (
            neutralize(group.name), neutralize(person), neutralize(path_title),
            neutralize(cohort))
        for cells in members + progress:
            assert not any(is_formula(cell) for cell in cells)
    finally:
        db.session.rollback()
        db.session.delete(account)  # cascades to the school's rows
        db.session.commit()


# ---- who may download them ----------------------------------------------------------------------

def people_of(hill):
    other = make_account(name="Other School")
    other_admin = make_member(other, "admin", full_name="Otto Other", email="otto@other.test")
    other_group = groups.create_group(other_admin, other.id, "OTHERGROUP", "", None)
    group_members.add_members(other_admin, other.id, other_group.id, "member",
                              addresses="otherinvite@other.test")
    revoked_admin = make_member(hill.account, "admin", status="revoked", full_name="Former")
    outsider = make_user(full_name="No School")
    db.session.commit()
    return {"learner": hill.zoe, "mentor": hill.mentor, "group_admin": hill.gadmin,
            "revoked_admin": revoked_admin, "outsider": outsider, "other_admin": other_admin,
            "admin": hill.admin}


@pytest.mark.parametrize("kind", sorted(URLS))
@pytest.mark.parametrize("actor", ["anonymous", "learner", "mentor", "group_admin",
                                   "revoked_admin", "outsider", "other_admin", "admin"])
def test_who_may_download(client, hill, kind, actor):
    people = people_of(hill)
    if actor != "anonymous":
        client.login(people[actor].email)
    url = URLS[kind]
    response = client.get(url + f"?account_id={hill.account.id}&account={hill.account.slug}")
    body = response.get_data()
    if actor == "anonymous":
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login?next=")
    elif actor == "admin":
        assert response.status_code == 200
        assert response.mimetype == "text/csv"
        assert b"bo@hill.test" in body
    elif actor == "other_admin":
        # Their own school's report, whatever the parameters say: no row of Hill School.
        assert response.status_code == 200
        assert b"hill.test" not in body and b"else.test" not in body
        assert response.headers["Content-Disposition"].startswith('attachment; filename="school-')
        assert b"Hill" not in body
        if kind == "members":
            assert b"otherinvite@other.test" in body
    else:
        assert response.status_code == 403, (actor, response.status_code)
        assert b"hill.test" not in body


@pytest.mark.parametrize("actor", ["learner", "mentor", "group_admin", "revoked_admin"])
def test_service_refuses_everybody_but_account_admins(hill, actor):
    people = people_of(hill)
    for make in (reports.members_report, reports.progress_report):
        with pytest.raises(PermissionDenied):
            make(people[actor], hill.account.id)


def test_menu_only_for_account_admins(client, hill):
    client.login(hill.admin.email)
    for page in ("/admin/community/groups/", "/admin/community/audit/"):
        html = client.get(page).get_data(as_text=True)
        assert 'aria-label="Additional actions"' in html and 'role="menu"' in html
        assert URLS["members"] in html and URLS["progress"] in html
    client.post_form("/logout", token_page="/admin/community/groups/")
    client.login(hill.gadmin.email)
    html = client.get("/admin/community/groups/").get_data(as_text=True)
    assert "Additional actions" not in html and URLS["members"] not in html


# ---- streaming ----------------------------------------------------------------------------------

def test_response_streams_rows_from_a_server_side_cursor(client, hill, monkeypatch):
    """The response is a generator; its first bytes go out before the report's query runs,
    and the query reads through a server-side cursor (PostgreSQL) in batches."""
    learners = [make_user(full_name=f"Learner {n:04d}") for n in range(1200)]
    from mentorgroups.models import AccountMembership
    db.session.add_all(AccountMembership(account_id=hill.account.id, user_id=u.id)
                       for u in learners)
    db.session.add_all(GroupMembership(group_id=hill.circle.id, user_id=u.id, role="member")
                       for u in learners)
    db.session.commit()
    monkeypatch.setattr(reports, "YIELD_PER", 100)
    client.login(hill.admin.email)

    cursors = []

    def record(conn, cursor, statement, *args):
        if "group_membership" in statement and "UNION ALL" in statement:
            cursors.append(cursor)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        response = client.get(URLS["members"], buffered=False)
        assert response.is_streamed
        chunks = iter(response.response)
        first = next(chunks)
        assert first.startswith(b"\xef\xbb\xbfGroup,Group path,")
        assert cursors == []  # the header left before the query ran
        second = next(chunks)
        assert len(cursors) == 1 and second.count(b"\r\n") == 500
        if db.engine.dialect.name == "postgresql":
            import psycopg
            assert isinstance(cursors[0], psycopg.ServerCursor)
        rest = b"".join(chunks)
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
        response.close()
    rows = parse(first + second + rest)
    assert len(rows) == 1 + len(MEMBERS) - 1 + 1200


# ---- the operator CLI ---------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["members", "progress"])
def test_cli_writes_the_same_report(app, hill, kind):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["reports", kind, "--account", hill.account.slug])
    assert result.exit_code == 0, result.output
    expected = {"members": MEMBERS, "progress": PROGRESS}[kind]
    assert parse(result.stdout_bytes)[0] == expected[0]
    assert len(parse(result.stdout_bytes)) == len(expected)
    assert "mentor-group" in result.stderr  # the progress bar's label, on stderr only
    assert b"mentor-group" not in result.stdout_bytes


def test_cli_unknown_school(app, hill):
    result = app.test_cli_runner().invoke(args=["reports", "members", "--account", "nope"])
    assert result.exit_code != 0
    assert "No school has the slug 'nope'" in result.output
