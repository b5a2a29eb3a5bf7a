"""Sending email exactly once per idempotency key.

The key is claimed by inserting a 'sending' row and committing before the SMTP call; a second
run of the same job finds the row and sends nothing. A failed send releases the claim and
raises, so the job is retried. Without MAIL_SERVER the email is recorded and logged instead.
"""

from __future__ import annotations

import logging
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


def deliver_email(key: str, recipient: str, subject: str, body: str,
                  account_id: int | None = None) -> SentEmail:
    existing = db.session.scalar(select(SentEmail).where(SentEmail.idempotency_key == key))
    if existing is not None:
        if existing.status in ("sent", "logged"):
            return existing
        if utcnow() - existing.created_at < STALE_CLAIM:
            raise EmailInFlight(f"email {key} is being sent by another run")
        db.session.delete(existing)
        db.session.commit()
    record = SentEmail(idempotency_key=key, recipient=recipient, subject=subject, body=body,
                       account_id=account_id, status="sending")
    db.session.add(record)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise EmailInFlight(f"email {key} was claimed by another run") from None
    record_id = record.id
    try:
        if current_app.config.get("MAIL_SUPPRESS_SEND"):
            log.info("Email not sent (no MAIL_SERVER): to=%s subject=%r\n%s",
                     recipient, subject, body)
            status = "logged"
        else:
            mail.send(Message(subject=subject, recipients=[recipient], body=body))
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
