"""The audit log in words: every event as a sentence with names (never internal codes or raw
ids), and every field that changed on its own line. Groups named by id in an event are looked
up once per page; a group deleted since keeps the name the log last knew it by."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from mentorgroups.extensions import db
from mentorgroups.models import ACCOUNT_ROLE_LABELS, GROUP_ROLE_LABELS, AuditEvent, MentorGroup

ACTION_LABELS = {
    "group.create": "Created group",
    "group.edit": "Changed group",
    "group.nest": "Moved group",
    "group.delete": "Deleted group",
    "group.repair": "Repaired tree (moved to top level)",
    "member.add": "Added person",
    "member.role": "Changed role",
    "member.remove": "Removed person",
    "invitation.send": "Sent invitation",
    "invitation.resend": "Sent invitation again",
    "invitation.revoke": "Withdrew invitation",
    "invitation.accept": "Accepted invitation",
    "plan.change": "Changed plan",
    "api_token.create": "Created API token",
    "api_token.revoke": "Revoked API token",
}
FIELD_LABELS = {"name": "Name", "description": "Description", "parent_id": "Place",
                "role": "Role", "school role": "School role", "email": "Email",
                "members": "Memberships ended", "children": "Nested groups moved up",
                "reason": "Reason"}


@dataclass
class Described:
    what: str
    details: list[str] = field(default_factory=list)


def _q(text) -> str:
    return f"\u201c{text}\u201d"


def _role(value) -> str:
    return GROUP_ROLE_LABELS.get(value) or ACCOUNT_ROLE_LABELS.get(value) or str(value or "")


def _ids(event: AuditEvent) -> set[int]:
    ids = set()
    for values in (event.before or {}, event.after or {}):
        if isinstance(values.get("parent_id"), int):
            ids.add(values["parent_id"])
        ids.update(c for c in values.get("children") or () if isinstance(c, int))
    return ids


def group_names(account_id: int, events) -> dict[int, str]:
    """Names of the groups the events refer to by id, in two queries: the groups as they
    are now, then (for groups deleted since) the name the log last recorded for them."""
    wanted = set().union(*(_ids(e) for e in events)) if events else set()
    if not wanted:
        return {}
    names = dict(db.session.execute(
        select(MentorGroup.id, MentorGroup.name).where(
            MentorGroup.account_id == account_id, MentorGroup.id.in_(wanted))).all())
    missing = wanted - set(names)
    if missing:
        for gid, name in db.session.execute(
                select(AuditEvent.group_id, AuditEvent.group_name).where(
                    AuditEvent.account_id == account_id, AuditEvent.group_id.in_(missing))
                .order_by(AuditEvent.created_at, AuditEvent.id)).all():
            names[gid] = f"{name} (since deleted)"
    return names


def _place(parent_id, names: dict[int, str]) -> str:
    if parent_id is None:
        return "top level"
    return f"under {_q(names.get(parent_id, 'a group since deleted'))}"


def _text(value) -> str:
    return _q(value) if value else "(empty)"


def _plan(value) -> str:
    return str(value or "(none)").title()


def _person(event: AuditEvent) -> str:
    if event.subject is not None:
        return event.subject.full_name
    return event.subject_email or (event.after or event.before or {}).get("email") or "someone"


def _joined(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _group_changes(before: dict, after: dict, names: dict[int, str]) -> list[str]:
    lines = []
    if before.get("name") != after.get("name"):
        lines.append(f"Name: {_text(before.get('name'))} \u2192 {_text(after.get('name'))}")
    if (before.get("description") or "") != (after.get("description") or ""):
        lines.append(f"Description: {_text(before.get('description'))} \u2192 "
                     f"{_text(after.get('description'))}")
    if "parent_id" in after and before.get("parent_id") != after.get("parent_id"):
        lines.append(f"Place: {_place(before.get('parent_id'), names)} \u2192 "
                     f"{_place(after.get('parent_id'), names)}")
    return lines


def _edit(event: AuditEvent, names) -> Described:
    before, after = event.before or {}, event.after or {}
    lines = _group_changes(before, after, names)
    verbs = []
    if before.get("name") != after.get("name"):
        verbs.append("renamed")
    if (before.get("description") or "") != (after.get("description") or ""):
        verbs.append("changed the description of")
    if before.get("parent_id") != after.get("parent_id"):
        verbs.append("moved")
    what = (_joined(verbs) if verbs else "changed").capitalize() + " the group"
    return Described(what, lines)


def _generic(event: AuditEvent) -> Described:
    """An event this module has no sentence for: its label and every field, in words."""
    before, after = event.before or {}, event.after or {}
    lines = []
    for key in sorted(set(before) | set(after)):
        label = FIELD_LABELS.get(key, key.replace("_", " ").capitalize())
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        if key in before and key in after:
            lines.append(f"{label}: {old if old not in (None, '') else '(none)'} \u2192 "
                         f"{new if new not in (None, '') else '(none)'}")
        elif key in after:
            lines.append(f"{label}: {new}")
        else:
            lines.append(f"{label} was {old}")
    return Described(ACTION_LABELS.get(event.action, event.action.replace(".", " ")), lines)


def describe(event: AuditEvent, names: dict[int, str] | None = None) -> Described:
    names = names or {}
    before, after = event.before or {}, event.after or {}
    action = event.action
    if action == "group.create":
        lines = [f"Name: {_q(after.get('name', event.group_name))}"]
        if after.get("description"):
            lines.append(f"Description: {_q(after['description'])}")
        lines.append(f"Place: {_place(after.get('parent_id'), names)}")
        return Described("Created the group", lines)
    if action in ("group.edit", "group.nest"):
        return _edit(event, names)
    if action == "group.delete":
        lines = [f"Place: {_place(before.get('parent_id'), names)}"]
        if before.get("members"):
            n = before["members"]
            lines.append(f"{n} membership{'' if n == 1 else 's'} ended")
        children = [names.get(c, "a group since deleted") for c in before.get("children") or ()]
        if children:
            lines.append("Nested groups moved up: " + ", ".join(_q(c) for c in children))
        return Described("Deleted the group", lines)
    if action == "group.repair":
        lines = [f"Place: {_place(before.get('parent_id'), names)} \u2192 top level"]
        if before.get("name") != after.get("name"):
            lines.append(f"Name: {_text(before.get('name'))} \u2192 {_text(after.get('name'))}")
        if after.get("reason"):
            lines.append(f"Reason: {after['reason']}")
        return Described("Moved the group to the top level to repair the tree", lines)
    if action == "plan.change":
        lines = [f"Groups at the time: {after['groups']}"] if "groups" in after else []
        return Described(f"Changed the plan from {_plan(before.get('plan'))} to "
                         f"{_plan(after.get('plan'))}", lines)
    if action == "api_token.create":
        return Described(f"Created the API token {_q(after.get('token'))} "
                         f"({str(after.get('scope', '')).lower()})",
                         [f"Starts with: {after['prefix']}"] if after.get("prefix") else [])
    if action == "api_token.revoke":
        return Described(f"Revoked the API token {_q(before.get('token'))}")
    person = _person(event)
    if action == "member.add":
        return Described(f"Added {person} as {_role(after.get('role'))}")
    if action == "member.role":
        return Described(f"Changed {person}\u2019s role from {_role(before.get('role'))} to "
                         f"{_role(after.get('role'))}")
    if action == "member.remove":
        return Described(f"Removed {person} from the group (was {_role(before.get('role'))})")
    if action in ("invitation.send", "invitation.resend"):
        email = after.get("email") or person
        again = "Sent a new invitation to" if action == "invitation.resend" else "Invited"
        if "school role" in after:
            return Described(f"{again} {email} to the school as {_role(after['school role'])}")
        return Described(f"{again} {email} as {_role(after.get('role'))}")
    if action == "invitation.revoke":
        return Described(f"Withdrew the invitation to {before.get('email') or person}")
    if action == "invitation.accept":
        if "school role" in after:
            return Described(f"{person} accepted the invitation and joined the school as "
                             f"{_role(after['school role'])}")
        return Described(f"{person} accepted the invitation and joined as "
                         f"{_role(after.get('role'))}")
    return _generic(event)
