"""Sent emails: what the product sent on this school's behalf, read-only."""

from __future__ import annotations

from mentorgroups.admin.base import ScopedModelView
from mentorgroups.models import SentEmail


class SentEmailView(ScopedModelView):
    can_create = False
    can_edit = False
    can_delete = False
    can_view_details = True
    can_export = True
    column_list = ["created_at", "recipient", "subject", "status", "sent_at"]
    column_details_list = ["created_at", "recipient", "subject", "status", "sent_at", "body"]
    column_export_list = column_list
    column_labels = {"created_at": "Queued", "sent_at": "Sent"}
    column_searchable_list = ["recipient", "subject"]
    column_filters = ["status"]
    column_default_sort = ("created_at", True)
    column_descriptions = {
        "status": "sent: delivered to the mail server; logged: recorded only, because no "
                  "MAIL_SERVER is configured; sending: in progress.",
    }

    def scope(self, query):
        return query.filter(SentEmail.account_id == self.account_id)
