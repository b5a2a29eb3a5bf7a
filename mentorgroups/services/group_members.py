"""People in Mentor Groups: adding them (by search or by a pasted list of addresses), changing
roles, removing them. Only active members of the school can be in its groups."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, literal, or_, select, tuple_

from mentorgroups.extensions import db
from mentorgroups.models import (
    GROUP_ROLES,
    STAFF_ROLES,
    AccountMembership,
    GroupMembership,
    MentorGroup,
    User,
)
from mentorgroups.paging import Page, PageRequest, clamp
from mentorgroups.services import audit, digest_subscriptions
from mentorgroups.services.accounts import clean_email
from mentorgroups.services.errors import NotFound, ServiceError
from mentorgroups.services.groups import group_for_manager

MAX_PASTED_ADDRESSES = 500
_SEPARATORS = re.compile(r"[\s,;]+")
# "Ana Bell <ana@x.org>" or "\"Bell, Ana\" <ana@x.org>": name words never contain "@", so an
# address pasted before the name is never swallowed by it.
_NAME_WORD = r'(?:"[^"]*"|[^\s,;<>@"]+)'
_DISPLAY_NAME = re.compile(
    r"(?<![^\s,;])" + _NAME_WORD + r"(?:\s+" + _NAME_WORD + r")*\s*<([^<>\s]+)>"
)


@dataclass
class AddReport:
    """What happened to each person asked for, so the screen can say it plainly."""

    added: list[User] = field(default_factory=list)
    already: list[tuple[User, str]] = field(default_factory=list)
    not_in_account: list[str] = field(default_factory=list)
    invited: list[str] = field(default_factory=list)
    # Already invited to the group and not asked to invite again (keep_pending).
    pending: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # e.g. over the invitation rate limit
    revoked: list[str] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.invited)


def check_role(role: str | None) -> str:
    if role not in GROUP_ROLES:
        raise ServiceError("Choose a role: Member, Mentor or Group Admin.", field="role")
    return role


def split_addresses(text: str | None) -> list[str]:
    """Addresses pasted with commas, semicolons, spaces or new lines, in order, without
    repeats. Display names ("Ana <ana@x.org>") are reduced to the address."""
    text = _DISPLAY_NAME.sub(r" \1 ", text or "")
    text = re.sub(r"<([^<>\s]+)>", r" \1 ", text)
    seen, out = set(), []
    for token in _SEPARATORS.split(text):
        token = token.strip().strip("\"'")
        if token and token.lower() not in seen:
            seen.add(token.lower())
            out.append(token)
    return out


def _school_people(account_id: int, column, values: list) -> dict:
    """People of the school whose `column` (User.email or User.id) is among `values`:
    value -> (user, status of their membership in the school)."""
    if not values:
        return {}
    rows = db.session.execute(
        select(User, AccountMembership.status)
        .join(AccountMembership, AccountMembership.user_id == User.id)
        .where(AccountMembership.account_id == account_id, column.in_(values))
    ).all()
    return {getattr(user, column.key): (user, status) for user, status in rows}


def add_members(actor: User, account_id: int, group_id, role: str,
                user_ids=(), addresses: str | None = "", keep_pending: bool = False) -> AddReport:
    """Add people picked by search (`user_ids`) or pasted (`addresses`) with one role. Each
    person is handled on their own: valid ones are added, every other one is reported.
    Addresses nobody in the school has are invited; one with a pending invitation to the
    group is invited again (a new link) unless `keep_pending`, which leaves that invitation
    as it is and reports the address as pending: a sync run twice sends nothing twice."""
    group = group_for_manager(actor, account_id, group_id)
    role = check_role(role)
    report = AddReport()
    tokens = split_addresses(addresses)
    if len(tokens) > MAX_PASTED_ADDRESSES:
        raise ServiceError(f"Paste at most {MAX_PASTED_ADDRESSES} addresses at a time "
                           f"(this list has {len(tokens)}).", field="addresses")
    emails = []
    for token in tokens:
        try:
            emails.append(clean_email(token))
        except ServiceError:
            report.invalid.append(token)
    ids = []
    for raw in user_ids or ():
        try:
            ids.append(int(raw))
        except (TypeError, ValueError):
            report.not_in_account.append(str(raw))
    if not emails and not ids and not report.invalid and not report.not_in_account:
        raise ServiceError("Search for people or paste their email addresses first.",
                           field="addresses")

    by_email = _school_people(account_id, User.email, emails)
    by_id = _school_people(account_id, User.id, ids)
    wanted: dict[int, User] = {}
    pending = _pending_addresses(group.id, emails) if keep_pending else set()
    for email in emails:
        if email not in by_email:
            if email in pending:
                report.pending.append(email)
            else:
                _invite(actor, account_id, group, email, role, report)
            continue
        user, status = by_email[email]
        if status != "active":
            report.revoked.append(email)
        else:
            wanted.setdefault(user.id, user)
    for uid in ids:
        if uid not in by_id:
            report.not_in_account.append(str(uid))
            continue
        user, status = by_id[uid]
        if status != "active":
            report.revoked.append(user.email)
        else:
            wanted.setdefault(user.id, user)

    existing = dict(db.session.execute(
        select(GroupMembership.user_id, GroupMembership.role).where(
            GroupMembership.group_id == group.id, GroupMembership.user_id.in_(list(wanted)))
    ).all()) if wanted else {}
    for uid, user in wanted.items():
        if uid in existing:
            report.already.append((user, existing[uid]))
            continue
        db.session.add(GroupMembership(group_id=group.id, user_id=uid, role=role,
                                       added_by_id=actor.id))
        digest_subscriptions.follow_role_change(uid, group.id, None, role)
        audit.record(actor, account_id, "member.add", group, subject=user, after={"role": role})
        report.added.append(user)
    db.session.flush()
    return report


def _pending_addresses(group_id: int, emails: list[str]) -> set[str]:
    from mentorgroups.models import Invitation

    if not emails:
        return set()
    return set(db.session.scalars(select(Invitation.email).where(
        Invitation.group_id == group_id, Invitation.status == "pending",
        Invitation.email.in_(emails))))


def _invite(actor: User, account_id: int, group: MentorGroup, email: str, role: str,
            report: AddReport) -> None:
    """Addresses with no membership in the school are invited (whether or not they have a
    personal account elsewhere: the report says the same either way)."""
    from mentorgroups.services.invitations import RateLimited, invite

    try:
        invite(actor, account_id, group, email, role)
    except RateLimited as exc:
        report.refused.append(f"{email}: {exc.message}")
    else:
        report.invited.append(email)


def _membership(group: MentorGroup, user_id) -> GroupMembership:
    try:
        uid = int(user_id)
    except (TypeError, ValueError):
        raise NotFound("That person is not in this group.") from None
    membership = db.session.scalar(select(GroupMembership).where(
        GroupMembership.group_id == group.id, GroupMembership.user_id == uid))
    if membership is None:
        raise NotFound("That person is not in this group (they may have been removed).")
    return membership


def change_role(actor: User, account_id: int, group_id, user_id, role: str) -> GroupMembership:
    group = group_for_manager(actor, account_id, group_id)
    role = check_role(role)
    membership = _membership(group, user_id)
    if membership.role != role:
        before = membership.role
        membership.role = role
        digest_subscriptions.follow_role_change(membership.user_id, group.id, before, role)
        audit.record(actor, account_id, "member.role", group, subject=membership.user,
                     before={"role": before}, after={"role": role})
        db.session.flush()
    return membership


def make_mentors(actor: User, account_id: int, group_id, user_ids) -> list[User]:
    """Bulk "Make mentor": members become mentors; staff keep their role."""
    group = group_for_manager(actor, account_id, group_id)
    changed = []
    for membership in _memberships(group, user_ids):
        if membership.role == "member":
            change_role(actor, account_id, group.id, membership.user_id, "mentor")
            changed.append(membership.user)
    return changed


def _memberships(group: MentorGroup, user_ids) -> list[GroupMembership]:
    ids = []
    for raw in user_ids or ():
        try:
            ids.append(int(raw))
        except (TypeError, ValueError):
            continue
    if not ids:
        return []
    return list(db.session.scalars(select(GroupMembership).where(
        GroupMembership.group_id == group.id, GroupMembership.user_id.in_(ids))))


def remove_members(actor: User, account_id: int, group_id,
                   user_ids) -> tuple[list[User], list[str]]:
    """Remove people from the group, staff included: one step, whatever their role (the
    screen's confirmation names the role). Each removal is audited with the role the person
    had. Returns (removed, refusal messages); nothing is refused today, the list stays for
    the callers' messages."""
    group = group_for_manager(actor, account_id, group_id)
    removed: list[User] = []
    for membership in _memberships(group, user_ids):
        user = membership.user
        audit.record(actor, account_id, "member.remove", group, subject=user,
                     before={"role": membership.role})
        # A removed Mentor or Group Admin stops getting the group's digest, as being made a
        # Member did (a Group Admin of a group above could otherwise keep its section).
        digest_subscriptions.follow_role_change(user.id, group.id, membership.role, "member")
        db.session.delete(membership)
        removed.append(user)
    db.session.flush()
    return removed, []


def membership_for_removal(actor: User, account_id: int, group_id, user_id) -> GroupMembership:
    """The membership a "Remove from group" confirmation is about (its person and role), for
    a group this person manages; NotFound for anybody else's, or nobody's."""
    return _membership(group_for_manager(actor, account_id, group_id), user_id)


def _like(term: str) -> str:
    return "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def name_or_email_matches(term: str):
    """SQL condition: the person's name or email contains the term (any case, literally)."""
    pattern = _like(term.lower())
    return or_(func.lower(User.full_name).like(pattern, escape="\\"),
               User.email.like(pattern, escape="\\"))


def search_people(actor: User, account_id: int, group_id, query: str | None,
                  limit: int = 20) -> list[dict]:
    """People of this school with active access whose name or email contains the query, with
    their current role in the group. Nobody outside the school is ever returned."""
    group = group_for_manager(actor, account_id, group_id)
    term = " ".join((query or "").split())
    if not term:
        return []
    rows = db.session.execute(
        select(User.id, User.full_name, User.email, GroupMembership.role)
        .join(AccountMembership, AccountMembership.user_id == User.id)
        .outerjoin(GroupMembership, (GroupMembership.user_id == User.id)
                   & (GroupMembership.group_id == group.id))
        .where(*_matching(account_id, term))
        .order_by(func.lower(User.full_name), User.id)
        .limit(limit)
    ).all()
    return [{"id": uid, "name": name, "email": email, "role": role}
            for uid, name, email, role in rows]


def search_for_adding(actor: User, account_id: int, group_id, query: str | None,
                      limit: int = 20) -> dict:
    """What the members screen's search bar offers: up to `limit` people of the school, how
    many more match beyond them, and, when the text is an email address that is nobody's in
    the school, that address to invite. Whether the address has a personal account elsewhere
    is never said (the invitation is the same either way)."""
    people = search_people(actor, account_id, group_id, query, limit=limit + 1)
    more = 0
    if len(people) > limit:
        people = people[:limit]
        more = _match_count(account_id, query) - limit
    invite = None
    term = (query or "").strip()
    if "@" in term and " " not in term:
        try:
            address = clean_email(term)
        except ServiceError:
            address = None
        if address is not None and not any(p["email"] == address for p in people) \
                and _school_people(account_id, User.email, [address]) == {}:
            invite = address
    return {"people": people, "more": max(more, 0), "invite": invite}


def _matching(account_id: int, term: str) -> tuple:
    """People of the school with active access whose name or email contains `term`."""
    return (AccountMembership.account_id == account_id, AccountMembership.status == "active",
            name_or_email_matches(term))


def _match_count(account_id: int, query: str | None) -> int:
    return db.session.scalar(
        select(func.count()).select_from(User)
        .join(AccountMembership, AccountMembership.user_id == User.id)
        .where(*_matching(account_id, " ".join((query or "").split()))))


@dataclass(frozen=True)
class GroupPerson:
    """What the members screen shows of one person in a group."""

    id: int
    full_name: str
    email: str
    role: str
    added_at: datetime


def _people_of(group_id: int, roles, request: PageRequest, total: int | None) -> Page:
    rows = (select(User.id, User.full_name, User.email, GroupMembership.role,
                   GroupMembership.created_at)
            .join(GroupMembership, GroupMembership.user_id == User.id)
            .where(GroupMembership.group_id == group_id, GroupMembership.role.in_(roles)))
    return people_page(rows, request, GroupPerson, None if request.search else total)


BY_NAME = (func.lower(User.full_name), User.id)


def by_name_page(rows, request: PageRequest) -> list | None:
    """The rows of a page asked for by key (`request.after` or `request.before`, the id of
    a row of `rows`), in name order, or None when the request has no key or the key names
    no row of the list (a person removed meanwhile, a forged id): the caller reads the page
    by OFFSET instead. One statement; the key's name is a subquery of the same list, so an
    id from outside it (another group, another school) finds nothing. On PostgreSQL the
    page is read from the name index in order (forwards for Next, backwards for Previous),
    whatever its depth: about 1,000 index entries for a page of 50 of a 5,000-member group
    among 100,000 people, where OFFSET sorted the whole group."""
    if not request.keyset:
        return None
    key_id = request.after if request.after is not None else request.before
    key_name = (rows.with_only_columns(func.lower(User.full_name))
                .where(User.id == key_id).scalar_subquery())
    position, key = tuple_(*BY_NAME), tuple_(key_name, literal(key_id))
    if request.after is not None:
        page = rows.where(position > key).order_by(*BY_NAME)
    else:
        page = rows.where(position < key).order_by(*(column.desc() for column in BY_NAME))
    found = db.session.execute(page.limit(request.size)).all()
    if request.before is not None:
        found.reverse()
    return found or None


def people_page(rows, request: PageRequest, make, total: int | None = None) -> Page:
    """One page of a query of people (by name; searched by name or email), with the count
    of the whole (counted here unless `total` is known): at most two statements whatever the
    size. On PostgreSQL the name order reads the page from an index
    (ix_user_account_name_order) instead of sorting the whole list: the first page from its
    start, a page reached by Previous or Next from the row it follows (`by_name_page`); a
    page opened by its number deep in the list is read by OFFSET (a sort). `make` builds an
    item from a row; its first column is the person's id."""
    if request.search:
        rows = rows.where(name_or_email_matches(request.search))
    if total is None:
        total = db.session.scalar(select(func.count()).select_from(rows.subquery()))
    request = clamp(request, total)
    found = by_name_page(rows, request)
    if found is None:
        found = db.session.execute(rows.order_by(*BY_NAME).limit(request.size)
                                   .offset(request.offset)).all()
    items = [make(*row) for row in found]
    return Page(items, total, request.number, request.size, request.search,
                keys=(found[0][0], found[-1][0]) if found else None)


def role_totals(group_id: int) -> dict[str, int]:
    """How many people hold each role in the group: one statement that PostgreSQL answers
    from the index on (group_id, role, user_id), without reading people or memberships."""
    totals = dict.fromkeys(GROUP_ROLES, 0)
    totals.update(db.session.execute(
        select(GroupMembership.role, func.count()).where(GroupMembership.group_id == group_id)
        .group_by(GroupMembership.role)).all())
    return totals


def group_people(actor: User, account_id: int, group_id, staff: PageRequest | None = None,
                 members: PageRequest | None = None) -> tuple[Page, Page]:
    """(staff, members) of a group, each one page sorted by name (optionally searched by
    name or email), with the whole count of each: only the page's rows and the columns the
    screen shows are read. Unsearched, both counts come from one statement over the index
    of roles; a search counts its matches."""
    group = group_for_manager(actor, account_id, group_id)
    staff, members = staff or PageRequest(), members or PageRequest()
    totals = role_totals(group.id) if not (staff.search and members.search) else {}
    member_roles = tuple(r for r in GROUP_ROLES if r not in STAFF_ROLES)
    return (_people_of(group.id, tuple(STAFF_ROLES), staff,
                       sum(totals[r] for r in STAFF_ROLES) if totals else None),
            _people_of(group.id, member_roles, members,
                       sum(totals[r] for r in member_roles) if totals else None))


def member_count(group_id: int) -> int:
    """Everybody in the group, staff included."""
    return db.session.scalar(select(func.count()).select_from(GroupMembership)
                             .where(GroupMembership.group_id == group_id))
