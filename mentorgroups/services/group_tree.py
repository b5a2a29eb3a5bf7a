"""The Groups tab's tree, one level at a time: the top of a person's part of the tree, then
the groups nested in one group when it is opened, each level paged (newest first), each row
with its member, mentor and Group Admin counts, how many groups are nested in it and who
manages it from above, worked out for that page's groups only.

Nothing here reads the whole tree: a Group Admin's reach is a recursive CTE inside the
statements (services.group_reach). A level costs the same statements for 10 groups or
20,000."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select

from mentorgroups.extensions import db
from mentorgroups.models import GroupMembership, MentorGroup, User
from mentorgroups.paging import Page, PageRequest, clamp
from mentorgroups.services import group_reach
from mentorgroups.services.group_access import managers_above
from mentorgroups.services.groups import group_for_manager
from mentorgroups.services.permissions import active_membership, is_account_admin

LEVEL_SIZE = 50  # groups per page of one level


@dataclass
class TreeRow:
    id: int
    name: str
    description: str
    parent_id: int | None
    nested: int  # groups directly below it
    counts: dict[str, int]  # member, mentor, group_admin
    above: list[str] = field(default_factory=list)  # Group Admins of the groups above
    level: Page | None = None  # its first page of nested groups, when shown open


def _rows(account_id: int, query, request: PageRequest) -> Page:
    """One page of the groups `query` selects (MentorGroup rows), newest first, with the
    figures of that page's groups: five statements whatever the size of the school."""
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    request = clamp(request, total)
    groups = db.session.execute(
        query.with_only_columns(MentorGroup.id, MentorGroup.name, MentorGroup.description,
                                MentorGroup.parent_id)
        .order_by(MentorGroup.created_at.desc(), MentorGroup.id.desc())
        .limit(request.size).offset(request.offset)).all()
    ids = [row.id for row in groups]
    counts: dict[int, dict[str, int]] = {gid: {"member": 0, "mentor": 0, "group_admin": 0}
                                         for gid in ids}
    nested: dict[int, int] = {}
    if ids:
        for gid, role, n in db.session.execute(
                select(GroupMembership.group_id, GroupMembership.role, func.count())
                .where(GroupMembership.group_id.in_(ids))
                .group_by(GroupMembership.group_id, GroupMembership.role)):
            counts[gid][role] = n
        nested = dict(db.session.execute(
            select(MentorGroup.parent_id, func.count())
            .where(MentorGroup.account_id == account_id, MentorGroup.parent_id.in_(ids))
            .group_by(MentorGroup.parent_id)).all())
    above = managers_above(account_id, [row.id for row in groups if row.parent_id])
    items = [TreeRow(row.id, row.name, row.description or "", row.parent_id,
                     nested.get(row.id, 0), counts[row.id],
                     _names(above.get(row.id, ()))) for row in groups]
    return Page(items, total, request.number, request.size)


def _names(managers) -> list[str]:
    out: list[str] = []
    for manager in managers:
        if manager.name not in out:
            out.append(manager.name)
    return out


def top_level(actor: User, account_id: int, request: PageRequest | None = None) -> Page:
    """The top of the person's part of the tree, one page: for an account admin the
    school's top-level groups; for a Group Admin the groups they manage whose parent they
    don't. When the whole level is one group with nested groups, its first page of them is
    shown open (`TreeRow.level`): a Group Admin of one group sees its groups at once."""
    request = request or PageRequest(size=LEVEL_SIZE)
    if is_account_admin(actor, account_id):
        query = select(MentorGroup).where(MentorGroup.account_id == account_id,
                                          MentorGroup.parent_id.is_(None))
    else:
        if active_membership(actor, account_id) is None:
            return Page([], 0, 1, request.size)
        own = group_reach.held_groups(actor.id, account_id, ("group_admin",))
        query = select(MentorGroup).where(
            MentorGroup.id.in_(group_reach.tops_of(account_id, own)))
    page = _rows(account_id, query, request)
    if page.total == 1 and page.items[0].nested:
        only = page.items[0]
        only.level = _nested(account_id, only.id, PageRequest(size=LEVEL_SIZE))
    return page


def _nested(account_id: int, group_id: int, request: PageRequest) -> Page:
    return _rows(account_id, select(MentorGroup).where(MentorGroup.account_id == account_id,
                                                       MentorGroup.parent_id == group_id),
                 request)


def nested_level(actor: User, account_id: int, group_id,
                 request: PageRequest | None = None) -> tuple[MentorGroup, Page]:
    """The groups nested in one group, one page, newest first. Everything below a group the
    person manages is theirs to manage too. NotFound for a group they don't manage
    (another school's, someone else's part of the tree, gone, or garbage)."""
    group = group_for_manager(actor, account_id, group_id)
    return group, _nested(account_id, group.id, request or PageRequest(size=LEVEL_SIZE))


def trail(actor: User, account_id: int, group: MentorGroup) -> list[tuple[int, str]]:
    """The group's ancestors this person manages, top first, as (id, name): one statement
    (a walk up from this group only); ends on a loop."""
    reach = None if is_account_admin(actor, account_id) \
        else group_reach.held_groups(actor.id, account_id, ("group_admin",))
    nodes = group_reach.ancestors(account_id, [group.id], reach)
    return [(node, nodes[node][1])
            for node in reversed(group_reach.chain(nodes, group.id)[1:])]


def nested_count(account_id: int, group_id: int) -> int:
    """How many groups are nested directly in the group."""
    return db.session.scalar(select(func.count()).select_from(MentorGroup).where(
        MentorGroup.account_id == account_id, MentorGroup.parent_id == group_id))
