"""The pager's count for lists that can be very long (a group of 5,000 members).

Counting a list exactly reads all of it, whatever page is shown. Up to EXACT_UP_TO rows the
count is exact; above it the page says "about N", N being an estimate the database answers
from an index (the group's memberships by role, people whose access ended included), so a
page's cost stops growing with the group. Both are asked in one statement."""

from __future__ import annotations

from sqlalchemy import func, select

from mentorgroups.extensions import db
from mentorgroups.models import GroupMembership

EXACT_UP_TO = 1000


def page_total(rows, estimate=None) -> tuple[int, bool]:
    """(total, estimated) of the query `rows`. With an `estimate` (a scalar subquery): rows
    counted up to EXACT_UP_TO (reading no more than one past that), above it the estimate,
    never below what was counted. Without one: counted exactly."""
    if estimate is None:
        return db.session.scalar(select(func.count()).select_from(rows.subquery())), False
    counted = (select(func.count()).select_from(rows.limit(EXACT_UP_TO + 1).subquery())
               .scalar_subquery())
    exact, guess = db.session.execute(select(counted, estimate)).one()
    if exact <= EXACT_UP_TO:
        return exact, False
    return max(exact, guess), True


def members_estimate(group_id: int):
    """A group's members, people whose access ended included: from the index of roles."""
    return (select(func.count()).where(GroupMembership.group_id == group_id,
                                       GroupMembership.role == "member").scalar_subquery())
