"""Mentors at work: who hears about a submission, whose work a person may review, and what a
mentor sees of their groups' members.

A mentor reaches a learner through any group of the school in which the learner is a
member; a Group Admin through the groups they manage (and those below). Only people whose
access to the school is active count, on both sides."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, select
from sqlalchemy.orm import selectinload

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
)
from mentorgroups.services.errors import NotFound
from mentorgroups.services.groups import parent_map, subtree_ids
from mentorgroups.services.permissions import active_membership


def _active_people(account_id: int):
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
        select(User).join(AccountMembership, _active_people(submission.account_id))
        .where(User.id.in_(mentors.union(teachers)), User.id != submission.user_id)
        .order_by(User.id)))


def mentored_group_ids(actor: User, account_id: int) -> set[int]:
    """Groups whose members this person follows: those they mentor, and those they
    administer as Group Admin with every group below them."""
    if active_membership(actor, account_id) is None:
        return set()
    rows = db.session.execute(
        select(GroupMembership.group_id, GroupMembership.role).join(MentorGroup).where(
            GroupMembership.user_id == actor.id, MentorGroup.account_id == account_id,
            GroupMembership.role.in_(("mentor", "group_admin")))).all()
    mentoring = {gid for gid, role in rows if role == "mentor"}
    administered = {gid for gid, role in rows if role == "group_admin"}
    if administered:
        administered = subtree_ids(parent_map(account_id), administered)
    return mentoring | administered


def followed_learner_ids(actor: User, account_id: int) -> set[int]:
    """Members of the groups this person mentors or manages."""
    group_ids = mentored_group_ids(actor, account_id)
    if not group_ids:
        return set()
    return set(db.session.scalars(select(GroupMembership.user_id).where(
        GroupMembership.group_id.in_(group_ids), GroupMembership.role == "member")))


# ---- what a mentor sees ------------------------------------------------------------------------

@dataclass
class MemberRow:
    user: User
    paths: list[dict]  # {"path": Path, "completed": n, "total": n, "percent": n}
    last_activity: datetime | None
    waiting: int
    oldest_waiting: datetime | None


def mentor_home(actor: User, account_id: int) -> tuple[list[dict], list[dict]]:
    """The groups this person mentors or manages (with member and waiting counts), then the
    cohorts they teach or moderate."""
    group_ids = mentored_group_ids(actor, account_id)
    group_rows = []
    if group_ids:
        members = dict(db.session.execute(
            select(GroupMembership.group_id, func.count()).where(
                GroupMembership.group_id.in_(group_ids), GroupMembership.role == "member")
            .group_by(GroupMembership.group_id)).all())
        waiting = dict(db.session.execute(
            select(GroupMembership.group_id, func.count(Submission.id))
            .join(Submission, Submission.user_id == GroupMembership.user_id)
            .where(GroupMembership.group_id.in_(group_ids), GroupMembership.role == "member",
                   Submission.account_id == account_id, Submission.status == "pending")
            .group_by(GroupMembership.group_id)).all())
        roles = dict(db.session.execute(select(GroupMembership.group_id, GroupMembership.role)
                                        .where(GroupMembership.user_id == actor.id)).all())
        for group in db.session.scalars(select(MentorGroup).where(MentorGroup.id.in_(group_ids))
                                        .order_by(func.lower(MentorGroup.name))):
            role = roles.get(group.id)  # below a group they administer: they manage it too
            group_rows.append({"group": group, "members": members.get(group.id, 0),
                               "waiting": waiting.get(group.id, 0),
                               "role": role if role in ("mentor", "group_admin")
                               else "group_admin"})
    cohort_rows = [
        {"cohort": cohort, "path": path, "role": role}
        for cohort, path, role in db.session.execute(
            select(Cohort, Path, CohortMembership.role)
            .join(CohortMembership, CohortMembership.cohort_id == Cohort.id)
            .join(Path, Path.id == Cohort.path_id)
            .where(CohortMembership.user_id == actor.id, Path.account_id == account_id,
                   CohortMembership.role.in_(("teacher", "moderator")))
            .order_by(Path.title, Cohort.name)).all()
    ]
    return group_rows, cohort_rows


def mentored_group(actor: User, account_id: int, group_id) -> MentorGroup:
    try:
        gid = int(group_id)
    except (TypeError, ValueError):
        raise NotFound("That group does not exist.") from None
    if gid not in mentored_group_ids(actor, account_id):
        raise NotFound("That group does not exist or you don't mentor it.")
    return db.session.get(MentorGroup, gid)


def _progress_by_learner(account_id: int, learners) -> dict[int, dict[int, tuple[int, datetime]]]:
    """user id -> path id -> (completed steps, last completion), for a subquery of users."""
    out: dict[int, dict[int, tuple[int, datetime]]] = {}
    for uid, pid, n, last in db.session.execute(
            select(StepCompletion.user_id, Step.path_id, func.count(),
                   func.max(StepCompletion.completed_at))
            .join(Step, Step.id == StepCompletion.step_id)
            .join(Path, Path.id == Step.path_id)
            .where(StepCompletion.user_id.in_(learners), Path.account_id == account_id)
            .group_by(StepCompletion.user_id, Step.path_id)):
        out.setdefault(uid, {})[pid] = (n, last)
    return out


def _path_totals(account_id: int) -> dict[int, tuple[Path, int]]:
    return {path.id: (path, n) for path, n in db.session.execute(
        select(Path, func.count(Step.id)).outerjoin(Step, Step.path_id == Path.id)
        .where(Path.account_id == account_id).group_by(Path.id))}


def _waiting_by_learner(account_id: int, learners) -> dict[int, tuple[int, datetime]]:
    return {uid: (n, oldest) for uid, n, oldest in db.session.execute(
        select(Submission.user_id, func.count(), func.min(Submission.submitted_at))
        .where(Submission.user_id.in_(learners), Submission.account_id == account_id,
               Submission.status == "pending")
        .group_by(Submission.user_id))}


def group_page(actor: User, account_id: int, group_id) -> tuple[MentorGroup, list[MemberRow]]:
    """A mentored group's members with their paths, progress, last activity and waiting
    work, in a fixed number of queries whatever the number of members."""
    group = mentored_group(actor, account_id, group_id)
    learners = select(GroupMembership.user_id).where(GroupMembership.group_id == group.id,
                                                     GroupMembership.role == "member")
    people = list(db.session.scalars(
        select(User).join(AccountMembership, _active_people(account_id))
        .where(User.id.in_(learners)).order_by(func.lower(User.full_name))))
    progress = _progress_by_learner(account_id, learners)
    totals = _path_totals(account_id)
    waiting = _waiting_by_learner(account_id, learners)
    last_submitted = dict(db.session.execute(
        select(Submission.user_id, func.max(Submission.submitted_at))
        .where(Submission.user_id.in_(learners), Submission.account_id == account_id)
        .group_by(Submission.user_id)).all())
    rows = []
    for person in people:
        paths, last = [], last_submitted.get(person.id)
        for pid, (done, when) in sorted(progress.get(person.id, {}).items(),
                                        key=lambda item: totals[item[0]][0].title):
            path, total = totals[pid]
            paths.append({"path": path, "completed": done, "total": total,
                          "percent": round(100 * done / total) if total else 0})
            last = max(filter(None, (last, when)), default=None)
        count, oldest = waiting.get(person.id, (0, None))
        rows.append(MemberRow(person, paths, last, count, oldest))
    return group, rows


def may_view_learner(actor: User, account_id: int, user_id: int) -> bool:
    membership = active_membership(actor, account_id)
    if membership is None:
        return False
    return membership.role == "admin" or user_id in followed_learner_ids(actor, account_id)


def learner_profile(actor: User, account_id: int, user_id) -> dict:
    """The profile card: every path with step-level progress, recent activity, and the
    learner's items waiting for review."""
    try:
        uid = int(user_id)
    except (TypeError, ValueError):
        raise NotFound("That person does not exist.") from None
    person = db.session.get(User, uid)
    if person is None or active_membership(person, account_id) is None \
            or not may_view_learner(actor, account_id, uid):
        raise NotFound("That person does not exist or is not in a group you mentor.")
    paths = list(db.session.scalars(
        select(Path).join(Cohort, Cohort.path_id == Path.id)
        .join(CohortMembership, CohortMembership.cohort_id == Cohort.id)
        .where(CohortMembership.user_id == uid, CohortMembership.role == "learner",
               Path.account_id == account_id)
        .options(selectinload(Path.steps)).distinct().order_by(Path.title)))
    completions = {c.step_id: c for c in db.session.scalars(
        select(StepCompletion).where(StepCompletion.user_id == uid))}
    submissions = {s.step_id: s for s in db.session.scalars(
        select(Submission).where(Submission.user_id == uid,
                                 Submission.account_id == account_id)
        .options(selectinload(Submission.review)))}
    path_cards = []
    for path in paths:
        steps = [{"step": step, "completion": completions.get(step.id),
                  "submission": submissions.get(step.id)} for step in path.steps]
        done = sum(1 for s in steps if s["completion"])
        path_cards.append({"path": path, "steps": steps, "completed": done,
                           "total": len(steps),
                           "percent": round(100 * done / len(steps)) if steps else 0})
    step_ids = {s["step"].id: (s["step"], card["path"]) for card in path_cards
                for s in card["steps"]}
    activity = sorted(
        [{"when": c.completed_at, "what": "completed", "step": step_ids[c.step_id][0],
          "path": step_ids[c.step_id][1]} for c in completions.values()
         if c.step_id in step_ids and c.step_id not in submissions]  # said as "submitted"
        + [{"when": s.submitted_at, "what": "submitted", "step": step_ids[s.step_id][0],
            "path": step_ids[s.step_id][1]} for s in submissions.values()
           if s.step_id in step_ids],
        key=lambda item: item["when"], reverse=True)[:30]
    waiting = [s for s in sorted(submissions.values(), key=lambda s: s.submitted_at)
               if s.status == "pending" and s.step_id in step_ids]
    return {"person": person, "paths": path_cards, "activity": activity, "waiting": waiting}
