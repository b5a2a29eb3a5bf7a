"""Mentor Groups as an identity provider sees them over SCIM (mentorgroups.scim): a SCIM group
is a Mentor Group of the token's school, its `members` are the group's Members.

The rules, all through the product's own services (plan limits, names, audit, invitations):

- A SCIM member is a person with the Member role. Mentors and Group Admins are managed in the
  product: SCIM never lists them, never adds, removes or changes them. A person who is a Mentor
  or Group Admin of the group and is pushed as a member keeps their role; one removed by SCIM
  (a PATCH remove, or a PUT or replace without them) stays in the group with their role.
- A member is named by the id of a person of the school (`/Users`) or by an email address. An
  address that is nobody's in the school is invited into the group with the Member role, by the
  invitation service the members screen uses; the person joins only by accepting. An address
  with a pending invitation to the group is not invited again.
- Each write takes the group's row lock (after the school's, when it renames, as the groups
  service orders them), so writes to one group run one at a time and end in the order they
  committed; `scim_revision` counts them (the resource's meta.version).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select

from mentorgroups.extensions import db
from mentorgroups.input_guard import parse_id
from mentorgroups.models import (
    AccountMembership,
    GroupMembership,
    Invitation,
    MentorGroup,
    User,
)
from mentorgroups.services import group_members, groups
from mentorgroups.services.accounts import clean_email
from mentorgroups.services.errors import NotFound, ServiceError
from mentorgroups.services.permissions import require_account_admin

MAX_EXTERNAL_ID = 255
MAX_MEMBERS_PER_REQUEST = group_members.MAX_PASTED_ADDRESSES


class NameTaken(ServiceError):
    """Another group of the school already has this name at the top level (SCIM: 409)."""


class PlanLimitReached(ServiceError):
    """The school's plan allows no more groups (SCIM: 403, the message names the limit)."""


class InvitationsThrottled(ServiceError):
    """The invitation rate limit refused an address; nothing of the request was kept."""


class BadMember(ServiceError):
    """A member value names nobody this school can have (SCIM: 400 invalidValue)."""


@dataclass
class GroupState:
    """What SCIM shows of a group: its Members (role Member only), by id."""

    group: MentorGroup
    members: list[tuple[int, str]] = field(default_factory=list)  # (user id, full name)


def _locked_group(actor, account_id: int, group_id) -> MentorGroup:
    """The group of this school, locked for the rest of the transaction; NotFound for any other
    school's, deleted or garbage ids."""
    gid = parse_id(group_id)
    group = db.session.scalar(
        select(MentorGroup).where(MentorGroup.id == gid, MentorGroup.account_id == account_id)
        .with_for_update().execution_options(populate_existing=True)) if gid else None
    if group is None:
        raise NotFound("That group does not exist (it may have been deleted).")
    return groups.group_for_manager(actor, account_id, group.id)


def _lock_school(account_id: int) -> None:
    groups._lock_account(account_id)


def clean_external_id(raw) -> str | None:
    if raw is None:
        return None
    text = str(raw).strip()
    if len(text) > MAX_EXTERNAL_ID:
        raise ServiceError(f"externalId can be at most {MAX_EXTERNAL_ID} characters.",
                           field="externalId")
    return text or None


def members_of(group_ids: list[int]) -> dict[int, list[tuple[int, str]]]:
    """The Members (role Member) of these groups, by name: one statement for all of them."""
    out: dict[int, list[tuple[int, str]]] = {gid: [] for gid in group_ids}
    if not group_ids:
        return out
    rows = db.session.execute(
        select(GroupMembership.group_id, User.id, User.full_name)
        .join(User, User.id == GroupMembership.user_id)
        .where(GroupMembership.group_id.in_(group_ids), GroupMembership.role == "member")
        .order_by(GroupMembership.group_id, func.lower(User.full_name), User.id))
    for gid, uid, name in rows:
        out[gid].append((uid, name))
    return out


def get_group(actor, account_id: int, group_id) -> GroupState:
    group = groups.group_for_manager(actor, account_id, group_id)
    return GroupState(group, members_of([group.id])[group.id])


def list_groups(actor, account_id: int, display_name: str | None, offset: int,
                limit: int) -> tuple[int, list[GroupState]]:
    """(how many groups match, one page of them with their Members), oldest first: three
    statements whatever the school's size. `display_name` matches in any case."""
    require_account_admin(actor, account_id)
    query = select(MentorGroup).where(MentorGroup.account_id == account_id)
    if display_name is not None:
        query = query.where(func.lower(MentorGroup.name) == " ".join(display_name.split()).lower())
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    page = list(db.session.scalars(query.order_by(MentorGroup.id).offset(offset).limit(limit)))
    members = members_of([g.id for g in page]) if page else {}
    return total, [GroupState(g, members[g.id]) for g in page]


