"""Home > People > Groups: the groups a person mentors or manages, one page at a time (a
Group Admin at the top of a school's tree reaches every group), and the cohorts they teach."""

from __future__ import annotations

from sqlalchemy import func, select

from mentorgroups.extensions import db
from mentorgroups.models import (
    Cohort,
    CohortMembership,
    GroupMembership,
    MentorGroup,
    Path,
    Submission,
    User,
)
from mentorgroups.paging import Page, PageRequest, clamp
from mentorgroups.services import group_reach


def mentor_groups_page(actor: User, account_id: int,
                       request: PageRequest | None = None) -> Page:
    """One page of the groups this person mentors or manages, by name, searched by name,
    each with its member and waiting counts and the person's role there. The groups are a
    subquery (a walk down the tree for a Group Admin); the counts are read for the page's
    groups only: the same statements for 10 groups or 2,000."""
    request = request or PageRequest()
    reach = group_reach.mentored_select(actor, account_id)
    if reach is None:
        return Page([], 0, 1, request.size, request.search)
    listed = select(MentorGroup).where(MentorGroup.account_id == account_id,
                                       MentorGroup.id.in_(reach))
    if request.search:
        listed = listed.where(func.lower(MentorGroup.name).contains(request.search.lower(),
                                                                    autoescape=True))
    total = db.session.scalar(select(func.count()).select_from(listed.subquery()))
    request = clamp(request, total)
    found = list(db.session.scalars(listed.order_by(func.lower(MentorGroup.name),
                                                    MentorGroup.id)
                                    .limit(request.size).offset(request.offset)))
    ids = [group.id for group in found]
    members, waiting, roles = {}, {}, {}
    if ids:
        members = dict(db.session.execute(
            select(GroupMembership.group_id, func.count()).where(
                GroupMembership.group_id.in_(ids), GroupMembership.role == "member")
            .group_by(GroupMembership.group_id)).all())
        waiting = dict(db.session.execute(
            select(GroupMembership.group_id, func.count(Submission.id))
            .join(Submission, Submission.user_id == GroupMembership.user_id)
            .where(GroupMembership.group_id.in_(ids), GroupMembership.role == "member",
                   Submission.account_id == account_id, Submission.status == "pending")
            .group_by(GroupMembership.group_id)).all())
        roles = dict(db.session.execute(
            select(GroupMembership.group_id, GroupMembership.role)
            .where(GroupMembership.user_id == actor.id, GroupMembership.group_id.in_(ids))).all())
    items = []
    for group in found:
        role = roles.get(group.id)  # below a group they administer: they manage it too
        items.append({"group": group, "members": members.get(group.id, 0),
                      "waiting": waiting.get(group.id, 0),
                      "role": role if role in ("mentor", "group_admin") else "group_admin"})
    return Page(items, total, request.number, request.size, request.search)


def mentor_cohorts(actor: User, account_id: int) -> list[dict]:
    """The cohorts this person teaches or moderates in the school."""
    return [
        {"cohort": cohort, "path": path, "role": role}
        for cohort, path, role in db.session.execute(
            select(Cohort, Path, CohortMembership.role)
            .join(CohortMembership, CohortMembership.cohort_id == Cohort.id)
            .join(Path, Path.id == Cohort.path_id)
            .where(CohortMembership.user_id == actor.id, Path.account_id == account_id,
                   CohortMembership.role.in_(("teacher", "moderator")))
            .order_by(Path.title, Cohort.name)).all()
    ]
