"""Which groups a person reaches, as SQL to put inside other statements: a Group Admin's
groups and everything below them, a mentor's groups, a group's subtree, the ancestors of a
page of groups. Never a Python set of ids bound back as thousands of parameters.

Every walk is a recursive CTE joined by UNION (not UNION ALL): a row already produced is not
produced again, so a broken tree (a loop left by a move race) still ends. The walks down
use the index on (account_id, parent_id); the walk up reads one row per ancestor."""

from __future__ import annotations

from sqlalchemy import Select, exists, literal, select, union
from sqlalchemy.orm import aliased

from mentorgroups.extensions import db
from mentorgroups.models import GroupMembership, MentorGroup, User
from mentorgroups.request_cache import cached
from mentorgroups.services.permissions import active_membership


def school_groups(account_id: int) -> Select:
    """Every group of the school (an account admin's reach)."""
    return select(MentorGroup.id).where(MentorGroup.account_id == account_id)


def held_groups(user_id: int, account_id: int, roles: tuple[str, ...]) -> Select:
    """The groups of the school in which the person holds one of `roles`."""
    return (select(GroupMembership.group_id)
            .join(MentorGroup, MentorGroup.id == GroupMembership.group_id)
            .where(GroupMembership.user_id == user_id, GroupMembership.role.in_(roles),
                   MentorGroup.account_id == account_id))


def subtree_select(account_id: int, roots, name: str = "reach") -> Select:
    """The ids of `roots` (a select of group ids, or a list of a few ids) and of every group
    below them in the school, as a select of one column `id`. Give two walks in one
    statement different names."""
    if not isinstance(roots, Select):
        roots = select(MentorGroup.id).where(MentorGroup.id.in_(list(roots)))
    start = (select(MentorGroup.id.label("id"))
             .where(MentorGroup.account_id == account_id, MentorGroup.id.in_(roots)))
    walk = start.cte(name, recursive=True)
    child = aliased(MentorGroup)
    walk = walk.union(select(child.id).where(child.parent_id == walk.c.id,
                                             child.account_id == account_id))
    return select(walk.c.id)


def managed_select(actor: User, account_id: int, name: str = "managed") -> Select | None:
    """The groups this person may manage: every group of the school for an account admin,
    the groups they administer and everything below for a Group Admin (an empty select for
    anybody else); None without active access to the school."""
    membership = active_membership(actor, account_id)
    if membership is None:
        return None
    if membership.role == "admin":
        return school_groups(account_id)
    return subtree_select(account_id, held_groups(actor.id, account_id, ("group_admin",)),
                          name)


def mentored_select(actor: User, account_id: int, name: str = "mentored") -> Select | None:
    """The groups whose members this person follows: those they mentor, and those they
    administer with everything below; None without active access to the school."""
    if active_membership(actor, account_id) is None:
        return None
    below = subtree_select(account_id, held_groups(actor.id, account_id, ("group_admin",)),
                           name)
    return select(union(held_groups(actor.id, account_id, ("mentor",)), below)
                  .subquery(name + "_ids").c[0])


def manages(actor: User, account_id: int, group_id: int) -> bool:
    """Whether this person may manage the group (one EXISTS, once per request and group):
    an account admin any group of the school, a Group Admin their groups and those below."""
    return cached(("manages", actor.id, account_id, group_id),
                  lambda: _holds(actor, account_id, group_id, own=(), above=("group_admin",),
                                 admin_reaches=True))


def mentors(actor: User, account_id: int, group_id: int) -> bool:
    """Whether this person follows the group's members (mentor, or Group Admin above)."""
    return cached(("mentors", actor.id, account_id, group_id),
                  lambda: _holds(actor, account_id, group_id, own=("mentor",),
                                 above=("group_admin",), admin_reaches=False))


