"""The two Mentor Group CSV reports of a school, for its account admins (and operators):

- members: one row per person per group, pending invitations included;
- learner progress: one row per group member per path they have started.

Rows come from one query each, read through a server-side cursor (`yield_per`), so memory
stays flat and the first rows go out before the query has finished. Progress numbers follow
the mentor's group page and profile card (services.mentoring): the same people (active access
only, on both sides), "started" meaning at least one step completed, the same percent
rounding and the same waiting age. Revoked people are in neither report.

Each report is a list of `Column`s: a header, the SQL expression read for it and how the value
becomes a cell. Adding a column is one line in that list."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import DateTime, and_, case, exists, func, literal, null, select, type_coerce
from sqlalchemy.orm import aliased

from mentorgroups.extensions import db
from mentorgroups.models import (
    GROUP_ROLE_LABELS,
    Account,
    AccountMembership,
    Cohort,
    CohortMembership,
    DigestSubscription,
    GroupMembership,
    Invitation,
    MentorGroup,
    Path,
    Review,
    Step,
    StepCompletion,
    Submission,
    User,
    utcnow,
)
from mentorgroups.services.errors import NotFound
from mentorgroups.services.learning import Progress
from mentorgroups.services.mentoring import active_people
from mentorgroups.services.permissions import require_account_admin
from mentorgroups.services.turnaround import NONE, by_group, days_cell

YIELD_PER = 5000
ROLE_RANK = {"group_admin": 0, "mentor": 1, "member": 2}


@dataclass(frozen=True)
class Column:
    header: str
    value: Any  # SQL expression; a tuple of them hands fmt a tuple
    fmt: Callable[[Any], Any] | None = None  # value -> cell; None: the value as it is
    invited: Any = None  # members report: the expression for an invitation's row (None: blank)


@dataclass
class Report:
    filename: str
    columns: list[Column]
    statement: Any  # the one query; its first columns feed `columns`, in order

    @property
    def header(self) -> list[str]:
        return [col.header for col in self.columns]

    def rows(self) -> Iterator[list]:
        """A fresh stream of the rows as cells, read in batches from the database."""
        return _stream(self.columns, self.statement)

    def count(self) -> int:
        """How many rows there are (one more query; for progress bars)."""
        return db.session.scalar(select(func.count()).select_from(
            self.statement.order_by(None).subquery()))


# ---- who may have them -------------------------------------------------------------------------

def members_report(actor: User, account_id: int, now: datetime | None = None) -> Report:
    """Report 1 for an account admin of this school (PermissionDenied for anybody else)."""
    require_account_admin(actor, account_id)
    return _members(db.session.get(Account, account_id), now or utcnow())


def progress_report(actor: User, account_id: int, now: datetime | None = None) -> Report:
    """Report 2 for an account admin of this school (PermissionDenied for anybody else)."""
    require_account_admin(actor, account_id)
    return _progress(db.session.get(Account, account_id), now or utcnow())


def operator_report(kind: str, slug: str, now: datetime | None = None) -> Report:
    """For the operator CLI, which runs with the database's own rights."""
    account = db.session.scalar(select(Account).where(Account.slug == slug))
    if account is None:
        raise NotFound(f"No school has the slug {slug!r} (see `flask accounts list`).")
    return {"members": _members, "progress": _progress}[kind](account, now or utcnow())


# ---- cells ---------------------------------------------------------------------------------------

def school_zone(account: Account):
    try:
        return ZoneInfo(account.time_zone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)  # SQLite: naive UTC


def local_date(zone) -> Callable[[datetime | None], str | None]:
    """ISO 8601 date in the school's time zone."""
    def fmt(value):
        return None if value is None else _aware(value).astimezone(zone).date().isoformat()
    return fmt


def local_minute(zone) -> Callable[[datetime | None], str | None]:
    """'2026-11-28 14:05' in the school's time zone (ISO 8601 with a space, which every
    spreadsheet reads as a date and time)."""
    def fmt(value):
        if value is None:
            return None
        return _aware(value).astimezone(zone).replace(tzinfo=None).isoformat(" ", "minutes")
    return fmt


def _utc(expr):
    """Read a UTC timestamp without the model's per-value conversion (cells convert it)."""
    return type_coerce(expr, DateTime(timezone=True))


