"""Mentors at work: who hears about a submission, whose work a person may review, and what a
mentor sees of their groups' members.

A mentor reaches a learner through any group of the school in which the learner is a
member; a Group Admin through the groups they manage (and those below). Only people whose
access to the school is active count, on both sides."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, case, exists, false, func, literal, select, true, union_all
from sqlalchemy.orm import aliased, joinedload, selectinload

from mentorgroups.extensions import db
from mentorgroups.models import (
    AccountMembership,
    Cohort,
    CohortMembership,
    GroupMembership,
    MentorGroup,
    Path,
    Step,
    StepCompletion,
    Submission,
    User,
    utcnow,
)
from mentorgroups.paging import Page, PageRequest, clamp
from mentorgroups.request_cache import cached
from mentorgroups.services import group_reach
from mentorgroups.services.errors import NotFound
from mentorgroups.services.group_members import by_name_page, name_or_email_matches
from mentorgroups.services.page_counts import members_estimate, page_total
from mentorgroups.services.permissions import active_membership
from mentorgroups.services.school_roles import roles_in_school
from mentorgroups.services.school_settings import drift_cutoff
from mentorgroups.wording import percent


def active_people(account_id: int):
    return and_(AccountMembership.user_id == User.id,
                AccountMembership.account_id == account_id,
                AccountMembership.status == "active", User.active.is_(True))


def submission_recipients(submission: Submission) -> list[User]:
    """Who is told a submission waits: every mentor of every group of the school in which
    the learner is a member, and the cohort's teachers and moderators. Each person once;
    never the learner; never Group Admins as such; nobody whose access is revoked."""
    learner_groups = select(GroupMembership.group_id).join(MentorGroup).where(
        GroupMembership.user_id == submission.user_id, GroupMembership.role == "member",
        MentorGroup.account_id == submission.account_id)
    mentors = select(GroupMembership.user_id).where(
        GroupMembership.group_id.in_(learner_groups), GroupMembership.role == "mentor")
    teachers = select(CohortMembership.user_id).where(
        CohortMembership.cohort_id == submission.cohort_id,
        CohortMembership.role.in_(("teacher", "moderator")))
    return list(db.session.scalars(
        select(User).join(AccountMembership, active_people(submission.account_id))
        .where(User.id.in_(mentors.union(teachers)), User.id != submission.user_id)
        .order_by(User.id)))


def mentored_group_ids(actor: User, account_id: int) -> set[int]:
    """Groups whose members this person follows, as a Python set: for the digest and tests.
    Screens and checks put `group_reach.mentored_select()` inside their statements."""
    return set(cached(("mentored", actor.id, account_id),
                      lambda: frozenset(_mentored_group_ids(actor, account_id))))


def _mentored_group_ids(actor: User, account_id: int) -> set[int]:
    reach = group_reach.mentored_select(actor, account_id)
    return set() if reach is None else set(db.session.scalars(reach))


def follows_learner(actor: User, account_id: int, learner_id):
    """SQL condition: the learner (a column, or an id) is a member of a group this person
    mentors or manages. An EXISTS over the group memberships with the groups as a subquery
    (a walk down the tree for a Group Admin), so the database checks it row by row: neither
    the learners nor the groups are gathered in Python."""
    reach = group_reach.mentored_select(actor, account_id)
    if reach is None:
        return false()
    learner_groups = aliased(GroupMembership)
    memberships = select(learner_groups.user_id).where(learner_groups.user_id == learner_id,
                                                       learner_groups.role == "member")
    if not roles_in_school(actor.id, account_id).group_admin:
        return memberships.where(learner_groups.group_id.in_(reach)).exists()
    # A Group Admin's reach may be most of a big tree (2,005 groups, 155,000 memberships at
    # the root of the bench school). Left to itself, PostgreSQL turns this EXISTS (under the
    # queue's OR) into a hash of every learner in reach, built from every group's members
    # (330 ms for the queue's count, again for its page). Checked row by row instead (the
    # OFFSET 0 keeps the EXISTS a subplan), each learner's few memberships are looked up by
    # index and each tested against the reach's group ids, hashed once (`IS TRUE` keeps
    # that IN a hashed subplan rather than a join rebuilt for every row): 45 ms and 14 ms.
    # A mentor's reach is a list of their groups, whose members' hash is small: left as is.
    return (memberships.where(learner_groups.group_id.in_(reach).is_(true()))
            .offset(0).exists())


# ---- what a mentor sees ------------------------------------------------------------------------

@dataclass
class MemberRow:
    user: User
    paths: list[dict]  # {"path": Path, "completed": n, "total": n, "percent": n}
    last_activity: datetime | None
    waiting: int
    oldest_waiting: datetime | None
    drifting: bool = False
    idle_since: datetime | None = None  # the last step, or joining the group if none
    updated: datetime | None = None  # the latest change to work that waits


# The group page's member list: what it can show and how it can order it.
MEMBER_FILTERS = ("all", "drifting")
MEMBER_SORTS = ("name", "drifting", "waiting")


def mentor_home(actor: User, account_id: int) -> tuple[list[dict], list[dict]]:
    """The first page of the groups this person mentors or manages, then the cohorts they
    teach or moderate."""
    from mentorgroups.services.mentor_groups import mentor_cohorts, mentor_groups_page

    return mentor_groups_page(actor, account_id).items, mentor_cohorts(actor, account_id)


def mentored_group(actor: User, account_id: int, group_id) -> MentorGroup:
    try:
        gid = int(group_id)
    except (TypeError, ValueError):
        raise NotFound("That group does not exist.") from None
    if not group_reach.mentors(actor, account_id, gid):
        raise NotFound("That group does not exist or you don't mentor it.")
    return db.session.get(MentorGroup, gid)


def viewable_group(actor: User, account_id: int, group_id) -> MentorGroup:
    """A group whose mentor page this person may open: one they mentor or administer (and
    those below), or, for an account admin, any group of the school, since they manage
    every one (Home > People > Groups, "All groups"). NotFound for anything else."""
    try:
        gid = int(group_id)
    except (TypeError, ValueError):
        raise NotFound("That group does not exist.") from None
    if group_reach.mentors(actor, account_id, gid) \
            or group_reach.manages(actor, account_id, gid):
        group = db.session.get(MentorGroup, gid)
        if group is not None and group.account_id == account_id:
            return group
    raise NotFound("That group does not exist or you don't mentor or manage it.")


def _progress_by_learner(account_id: int, user_ids: list[int]) -> dict[int, list[dict]]:
    """user id -> [{"path", "completed", "total", "percent", "last"}] by path title, for
    the page's learners only: the ids are the page's (at most 100), so the database reads
    their completions by index instead of joining every completion of the school."""
    totals = (select(Step.path_id.label("path_id"), func.count().label("total"))
              .group_by(Step.path_id).subquery())
    out: dict[int, list[dict]] = {}
    for uid, pid, title, total, done, last in db.session.execute(
            select(StepCompletion.user_id, Path.id, Path.title, totals.c.total, func.count(),
                   func.max(StepCompletion.completed_at))
            .join(Step, Step.id == StepCompletion.step_id)
            .join(Path, Path.id == Step.path_id)
            .join(totals, totals.c.path_id == Path.id)
            .where(StepCompletion.user_id.in_(user_ids), Path.account_id == account_id)
            .group_by(StepCompletion.user_id, Path.id, Path.title, totals.c.total)
            .order_by(StepCompletion.user_id, Path.title)):
        out.setdefault(uid, []).append({
            "path": PathTitle(pid, title), "completed": done, "total": total,
            "percent": percent(done, total), "last": last})
    return out


def _submissions_by_learner(account_id: int, user_ids: list[int]) -> dict[int, tuple]:
    """user id -> (waiting, oldest waiting, last submitted or changed, latest change to
    waiting work), one query for the page. Waiting counts from the round's first
    submission; an update is activity but never makes work younger."""
    pending = Submission.status == "pending"
    changed = func.coalesce(Submission.updated_at, Submission.submitted_at)
    return {uid: (waiting or 0, oldest, last, updated)
            for uid, waiting, oldest, last, updated in db.session.execute(
        select(Submission.user_id, func.sum(case((pending, 1), else_=0)),
               func.min(case((pending, Submission.submitted_at), else_=None)),
               func.max(changed), func.max(case((pending, Submission.updated_at), else_=None)))
        .where(Submission.user_id.in_(user_ids), Submission.account_id == account_id)
        .group_by(Submission.user_id))}


@dataclass(frozen=True)
class PathTitle:
    id: int
    title: str


@dataclass(frozen=True)
class Person:
    """The columns a list shows of a person."""

    id: int
    full_name: str
    email: str


def group_page(actor: User, account_id: int, group_id, request: PageRequest | None = None,
               show: str = "all", sort: str = "name",
               now: datetime | None = None) -> tuple[MentorGroup, Page]:
    """A mentored group's members, one page at a time, optionally searched by name or
    email, only the drifting ones (`show`), and ordered by name, by drifting (longest
    without progress first) or by waiting work (most, then oldest, first). A member drifts
    when their last step (or, with none, their joining the group) is older than the
    school's drift days. Filter and order are the database's (correlated aggregates per
    member), and paths, progress and waiting work are read for that page's members only:
    the same statements for 10 members or 5,000."""
    request = request or PageRequest()
    show = show if show in MEMBER_FILTERS else "all"
    sort = sort if sort in MEMBER_SORTS else "name"
    now = now or utcnow()
    group = viewable_group(actor, account_id, group_id)
    cutoff = drift_cutoff(account_id, now)
    last_step = (select(func.max(StepCompletion.completed_at))
                 .join(Step, Step.id == StepCompletion.step_id)
                 .join(Path, Path.id == Step.path_id)
                 .where(StepCompletion.user_id == User.id, Path.account_id == account_id,
                        StepCompletion.completed_at <= now)
                 .correlate(User).scalar_subquery())
    since = func.coalesce(last_step, GroupMembership.created_at)
    rows = (select(User.id, User.full_name, User.email, since.label("since"))
            .join(GroupMembership, and_(GroupMembership.user_id == User.id,
                                        GroupMembership.group_id == group.id,
                                        GroupMembership.role == "member"))
            .join(AccountMembership, active_people(account_id)))
    if request.search:
        rows = rows.where(name_or_email_matches(request.search))
    if show == "drifting":
        rows = rows.where(since < cutoff)
    # The whole group (no search, no filter) is counted up to a bound, then "about".
    total, about = page_total(rows.with_only_columns(User.id), None if request.search or
                              show != "all" else members_estimate(group.id))
    request = clamp(request, total)
    by_name = (func.lower(User.full_name), User.id)
    if sort == "drifting":
        order = (since, *by_name)
    elif sort == "waiting":
        pending = and_(Submission.user_id == User.id, Submission.account_id == account_id,
                       Submission.status == "pending")
        waiting = select(func.count()).where(pending).correlate(User).scalar_subquery()
        oldest = (select(func.min(Submission.submitted_at)).where(pending)
                  .correlate(User).scalar_subquery())
        # Most waiting first; among equals the oldest waiting first (none last).
        order = (waiting.desc(), case((oldest.is_(None), 1), else_=0), oldest, *by_name)
    else:
        order = by_name
    # In name order, Previous and Next read the page from the name index after (before)
    # the row they name; other orders, and a page opened by its number, by OFFSET.
    found = by_name_page(rows, request) if sort == "name" else None
    if found is None:
        found = db.session.execute(rows.order_by(*order).limit(request.size)
                                   .offset(request.offset)).all()
    ids = [row.id for row in found]
    progress = _progress_by_learner(account_id, ids)
    submissions = _submissions_by_learner(account_id, ids)
    items = []
    for uid, full_name, email, idle_since in found:
        paths = progress.get(uid, [])
        waiting_count, oldest_at, last, updated = submissions.get(uid, (0, None, None, None))
        last = max(filter(None, (last, *(p["last"] for p in paths))), default=None)
        items.append(MemberRow(Person(uid, full_name, email), paths, last, waiting_count,
                               oldest_at, drifting=idle_since < cutoff, idle_since=idle_since,
                               updated=updated))
    page = Page(items, total, request.number, request.size, request.search, estimated=about,
                keys=(ids[0], ids[-1]) if ids and sort == "name" else None)
    page.extra = {"show": show, "sort": sort, "drift_days": (now - cutoff).days}
    return group, page


def may_view_learner(actor: User, account_id: int, user_id: int) -> bool:
    membership = active_membership(actor, account_id)
    if membership is None:
        return False
    if membership.role == "admin":
        return True
    return bool(db.session.scalar(select(follows_learner(actor, account_id, user_id))))


def _enrolled_path(uid: int):
    """SQL condition: the path (Path.id) is one the learner takes in some cohort."""
    return exists().where(Cohort.path_id == Path.id, CohortMembership.cohort_id == Cohort.id,
                          CohortMembership.user_id == uid, CohortMembership.role == "learner")


def _path_cards(uid: int, account_id: int) -> list[dict]:
    """Every path the learner takes, with step-level progress (bounded by one learner's
    paths and their steps)."""
    paths = list(db.session.scalars(
        select(Path).where(Path.account_id == account_id, _enrolled_path(uid))
        .options(selectinload(Path.steps)).order_by(Path.title)))
    step_ids = [step.id for path in paths for step in path.steps]
    completions = {c.step_id: c for c in db.session.scalars(
        select(StepCompletion).where(StepCompletion.user_id == uid,
                                     StepCompletion.step_id.in_(step_ids)))}
    submissions = {s.step_id: s for s in db.session.scalars(
        select(Submission).where(Submission.user_id == uid, Submission.account_id == account_id,
                                 Submission.step_id.in_(step_ids))
        .options(selectinload(Submission.review), selectinload(Submission.reviews)))}
    cards = []
    for path in paths:
        steps = [{"step": step, "completion": completions.get(step.id),
                  "submission": submissions.get(step.id)} for step in path.steps]
        done = sum(1 for s in steps if s["completion"])
        cards.append({"path": path, "steps": steps, "completed": done, "total": len(steps),
                      "percent": percent(done, len(steps))})
    return cards


def activity_page(uid: int, account_id: int, request: PageRequest) -> Page:
    """The learner's activity, newest first, one page: steps completed and work submitted
    (a step completed by submitting it is said once, as "submitted"), in the paths they
    take. Counted and paged by the database."""
    submitted = exists().where(Submission.user_id == uid, Submission.step_id == Step.id)
    completed = (select(StepCompletion.completed_at.label("at"),
                        literal("completed").label("what"), Step.title.label("step"),
                        Path.title.label("path"))
                 .join(Step, Step.id == StepCompletion.step_id)
                 .join(Path, Path.id == Step.path_id)
                 .where(StepCompletion.user_id == uid, Path.account_id == account_id,
                        _enrolled_path(uid), ~submitted))
    sent = (select(Submission.submitted_at.label("at"), literal("submitted").label("what"),
                   Step.title.label("step"), Path.title.label("path"))
            .join(Step, Step.id == Submission.step_id)
            .join(Path, Path.id == Step.path_id)
            .where(Submission.user_id == uid, Submission.account_id == account_id,
                   _enrolled_path(uid)))
    both = union_all(completed, sent).subquery()
    total = db.session.scalar(select(func.count()).select_from(both))
    request = clamp(request, total)
    items = [{"when": at, "what": what, "step": step, "path": path}
             for at, what, step, path in db.session.execute(
                 select(both).order_by(both.c.at.desc(), both.c.what, both.c.step)
                 .limit(request.size).offset(request.offset))]
    return Page(items, total, request.number, request.size)


def learner_profile(actor: User, account_id: int, user_id, tab: str = "paths",
                    request: PageRequest | None = None) -> dict:
    """The profile card: the learner's items waiting for review (their count is on every
    tab), and the tab shown: every path with step-level progress, or one page of activity."""
    try:
        uid = int(user_id)
    except (TypeError, ValueError):
        raise NotFound("That person does not exist.") from None
    person = db.session.get(User, uid)
    if person is None or active_membership(person, account_id) is None \
            or not may_view_learner(actor, account_id, uid):
        raise NotFound("That person does not exist or is not in a group you mentor.")
    waiting = list(db.session.scalars(
        select(Submission).join(Step, Step.id == Submission.step_id)
        .join(Path, Path.id == Step.path_id)
        .where(Submission.user_id == uid, Submission.account_id == account_id,
               Submission.status == "pending", _enrolled_path(uid))
        .options(joinedload(Submission.step).joinedload(Step.path))
        .order_by(Submission.submitted_at, Submission.id)))
    card = {"person": person, "waiting": waiting, "paths": [], "activity": None}
    if tab == "activity":
        card["activity"] = activity_page(uid, account_id, request or PageRequest())
    elif tab != "review":
        card["paths"] = _path_cards(uid, account_id)
    return card