def _holds(actor: User, account_id: int, group_id: int, own: tuple[str, ...],
           above: tuple[str, ...], admin_reaches: bool) -> bool:
    """One statement, walking up from the one group (a few rows) rather than down through
    everything the person reaches (at 20,000 groups a Group Admin at the top reaches them
    all): the same answer as `managed_select`/`mentored_select` holding the group, since a
    group is below one of theirs exactly when that one is on its way up. The walk stays in
    the school and ends on a loop (UNION)."""
    membership = active_membership(actor, account_id)
    if membership is None or group_id is None:
        return False
    if admin_reaches and membership.role == "admin":
        return db.session.scalar(select(exists().where(
            MentorGroup.id == group_id, MentorGroup.account_id == account_id))) or False
    start = (select(MentorGroup.id.label("id"), MentorGroup.parent_id.label("parent_id"))
             .where(MentorGroup.id == group_id, MentorGroup.account_id == account_id))
    walk = start.cte("way_up", recursive=True)
    up = aliased(MentorGroup)
    walk = walk.union(select(up.id, up.parent_id)
                      .where(up.id == walk.c.parent_id, up.account_id == account_id))
    held = aliased(GroupMembership)
    on_the_way = held.group_id.in_(select(walk.c.id)) & held.role.in_(above)
    condition = on_the_way
    if own:
        on_the_group = ((held.group_id == group_id) & held.role.in_(own)
                        & held.group_id.in_(select(walk.c.id)))
        condition = on_the_way | on_the_group
    return db.session.scalar(select(exists().where(held.user_id == actor.id, condition))) \
        or False


def ancestors(account_id: int, group_ids, own: Select | None = None
              ) -> dict[int, tuple[int | None, str, bool]]:
    """id -> (parent id, name, whether it is one of `own`) for the groups (a page of ids, or
    a select of them) and every group above them, in one statement. `own` is what a path may
    start at (a Group Admin's own groups, `held_groups`); None: any group. The walk up reads
    each ancestor by its key (scalar subqueries: the planner cannot trade them for a scan of
    the school) and ends on a loop (UNION); callers follow the parents with a seen set."""
    if not isinstance(group_ids, Select):
        group_ids = list(group_ids)
        if not group_ids:
            return {}
    start = (select(MentorGroup.id.label("id"), MentorGroup.parent_id.label("parent_id"),
                    MentorGroup.name.label("name"))
             .where(MentorGroup.account_id == account_id, MentorGroup.id.in_(group_ids)))
    walk = start.cte("above", recursive=True)
    up = aliased(MentorGroup)

    def of_parent(column):
        return (select(column).where(up.id == walk.c.parent_id,
                                     up.account_id == account_id)
                .correlate(walk).scalar_subquery())

    walk = walk.union(select(walk.c.parent_id, of_parent(up.parent_id), of_parent(up.name))
                      .where(walk.c.parent_id.is_not(None)))
    mine = literal(True) if own is None else walk.c.id.in_(own)
    return {gid: (pid, name, bool(flag)) for gid, pid, name, flag in db.session.execute(
        select(walk.c.id, walk.c.parent_id, walk.c.name, mine))
        if name is not None}


def chain(nodes: dict[int, tuple[int | None, str, bool]], group_id: int) -> list[int]:
    """The group and its ancestors the person may see, nearest first, from `ancestors()`:
    up to the highest of their own groups on the way (none: nothing), and never round a
    loop."""
    out, seen, node = [], set(), group_id
    while node is not None and node in nodes and node not in seen:
        seen.add(node)
        out.append(node)
        node = nodes[node][0]
    highest = max((i for i, gid in enumerate(out) if nodes[gid][2]), default=-1)
    return out[:highest + 1]


def tops_of(account_id: int, roots: Select, name: str = "tops") -> Select:
    """Of the groups `roots` selects (say a Group Admin's own groups), those not below
    another of them: the top of that person's part of the tree. A walk up from those groups
    only (pairs of a group and one of its ancestors, UNION, so a loop ends), never down
    through everything they reach. A group inside a loop counts itself as no ancestor."""
    start = (select(MentorGroup.id.label("start"), MentorGroup.parent_id.label("node"))
             .where(MentorGroup.account_id == account_id, MentorGroup.id.in_(roots),
                    MentorGroup.parent_id.is_not(None)))
    walk = start.cte(name, recursive=True)
    up = aliased(MentorGroup)
    walk = walk.union(select(walk.c.start, up.parent_id).join(up, up.id == walk.c.node)
                      .where(up.parent_id.is_not(None), up.account_id == account_id))
    below_another = (select(walk.c.start)
                     .where(walk.c.node != walk.c.start, walk.c.node.in_(roots)))
    return (select(MentorGroup.id)
            .where(MentorGroup.account_id == account_id, MentorGroup.id.in_(roots),
                   MentorGroup.id.not_in(below_another)))
