"""What a weekly Mentor Digest says: per subscribed group, the work waiting for review and
each member's progress last week.

`build_digests` builds every digest of a school (or of some of its people) in a fixed number
of SQL statements, whatever the number of people, groups, members or completions: the rows
are fetched school-wide with aggregates and put together in Python."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo

from flask import current_app
from sqlalchemy import and_, case, func, select

from mentorgroups.extensions import db
from mentorgroups.models import (
    STAFF_ROLES,
    Account,
    AccountMembership,
    DigestSubscription,
    GroupMembership,
    MentorGroup,
    Path,
    Step,
    StepCompletion,
    Submission,
    User,
)
from mentorgroups.services.digest_weeks import DigestWeek, zone
from mentorgroups.services.groups import parent_map, subtree_ids
from mentorgroups.services.mentoring import active_people
from mentorgroups.services.turnaround import NONE, Turnaround, by_reader
from mentorgroups.web import waited
from mentorgroups.wording import percent

PENDING_SHOWN = 25


def local_day(value: datetime, tz: tzinfo, year: int) -> str:
    """'27 Nov' in the school's time zone ('27 Nov 2025' when not in `year`)."""
    local = value.astimezone(tz)
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
    last_activity: datetime  # in the school's time zone
    finished_last_week: bool

    @property
    def percent(self) -> int:
        return percent(self.completed, self.total)


@dataclass
class MemberProgress:
    """One member's line: steps last week (by path), progress now over the paths started,
    the day of the last step (school's time zone) and, when drifting, for how long."""

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

    @property
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

    @property
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

    @property
    def line(self) -> str:
        """Everything said after the member's name, in one line."""
        return "; ".join(part for part in (self.summary, self.drift_note) if part)


@dataclass
class GroupSection:
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

    @property
    def progressed(self) -> list[MemberProgress]:
        return [m for m in self.members if not m.no_progress]

    @property
    def idle(self) -> list[MemberProgress]:
        return [m for m in self.members if m.started and m.no_progress]

    @property
    def not_started(self) -> list[MemberProgress]:
        return [m for m in self.members if not m.started]

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


@dataclass
class Subscribers:
    """user id -> (name, email, subscribed group ids), with their staff roles and the tree."""

    people: dict[int, tuple[str, str, list[int]]]
    roles: dict[int, dict[int, str]]
    parents: dict[int, int | None]


def subscribers(account_id: int, user_ids=None) -> Subscribers:
    """Active people with the digest on for a group they follow now: a Mentor of it, or a
    Group Admin of it or of a group above it."""
    query = (select(DigestSubscription.user_id, DigestSubscription.group_id, User.full_name,
                    User.email)
             .join(MentorGroup, MentorGroup.id == DigestSubscription.group_id)
             .join(User, User.id == DigestSubscription.user_id)
             .join(AccountMembership, active_people(account_id))
             .where(MentorGroup.account_id == account_id, DigestSubscription.subscribed.is_(True)))
    if user_ids is not None:
        query = query.where(DigestSubscription.user_id.in_(list(user_ids)))
    subs = db.session.execute(query).all()
    if not subs:
        return Subscribers({}, {}, {})
    roles: dict[int, dict[int, str]] = defaultdict(dict)
    for uid, gid, role in db.session.execute(
            select(GroupMembership.user_id, GroupMembership.group_id, GroupMembership.role)
            .join(MentorGroup, MentorGroup.id == GroupMembership.group_id)
            .where(MentorGroup.account_id == account_id, GroupMembership.role.in_(STAFF_ROLES),
                   GroupMembership.user_id.in_({uid for uid, *_ in subs}))):
        roles[uid][gid] = role
    parents = parent_map(account_id)
    people: dict[int, tuple[str, str, list[int]]] = {}
    for uid, gid, name, email in subs:
        if _scope(roles[uid], parents, gid) is not None:
            people.setdefault(uid, (name, email, []))[2].append(gid)
    return Subscribers(people, roles, parents)


def _ancestors(parents: dict[int, int | None], gid: int) -> list[int]:
    chain, seen = [], {gid}
    current = parents.get(gid)
    while current is not None and current not in seen:
        chain.append(current)
        seen.add(current)
        current = parents.get(current)
    return chain


def _scope(roles: dict[int, str], parents: dict[int, int | None], gid: int) -> str | None:
    """'tree' when the person administers the group or one above it (its nested groups'
    members count in it, as on their groups page); 'group' for its Mentor; None when they
    no longer follow it."""
    if gid not in parents:
        return None
    if roles.get(gid) == "group_admin" or any(roles.get(a) == "group_admin"
                                              for a in _ancestors(parents, gid)):
        return "tree"
    return "group" if roles.get(gid) == "mentor" else None


