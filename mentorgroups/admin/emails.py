"""Sent emails: what the product sent on this school's behalf, and what it could not send yet
(waiting for a retry, or given up) with the reason. Read-only."""

from __future__ import annotations

from jinja2.utils import urlize
from markupsafe import Markup
from sqlalchemy import func, select

from mentorgroups.admin.base import ScopedModelView
from mentorgroups.extensions import db
from mentorgroups.models import SentEmail
from mentorgroups.wording import plural

STATUS_LABELS = {
    "sent": "Sent",
    "logged": "Recorded (not sent)",
    "sending": "Sending",
    "failed": "Not delivered yet: retrying",
    "dead": "Not delivered: gave up",
}
UNDELIVERED = ("failed", "dead")


def _status(view, context, model, name):
    return STATUS_LABELS.get(model.status, model.status)


def _reason(view, context, model, name):
    if model.status not in UNDELIVERED or not model.last_error:
        return ""
    return Markup("<span class='text-danger'>{}</span>").format(model.last_error[:300])


def email_body_html(body: str | None) -> Markup:
    """The body as the person received it: its line breaks kept, its web addresses
    clickable, everything else escaped (urlize escapes the text it does not link)."""
    linked = urlize(body or "", rel="noopener noreferrer nofollow")
    return Markup('<div class="mg-email-body" style="white-space:pre-wrap;'
                  'overflow-wrap:anywhere" data-testid="email-body">{}</div>').format(
        Markup(linked))


def _body(view, context, model, name):
    return email_body_html(model.body)


class SentEmailView(ScopedModelView):
    can_create = False
    can_edit = False
    can_delete = False
    can_view_details = True
    can_export = True
    list_template = "admin/sent_emails_list.html"
    named_filter_urls = True
    column_list = ["created_at", "recipient", "subject", "status", "attempts", "last_error",
                   "sent_at"]
    column_details_list = ["created_at", "recipient", "subject", "status", "attempts",
                           "last_error", "sent_at", "message_id", "body"]
    column_export_list = column_list
    column_labels = {"created_at": "Queued", "sent_at": "Sent", "attempts": "Tries",
                     "last_error": "Reason", "message_id": "Message-ID"}
    column_formatters = {"status": _status, "last_error": _reason}
    column_formatters_detail = {"status": _status, "last_error": _reason, "body": _body}
    column_formatters_export = {"status": _status}
    column_searchable_list = ["recipient", "subject"]
    column_filters = ["status"]
    column_default_sort = ("created_at", True)
    column_descriptions = {
        "status": "Sent: delivered to the mail server. Recorded: no mail server is configured. "
                  "Retrying: the mail server refused or could not be reached; it is tried "
                  "again automatically. Gave up: still failing a day later; your operator "
                  "can send it again.",
        "last_error": "Why the last try failed.",
    }

    def scope(self, query):
        return query.filter(SentEmail.account_id == self.account_id)

    def undelivered_count(self) -> int:
        return db.session.scalar(select(func.count()).select_from(SentEmail).where(
            SentEmail.account_id == self.account_id, SentEmail.status.in_(UNDELIVERED)))

    def delivery_summary(self) -> str:
        """The line above the list when nothing is undelivered, true to the rows below."""
        counts = dict(db.session.execute(
            select(SentEmail.status, func.count()).where(SentEmail.account_id == self.account_id)
            .group_by(SentEmail.status)).all())
        return delivery_summary(counts)


def delivery_summary(counts: dict[str, int]) -> str:
    """What the school's emails amount to, by status, in one sentence: never "every email
    was delivered" while rows say "Recorded (not sent)" (no mail server was configured)."""
    recorded, sent = counts.get("logged", 0), counts.get("sent", 0)
    if not recorded and not sent and not counts.get("sending", 0):
        return "No emails yet."
    if recorded and not sent:
        return (f"Nothing was sent: no mail server is configured, so "
                f"{plural(recorded, 'email was', 'emails were')} only recorded here.")
    if recorded:
        return (f"Nothing is waiting. {plural(sent, 'email was', 'emails were')} delivered; "
                f"{plural(recorded, 'was', 'were')} only recorded (no mail server then).")
    return "Nothing is waiting: every email was delivered to the mail server."
