"""The school home: what an account admin sees first after signing in (and under Home in the
back office). Every group with its members, mentors, waiting reviews, the oldest wait and the
stale count, sortable by each and paged on the server; the groups with no mentor; pending
invitations; emails not delivered; the plan's usage. A Group Admin sees the same for their
part of the tree (the groups they administer and everything below), without the school-wide
parts (emails, plan).

Flat in statements: the figures are grouped subqueries joined to the groups, so the database
sorts and pages; the scope of a Group Admin is a recursive CTE (UNION, so a loop in a broken
tree ends), never a Python list of ids. The same statements for 10 groups or 2,000."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import and_, case, exists, func, select, true
from sqlalchemy.orm import aliased

from mentorgroups.extensions import db
from mentorgroups.models import (
    AccountMembership,
    GroupMembership,
    Invitation,
    MentorGroup,
    SentEmail,
    Submission,
    User,
    utcnow,
)
from mentorgroups.paging import Page, PageRequest, clamp
from mentorgroups.services import group_reach
from mentorgroups.services.permissions import active_membership

# Column -> its direction when first clicked (the most telling end first).
SORTS = {"name": "asc", "members": "desc", "mentors": "asc", "waiting": "desc",
         "oldest": "asc", "stale": "desc"}
SHOWS = ("all", "unmentored")
UNDELIVERED = ("failed", "dead")
INVITATIONS_SHOWN = 5


@dataclass(frozen=True)
class GroupRow:
    id: int
    name: str
    parent_name: str | None
    members: int
    mentors: int
    waiting: int
    oldest: datetime | None
    stale: int


@dataclass(frozen=True)
class InvitationRow:
    email: str
    group_id: int | None
    group_name: str | None  # None: an invitation into the school itself
    role: str
    expires_at: datetime


@dataclass
class SchoolHome:
    whole_school: bool  # an account admin's home; a Group Admin's covers their groups only
    groups: Page
    unmentored: int
    invitations_pending: int
    invitations_expired: int
    invitations: list[InvitationRow]
    undelivered: int | None = None  # account admins only
    used: int | None = None  # account admins only (the plan's usage)


def scope_condition(actor: User, account_id: int, group_id_column):
    """SQL condition: the group (a column) is one this person manages in the school; None
    when they may not see the home at all. Account admins: every group of the school (the
    queries filter by school anyway). Group Admins: the groups they administer and
    everything below, a recursive CTE."""
    membership = active_membership(actor, account_id)
    if membership is None:
        return None
    if membership.role == "admin":
        return true()
    return group_id_column.in_(group_reach.managed_select(actor, account_id))


def _active_person(account_id: int):
    """SQL condition: the membership's person has active access to the school. An EXISTS
    rather than a join, so the database walks the school's groups, then their memberships,
    and checks each person by index (joined, SQLite without statistics started from every
    person of the school and looped over every group: 2 s at 2,000 groups)."""
    return exists().where(AccountMembership.user_id == GroupMembership.user_id,
                          AccountMembership.account_id == account_id,
                          AccountMembership.status == "active",
                          User.id == GroupMembership.user_id, User.active.is_(True))


def _figures(account_id: int, now: datetime):
    """Two grouped subqueries over the school: people per group (members, mentors) and the
    members' waiting work per group (count, oldest, stale). People whose access is revoked
    count in neither (as in the reports)."""
    people = (select(GroupMembership.group_id.label("group_id"),
                     func.sum(case((GroupMembership.role == "member", 1), else_=0))
                     .label("members"),
                     func.sum(case((GroupMembership.role == "mentor", 1), else_=0))
                     .label("mentors"))
              .select_from(MentorGroup)
              .join(GroupMembership, GroupMembership.group_id == MentorGroup.id)
              .where(MentorGroup.account_id == account_id, _active_person(account_id))
              .group_by(GroupMembership.group_id).subquery("people"))
    stale_before = now - timedelta(days=current_app.config.get("DIGEST_STALE_DAYS", 7))
    work = (select(GroupMembership.group_id.label("group_id"),
                   func.count(Submission.id).label("waiting"),
                   func.min(Submission.submitted_at).label("oldest"),
                   func.sum(case((Submission.submitted_at < stale_before, 1), else_=0))
                   .label("stale"))
            .select_from(MentorGroup)
            .join(GroupMembership, and_(GroupMembership.group_id == MentorGroup.id,
                                        GroupMembership.role == "member"))
            .join(Submission, and_(Submission.user_id == GroupMembership.user_id,
                                   Submission.account_id == account_id,
                                   Submission.status == "pending"))
            .where(MentorGroup.account_id == account_id, _active_person(account_id))
            .group_by(GroupMembership.group_id).subquery("work"))
    return people, work


def groups_page(actor: User, account_id: int, request: PageRequest | None = None,
                sort: str = "name", direction: str | None = None, show: str = "all",
                now: datetime | None = None) -> tuple[Page, int]:
    """One page of the groups this person manages, with their figures, searched by name,
    only those with no mentor (`show`), sorted by any column. Returns the page and the
    number of groups in scope with no mentor. Two statements whatever the number of groups."""
    request = request or PageRequest()
    sort = sort if sort in SORTS else "name"
    direction = direction if direction in ("asc", "desc") else SORTS[sort]
    show = show if show in SHOWS else "all"
    now = now or utcnow()
    scope = scope_condition(actor, account_id, MentorGroup.id)
    if scope is None:
        return Page([], 0, 1, request.size, request.search), 0
    people, work = _figures(account_id, now)
    members = func.coalesce(people.c.members, 0)
    mentors = func.coalesce(people.c.mentors, 0)
    waiting = func.coalesce(work.c.waiting, 0)
    stale = func.coalesce(work.c.stale, 0)
    parent = aliased(MentorGroup)
    matches = func.lower(MentorGroup.name).contains(request.search.lower(), autoescape=True) \
        if request.search else true()
    listed = and_(matches, mentors == 0) if show == "unmentored" else matches
    # The count of the list shown and, in the same statement, of every unmentored group in
    # scope (the summary's figure, whatever the search).
    total, unmentored = db.session.execute(
        select(func.coalesce(func.sum(case((listed, 1), else_=0)), 0),
               func.coalesce(func.sum(case((mentors == 0, 1), else_=0)), 0))
        .select_from(MentorGroup)
        .outerjoin(people, people.c.group_id == MentorGroup.id)
        .where(MentorGroup.account_id == account_id, scope)).one()
    request = clamp(request, int(total))
    columns = {"name": func.lower(MentorGroup.name), "members": members, "mentors": mentors,
               "waiting": waiting, "oldest": work.c.oldest, "stale": stale}
    key = columns[sort]
    order = [key.desc() if direction == "desc" else key.asc()]
    if sort == "oldest":  # groups with nothing waiting last, whichever the direction
        order.insert(0, case((work.c.oldest.is_(None), 1), else_=0))
    order += [func.lower(MentorGroup.name), MentorGroup.id]
    rows = (select(MentorGroup.id, MentorGroup.name, parent.name, members, mentors, waiting,
                   work.c.oldest, stale)
            .outerjoin(parent, parent.id == MentorGroup.parent_id)
            .outerjoin(people, people.c.group_id == MentorGroup.id)
            .outerjoin(work, work.c.group_id == MentorGroup.id)
            .where(MentorGroup.account_id == account_id, scope, listed))
    items = [GroupRow(*row) for row in db.session.execute(
        rows.order_by(*order).limit(request.size).offset(request.offset))]
    page = Page(items, int(total), request.number, request.size, request.search)
    page.extra = {"sort": sort, "direction": direction, "show": show}
    return page, int(unmentored)


def pending_invitations(actor: User, account_id: int, whole_school: bool,
                        now: datetime) -> tuple[int, int, list[InvitationRow]]:
    """Pending invitations in scope: how many, how many of them expired, and the few that
    expire first (expired ones first). Group Admins: their groups' invitations only."""
    where = [Invitation.account_id == account_id, Invitation.status == "pending"]
    if not whole_school:
        where.append(scope_condition(actor, account_id, Invitation.group_id))
    pending, expired = db.session.execute(
        select(func.count(), func.coalesce(func.sum(case((Invitation.expires_at <= now, 1),
                                                         else_=0)), 0))
        .where(*where)).one()
    shown = [InvitationRow(*row) for row in db.session.execute(
        select(Invitation.email, Invitation.group_id, MentorGroup.name,
               func.coalesce(Invitation.account_role, Invitation.role), Invitation.expires_at)
        .outerjoin(MentorGroup, MentorGroup.id == Invitation.group_id)
        .where(*where).order_by(Invitation.expires_at, Invitation.id)
        .limit(INVITATIONS_SHOWN))]
    return int(pending), int(expired), shown


def school_home(actor: User, account_id: int, request: PageRequest | None = None,
                sort: str = "name", direction: str | None = None, show: str = "all",
                now: datetime | None = None) -> SchoolHome | None:
    """Everything the school home shows, or None for somebody who manages no group and is
    not an account admin."""
    membership = active_membership(actor, account_id)
    if membership is None:
        return None
    now = now or utcnow()
    whole_school = membership.role == "admin"
    page, unmentored = groups_page(actor, account_id, request, sort, direction, show, now)
    pending, expired, shown = pending_invitations(actor, account_id, whole_school, now)
    home = SchoolHome(whole_school=whole_school, groups=page, unmentored=unmentored,
                      invitations_pending=pending, invitations_expired=expired,
                      invitations=shown)
    if whole_school:
        home.undelivered, home.used = db.session.execute(
            select(select(func.count()).select_from(SentEmail)
                   .where(SentEmail.account_id == account_id,
                          SentEmail.status.in_(UNDELIVERED)).scalar_subquery(),
                   select(func.count()).select_from(MentorGroup)
                   .where(MentorGroup.account_id == account_id).scalar_subquery())).one()
    return home
