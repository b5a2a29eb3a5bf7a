"""What a weekly Mentor Digest says: per subscribed group, the work waiting for review and
each member's progress last week.

`build_digests` builds the digests of some of a school's people (or of all of them) in a
fixed number of SQL statements, whatever the number of people, groups, members or
completions. Every statement is filtered in SQL by reader and group: it reads the readers'
groups' members, and those members' completions and pending work, aggregated in the
database, and nothing else of the school."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from functools import cached_property

from flask import current_app
from sqlalchemy import and_, case, func, select

from mentorgroups.extensions import db
from mentorgroups.models import (
    Account,
    MentorGroup,
    Path,
    Step,
    StepCompletion,
    Submission,
    User,
)
from mentorgroups.services import digest_scope
from mentorgroups.services.digest_weeks import DigestWeek, zone
from mentorgroups.services.turnaround import NONE, Turnaround, by_reader
from mentorgroups.web import waited
from mentorgroups.wording import percent

PENDING_SHOWN = 25
# On the preview page, the members listed by name per section under "No progress last week"
# and under "Not started"; the rest are counted, with the group page for every one of them.
# Members who progressed are all listed (they are the week's news), and the email lists
# everyone.
MEMBERS_SHOWN = 25


def local_day(local: datetime, year: int) -> str:
    """'27 Nov' of a time already in the school's time zone ('27 Nov 2025' when not in
    `year`)."""
    return f"{local.day} {local:%b}" + ("" if local.year == year else f" {local.year}")


@dataclass
class PendingItem:
    submission_id: int
    member: str
    path: str
    step: str
    submitted_at: datetime
    waited: str
    stale: bool


@dataclass
class PathProgress:
    path: str
    done_last_week: int
    completed: int
    total: int
    last_at: datetime  # the last step on this path (UTC)
    finished_last_week: bool
    tz: tzinfo

    @property
    def last_activity(self) -> datetime:
        """The last step in the school's time zone (worked out when asked: a digest holds
        about 7,500 of these for a mentor of 50 groups, and its lines need only the member's
        last day)."""
        return self.last_at.astimezone(self.tz)

    @property
    def percent(self) -> int:
        return percent(self.completed, self.total)


@dataclass
class MemberProgress:
    """One member's line: steps last week (by path), progress now over the paths started,
    the day of the last step (school's time zone) and, when drifting, for how long. Built
    once and never changed: its words are worked out once, however often a template asks
    (a digest shows about 2,000 lines for a mentor of 50 groups)."""

    user_id: int
    name: str
    paths: list[PathProgress]
    last: str = ""  # "27 Nov", the school's date of the last step
    idle_days: int | None = None  # days since the last step (or joining, if none)
    drifting: bool = False

    @property
    def no_progress(self) -> bool:
        return not any(p.done_last_week for p in self.paths)

    @property
    def started(self) -> bool:
        return bool(self.paths)

    @cached_property
    def steps_last_week(self) -> int:
        return sum(p.done_last_week for p in self.paths)

    @property
    def moved(self) -> str:
        """'Essay 2, Maths 1': the paths that moved last week."""
        return ", ".join(f"{p.path} {p.done_last_week}" for p in self.paths if p.done_last_week)

    @property
    def finished(self) -> str:
        return ", ".join(p.path for p in self.paths if p.finished_last_week)

    @property
    def completed(self) -> int:
        return sum(p.completed for p in self.paths)

    @property
    def total(self) -> int:
        return sum(p.total for p in self.paths)

    @cached_property
    def summary(self) -> str:
        """'3 steps (Essay 2, Maths 1); finished Maths; now 5/12; last 27 Nov'."""
        parts = []
        if self.steps_last_week:
            n = self.steps_last_week
            parts.append(f"{n} {'step' if n == 1 else 'steps'} ({self.moved})")
        if self.finished:
            parts.append(f"finished {self.finished}")
        if self.paths:
            parts += [f"now {self.completed}/{self.total}", f"last {self.last}"]
        return "; ".join(parts)

    @property
    def drift_note(self) -> str:
        return f"drifting: no progress for {self.idle_days} days" if self.drifting else ""

    @cached_property
    def line(self) -> str:
        """Everything said after the member's name, in one line."""
        return "; ".join(part for part in (self.summary, self.drift_note) if part)


@dataclass
class GroupSection:
    """One group's part of a digest. Its lists of members by progress are worked out once
    (the templates read each of them several times)."""

    group_id: int
    group_name: str
    pending: list[PendingItem]
    pending_total: int
    stale_total: int
    members: list[MemberProgress]  # every member: progressed, no progress, not started
    members_total: int = 0
    anyone_started: bool = False
    unsubscribe_url: str = ""
    drift_days: int = 14

    @property
    def pending_more(self) -> int:
        return self.pending_total - len(self.pending)

    @cached_property
    def progressed(self) -> list[MemberProgress]:
        return [m for m in self.members if not m.no_progress]

    @cached_property
    def idle(self) -> list[MemberProgress]:
        return [m for m in self.members if m.started and m.no_progress]

    @cached_property
    def not_started(self) -> list[MemberProgress]:
        return [m for m in self.members if not m.started]

    @property
    def idle_shown(self) -> list[MemberProgress]:
        return self.idle[:MEMBERS_SHOWN]

    @property
    def idle_more(self) -> int:
        return max(len(self.idle) - MEMBERS_SHOWN, 0)

    @property
    def not_started_shown(self) -> list[MemberProgress]:
        return self.not_started[:MEMBERS_SHOWN]

    @property
    def not_started_more(self) -> int:
        return max(len(self.not_started) - MEMBERS_SHOWN, 0)

    @property
    def drifting_total(self) -> int:
        return sum(1 for m in self.members if m.drifting)

    @property
    def has_content(self) -> bool:
        return bool(self.pending_total or self.anyone_started)


@dataclass
class Digest:
    user_id: int
    name: str
    email: str
    school: str
    week: DigestWeek
    sections: list[GroupSection] = field(default_factory=list)
    waiting: int = 0
    stale: int = 0
    active_members: int = 0
    # Time to a first review of the work of these groups' members, last four weeks.
    turnaround: Turnaround = NONE

    @property
    def is_empty(self) -> bool:
        """Nothing to say: no pending work and no member who has started a path."""
        return not any(section.has_content for section in self.sections)


def subscribers(account_id: int, user_ids=None) -> dict[int, tuple[str, str, list[int]]]:
    """user id -> (name, email, section group ids): active people with the digest on for a
    group they follow now (a Mentor of it, or a Group Admin of it or of a group above it).
    One statement; the tree is walked in it from these people's groups only."""
    secs = digest_scope.sections(account_id, user_ids)
    people: dict[int, tuple[str, str, list[int]]] = {}
    for uid, name, email, gid in db.session.execute(
            select(secs.c.reader_id, User.full_name, User.email, secs.c.section_id)
            .join(User, User.id == secs.c.reader_id)
            .order_by(secs.c.reader_id, secs.c.section_id)):
        people.setdefault(uid, (name, email, []))[2].append(gid)
    return people


def build_digests(account: Account, week: DigestWeek, now: datetime,
                  user_ids=None) -> list[Digest]:
    """Every digest of the school for `week` (or only `user_ids`' digests), as of `now`.

    Five statements, whatever the size of the school: the readers' sections and the groups
    each counts, those groups' members (each group once), the members' progress by path,
    their pending work, and the turnaround. Each starts from the readers asked for and walks
    only their groups (see `digest_scope`), so one person's digest reads that person's
    groups' members and nobody else's completions."""
    secs = digest_scope.sections(account.id, user_ids)
    cov = digest_scope.covered(account.id, secs)
    rows = db.session.execute(
        select(cov.c.reader_id, User.full_name, User.email, cov.c.section_id,
               MentorGroup.name, cov.c.group_id)
        .join(User, User.id == cov.c.reader_id)
        .join(MentorGroup, MentorGroup.id == cov.c.section_id)).all()
    if not rows:
        return []
    readers: dict[int, tuple[str, str]] = {}
    groups_of: dict[int, dict[int, str]] = defaultdict(dict)  # reader -> section -> name
    covers: dict[tuple[int, int], list[int]] = defaultdict(list)  # (reader, section) -> groups
    for uid, name, email, section_id, section_name, gid in rows:
        readers[uid] = (name, email)
        groups_of[uid][section_id] = section_name
        covers[uid, section_id].append(gid)

    # Each covered group's members once, however many readers' sections count the group.
    people = digest_scope.member_ids(cov)
    members_in: dict[int, dict[int, datetime]] = defaultdict(dict)  # group -> member -> joined
    member_names: dict[int, str] = {}
    for gid, uid, name, joined_at in db.session.execute(
            digest_scope.group_members(account.id, cov)):
        members_in[gid][uid] = joined_at
        member_names[uid] = name

    stale_after = timedelta(days=current_app.config["DIGEST_STALE_DAYS"])
    pending_by_member: dict[int, list[PendingItem]] = defaultdict(list)
    for sid, uid, submitted_at, step, path in db.session.execute(
            select(Submission.id, Submission.user_id, Submission.submitted_at, Step.title,
                   Path.title)
            .join(Step, Step.id == Submission.step_id).join(Path, Path.id == Step.path_id)
            .where(Submission.account_id == account.id, Submission.status == "pending",
                   Submission.user_id.in_(people))
            .order_by(Submission.submitted_at, Submission.id)):
        if uid in member_names:  # a member who left between the two statements
            pending_by_member[uid].append(PendingItem(
                sid, member_names[uid], path, step, submitted_at, waited(submitted_at, now),
                now - submitted_at >= stale_after))

    totals = (select(Step.path_id, func.count(Step.id).label("steps"))
              .join(Path, Path.id == Step.path_id).where(Path.account_id == account.id)
              .group_by(Step.path_id).subquery())
    in_week = and_(StepCompletion.completed_at >= week.start,
                   StepCompletion.completed_at < week.end)
    # The members' completions summed by path first (about 75,000 rows for a mentor of 50
    # groups at 100,000 learners), then the 7,500 sums joined to their paths: joining every
    # completion to its path and its path's total cost as much as reading them.
    per_path = (select(StepCompletion.user_id, Step.path_id, func.count().label("done"),
                       func.sum(case((in_week, 1), else_=0)).label("recent"),
                       func.max(StepCompletion.completed_at).label("last"))
                .join(Step, Step.id == StepCompletion.step_id)
                .where(StepCompletion.completed_at < now, StepCompletion.user_id.in_(people))
                .group_by(StepCompletion.user_id, Step.path_id).subquery())
    tz = zone(account)
    progress: dict[int, list[PathProgress]] = defaultdict(list)
    last_step: dict[int, datetime] = {}
    for uid, title, total, done, recent, last in db.session.execute(
            select(per_path.c.user_id, Path.title, totals.c.steps, per_path.c.done,
                   per_path.c.recent, per_path.c.last)
            .join(Path, Path.id == per_path.c.path_id)
            .join(totals, totals.c.path_id == Path.id)
            .where(Path.account_id == account.id)):
        if uid not in member_names:
            continue
        last_step[uid] = max(last, last_step.get(uid, last))
        progress[uid].append(PathProgress(
            title, int(recent or 0), done, total, last,
            finished_last_week=bool(total) and done >= total and week.start <= last < week.end,
            tz=tz))
    for paths in progress.values():
        paths.sort(key=lambda p: p.path.lower())
    active_last_week = {uid for uid, paths in progress.items()
                        if any(p.done_last_week for p in paths)}

    drift = timedelta(days=account.drift_days)
    year = (week.end - timedelta(seconds=1)).astimezone(tz).year
    today = now.astimezone(tz).date()
    digests = []
    for uid, (name, email) in sorted(readers.items(), key=lambda item: (item[1][0], item[0])):
        digest = Digest(uid, name, email, account.name, week)
        seen_pending, seen_stale, active = set(), set(), set()
        for gid, group_name in sorted(groups_of[uid].items(),
                                      key=lambda g: (g[1].lower(), g[0])):
            joined: dict[int, datetime] = {}  # member -> when they first joined these groups
            for group in covers[uid, gid]:
                for person, at in members_in[group].items():
                    if person != uid and (person not in joined or at < joined[person]):
                        joined[person] = at
            pending = sorted((item for p in joined for item in pending_by_member[p]),
                             key=lambda item: (item.submitted_at, item.submission_id))
            ordered = sorted(joined, key=lambda p: (
                p not in active_last_week, p not in progress, member_names[p].lower(), p))
            shown = [member_line(p, member_names[p], progress.get(p, []), last_step.get(p),
                                 joined[p], now, today, drift, tz, year) for p in ordered]
            digest.sections.append(GroupSection(
                gid, group_name, pending[:PENDING_SHOWN], len(pending),
                sum(1 for item in pending if item.stale), shown, members_total=len(joined),
                anyone_started=any(p in progress for p in joined),
                drift_days=account.drift_days))
            seen_pending.update(item.submission_id for item in pending)
            seen_stale.update(item.submission_id for item in pending if item.stale)
            active.update(p for p in joined if p in active_last_week)
        digest.waiting, digest.stale, digest.active_members = (
            len(seen_pending), len(seen_stale), len(active))
        digests.append(digest)
    # One statement for every digest: the rounds of each reader's groups' members.
    waits = by_reader(account.id, select(cov.c.reader_id, cov.c.group_id).distinct(), now)
    for digest in digests:
        digest.turnaround = waits.get(digest.user_id, NONE)
    return digests


def member_line(uid: int, name: str, paths: list[PathProgress], last_step: datetime | None,
                joined: datetime, now: datetime, today: date, drift: timedelta, tz: tzinfo,
                year: int) -> MemberProgress:
    """A member drifts after `drift` without a step: counted from their last step, or from
    joining the group when they have taken none (the group page's rule too). The days said
    are the school's calendar days (`today` is now's), as the "last 10 Nov" beside them."""
    since = (last_step or joined).astimezone(tz)
    return MemberProgress(uid, name, paths,
                          last=local_day(since, year) if last_step else "",
                          idle_days=max((today - since.date()).days, 0),
                          drifting=now - since >= drift)