@dataclass
class GroupLabels:
    """Each group's name, full place in the tree and parent's name, built once per report."""

    name: dict[int, str]
    path: dict[int, str]
    parent: dict[int, str]

    @classmethod
    def of(cls, account_id: int) -> GroupLabels:
        rows = {gid: (name, pid) for gid, name, pid in db.session.execute(
            select(MentorGroup.id, MentorGroup.name, MentorGroup.parent_id)
            .where(MentorGroup.account_id == account_id))}
        names = {gid: name for gid, (name, _) in rows.items()}
        paths = {}
        for gid in rows:
            parts, seen, cur = [], set(), gid
            while cur in rows and cur not in seen:
                seen.add(cur)
                parts.append(rows[cur][0])
                cur = rows[cur][1]
            paths[gid] = " / ".join(reversed(parts))
        parents = {gid: names.get(pid, "") for gid, (_, pid) in rows.items()}
        return cls(names, paths, parents)


def _stream(columns: list[Column], statement) -> Iterator[list]:
    """Rows of `statement` (its first len(columns) columns, in order) as cells."""
    plan = [(itemgetter(*range(i, i + n)) if n > 1 else itemgetter(i), col.fmt)
            for col, i, n in _positions(columns)]
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        # A cursor is planned for its first rows by default (nested loops); the whole report
        # is read, so plan it like any query read to the end (as COPY would).
        connection.exec_driver_sql("SET LOCAL cursor_tuple_fraction = 1.0")
    result = connection.execute(statement, execution_options={"yield_per": YIELD_PER})
    rows = _prefetched(result) if connection.dialect.name == "postgresql" else result
    try:
        for row in rows:
            yield [get(row) if fmt is None else fmt(get(row)) for get, fmt in plan]
    finally:
        if rows is not result:
            rows.close()  # stops and joins the fetching thread before the result closes
        result.close()


def _prefetched(result) -> Iterator:
    """The result's rows, each batch fetched by a helper thread while the caller turns the
    previous one into CSV, so the database and Python work at the same time (as with COPY)
    instead of in turn. Only this thread touches the result until the generator ends; at
    most two batches wait in memory. (SQLite connections belong to one thread: not there.)"""
    batches: queue.Queue = queue.Queue(maxsize=2)
    stop = threading.Event()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                batches.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def fetch():
        try:
            for batch in result.partitions():
                if not put(batch):
                    return
            put(None)
        except BaseException as exc:  # handed to the caller, who raises it
            put(exc)

    thread = threading.Thread(target=fetch, name="report-prefetch", daemon=True)
    thread.start()
    try:
        while (batch := batches.get()) is not None:
            if isinstance(batch, BaseException):
                raise batch
            yield from batch
    finally:
        stop.set()
        thread.join()


def _positions(columns: list[Column]):
    i = 0
    for col in columns:
        n = len(col.value) if isinstance(col.value, tuple) else 1
        yield col, i, n
        i += n


def _flat(values) -> list:
    out = []
    for value in values:
        out.extend(value if isinstance(value, tuple) else (value,))
    return out


def _filename(account: Account, report: str, now: datetime) -> str:
    day = now.astimezone(school_zone(account)).date().isoformat()
    return f"{account.slug}-mentor-group-{report}-{day}.csv"


# ---- report 1: members ---------------------------------------------------------------------------

def member_columns(account: Account, labels: GroupLabels, now: datetime, adder, inviter
                   ) -> list[Column]:
    """`adder` and `inviter` are the aliases of User joined as who added / who invited."""
    expired = case((_utc(Invitation.expires_at) < now, "invitation expired"), else_="invited")
    day = local_date(school_zone(account))
    return [
        Column("Group", GroupMembership.group_id, labels.name.get, Invitation.group_id),
        Column("Group path", GroupMembership.group_id, labels.path.get, Invitation.group_id),
        Column("Parent group", GroupMembership.group_id, labels.parent.get, Invitation.group_id),
        Column("Name", User.full_name),
        Column("Email", User.email, None, Invitation.email),
        Column("Role", GroupMembership.role, GROUP_ROLE_LABELS.get, Invitation.role),
        Column("Status", literal("active"), None, expired),
        Column("Added or invited on", _utc(GroupMembership.created_at), day,
               _utc(Invitation.sent_at)),
        Column("Added or invited by", adder.full_name, None, inviter.full_name),
        Column("Weekly digest", case((exists().where(
            DigestSubscription.user_id == User.id,
            DigestSubscription.group_id == GroupMembership.group_id,
            DigestSubscription.subscribed.is_(True)), "on"), else_="off")),
    ]