def build_digests(account: Account, week: DigestWeek, now: datetime,
                  user_ids=None) -> list[Digest]:
    """Every digest of the school for `week` (or only `user_ids`' digests), as of `now`."""
    found = subscribers(account.id, user_ids)
    if not found.people:
        return []
    subs, roles, parents = found.people, found.roles, found.parents
    names = dict(db.session.execute(select(MentorGroup.id, MentorGroup.name)
                                    .where(MentorGroup.account_id == account.id)).all())

    member_rows = select(GroupMembership.user_id).join(
        MentorGroup, MentorGroup.id == GroupMembership.group_id).where(
        MentorGroup.account_id == account.id, GroupMembership.role == "member")
    members_of: dict[int, set[int]] = defaultdict(set)
    member_names: dict[int, str] = {}
    joined: dict[int, dict[int, datetime]] = defaultdict(dict)  # user -> group -> when
    for gid, uid, name, joined_at in db.session.execute(
            select(GroupMembership.group_id, GroupMembership.user_id, User.full_name,
                   GroupMembership.created_at)
            .join(MentorGroup, MentorGroup.id == GroupMembership.group_id)
            .join(User, User.id == GroupMembership.user_id)
            .join(AccountMembership, active_people(account.id))
            .where(MentorGroup.account_id == account.id, GroupMembership.role == "member")):
        members_of[gid].add(uid)
        member_names[uid] = name
        joined[uid][gid] = joined_at

    stale_after = timedelta(days=current_app.config["DIGEST_STALE_DAYS"])
    pending_by_member: dict[int, list[PendingItem]] = defaultdict(list)
    for sid, uid, submitted_at, step, path in db.session.execute(
            select(Submission.id, Submission.user_id, Submission.submitted_at, Step.title,
                   Path.title)
            .join(Step, Step.id == Submission.step_id).join(Path, Path.id == Step.path_id)
            .where(Submission.account_id == account.id, Submission.status == "pending",
                   Submission.user_id.in_(member_rows))
            .order_by(Submission.submitted_at, Submission.id)):
        if uid in member_names:
            pending_by_member[uid].append(PendingItem(
                sid, member_names[uid], path, step, submitted_at, waited(submitted_at, now),
                now - submitted_at >= stale_after))

    totals = dict(db.session.execute(
        select(Path.id, func.count(Step.id)).outerjoin(Step, Step.path_id == Path.id)
        .where(Path.account_id == account.id).group_by(Path.id)).all())
    titles = dict(db.session.execute(select(Path.id, Path.title)
                                     .where(Path.account_id == account.id)).all())
    in_week = and_(StepCompletion.completed_at >= week.start,
                   StepCompletion.completed_at < week.end)
    tz = zone(account)
    progress: dict[int, list[PathProgress]] = defaultdict(list)
    last_step: dict[int, datetime] = {}
    for uid, pid, done, recent, last in db.session.execute(
            select(StepCompletion.user_id, Step.path_id, func.count(),
                   func.sum(case((in_week, 1), else_=0)), func.max(StepCompletion.completed_at))
            .join(Step, Step.id == StepCompletion.step_id).join(Path, Path.id == Step.path_id)
            .where(Path.account_id == account.id, StepCompletion.completed_at < now)
            .group_by(StepCompletion.user_id, Step.path_id)):
        # The whole school's completions, aggregated: cheaper than asking PostgreSQL to
        # filter by group members first (its plan for that IN is a nested loop per learner).
        if uid not in member_names:
            continue
        total = totals.get(pid, 0)
        last_step[uid] = max(last, last_step.get(uid, last))
        progress[uid].append(PathProgress(
            titles[pid], int(recent or 0), done, total, last.astimezone(tz),
            finished_last_week=bool(total) and done >= total and week.start <= last < week.end))
    for rows in progress.values():
        rows.sort(key=lambda p: p.path.lower())
    active_last_week = {uid for uid, rows in progress.items()
                        if any(p.done_last_week for p in rows)}

    drift = timedelta(days=account.drift_days)
    year = (week.end - timedelta(seconds=1)).astimezone(tz).year
    digests = []
    followed: dict[int, set[int]] = {}  # reader -> every group their digest covers
    for uid, (name, email, group_ids) in sorted(subs.items(), key=lambda item: item[1][0]):
        digest = Digest(uid, name, email, account.name, week)
        followed[uid] = set()
        seen_pending, seen_stale, active = set(), set(), set()
        for gid in sorted(group_ids, key=lambda g: names[g].lower()):
            scope = _scope(roles[uid], parents, gid)
            groups = subtree_ids(parents, {gid}) if scope == "tree" else {gid}
            followed[uid] |= groups
            people = set().union(*(members_of[g] for g in groups)) - {uid}
            pending = sorted((item for p in people for item in pending_by_member[p]),
                             key=lambda item: (item.submitted_at, item.submission_id))
            ordered = sorted(people, key=lambda p: (
                p not in active_last_week, p not in progress, member_names[p].lower(), p))
            shown = [member_line(p, member_names[p], progress.get(p, []), last_step.get(p),
                                 min(at for g, at in joined[p].items() if g in groups),
                                 now, drift, tz, year) for p in ordered]
            digest.sections.append(GroupSection(
                gid, names[gid], pending[:PENDING_SHOWN], len(pending),
                sum(1 for item in pending if item.stale), shown, members_total=len(people),
                anyone_started=any(p in progress for p in people),
                drift_days=account.drift_days))
            seen_pending.update(item.submission_id for item in pending)
            seen_stale.update(item.submission_id for item in pending if item.stale)
            active.update(people & active_last_week)
        digest.waiting, digest.stale, digest.active_members = (
            len(seen_pending), len(seen_stale), len(active))
        digests.append(digest)
    # One statement for every digest: the rounds of each reader's groups' members.
    waits = by_reader(account.id, followed, now)
    for digest in digests:
        digest.turnaround = waits.get(digest.user_id, NONE)
    return digests


def member_line(uid: int, name: str, paths: list[PathProgress], last_step: datetime | None,
                joined: datetime, now: datetime, drift: timedelta, tz: tzinfo,
                year: int) -> MemberProgress:
    """A member drifts after `drift` without a step: counted from their last step, or from
    joining the group when they have taken none (the group page's rule too). The days said
    are the school's calendar days, as the "last 10 Nov" beside them."""
    since = last_step or joined
    days = (now.astimezone(tz).date() - since.astimezone(tz).date()).days
    return MemberProgress(uid, name, paths,
                          last=local_day(last_step, tz, year) if last_step else "",
                          idle_days=max(days, 0), drifting=now - since >= drift)
