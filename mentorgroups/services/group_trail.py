"""A group's breadcrumb: the groups above it that this person may open, top first.

One statement however deep the group: a recursive query walks up from the parent, each row
saying whether this person administers that group. The walk is a UNION (not UNION ALL), so a
group met again adds no row and a looped tree ends the walk; the chain is then put in order
in Python, stopping where it meets a group already in it."""

from __future__ import annotations

from sqlalchemy import exists, select
from sqlalchemy.orm import aliased

from mentorgroups.extensions import db
from mentorgroups.models import GroupMembership, MentorGroup, User
from mentorgroups.services.permissions import is_account_admin


def visible_ancestors(actor: User, account_id: int, group: MentorGroup) -> list[MentorGroup]:
    """The ancestors of `group` (of this school) that `actor` manages, top first. An
    account admin manages every group; a Group Admin the groups they administer and every
    group below those, so from the parent upward the chain is theirs up to the highest group
    they administer, and nothing above it."""
    if group.parent_id is None:
        return []
    walk = (select(MentorGroup.id, MentorGroup.parent_id)
            .where(MentorGroup.id == group.parent_id, MentorGroup.account_id == account_id)
            .cte("ancestors", recursive=True))
    above = aliased(MentorGroup)
    walk = walk.union(select(above.id, above.parent_id)
                      .join(walk, above.id == walk.c.parent_id)
                      .where(above.account_id == account_id))
    administers = exists().where(GroupMembership.group_id == MentorGroup.id,
                                 GroupMembership.user_id == actor.id,
                                 GroupMembership.role == "group_admin")
    found = {row[0].id: row for row in db.session.execute(
        select(MentorGroup, administers).join(walk, walk.c.id == MentorGroup.id))}
    chain, node_id = [], group.parent_id
    while node_id in found and node_id not in {g.id for g, _ in chain}:
        chain.append(found[node_id])
        node_id = found[node_id][0].parent_id
    if not is_account_admin(actor, account_id):
        highest = max((n for n, (_, admin) in enumerate(chain) if admin), default=-1)
        chain = chain[:highest + 1]
    return [g for g, _ in reversed(chain)]