def _members(account: Account, now: datetime) -> Report:
    labels = GroupLabels.of(account.id)
    adder, inviter = aliased(User), aliased(User)
    columns = member_columns(account, labels, now, adder, inviter)
    width = len(columns)  # one expression per column: the union needs the same on both sides

    def labelled(values, sort_keys):
        return [v.label(f"c{n}") for n, v in enumerate(values + sort_keys)]

    role_rank = case(ROLE_RANK, value=GroupMembership.role)
    members = (
        select(*labelled([col.value for col in columns],
                         [func.lower(MentorGroup.name), MentorGroup.id, role_rank,
                          func.lower(User.full_name), User.id]))
        .select_from(GroupMembership)
        .join(MentorGroup, MentorGroup.id == GroupMembership.group_id)
        .join(User, User.id == GroupMembership.user_id)
        .join(AccountMembership, active_people(account.id))
        .outerjoin(adder, adder.id == GroupMembership.added_by_id)
        .where(MentorGroup.account_id == account.id))
    revoked = exists().where(AccountMembership.account_id == account.id,
                             AccountMembership.status == "revoked",
                             AccountMembership.user_id == User.id,
                             User.email == Invitation.email)
    invited = (
        select(*labelled([null() if col.invited is None else col.invited for col in columns],
                         [func.lower(MentorGroup.name), MentorGroup.id,
                          case(ROLE_RANK, value=Invitation.role), func.lower(Invitation.email),
                          Invitation.id]))
        .select_from(Invitation)
        .join(MentorGroup, MentorGroup.id == Invitation.group_id)
        .outerjoin(inviter, inviter.id == Invitation.invited_by_id)
        .where(Invitation.account_id == account.id, MentorGroup.account_id == account.id,
               Invitation.status == "pending", ~revoked))
    union = members.union_all(invited).subquery()
    statement = select(*list(union.c)[:width]).order_by(*list(union.c)[width:])
    return Report(_filename(account, "members", now), columns, statement)


# ---- report 2: learner progress ------------------------------------------------------------------

def _latest(pair):
    first, second = pair  # both from the same database: both aware, or both naive
    return first if second is None or (first is not None and first >= second) else second


def progress_columns(account: Account, labels: GroupLabels, now: datetime, sources) -> list[Column]:
    done, work, cohort = sources
    zone = school_zone(account)
    day, minute = local_date(zone), local_minute(zone)
    mentors = group_mentors(account.id)
    waits = by_group(account.id, now)
    cohorts = dict(db.session.execute(select(Cohort.id, Cohort.name).join(Path).where(
        Path.account_id == account.id)).all())
    totals = dict(db.session.execute(
        select(Path.id, func.count(Step.id)).outerjoin(Step, Step.path_id == Path.id)
        .where(Path.account_id == account.id).group_by(Path.id)).all())

    def percent(row):
        return Progress(row[0], totals.get(row[1], 0)).percent

    def completed_on(row):
        n, path_id, last = row
        total = totals.get(path_id, 0)
        return day(last) if total and n >= total else None

    def waited_days(oldest):
        return None if oldest is None else (now - _aware(oldest)).days

    return [
        Column("Group", MentorGroup.id, labels.name.get),
        Column("Group path", MentorGroup.id, labels.path.get),
        Column("Member", User.full_name),
        Column("Email", User.email),
        Column("Mentors", MentorGroup.id, lambda gid: mentors.get(gid, "")),
        Column("Path", Path.title),
        Column("Cohort", cohort.c.cohort_id, cohorts.get),
        Column("Steps completed", done.c.done),
        Column("Total steps", Path.id, lambda pid: totals.get(pid, 0)),
        Column("Percent", (done.c.done, Path.id), percent),
        Column("Started on", done.c.first_at, day),
        Column(f"Last activity ({zone})", (done.c.last_at, work.c.last_submitted),
               lambda pair: minute(_latest(pair))),
        Column("Completed on", (done.c.done, Path.id, done.c.last_at), completed_on),
        Column("Waiting for review", work.c.waiting, lambda n: n or 0),
        Column("Days the oldest has waited", work.c.oldest, waited_days),
        Column("Reviews received", work.c.reviews, lambda n: n or 0),
        # The row's group's turnaround (its members' rounds reviewed in the 4 weeks before
        # the report): one member's few rounds say little, a group's compare.
        Column("Group's median days to first review (4 weeks)", MentorGroup.id,
               lambda gid: days_cell(waits.get(gid, NONE).median)),
        Column("Group's 90% reviewed within days (4 weeks)", MentorGroup.id,
               lambda gid: days_cell(waits.get(gid, NONE).p90)),
        Column("Group's rounds reviewed (4 weeks)", MentorGroup.id,
               lambda gid: waits.get(gid, NONE).count),
    ]


