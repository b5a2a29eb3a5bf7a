"""Finding groups by name: the Groups tab's search and the "Nest under" picker, answered by
the server so neither needs the whole tree in the page. Each match carries its path ("Year 7
› Robotics club"), names sort as people count ("group 2" before "group 10"), and only groups
the person may manage are ever named: their path starts at the top of their part of the
tree."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import func, select

from mentorgroups.extensions import db
from mentorgroups.models import MentorGroup, User
from mentorgroups.services.groups import (
    group_for_manager,
    managed_group_ids,
    school_parent_map,
    subtree_ids,
)
from mentorgroups.services.permissions import is_account_admin

SEARCH_LIMIT = 20
SEPARATOR = " \u203a "
_DIGITS = re.compile(r"(\d+)")


def natural_key(text: str) -> tuple:
    """Sort key reading runs of digits as numbers: "group 2" < "group 10" < "Group 11";
    letters compare without case (then with it, so the order is total)."""
    parts = _DIGITS.split(text.casefold())
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part)
                 for part in parts if part != ""), text


@dataclass(frozen=True)
class FoundGroup:
    id: int
    name: str
    path: str  # the visible ancestors and the group, top first

    def as_json(self) -> dict:
        return {"id": self.id, "name": self.name, "path": self.path}


@dataclass(frozen=True)
class Found:
    groups: list[FoundGroup]
    more: int  # matches beyond those listed
    top_level: bool = False  # "No parent (top level)" may be offered (the picker)

    def as_json(self) -> dict:
        return {"groups": [g.as_json() for g in self.groups], "more": self.more,
                "top_level": self.top_level}


def _names(account_id: int) -> dict[int, str]:
    return dict(db.session.execute(select(MentorGroup.id, MentorGroup.name)
                                   .where(MentorGroup.account_id == account_id)).all())


def path_labels(account_id: int, ids, visible: set[int],
                names: dict[int, str] | None = None) -> dict[int, str]:
    """id -> "Top › ... › Name", naming only groups in `visible` (a Group Admin's path starts
    at the top of their part of the tree). Ends on a broken tree (a loop)."""
    names = names if names is not None else _names(account_id)
    parents = school_parent_map(account_id)
    out = {}
    for gid in ids:
        parts, seen, node = [], set(), gid
        while node in visible and node not in seen:  # None (the top) is never visible
            seen.add(node)
            parts.append(names.get(node, ""))
            node = parents.get(node)
        out[gid] = SEPARATOR.join(reversed(parts))
    return out


def _escape_like(term: str) -> str:
    return "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _matching(account_id: int, term: str, allowed: set[int], limit: int) -> tuple[list, int]:
    """Groups of the school whose name contains `term` (any case, literally), among
    `allowed`, in natural order of their path: the first `limit` and how many more."""
    query = select(MentorGroup.id, MentorGroup.name).where(MentorGroup.account_id == account_id)
    if term:
        query = query.where(func.lower(MentorGroup.name).like(_escape_like(term.lower()),
                                                              escape="\\"))
    rows = [(gid, name) for gid, name in db.session.execute(query) if gid in allowed]
    return rows, max(0, len(rows) - limit)


def _found(account_id: int, rows, visible: set[int], limit: int) -> list[FoundGroup]:
    labels = path_labels(account_id, [gid for gid, _ in rows], visible)
    ordered = sorted(rows, key=lambda row: natural_key(labels[row[0]]))
    return [FoundGroup(gid, name, labels[gid]) for gid, name in ordered[:limit]]


def search_groups(actor: User, account_id: int, query: str | None,
                  limit: int = SEARCH_LIMIT) -> Found:
    """The Groups tab's search: groups this person manages whose name contains the query,
    each with its path, at most `limit` (and how many more)."""
    term = " ".join((query or "").split())
    if not term:
        return Found([], 0)
    managed = managed_group_ids(actor, account_id)
    rows, more = _matching(account_id, term, managed, limit)
    return Found(_found(account_id, rows, managed, limit), more)


def parent_options(actor: User, account_id: int, group_id, query: str | None,
                   limit: int = SEARCH_LIMIT) -> Found:
    """What "Nest under" may offer for `group_id` (None: a new group): groups this person
    manages, never the group itself or any group below it, matching the query (all of them
    when it is empty), and whether "No parent (top level)" may be chosen (account admins).
    The service that saves the form checks the choice again (groups.update_group)."""
    managed = managed_group_ids(actor, account_id)
    if group_id not in (None, ""):
        group = group_for_manager(actor, account_id, group_id)
        managed -= subtree_ids(school_parent_map(account_id), {group.id})
    term = " ".join((query or "").split())
    rows, more = _matching(account_id, term, managed, limit)
    visible = managed_group_ids(actor, account_id)
    return Found(_found(account_id, rows, visible, limit), more,
                 top_level=is_account_admin(actor, account_id))


def parent_label(actor: User, account_id: int, group: MentorGroup | None,
                 candidate: int) -> str | None:
    """The path of `candidate` when `group` (None: a new group) may be nested under it by
    this person, else None: keeps a chosen parent in a select that lists only some."""
    managed = managed_group_ids(actor, account_id)
    allowed = set(managed)
    if group is not None:
        allowed -= subtree_ids(school_parent_map(account_id), {group.id})
    if candidate not in allowed:
        return None
    return path_labels(account_id, [candidate], managed)[candidate]
