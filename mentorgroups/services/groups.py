"""Mentor Groups: the tree of a school's groups, plan limits, and who may manage which group.

Rights flow down the tree: a Group Admin manages their group and every group below it. Account
admins manage every group of their school. Nobody sees another school's groups: a group that
is not theirs to see is NotFound, exactly like one that does not exist."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import func, select

from mentorgroups.extensions import db
from mentorgroups.input_guard import parse_id
from mentorgroups.models import (
    PLAN_GROUP_LIMITS,
    Account,
    GroupMembership,
    MentorGroup,
    User,
)
from mentorgroups.request_cache import cached
from mentorgroups.services import audit, group_reach
from mentorgroups.services.errors import (
    NotFound,
    PermissionDenied,
    PlanLimitReached,
    ServiceError,
)
from mentorgroups.services.permissions import active_membership, is_account_admin

MAX_NAME = 120
MAX_DESCRIPTION = 2000
KEEP = object()  # "leave the parent as it is" in update_group


# ---- who may see and manage what -------------------------------------------------------------

def parent_map(account_id: int) -> dict[int, int | None]:
    """id -> parent id of every group of the school, in one query."""
    return dict(db.session.execute(
        select(MentorGroup.id, MentorGroup.parent_id).where(MentorGroup.account_id == account_id)
    ).all())


def subtree_ids(parents: dict[int, int | None], roots: set[int]) -> set[int]:
    """The roots and everything below them."""
    children: dict[int | None, list[int]] = defaultdict(list)
    for gid, pid in parents.items():
        children[pid].append(gid)
    seen: set[int] = set()
    stack = [r for r in roots if r in parents]
    while stack:
        gid = stack.pop()
        if gid in seen:
            continue
        seen.add(gid)
        stack.extend(children.get(gid, ()))
    return seen


def managed_group_ids(actor: User, account_id: int) -> set[int]:
    """Groups this person may manage in this school, as a Python set: for tests and small
    uses only. Screens and checks put `group_reach.managed_select()` inside their statements
    instead (a copy is returned: callers may change theirs)."""
    return set(cached(("managed", actor.id, account_id),
                      lambda: frozenset(_managed_group_ids(actor, account_id))))


def _managed_group_ids(actor: User, account_id: int) -> set[int]:
    reach = group_reach.managed_select(actor, account_id)
    return set() if reach is None else set(db.session.scalars(reach))


def is_group_admin_anywhere(actor: User, account_id: int) -> bool:
    """One cheap query, for the navigation of every page."""
    return db.session.scalar(
        select(GroupMembership.id).join(MentorGroup).where(
            GroupMembership.user_id == actor.id, GroupMembership.role == "group_admin",
            MentorGroup.account_id == account_id).limit(1)
    ) is not None


def can_use_groups_back_office(actor: User, account_id: int) -> bool:
    """Account admins, and Group Admins (of any group: it is in their own reach)."""
    return is_account_admin(actor, account_id) or (
        active_membership(actor, account_id) is not None
        and is_group_admin_anywhere(actor, account_id))


def group_for_manager(actor: User, account_id: int, group_id) -> MentorGroup:
    """The group, if this person may manage it in this school; NotFound otherwise (also for
    ids of other schools, deleted groups and garbage)."""
    gid = parse_id(group_id)
    if gid is None:
        raise NotFound("That group does not exist.")
    group = db.session.get(MentorGroup, gid)
    if group is None or group.account_id != account_id \
            or not group_reach.manages(actor, account_id, gid):
        raise NotFound("That group does not exist (it may have been deleted).")
    return group


# ---- plan limits -------------------------------------------------------------------------------

def group_limit(plan: str) -> int | None:
    return PLAN_GROUP_LIMITS[plan]


def group_count(account_id: int) -> int:
    return db.session.scalar(
        select(func.count()).select_from(MentorGroup).where(MentorGroup.account_id == account_id)
    )


def limit_message(account: Account, used: int) -> str | None:
    """Why no group can be created now, or None when one can."""
    limit = group_limit(account.plan)
    if limit is None or used < limit:
        return None
    plural = "group" if limit == 1 else "groups"
    return (f"Your {account.plan.title()} plan includes {limit} {plural} and this school has "
            f"{used}. Upgrade your plan to create more groups; existing groups keep working.")


def _lock_account(account_id: int) -> Account:
    """Lock the school's row: group creates, renames and moves of one school run one at a
    time, so the plan limit and sibling-name uniqueness hold under concurrency."""
    account = db.session.scalar(
        select(Account).where(Account.id == account_id).with_for_update()
    )
    if account is None:
        raise NotFound("That school does not exist.")
    return account


# ---- names --------------------------------------------------------------------------------------

def clean_group_name(raw: str | None) -> str:
    name = " ".join((raw or "").split())
    if not name:
        raise ServiceError("Give the group a name.", field="name")
    if len(name) > MAX_NAME:
        raise ServiceError(f"Group names can be at most {MAX_NAME} characters "
                           f"(this one has {len(name)}).", field="name")
    return name


def clean_description(raw: str | None) -> str:
    description = (raw or "").strip()
    if len(description) > MAX_DESCRIPTION:
        raise ServiceError(f"Descriptions can be at most {MAX_DESCRIPTION:,} characters.",
                           field="description")
    return description


def _check_sibling_name(account_id: int, parent_id: int | None, name: str,
                        exclude_id: int | None = None) -> None:
    query = select(MentorGroup.id).where(
        MentorGroup.account_id == account_id,
        func.lower(MentorGroup.name) == name.lower(),
        (MentorGroup.parent_id.is_(None) if parent_id is None
         else MentorGroup.parent_id == parent_id),
    )
    if exclude_id is not None:
        query = query.where(MentorGroup.id != exclude_id)
    if db.session.scalar(query.limit(1)) is not None:
        where = "at the top level" if parent_id is None else "in the same parent group"
        raise ServiceError(f"There is already a group called \u201c{name}\u201d {where}.",
                           field="name")


def _parse_parent(raw) -> int | None:
    if raw in (None, "", "__None"):
        return None
    try:
        return int(raw)
    except (TypeError, ValueError):
        raise ServiceError("Choose a parent group from the list.", field="parent_id") from None


# ---- create, edit, nest, delete --------------------------------------------------------------

def create_group(actor: User, account_id: int, name: str, description: str | None = "",
                 parent_id=None) -> MentorGroup:
    """Create a group, nested under `parent_id` when given. Account admins may create top-level
    groups; Group Admins create groups nested under groups they manage."""
    membership = active_membership(actor, account_id)
    if membership is None:
        raise PermissionDenied("You are not an active member of this school.")
    name, description = clean_group_name(name), clean_description(description)
    parent_id = _parse_parent(parent_id)
    if parent_id is None and membership.role != "admin":
        raise PermissionDenied("Only account admins can create top-level groups; choose one of "
                               "your groups as the parent.")
    if parent_id is not None:
        try:
            group_for_manager(actor, account_id, parent_id)
        except NotFound:
            raise ServiceError("Choose a parent group from the list.", field="parent_id") from None
    account = _lock_account(account_id)
    used = group_count(account_id)
    message = limit_message(account, used)
    if message:
        raise PlanLimitReached(message, limit="groups", plan=account.plan,
                               maximum=group_limit(account.plan), used=used)
    _check_sibling_name(account_id, parent_id, name)
    group = MentorGroup(account_id=account_id, parent_id=parent_id, name=name,
                        description=description, created_by_id=actor.id)
    db.session.add(group)
    db.session.flush()
    audit.record(actor, account_id, "group.create", group,
                 after={"name": name, "description": description, "parent_id": parent_id})
    return group


def allowed_parents(actor: User, account_id: int, group: MentorGroup | None) -> list[MentorGroup]:
    """Groups this group may be nested under: managed by the actor, never the group itself or
    anything below it."""
    reach = group_reach.managed_select(actor, account_id)
    if reach is None:
        return []
    query = select(MentorGroup).where(MentorGroup.account_id == account_id,
                                      MentorGroup.id.in_(reach))
    if group is not None:
        query = query.where(MentorGroup.id.not_in(
            group_reach.subtree_select(account_id, [group.id], "below")))
    return list(db.session.scalars(query.order_by(func.lower(MentorGroup.name))))


def update_group(actor: User, account_id: int, group_id, name: str, description: str | None,
                 parent_id=KEEP) -> MentorGroup:
    """Rename, describe and nest a group. The new parent must be a group of the same school
    that the actor manages, and never the group itself or one below it."""
    name, description = clean_group_name(name), clean_description(description)
    # The school's row is locked FIRST and the tree read after it: two opposite moves at the
    # same moment (12 under 13, 13 under 12) then run one after the other, and the second
    # sees the first and is refused, instead of both passing the check and making a cycle.
    _lock_account(account_id)
    group = group_for_manager(actor, account_id, group_id)
    db.session.refresh(group)  # it may have been loaded (and moved meanwhile) before the lock
    new_parent = group.parent_id if parent_id is KEEP else _parse_parent(parent_id)
    if new_parent != group.parent_id:
        if new_parent is None:
            if not is_account_admin(actor, account_id):
                raise ServiceError("Only account admins can move a group to the top level.",
                                   field="parent_id")
        else:
            if new_parent == group.id:
                raise ServiceError("A group can't be nested under itself.", field="parent_id")
            # Read after the lock, by SQL: the walk sees every move committed before it.
            below = group_reach.subtree_select(account_id, [group.id])
            if db.session.scalar(below.where(below.selected_columns[0] == new_parent)):
                raise ServiceError("A group can't be nested under one of its own nested groups.",
                                   field="parent_id")
            if not group_reach.manages(actor, account_id, new_parent):
                raise ServiceError("Choose a parent group from the list.", field="parent_id")
    _check_sibling_name(account_id, new_parent, name, exclude_id=group.id)
    before = {"name": group.name, "description": group.description, "parent_id": group.parent_id}
    after = {"name": name, "description": description, "parent_id": new_parent}
    if before == after:
        return group
    group.name, group.description, group.parent_id = name, description, new_parent
    db.session.flush()
    action = "group.nest" if before["parent_id"] != new_parent else "group.edit"
    audit.record(actor, account_id, action, group, before=before, after=after)
    return group


def delete_group(actor: User, account_id: int, group_id) -> dict:
    """Delete a group (account admins only). Its nested groups move up to its parent; its
    memberships end; nothing else is deleted. Returns what happened, for the message."""
    _lock_account(account_id)  # first: the parent its children move to is read after it
    group = group_for_manager(actor, account_id, group_id)
    db.session.refresh(group)
    if not is_account_admin(actor, account_id):
        raise PermissionDenied("Only account admins can delete groups.")
    children = list(db.session.scalars(
        select(MentorGroup).where(MentorGroup.parent_id == group.id)
    ))
    for child in children:
        try:
            _check_sibling_name(account_id, group.parent_id, child.name, exclude_id=group.id)
        except ServiceError:
            raise ServiceError(
                f"\u201c{group.name}\u201d can't be deleted yet: its nested group "
                f"\u201c{child.name}\u201d would move up beside another group of the same name. "
                "Rename one of them first.") from None
    memberships = list(db.session.scalars(
        select(GroupMembership).where(GroupMembership.group_id == group.id)
    ))
    for child in children:
        child.parent_id = group.parent_id
    for membership in memberships:
        db.session.delete(membership)
    from mentorgroups.services.invitations import end_for_group

    invitations_ended = end_for_group(group.id)
    audit.record(actor, account_id, "group.delete", group,
                 before={"name": group.name, "description": group.description,
                         "parent_id": group.parent_id,
                         "members": len(memberships), "children": [c.id for c in children]},
                 after=None)
    db.session.delete(group)
    db.session.flush()
    return {"name": group.name, "children_moved": len(children),
            "memberships_ended": len(memberships), "invitations_ended": invitations_ended}

