"""Community > Audit log: every change to groups and their people, for account admins, in
words (services.audit_words): what happened as a sentence, every changed field on its own
line, groups and people by name."""

from __future__ import annotations

from flask import g
from flask_admin.contrib.sqla.filters import FilterEqual, FilterLike
from markupsafe import Markup
from sqlalchemy.orm import joinedload

from mentorgroups.admin.base import ScopedModelView
from mentorgroups.models import AuditEvent
from mentorgroups.services.audit_words import ACTION_LABELS, describe, group_names


def _no_actor(event) -> str:
    if event.api_token is not None:
        return f"API token \u201c{event.api_token.name}\u201d"
    if event.action == "group.repair":
        return "Operator (groups check)"
    if event.action == "plan.change":
        return "Operator (accounts set-plan)"
    return "(deleted person)"


def _described(view, context, event):
    """The event in words, with the names of every group the page's events name by id
    looked up once for the whole page."""
    cache = g.setdefault("audit_described", {})
    if event.id not in cache:
        rows = context.get("data") or [event]
        names = group_names(view.account_id, rows)
        for row in rows:
            cache[row.id] = describe(row, names)
        cache.setdefault(event.id, describe(event, group_names(view.account_id, [event])))
    return cache[event.id]


def _what(view, context, model, name):
    return _described(view, context, model).what


def _details(view, context, model, name):
    lines = _described(view, context, model).details
    if not lines:
        return ""
    return Markup("<ul class='list-unstyled small mb-0'>{}</ul>").format(
        Markup("").join(Markup("<li>{}</li>").format(line) for line in lines))


def _person(view, context, model, name):
    if model.subject is not None:
        return Markup("{}<br><span class='text-muted small'>{}</span>").format(
            model.subject.full_name, model.subject_email or model.subject.email)
    return model.subject_email or (model.after or model.before or {}).get("email", "")


class AuditLogView(ScopedModelView):
    can_create = False
    can_edit = False
    can_delete = False
    can_view_details = True
    # People and group data leave only through the Mentor Group reports ("..." menu), never
    # through Flask-Admin's generic export.
    can_export = False
    list_template = "admin/community/audit_list.html"
    column_list = ["created_at", "actor", "action", "group_name", "subject_email", "change"]
    column_details_list = column_list
    column_labels = {"created_at": "When", "actor": "Who", "action": "What",
                     "group_name": "Group", "subject_email": "Person", "change": "Details"}
    column_formatters = {
        "change": _details,
        "action": _what,
        "subject_email": _person,
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

    def is_visible(self) -> bool:  # a tab of the Community screen, not a menu entry of its own
        return False

    def scope(self, query):
        return query.filter(AuditEvent.account_id == self.account_id)

    def get_query(self):
        return super().get_query().options(joinedload(AuditEvent.actor),
                                           joinedload(AuditEvent.api_token),
                                           joinedload(AuditEvent.subject))
