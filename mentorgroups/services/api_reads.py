"""What the JSON API reads, a page at a time by cursor (keyset paging): each page is the rows
after the last one of the page before, in a fixed order, so a page costs the same statements
on the first page and the thousandth, and rows added meanwhile are neither skipped nor shown
twice. Every function checks access through the same services as the screens
(groups.group_for_manager, mentoring.viewable_group, the review queue's conditions); whom a
token or a person reaches is SQL inside the page's statement (services.group_reach), never a
list of ids; a row asked for by id that is not there, or not the actor's, is one NotFound
(`_one`)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, func, select

from mentorgroups.extensions import db
from mentorgroups.models import (
    AccountMembership,
    GroupMembership,
    MentorGroup,
    Path,
    Step,
    Submission,
    User,
    normalize_email,
)
from mentorgroups.services import group_reach, review_next
from mentorgroups.services.errors import NotFound
from mentorgroups.services.groups import group_for_manager
from mentorgroups.services.learning import _reviewable
from mentorgroups.services.mentoring import (
    _progress_by_learner,
    _submissions_by_learner,
    active_people,
    viewable_group,
)
from mentorgroups.services.permissions import active_membership


@dataclass
class KeysetPage:
    items: list
    next_after: int | None  # the key to ask the next page after; None on the last page


def _page(rows: list, limit: int, key) -> KeysetPage:
    more = len(rows) > limit
    rows = rows[:limit]
    return KeysetPage(rows, key(rows[-1]) if more and rows else None)


def _one(query, message: str):
    """The first row of `query`, or NotFound(message): a row that does not exist and one the
    actor may not see are the same answer."""
    row = db.session.execute(query).first()
    if row is None:
        raise NotFound(message)
    return row


COUNTED_ROLES = ("member", "mentor", "group_admin")


def _role_counts():
    """A group's people per role, as columns beside MentorGroup (correlated counts, each
    answered from the index on (group_id, role, user_id)): a page of groups and its counts
    are one statement, reading only those groups' memberships."""
    return [select(func.count()).where(GroupMembership.group_id == MentorGroup.id,
                                       GroupMembership.role == role)
            .correlate(MentorGroup).scalar_subquery().label(f"{role}_count")
            for role in COUNTED_ROLES]


def _with_counts(row) -> tuple[MentorGroup, dict]:
    group, *counts = row
    return group, dict(zip(COUNTED_ROLES, counts, strict=True))


def groups_page(actor, account_id: int, after: int = 0, limit: int = 50) -> KeysetPage:
    """The groups the actor manages, by id, with their member counts per role: one
    statement whatever the size of the school (an account admin's reach is the school; a
    Group Admin's part of the tree is a recursive CTE inside it)."""
    membership = active_membership(actor, account_id)
    if membership is None:
        return KeysetPage([], None)
    query = select(MentorGroup, *_role_counts()).where(MentorGroup.account_id == account_id,
                                                       MentorGroup.id > after)
    if membership.role != "admin":
        query = query.where(MentorGroup.id.in_(group_reach.managed_select(actor, account_id)))
    rows = db.session.execute(query.order_by(MentorGroup.id).limit(limit + 1)).all()
    page = _page(rows, limit, lambda row: row[0].id)
    page.items = [_with_counts(row) for row in page.items]
    return page


def group_with_counts(actor, account_id: int, group_id) -> tuple[MentorGroup, dict]:
    group = group_for_manager(actor, account_id, group_id)
    return _with_counts(_one(select(MentorGroup, *_role_counts())
                             .where(MentorGroup.id == group.id), "That group does not exist."))


@dataclass(frozen=True)
class MemberItem:
    membership_id: int
    user_id: int
    email: str
    name: str
    role: str
    added_at: object


def _member_rows(group_id: int):
    return (select(GroupMembership.id, User.id, User.email, User.full_name,
                   GroupMembership.role, GroupMembership.created_at)
            .join(User, User.id == GroupMembership.user_id)
            .where(GroupMembership.group_id == group_id))


