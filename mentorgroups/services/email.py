"""Sending email exactly once per idempotency key.

The key is claimed by inserting a 'sending' row and committing before the SMTP call; a second
run of the same job finds the row and sends nothing. A failed send releases the claim and
raises, so the job is retried. Without MAIL_SERVER the email is recorded and logged instead.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import timedelta

from flask import current_app
from flask_mail import Message
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from mentorgroups.extensions import db, mail
from mentorgroups.models import SentEmail, utcnow

log = logging.getLogger(__name__)

# A claim older than this belongs to a worker that died mid-send; it may be taken over.
STALE_CLAIM = timedelta(minutes=10)


class EmailInFlight(RuntimeError):
    """Another run holds the claim for this key right now; retry later."""


HIDDEN_LINK = "[link hidden]"


def redacted(body: str, secrets: Iterable[str]) -> str:
    """The body as it is kept for the back office: every secret link replaced, so the Sent
    emails screen never shows a working invitation or password link."""
    for secret in secrets:
        if secret:
            body = body.replace(secret, HIDDEN_LINK)
    return body


def deliver_email(key: str, recipient: str, subject: str, body: str,
                  account_id: int | None = None, secrets: Iterable[str] = (),
                  html: str | None = None, headers: dict[str, str] | None = None) -> SentEmail:
    """Send `body` once for `key`. `secrets` (links carrying a token) go out in the email but
    are replaced by "[link hidden]" in the stored copy."""
    existing = db.session.scalar(select(SentEmail).where(SentEmail.idempotency_key == key))
    if existing is not None:
        if existing.status in ("sent", "logged"):
            return existing
        if utcnow() - existing.created_at < STALE_CLAIM:
            raise EmailInFlight(f"email {key} is being sent by another run")
        db.session.delete(existing)
        db.session.commit()
    record = SentEmail(idempotency_key=key, recipient=recipient, subject=subject,
                       body=redacted(body, secrets), account_id=account_id, status="sending")
    db.session.add(record)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise EmailInFlight(f"email {key} was claimed by another run") from None
    record_id = record.id
    try:
        # With MAIL_SUPPRESS_SEND Flask-Mail sends nothing but still signals the message
        # (email_dispatched), which is how the tests read links the stored copy hides.
        mail.send(Message(subject=subject, recipients=[recipient], body=body, html=html,
                          extra_headers=headers))
        if current_app.config.get("MAIL_SUPPRESS_SEND"):
            log.info("Email not sent (no MAIL_SERVER): to=%s subject=%r\n%s",
                     recipient, subject, body)
            status = "logged"
        else:
            status = "sent"
    except Exception:
        db.session.rollback()
        db.session.execute(delete(SentEmail).where(SentEmail.id == record_id))
        db.session.commit()
        raise
    record = db.session.get(SentEmail, record_id)
    record.status = status
    record.sent_at = utcnow()
    db.session.commit()
    return record