def group_mentors(account_id: int) -> dict[int, str]:
    """group id -> its mentors' names, 'A; B' (people with active access only)."""
    out: dict[int, list[str]] = {}
    for gid, name in db.session.execute(
            select(GroupMembership.group_id, User.full_name)
            .join(MentorGroup, MentorGroup.id == GroupMembership.group_id)
            .join(User, User.id == GroupMembership.user_id)
            .join(AccountMembership, active_people(account_id))
            .where(MentorGroup.account_id == account_id, GroupMembership.role == "mentor")
            .order_by(func.lower(User.full_name), User.id)):
        out.setdefault(gid, []).append(name)
    return {gid: "; ".join(names) for gid, names in out.items()}


def _progress_sources(account_id: int):
    """Per learner and path: steps done (first, last), waiting work, reviews, their cohort."""
    done = (
        select(StepCompletion.user_id, Step.path_id, func.count().label("done"),
               _utc(func.min(StepCompletion.completed_at)).label("first_at"),
               _utc(func.max(StepCompletion.completed_at)).label("last_at"))
        .join(Step, Step.id == StepCompletion.step_id)
        .join(Path, Path.id == Step.path_id)
        .where(Path.account_id == account_id)
        .group_by(StepCompletion.user_id, Step.path_id).subquery("done"))
    pending = Submission.status == "pending"
    work = (
        select(Submission.user_id, Step.path_id,
               # Distinct: a submission reviewed in several rounds joins several reviews.
               func.count(case((pending, Submission.id)).distinct()).label("waiting"),
               # Waiting counts from the round's first submission; an update is activity.
               _utc(func.min(case((pending, Submission.submitted_at)))).label("oldest"),
               _utc(func.max(func.coalesce(Submission.updated_at, Submission.submitted_at)))
               .label("last_submitted"),
               func.count(Review.id).label("reviews"))
        .join(Step, Step.id == Submission.step_id)
        .outerjoin(Review, Review.submission_id == Submission.id)
        .where(Submission.account_id == account_id)
        .group_by(Submission.user_id, Step.path_id).subquery("work"))
    cohort = (
        select(CohortMembership.user_id, Cohort.path_id,
               func.min(Cohort.id).label("cohort_id"))
        .join(Cohort, Cohort.id == CohortMembership.cohort_id)
        .join(Path, Path.id == Cohort.path_id)
        .where(Path.account_id == account_id, CohortMembership.role == "learner")
        .group_by(CohortMembership.user_id, Cohort.path_id).subquery("learner_cohort"))
    return done, work, cohort


def _progress(account: Account, now: datetime) -> Report:
    labels = GroupLabels.of(account.id)
    sources = _progress_sources(account.id)
    done, work, cohort = sources
    columns = progress_columns(account, labels, now, sources)
    statement = (
        select(*_flat(col.value for col in columns))
        .select_from(GroupMembership)
        .join(MentorGroup, MentorGroup.id == GroupMembership.group_id)
        .join(User, User.id == GroupMembership.user_id)
        .join(AccountMembership, active_people(account.id))
        .join(done, done.c.user_id == GroupMembership.user_id)
        .join(Path, Path.id == done.c.path_id)
        .outerjoin(work, and_(work.c.user_id == done.c.user_id,
                              work.c.path_id == done.c.path_id))
        .outerjoin(cohort, and_(cohort.c.user_id == done.c.user_id,
                                cohort.c.path_id == done.c.path_id))
        .where(MentorGroup.account_id == account.id, GroupMembership.role == "member")
        .order_by(func.lower(MentorGroup.name), MentorGroup.id, func.lower(User.full_name),
                  User.id, func.lower(Path.title), Path.id))
    return Report(_filename(account, "learner-progress", now), columns, statement)