def current_people(group_id: int) -> dict[int, str]:
    """Everybody in the group and their role (what a PATCH is applied to)."""
    return dict(db.session.execute(select(GroupMembership.user_id, GroupMembership.role)
                                   .where(GroupMembership.group_id == group_id)).all())


@dataclass
class Resolved:
    """What member values name: active people of the school, addresses to invite now, and
    every address sent (an address with a pending invitation is sent but not invited)."""

    people: set[int]
    invite: list[str]
    emails: set[str]


def _resolve(account_id: int, group_id: int | None, values: list[str]) -> Resolved:
    """What member values name (Resolved).
    BadMember for a value naming no person of the school and no address. A person whose
    access to the school is revoked is neither added nor invited (an admin restores them)."""
    if len(values) > MAX_MEMBERS_PER_REQUEST:
        raise BadMember(f"Send at most {MAX_MEMBERS_PER_REQUEST} members in one request.")
    ids, emails = set(), []
    for raw in values:
        text = str(raw or "").strip()
        if "@" in text:
            try:
                emails.append(clean_email(text))
            except ServiceError:
                raise BadMember(f"\u201c{text[:80]}\u201d is not an email address.") from None
        elif parse_id(text) is not None:
            ids.add(int(text))
        else:
            raise BadMember(f"\u201c{text[:80]}\u201d names nobody: a member's value is the id "
                            "of a person of the school (see /Users) or an email address.")
    found = dict(db.session.execute(
        select(AccountMembership.user_id, AccountMembership.status).where(
            AccountMembership.account_id == account_id,
            AccountMembership.user_id.in_(ids))).all()) if ids else {}
    unknown = sorted(ids - set(found))
    if unknown:
        raise BadMember(f"No person of this school has the id {unknown[0]}.")
    wanted = {uid for uid, status in found.items() if status == "active"}
    invite = []
    if emails:
        by_email = {email: (uid, status) for email, uid, status in db.session.execute(
            select(User.email, User.id, AccountMembership.status)
            .join(AccountMembership, AccountMembership.user_id == User.id)
            .where(AccountMembership.account_id == account_id, User.email.in_(emails)))}
        pending = set(db.session.scalars(select(Invitation.email).where(
            Invitation.group_id == group_id, Invitation.status == "pending",
            Invitation.email.in_(emails)))) if group_id else set()
        for email in dict.fromkeys(emails):
            if email in by_email:
                uid, status = by_email[email]
                if status == "active":
                    wanted.add(uid)
            elif email not in pending:
                invite.append(email)
    return Resolved(wanted, invite, set(emails))


def _set_members(actor, account_id: int, group: MentorGroup, resolved: Resolved,
                 remove_others: bool) -> None:
    """Make the group's Members the people resolved (and, with `remove_others`, nobody else,
    and no pending Member invitation but to the addresses sent), invite the new addresses;
    Mentors and Group Admins, and invitations in those roles, are left as they are."""
    wanted, invite = resolved.people, resolved.invite
    if remove_others:
        _withdraw(actor, account_id, group, keep=resolved.emails)
    people = current_people(group.id)
    to_add = sorted(uid for uid in wanted if uid not in people)
    to_remove = sorted(uid for uid, role in people.items()
                       if remove_others and role == "member" and uid not in wanted)
    if to_remove:
        group_members.remove_members(actor, account_id, group.id, to_remove)
    if to_add or invite:
        report = group_members.add_members(actor, account_id, group.id, "member",
                                           user_ids=to_add, addresses=" ".join(invite))
        if report.refused:
            raise InvitationsThrottled(report.refused[0].split(": ", 1)[-1])


def pending_members(group_id: int) -> dict[str, int]:
    """The group's pending invitations with the Member role: address -> invitation id.
    (Invitations as Mentor or Group Admin are the product's, like those roles.)"""
    return dict(db.session.execute(select(Invitation.email, Invitation.id).where(
        Invitation.group_id == group_id, Invitation.status == "pending",
        Invitation.role == "member")).all())


