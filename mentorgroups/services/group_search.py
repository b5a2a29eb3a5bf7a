"""Finding groups by name: the Groups tab's search and the "Nest under" picker, answered by
the server so neither needs the whole tree in the page. Each match carries its path ("Year 7
› Robotics club"), names sort as people count ("group 2" before "group 10"), and only groups
the person may manage are ever named: their path starts at the top of their part of the
tree."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import Select, func, select

from mentorgroups.extensions import db
from mentorgroups.models import MentorGroup, User
from mentorgroups.services import group_reach
from mentorgroups.services.groups import group_for_manager
from mentorgroups.services.permissions import is_account_admin

SEARCH_LIMIT = 20
PATH_ORDER_LIMIT = 1000  # matches whose paths are all worked out to order them
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


def path_labels(account_id: int, ids, own: Select | None,
                start: Select | None = None) -> dict[int, str]:
    """id -> "Top › ... › Name" for a page of ids, starting at the highest of `own` on the
    way up (a Group Admin's own groups: their path starts at the top of their part of the
    tree; None: at the top of the school). One statement, walking up from `start` (a select
    of ids) when given, else from the ids; ends on a broken tree (a loop)."""
    ids = list(ids)
    nodes = group_reach.ancestors(account_id, start if start is not None else ids, own)
    return {gid: SEPARATOR.join(nodes[node][1] for node in
                                reversed(group_reach.chain(nodes, gid)))
            for gid in ids}


def _escape_like(term: str) -> str:
    return "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def name_matches(account_id: int, allowed: Select, term: str) -> Select:
    """(id, name) of the school's groups among `allowed` (a select of ids, walked by SQL)
    whose name contains `term`, any case and literally (`%` and `_` are letters); every one
    of them when `term` is empty. Unordered, unlimited: the caller pages it."""
    query = select(MentorGroup.id, MentorGroup.name).where(
        MentorGroup.account_id == account_id, MentorGroup.id.in_(allowed))
    if term:
        query = query.where(func.lower(MentorGroup.name).like(_escape_like(term.lower()),
                                                              escape="\\"))
    return query


def _found(account_id: int, term: str, allowed: Select, visible: Select | None,
           limit: int) -> tuple[list[FoundGroup], int]:
    """Groups of the school whose name contains `term` (any case, literally), among
    `allowed` (a select of ids, walked by SQL), with their paths: the first `limit` in
    natural order of their paths, and how many more. Two statements. Up to PATH_ORDER_LIMIT
    matches every path is worked out to choose the first ones; beyond that (a search that
    narrows nothing in a huge tree) they are the first by name, shown in order of path."""
    query = name_matches(account_id, allowed, term)
    rows = db.session.execute(query).all()
    total = len(rows)
    if total <= PATH_ORDER_LIMIT:
        labels = path_labels(account_id, [gid for gid, _ in rows], visible,
                             start=query.with_only_columns(MentorGroup.id))
    else:
        rows = sorted(rows, key=lambda row: natural_key(row[1]))[:limit]
        labels = path_labels(account_id, [gid for gid, _ in rows], visible)
    ordered = sorted(rows, key=lambda row: natural_key(labels[row[0]]))[:limit]
    return [FoundGroup(gid, name, labels[gid]) for gid, name in ordered], max(0, total - limit)


def _visible(actor: User, account_id: int) -> Select | None:
    """What a path may name: None (everything) for an account admin."""
    return None if is_account_admin(actor, account_id) \
        else group_reach.held_groups(actor.id, account_id, ("group_admin",))


def search_groups(actor: User, account_id: int, query: str | None,
                  limit: int = SEARCH_LIMIT) -> Found:
    """The Groups tab's search: groups this person manages whose name contains the query,
    each with its path, at most `limit` (and how many more). Two statements."""
    term = " ".join((query or "").split())
    managed = group_reach.managed_select(actor, account_id)
    if not term or managed is None:
        return Found([], 0)
    found, more = _found(account_id, term, managed, _visible(actor, account_id), limit)
    return Found(found, more)


def _allowed_parents(actor: User, account_id: int, group: MentorGroup | None) -> Select | None:
    """Groups `group` (None: a new group) may go under: managed, never itself or below."""
    managed = group_reach.managed_select(actor, account_id)
    if managed is None or group is None:
        return managed
    below = group_reach.subtree_select(account_id, [group.id], "below")
    return managed.where(managed.selected_columns[0].not_in(below))


def parent_options(actor: User, account_id: int, group_id, query: str | None,
                   limit: int = SEARCH_LIMIT) -> Found:
    """What "Nest under" may offer for `group_id` (None: a new group): groups this person
    manages, never the group itself or any group below it, matching the query (all of them
    when it is empty), and whether "No parent (top level)" may be chosen (account admins).
    The service that saves the form checks the choice again (groups.update_group)."""
    group = None
    if group_id not in (None, ""):
        group = group_for_manager(actor, account_id, group_id)
    allowed = _allowed_parents(actor, account_id, group)
    if allowed is None:
        return Found([], 0)
    term = " ".join((query or "").split())
    found, more = _found(account_id, term, allowed, _visible(actor, account_id), limit)
    return Found(found, more, top_level=is_account_admin(actor, account_id))


def parent_label(actor: User, account_id: int, group: MentorGroup | None,
                 candidate: int) -> str | None:
    """The path of `candidate` when `group` (None: a new group) may be nested under it by
    this person, else None: keeps a chosen parent in a select that lists only some."""
    allowed = _allowed_parents(actor, account_id, group)
    if allowed is None or db.session.scalar(
            allowed.where(allowed.selected_columns[0] == candidate)) is None:
        return None
    return path_labels(account_id, [candidate], _visible(actor, account_id))[candidate]
