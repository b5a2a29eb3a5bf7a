"""Community > Audit log: every change to groups and their people, for account admins."""

from __future__ import annotations

from flask_admin.contrib.sqla.filters import FilterEqual, FilterLike
from markupsafe import Markup
from sqlalchemy.orm import joinedload

from mentorgroups.admin.base import ScopedModelView
from mentorgroups.models import GROUP_ROLE_LABELS, AuditEvent

ACTION_LABELS = {
    "group.create": "Created group",
    "group.edit": "Edited group",
    "group.nest": "Moved group",
    "group.delete": "Deleted group",
    "group.repair": "Repaired tree (moved to top level)",
    "member.add": "Added person",
    "member.role": "Changed role",
    "member.remove": "Removed person",
}


def describe_change(before: dict | None, after: dict | None) -> str:
    """'name: Old -> New; role: Member -> Mentor', plain text (escaped when shown)."""
    before, after = before or {}, after or {}
    parts = []
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        if key == "role":
            old, new = GROUP_ROLE_LABELS.get(old, old), GROUP_ROLE_LABELS.get(new, new)
        if key in before and key in after:
            parts.append(f"{key}: {old or '(none)'} \u2192 {new or '(none)'}")
        elif key in after:
            parts.append(f"{key}: {new}")
        else:
            parts.append(f"{key} was {old}")
    return "; ".join(parts)


def _no_actor(event) -> str:
    return "Operator (groups check)" if event.action == "group.repair" else "(deleted person)"


def _change(view, context, model, name):
    return Markup("<span class='small'>{}</span>").format(
        describe_change(model.before, model.after))


class AuditLogView(ScopedModelView):
    can_create = False
    can_edit = False
    can_delete = False
    can_view_details = True
    # People and group data leave only through the Mentor Group reports ("..." menu), never
    # through Flask-Admin's generic export.
    can_export = False
    list_template = "admin/community/audit_list.html"

    def is_visible(self) -> bool:  # a tab of the Community screen, not a menu entry of its own
        return False
    column_list = ["created_at", "actor", "action", "group_name", "subject_email", "change"]
    column_details_list = column_list
    column_labels = {"created_at": "When", "actor": "Who", "action": "What",
                     "group_name": "Group", "subject_email": "Person", "change": "Before / after"}
    column_formatters = {
        "change": _change,
        "action": lambda v, c, m, n: ACTION_LABELS.get(m.action, m.action),
        "actor": lambda v, c, m, n: m.actor.full_name if m.actor else _no_actor(m),
    }
    column_searchable_list = ["group_name", "subject_email"]
    column_filters = [
        FilterEqual(AuditEvent.action, "What", options=list(ACTION_LABELS.items())),
        FilterLike(AuditEvent.group_name, "Group"),
        FilterLike(AuditEvent.subject_email, "Person"),
    ]
    column_sortable_list = ["created_at", "action", "group_name", "subject_email"]
    column_default_sort = ("created_at", True)

    def scope(self, query):
        return query.filter(AuditEvent.account_id == self.account_id)

    def get_query(self):
        return super().get_query().options(joinedload(AuditEvent.actor))