def _withdraw(actor, account_id: int, group: MentorGroup, keep: set[str]) -> None:
    """Withdraw the group's pending Member invitations to addresses not in `keep` (the
    invitations service's revoke, audited)."""
    from mentorgroups.services.invitations import revoke

    for email, invitation_id in sorted(pending_members(group.id).items()):
        if email not in keep:
            revoke(actor, account_id, invitation_id)


def _remove_members(actor, account_id: int, group: MentorGroup, unwanted: set[int]) -> None:
    people = current_people(group.id)
    to_remove = sorted(uid for uid in unwanted if people.get(uid) == "member")
    if to_remove:
        group_members.remove_members(actor, account_id, group.id, to_remove)


def _rename(actor, account_id: int, group: MentorGroup, name: str) -> None:
    if name != group.name:
        try:
            groups.update_group(actor, account_id, group.id, name, group.description)
        except ServiceError as exc:
            if exc.field == "name" and "already a group" in exc.message:
                raise NameTaken(exc.message) from None
            raise


def create_group(actor, account_id: int, display_name: str, external_id=None,
                 member_values=()) -> GroupState:
    """A new top-level group (plan limit and name rules of the groups service), its Members
    added and the others invited."""
    name = groups.clean_group_name(display_name)
    external_id = clean_external_id(external_id)
    resolved = _resolve(account_id, None, list(member_values))
    try:
        group = groups.create_group(actor, account_id, name)
    except ServiceError as exc:
        if exc.field == "name":
            raise NameTaken(exc.message) from None
        if exc.field is None and "plan" in exc.message:
            raise PlanLimitReached(exc.message) from None
        raise
    group.scim_external_id = external_id
    group.scim_revision = 1
    _set_members(actor, account_id, group, resolved, remove_others=True)
    db.session.flush()
    return get_group(actor, account_id, group.id)


def replace_group(actor, account_id: int, group_id, display_name: str, external_id,
                  member_values) -> GroupState:
    """PUT: the name, external id and Members become what was sent."""
    name = groups.clean_group_name(display_name)
    external_id = clean_external_id(external_id)
    _lock_school(account_id)
    group = _locked_group(actor, account_id, group_id)
    resolved = _resolve(account_id, group.id, list(member_values))
    _rename(actor, account_id, group, name)
    group.scim_external_id = external_id
    _set_members(actor, account_id, group, resolved, remove_others=True)
    group.scim_revision += 1
    db.session.flush()
    return get_group(actor, account_id, group.id)


@dataclass
class Change:
    """What a PATCH asks for, once applied to the group as it was (by mentorgroups.scim)."""

    name: str | None = None
    external_id: str | None = None
    external_id_set: bool = False
    members: list[str] | None = None  # the whole list after the operations


def patch_group(actor, account_id: int, group_id, apply, renames: bool) -> GroupState:
    """PATCH: lock the group (and the school first when the patch may rename it), hand
    `apply` the group's current name, external id and members (its people as ids in text,
    every role, then the addresses of its pending Member invitations), and carry out the
    Change it returns. People it leaves out are removed unless they are Mentors or Group
    Admins, addresses it leaves out have their invitation withdrawn; people it adds become
    Members, addresses it adds are invited."""
    if renames:
        _lock_school(account_id)
    group = _locked_group(actor, account_id, group_id)
    people = current_people(group.id)
    before = [str(uid) for uid in sorted(people)] + sorted(pending_members(group.id))
    change: Change = apply(group.name, group.scim_external_id, before)
    if change.name is not None:
        name = groups.clean_group_name(change.name)
        if name != group.name and not renames:
            raise ServiceError("Rename a group with a patch whose path is displayName.")
        _rename(actor, account_id, group, name)
    if change.external_id_set:
        group.scim_external_id = clean_external_id(change.external_id)
    if change.members is not None:
        after = [str(v) for v in change.members]
        added = [v for v in after if v not in set(before)]
        resolved = _resolve(account_id, group.id, added)
        kept = {int(v) for v in after if v.isdigit()}
        _remove_members(actor, account_id, group, set(people) - kept)
        _withdraw(actor, account_id, group,
                  keep={v.lower() for v in after if "@" in v} | resolved.emails)
        _set_members(actor, account_id, group, resolved, remove_others=False)
    group.scim_revision += 1
    db.session.flush()
    return get_group(actor, account_id, group.id)


def delete_group(actor, account_id: int, group_id) -> dict:
    """DELETE: the groups service's delete (nested groups move up, memberships and pending
    invitations end)."""
    _lock_school(account_id)
    group = _locked_group(actor, account_id, group_id)
    return groups.delete_group(actor, account_id, group.id)
