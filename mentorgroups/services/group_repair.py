"""Finding and repairing a broken group tree: a group that is its own ancestor (a cycle, left
by moves that raced before they were serialised) or whose parent belongs to another school.

Such groups are invisible in the tree yet count against the plan, and a group that is its own
parent can't be deleted. Repair moves each of them to the top level of its own school, under the
school's lock, and writes the change to the school's audit log."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from mentorgroups.extensions import db
from mentorgroups.models import MentorGroup
from mentorgroups.services import audit
from mentorgroups.services.groups import _lock_account

REASONS = {"cycle": "it was its own ancestor",
           "foreign parent": "its parent is not a group of this school"}


@dataclass(frozen=True)
class TreeProblem:
    account_id: int
    group_id: int
    name: str
    parent_id: int
    kind: str  # "cycle" or "foreign parent"

    def describe(self) -> str:
        return (f"school {self.account_id}: group {self.group_id} \u201c{self.name}\u201d has "
                f"parent {self.parent_id}, but {REASONS[self.kind]}")


def find_tree_problems(account_id: int | None = None) -> list[TreeProblem]:
    """Every group on a cycle and every group whose parent is missing or in another school.
    One query; the walk stops at the first group seen twice."""
    query = select(MentorGroup.id, MentorGroup.account_id, MentorGroup.parent_id,
                   MentorGroup.name)
    rows = {row.id: row for row in db.session.execute(query)}
    problems, parent = [], {}
    for row in rows.values():
        if row.parent_id is None:
            continue
        owner = rows.get(row.parent_id)
        if owner is None or owner.account_id != row.account_id:
            problems.append(TreeProblem(row.account_id, row.id, row.name, row.parent_id,
                                        "foreign parent"))
        else:
            parent[row.id] = row.parent_id
    for row in rows.values():
        seen, node = set(), parent.get(row.id)
        while node is not None and node != row.id and node not in seen:
            seen.add(node)
            node = parent.get(node)
        if node == row.id:
            problems.append(TreeProblem(row.account_id, row.id, row.name, row.parent_id, "cycle"))
    if account_id is not None:
        problems = [p for p in problems if p.account_id == account_id]
    return sorted(problems, key=lambda p: (p.account_id, p.group_id))


def _free_top_level_name(account_id: int, name: str, group_id: int) -> str:
    """The name, or the name with a number, so it is unique among the top-level groups."""
    taken = {n.lower() for n in db.session.scalars(select(func.lower(MentorGroup.name)).where(
        MentorGroup.account_id == account_id, MentorGroup.parent_id.is_(None),
        MentorGroup.id != group_id))}
    candidate, n = name, 1
    while candidate.lower() in taken:
        n += 1
        suffix = f" ({n})"
        candidate = name[:120 - len(suffix)] + suffix
    return candidate


def repair_tree_problems(problems: list[TreeProblem]) -> int:
    """Move each group found to the top level of its school (renamed with a number if a
    top-level group already has its name), each school under its lock, and log it. A problem
    that is gone by the time its school is locked is left alone. Returns the groups moved."""
    moved = 0
    for account_id in sorted({p.account_id for p in problems}):
        _lock_account(account_id)
        current = {p.group_id: p for p in find_tree_problems(account_id)}
        for problem in (p for p in problems if p.account_id == account_id):
            if problem.group_id not in current:
                continue
            group = db.session.get(MentorGroup, problem.group_id)
            before = {"name": group.name, "parent_id": group.parent_id}
            group.parent_id = None
            group.name = _free_top_level_name(account_id, group.name, group.id)
            db.session.flush()
            audit.record(None, account_id, "group.repair", group, before=before,
                         after={"name": group.name, "parent_id": None,
                                "reason": REASONS[problem.kind]})
            moved += 1
            current = {p.group_id: p for p in find_tree_problems(account_id)}
    return moved
