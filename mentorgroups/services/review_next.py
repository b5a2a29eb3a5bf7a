"""Working through the review queue: its filters (the group a learner is in, one learner),
what is left in it, and the next waiting item after the one just reviewed or skipped.

Every answer is one SQL statement over the same condition as the queue itself
(`learning.review_queue`), so "Next" never offers what the queue would not list, and the
statements do not grow with the number of waiting items."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, and_, case, exists, false, func, or_, select, true
from sqlalchemy.orm import aliased

from mentorgroups.extensions import db
from mentorgroups.input_guard import parse_id
from mentorgroups.models import (
    AccountMembership,
    CohortMembership,
    GroupMembership,
    MentorGroup,
    Submission,
    User,
)
from mentorgroups.services.errors import NotFound
from mentorgroups.services.learning import _reviewable
from mentorgroups.services.permissions import active_membership


@dataclass(frozen=True)
class QueueFilter:
    """A narrower queue: the waiting work of the members of one group, of one learner, or
    both. Built by `queue_filter`, which checks the ids; the names are for the screen."""

    group_id: int | None = None
    group_name: str = ""
    learner_id: int | None = None
    learner_name: str = ""
    group_path: str = ""  # "Year 7 › Coaching": where the group is, as far as one may see

    @property
    def active(self) -> bool:
        return self.group_id is not None or self.learner_id is not None

    @property
    def args(self) -> dict[str, int]:
        """The query arguments that keep this filter on a link."""
        out = {}
        if self.group_id is not None:
            out["group"] = self.group_id
        if self.learner_id is not None:
            out["learner"] = self.learner_id
        return out

    def condition(self):
        """SQL condition on Submission."""
        parts = []
        if self.group_id is not None:
            member = aliased(GroupMembership)
            parts.append(exists().where(member.user_id == Submission.user_id,
                                        member.group_id == self.group_id,
                                        member.role == "member"))
        if self.learner_id is not None:
            parts.append(Submission.user_id == self.learner_id)
        return and_(*parts) if parts else true()


NO_FILTER = QueueFilter()


FILTER_CHOICES = 20  # groups offered at once; a search narrows them, never a longer list


@dataclass(frozen=True)
class GroupChoices:
    """Groups a person may narrow their queue to, a few at a time: `groups` are
    (id, name, path) in order of name, `more` whether others match too (then the screen
    offers a search), `query` what they were searched by ("" for the first ones)."""

    groups: list[tuple[int, str, str]]
    more: bool
    query: str = ""

    def as_json(self) -> dict:
        return {"groups": [{"id": gid, "name": name, "path": path}
                           for gid, name, path in self.groups],
                "more": self.more, "query": self.query}


def reviewable_groups(actor: User, account_id: int) -> Select | None:
    """The groups whose members' work this person may narrow the queue to, as a select of
    ids (SQL, never a list of ids): every group of the school for an account admin, the
    groups others mentor or administer (and those below); None without access."""
    from mentorgroups.services import group_reach

    membership = active_membership(actor, account_id)
    if membership is None:
        return None
    if membership.role == "admin":
        return group_reach.school_groups(account_id)
    return group_reach.mentored_select(actor, account_id)


def _path_start(actor: User, account_id: int) -> Select | None:
    """Where a group's path may start: anywhere for an account admin; for others at the
    highest of their own groups (mentored or administered) on the way up, so a path never
    names a group above what the person may see."""
    from mentorgroups.services import group_reach

    membership = active_membership(actor, account_id)
    if membership is not None and membership.role == "admin":
        return None
    return group_reach.held_groups(actor.id, account_id, ("group_admin", "mentor"))


def filter_choices(actor: User, account_id: int, query: str | None = None,
                   limit: int = FILTER_CHOICES) -> GroupChoices:
    """At most `limit` groups this person may filter their queue by, whose name contains
    `query` (any case, literally; all of them when empty), first by name, each with its
    path, and whether more match. Two statements whatever the size of the school: the
    page of groups (LIMIT `limit` + 1, the reach a CTE inside it) and their paths."""
    from mentorgroups.services.group_search import name_matches, path_labels

    term = " ".join((query or "").split())
    allowed = reviewable_groups(actor, account_id)
    if allowed is None:
        return GroupChoices([], False, term)
    found = db.session.execute(name_matches(account_id, allowed, term)
                               .order_by(func.lower(MentorGroup.name), MentorGroup.id)
                               .limit(limit + 1)).all()
    found, more = found[:limit], len(found) > limit
    labels = path_labels(account_id, [gid for gid, _ in found],
                         _path_start(actor, account_id)) if found else {}
    return GroupChoices([(gid, name, labels.get(gid) or name) for gid, name in found],
                        more, term)


def filter_group(actor: User, account_id: int, group_id: int | None) -> tuple[str, str] | None:
    """The name and path of one group this person may filter their queue by, else None
    (another school's group, one outside their reach, one that does not exist: all alike,
    and nothing about it is shown). A walk up from that one group (`group_reach.ancestors`:
    one row per ancestor, ends on a loop), then for anybody but an account admin
    `group_reach.mentors`, which also walks up from the group: the same reach as
    `reviewable_groups` without walking down through everything a Group Admin at the top
    of a big school reaches."""
    from mentorgroups.services import group_reach
    from mentorgroups.services.group_search import SEPARATOR

    membership = active_membership(actor, account_id)
    if group_id is None or membership is None:
        return None
    nodes = group_reach.ancestors(account_id, [group_id], _path_start(actor, account_id))
    if group_id not in nodes:
        return None  # not a group of this school
    if membership.role != "admin" and not group_reach.mentors(actor, account_id, group_id):
        return None
    name = nodes[group_id][1]
    path = SEPARATOR.join(nodes[node][1] for node in
                          reversed(group_reach.chain(nodes, group_id)))
    return name, path or name


def queue_filter(actor: User, account_id: int, group=None, learner=None) -> QueueFilter:
    """The filter asked for by query arguments (empty ones mean "any"). NotFound for an id
    that is not a whole number, a group that is not one of `reviewable_groups`, or a learner who
    is not of this school or not someone whose work this person may review: a forged link
    learns nothing, not even a name."""
    group = None if group is None or str(group).strip() == "" else group
    learner = None if learner is None or str(learner).strip() == "" else learner
    if group is None and learner is None:
        return NO_FILTER
    membership = active_membership(actor, account_id)
    if membership is None:
        raise NotFound("That filter names nothing you can review.")
    group_id = group_name = learner_id = None
    learner_name = group_path = ""
    if group is not None:
        group_id = parse_id(group)
        named = filter_group(actor, account_id, group_id)
        if named is None:
            raise NotFound("That group does not exist or you don't mentor it.")
        group_name, group_path = named
    if learner is not None:
        learner_id = parse_id(learner)
        learner_name = _learner_name(actor, account_id, membership.role, learner_id)
    return QueueFilter(group_id, group_name or "", learner_id, learner_name, group_path)


def _learner_name(actor: User, account_id: int, role: str, learner_id: int | None) -> str:
    from mentorgroups.services.mentoring import follows_learner

    if learner_id is None:
        raise NotFound("That learner does not exist here.")
    if role == "admin":
        allowed = true()
    else:
        taught = aliased(CohortMembership)
        learning_in = aliased(CohortMembership)
        allowed = or_(
            exists().where(taught.user_id == actor.id,
                           taught.role.in_(("teacher", "moderator")),
                           learning_in.cohort_id == taught.cohort_id,
                           learning_in.user_id == User.id, learning_in.role == "learner"),
            follows_learner(actor, account_id, User.id))
    name = db.session.scalar(
        select(User.full_name)
        .join(AccountMembership, and_(AccountMembership.user_id == User.id,
                                      AccountMembership.account_id == account_id))
        .where(User.id == learner_id, User.id != actor.id, allowed))
    if name is None:
        raise NotFound("That learner does not exist here or is not yours to review.")
    return name


def _condition(actor: User, account_id: int, filters: QueueFilter):
    condition = _reviewable(actor, account_id)
    if condition is None:
        return false()
    return and_(condition, filters.condition())


def waiting_count(actor: User, account_id: int, filters: QueueFilter = NO_FILTER) -> int:
    """How many items wait in this (filtered) queue: one COUNT."""
    return db.session.scalar(select(func.count()).select_from(Submission)
                             .where(_condition(actor, account_id, filters)))


def next_waiting(actor: User, account_id: int, filters: QueueFilter,
                 after: Submission) -> int | None:
    """The id of the item to open after `after` (just reviewed, skipped, or reviewed by
    someone else): the first waiting item after it in the queue's order (oldest first), else
    the oldest before it (what was skipped comes round again), never `after` itself. None
    when nothing else waits. One statement, ordered by the database."""
    later = or_(Submission.submitted_at > after.submitted_at,
                and_(Submission.submitted_at == after.submitted_at, Submission.id > after.id))
    return db.session.scalar(
        select(Submission.id)
        .where(_condition(actor, account_id, filters), Submission.id != after.id)
        .order_by(case((later, 0), else_=1), Submission.submitted_at, Submission.id)
        .limit(1))
