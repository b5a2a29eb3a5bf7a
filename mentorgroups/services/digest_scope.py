"""Whose weekly digest covers which groups, worked out inside each SQL statement.

A person's digest has one section per group they have the digest on for and still follow:
a group they mentor covers its own members; a group they administer, or one below a group
they administer, covers its whole subtree (its nested groups' members count in it, as on
their groups page). Both walks are recursive CTEs that start from the readers asked for, so
a digest reads only its reader's groups, never the school's tree, and no list of group ids
is ever bound as parameters. The walks use UNION, not UNION ALL: on a tree left with a loop
by moves that raced, a (reader, section, group) row already found is not found again, and
the walk ends."""

from __future__ import annotations

from sqlalchemy import and_, case, or_, select
from sqlalchemy.orm import aliased

from mentorgroups.models import (
    AccountMembership,
    DigestSubscription,
    GroupMembership,
    MentorGroup,
    User,
)
from mentorgroups.services.mentoring import active_people


def _subscribed(account_id: int, user_ids=None):
    """(reader, section): the digest switches that are on, of people active in the school,
    for groups of this school."""
    query = (select(DigestSubscription.user_id.label("reader_id"),
                    DigestSubscription.group_id.label("section_id"))
             .join(MentorGroup, and_(MentorGroup.id == DigestSubscription.group_id,
                                     MentorGroup.account_id == account_id))
             .join(User, User.id == DigestSubscription.user_id)
             .join(AccountMembership, active_people(account_id))
             .where(DigestSubscription.subscribed.is_(True)))
    if user_ids is not None:
        query = query.where(DigestSubscription.user_id.in_(sorted(set(user_ids))))
    return query.cte("subscribed")


def _above(account_id: int, subscribed):
    """(reader, section, group): each section and every group above it in this school. A
    parent in another school (damage `flask groups check` repairs) ends the walk, so a role
    there never widens a digest."""
    above = select(subscribed.c.reader_id, subscribed.c.section_id,
                   subscribed.c.section_id.label("group_id")).cte("above", recursive=True)
    child, parent = aliased(MentorGroup), aliased(MentorGroup)
    return above.union(
        select(above.c.reader_id, above.c.section_id, parent.id)
        .join(child, child.id == above.c.group_id)
        .join(parent, and_(parent.id == child.parent_id, parent.account_id == account_id)))


def _role(group_id, user_id):
    """The person's role in the group: a lookup of the (group, person) key per row, never a
    scan of every staff membership of the school."""
    return (select(GroupMembership.role)
            .where(GroupMembership.group_id == group_id, GroupMembership.user_id == user_id)
            .scalar_subquery())


def sections(account_id: int, user_ids=None):
    """CTE (reader_id, section_id, tree): the sections of these readers' digests; tree is 1
    when the reader administers the group or one above it, 0 when they only mentor it.
    A switch left on for a group the person no longer follows gives no section."""
    subscribed = _subscribed(account_id, user_ids)
    above = _above(account_id, subscribed)
    administered = (select(above.c.reader_id, above.c.section_id)
                    .where(_role(above.c.group_id, above.c.reader_id) == "group_admin")
                    .distinct().subquery("administered"))
    tree = administered.c.section_id.is_not(None)
    return (select(subscribed.c.reader_id, subscribed.c.section_id,
                   case((tree, 1), else_=0).label("tree"))
            .outerjoin(administered, and_(administered.c.reader_id == subscribed.c.reader_id,
                                          administered.c.section_id == subscribed.c.section_id))
            .where(or_(tree, _role(subscribed.c.section_id, subscribed.c.reader_id) == "mentor"))
            .cte("sections"))


def covered(account_id: int, sections_cte):
    """CTE (reader_id, section_id, group_id): the groups each section counts (the section
    itself, and for a tree section every group below it)."""
    down = select(sections_cte.c.reader_id, sections_cte.c.section_id,
                  sections_cte.c.section_id.label("group_id"),
                  sections_cte.c.tree).cte("covered", recursive=True)
    below = aliased(MentorGroup)
    down = down.union(
        select(down.c.reader_id, down.c.section_id, below.id, down.c.tree)
        .join(below, and_(below.parent_id == down.c.group_id, below.account_id == account_id))
        .where(down.c.tree == 1))
    return down


def group_members(account_id: int, covered_cte):
    """(group_id, user_id, full_name, joined_at): the members (people active in the school)
    of every group some section covers, each group once, however many readers' sections
    count it; the sections are put together from these in Python."""
    return (select(GroupMembership.group_id, GroupMembership.user_id, User.full_name,
                   GroupMembership.created_at)
            .join(User, User.id == GroupMembership.user_id)
            .join(AccountMembership, active_people(account_id))
            .where(GroupMembership.role == "member",
                   GroupMembership.group_id.in_(select(covered_cte.c.group_id))))


def member_ids(covered_cte):
    """SQL selection of the user ids of the covered groups' members: what the statements that
    read completions and pending work filter by, without the joins that say who is active
    (the member rows read beside them say that)."""
    return (select(GroupMembership.user_id)
            .join(covered_cte, covered_cte.c.group_id == GroupMembership.group_id)
            .where(GroupMembership.role == "member"))
