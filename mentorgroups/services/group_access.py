"""Who manages a group from above, and whether a Group Admin keeps a group without their own
role in it: rights flow down the tree, so a nested group's managers include its ancestors'
Group Admins, and a Group Admin who demotes themselves loses a group unless one of those
rights (or being an account admin) still covers it."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from mentorgroups.extensions import db
from mentorgroups.models import GroupMembership, MentorGroup, User
from mentorgroups.services import group_reach
from mentorgroups.services.permissions import is_account_admin


@dataclass(frozen=True)
class ManagerAbove:
    name: str
    group_name: str  # the ancestor they are Group Admin of


def managers_above(account_id: int, group_ids) -> dict[int, list[ManagerAbove]]:
    """For each group (a page of ids), the Group Admins of the groups above it (nearest
    first), in two statements: the walk up from these groups only, then those ancestors'
    Group Admins."""
    ids = list(group_ids)
    nodes = group_reach.ancestors(account_id, ids)
    above = {gid: group_reach.chain(nodes, gid)[1:] for gid in ids}
    wanted = {node for chain in above.values() for node in chain}
    admins: dict[int, list[tuple[str, str]]] = {}
    if wanted:
        for gid, group_name, name in db.session.execute(
                select(GroupMembership.group_id, MentorGroup.name, User.full_name)
                .join(MentorGroup, MentorGroup.id == GroupMembership.group_id)
                .join(User, User.id == GroupMembership.user_id)
                .where(MentorGroup.account_id == account_id,
                       GroupMembership.group_id.in_(sorted(wanted)),
                       GroupMembership.role == "group_admin")
                .order_by(User.full_name)).all():
            admins.setdefault(gid, []).append((name, group_name))
    return {gid: [ManagerAbove(name, group_name) for node in chain
                  for name, group_name in admins.get(node, ())]
            for gid, chain in above.items()}


def keeps_access_without_role(actor: User, account_id: int, group_id: int) -> bool:
    """Whether `actor` could still manage the group if their own role in it were not Group
    Admin: as an account admin, or as Group Admin of a group above it (a walk down from
    their other groups, in SQL)."""
    if is_account_admin(actor, account_id):
        return True
    others = group_reach.held_groups(actor.id, account_id, ("group_admin",)).where(
        GroupMembership.group_id != group_id)
    below = group_reach.subtree_select(account_id, others)
    return db.session.scalar(below.where(below.selected_columns[0] == group_id)) is not None


def group_roles_of(account_id: int, user_ids) -> dict[int, list[str]]:
    """Each person's roles in the school's groups, in words ("Mentor of Coaching circle"),
    staff roles first, in one query for a page of people."""
    from mentorgroups.models import GROUP_ROLE_LABELS

    ids = list(user_ids)
    if not ids:
        return {}
    order = {"group_admin": 0, "mentor": 1, "member": 2}
    rows = db.session.execute(
        select(GroupMembership.user_id, GroupMembership.role, MentorGroup.name)
        .join(MentorGroup, MentorGroup.id == GroupMembership.group_id)
        .where(MentorGroup.account_id == account_id, GroupMembership.user_id.in_(ids))
        .order_by(MentorGroup.name)).all()
    out: dict[int, list[str]] = {}
    for uid, role, name in sorted(rows, key=lambda r: (order.get(r[1], 3), r[2].lower())):
        out.setdefault(uid, []).append(f"{GROUP_ROLE_LABELS[role]} of {name}")
    return out