def memberships_page(actor, account_id: int, group_id, after: int = 0, limit: int = 50,
                     role: str | None = None) -> KeysetPage:
    """The group's people (every role, or one), by membership id."""
    group = group_for_manager(actor, account_id, group_id)
    query = _member_rows(group.id).where(GroupMembership.id > after)
    if role is not None:
        query = query.where(GroupMembership.role == role)
    rows = [MemberItem(*row) for row in db.session.execute(
        query.order_by(GroupMembership.id).limit(limit + 1))]
    return _page(rows, limit, lambda m: m.membership_id)


def membership_of(actor, account_id: int, group_id, user_id) -> MemberItem:
    from mentorgroups.input_guard import parse_id

    group = group_for_manager(actor, account_id, group_id)
    uid = parse_id(user_id)
    if uid is None:
        raise NotFound("That person is not in this group.")
    return MemberItem(*_one(_member_rows(group.id).where(GroupMembership.user_id == uid),
                            "That person is not in this group."))


@dataclass(frozen=True)
class PersonItem:
    id: int
    email: str
    name: str
    school_role: str
    status: str


def person_by_email(actor, account_id: int, email: str | None) -> PersonItem:
    """A person of the school by address (any case). NotFound for an address that is
    nobody's in the school, whether or not it has a personal account elsewhere."""
    membership = active_membership(actor, account_id)
    if membership is None or membership.role != "admin":
        raise NotFound("Nobody in this school has that address.")
    address = normalize_email(email or "")
    return PersonItem(*_one(
        select(User.id, User.email, User.full_name, AccountMembership.role,
               AccountMembership.status)
        .join(AccountMembership, AccountMembership.user_id == User.id)
        .where(AccountMembership.account_id == account_id, User.email == address),
        "Nobody in this school has that address."))


@dataclass(frozen=True)
class ReviewItem:
    submission_id: int
    submitted_at: object
    updated_at: object
    round: int
    learner_id: int
    learner_name: str
    step: str
    path: str


def waiting_reviews_page(actor, account_id: int, group_id, after: int = 0,
                         limit: int = 50) -> KeysetPage:
    """Work of the group's members waiting for review, by submission id: the review
    queue's own conditions (what the actor may review) narrowed to the group."""
    filters = review_next.queue_filter(actor, account_id, group=group_id)
    condition = _reviewable(actor, account_id)
    if condition is None:
        raise NotFound("That group does not exist.")
    rows = [ReviewItem(*row) for row in db.session.execute(
        select(Submission.id, Submission.submitted_at, Submission.updated_at, Submission.round,
               User.id, User.full_name, Step.title, Path.title)
        .join(User, User.id == Submission.user_id)
        .join(Step, Step.id == Submission.step_id)
        .join(Path, Path.id == Step.path_id)
        .where(condition, filters.condition(), Submission.id > after)
        .order_by(Submission.id).limit(limit + 1))]
    return _page(rows, limit, lambda r: r.submission_id)


@dataclass
class ProgressItem:
    user_id: int
    email: str
    name: str
    paths: list[dict]
    waiting: int
    last_activity: object


def progress_page(actor, account_id: int, group_id, after: int = 0,
                  limit: int = 50) -> KeysetPage:
    """Each member's progress (paths, steps done of all, waiting work, last activity) for
    the group's members with active access, by person id: the mentor page's figures, read
    for the page's people only (three statements a page)."""
    group = viewable_group(actor, account_id, group_id)
    people = db.session.execute(
        select(User.id, User.email, User.full_name)
        .join(GroupMembership, and_(GroupMembership.user_id == User.id,
                                    GroupMembership.group_id == group.id,
                                    GroupMembership.role == "member"))
        .join(AccountMembership, active_people(account_id))
        .where(User.id > after).order_by(User.id).limit(limit + 1)).all()
    page = _page(people, limit, lambda p: p[0])
    ids = [p[0] for p in page.items]
    progress = _progress_by_learner(account_id, ids) if ids else {}
    submissions = _submissions_by_learner(account_id, ids) if ids else {}
    items = []
    for uid, email, name in page.items:
        paths = progress.get(uid, [])
        waiting, _, last, _ = submissions.get(uid, (0, None, None, None))
        last = max(filter(None, (last, *(p["last"] for p in paths))), default=None)
        items.append(ProgressItem(uid, email, name, [
            {"path_id": p["path"].id, "title": p["path"].title, "completed": p["completed"],
             "total": p["total"], "percent": p["percent"]} for p in paths], waiting, last))
    page.items = items
    return page

