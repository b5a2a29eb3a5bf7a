"""Sending email exactly once per idempotency key, as far as SMTP allows.

The key is claimed by a 'sending' row, committed before the SMTP call and valid until
`claimed_until` (the SMTP send budget plus a margin: see services.smtp). A second run of the
same job finds the row: sent, it sends nothing; claimed, it raises EmailInFlight with the time
the claim ends, which the outbox uses as the next attempt. A failed send turns the claim into
'failed' with the reason (shown to the school's admins) and raises, so the job is retried.

The one window left: the server accepted the message and the process died (or the database
stayed unreachable until the claim ended) before the row was marked 'sent'. The claim then
expires and the email is sent again, with the same Message-ID, so the receiver can tell it is
the same message.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from contextlib import suppress
from datetime import datetime, timedelta
from email import policy

from flask import current_app
from flask_mail import Message
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError, SQLAlchemyError

from mentorgroups.extensions import db, mail
from mentorgroups.jobs.retry import error_text
from mentorgroups.models import SentEmail, utcnow
from mentorgroups.services.smtp import send_budget, send_message, stable_message_id

log = logging.getLogger(__name__)

CLAIM_MARGIN_SECONDS = 5
RECORD_RETRY_SECONDS = 0.5  # how often a sent email's record is retried without a database
HIDDEN_LINK = "[link hidden]"


def redacted(body: str, secrets: Iterable[str]) -> str:
    """The body as it is kept for the back office: every secret link replaced, so the Sent
    emails screen never shows a working invitation or password link."""
    for secret in secrets:
        if secret:
            body = body.replace(secret, HIDDEN_LINK)
    return body


class LiteralHeadersMessage(Message):
    """Flask-Mail's message, written out without refolding its headers. Flask-Mail serialises
    with `email.policy.SMTP`, which refolds any header line longer than 78 characters, and a
    header without spaces (`List-Unsubscribe: <https://...long token>`) can only be refolded
    as RFC 2047 encoded words (`=?utf-8?q?=3Chttps=3A//...?=`), which mail clients do not
    read as a URL (issue 22). Flask-Mail already encodes the headers that need it (subject,
    addresses); every other header is ASCII well under RFC 5322's 998 characters."""

    def _message(self):
        message = super()._message()
        message.policy = policy.SMTP.clone(refold_source="none")
        return message


class EmailInFlight(RuntimeError):
    """Another run holds the claim for this key until `retry_at`; retry then."""

    def __init__(self, message: str, retry_at: datetime):
        super().__init__(message)
        self.retry_at = retry_at


def claim_seconds() -> int:
    return send_budget() + CLAIM_MARGIN_SECONDS


def _claim(key: str, recipient: str, subject: str, body: str, account_id: int | None,
           outbox_id: int | None) -> tuple[SentEmail, int] | SentEmail:
    """Take the claim for `key`; returns (row, attempt) or, when already sent, the row."""
    now = utcnow()
    until = now + timedelta(seconds=claim_seconds())
    record = db.session.scalar(select(SentEmail).where(SentEmail.idempotency_key == key))
    if record is None:
        record = SentEmail(idempotency_key=key, recipient=recipient, subject=subject, body=body,
                           account_id=account_id, status="sending", attempts=1,
                           claimed_until=until, message_id=stable_message_id(key),
                           outbox_job_id=outbox_id)
        db.session.add(record)
        try:
            db.session.commit()
        except IntegrityError:
            db.session.rollback()
            raise EmailInFlight(f"email {key} was claimed by another run", until) from None
        return record, 1
    if record.status in ("sent", "logged"):
        return record
    if record.status == "sending" and record.claimed_until and record.claimed_until > now:
        raise EmailInFlight(f"email {key} is being sent by another run", record.claimed_until)
    attempt = record.attempts + 1
    taken = db.session.execute(
        update(SentEmail)
        .where(SentEmail.id == record.id, SentEmail.status == record.status,
               SentEmail.attempts == record.attempts)
        .values(status="sending", attempts=attempt, claimed_until=until,
                outbox_job_id=outbox_id or record.outbox_job_id,
                message_id=record.message_id or stable_message_id(key)))
    if taken.rowcount != 1:
        db.session.rollback()
        raise EmailInFlight(f"email {key} was claimed by another run", until)
    db.session.commit()
    db.session.refresh(record)
    return record, attempt


def deliver_email(key: str, recipient: str, subject: str, body: str,
                  account_id: int | None = None, secrets: Iterable[str] = (),
                  html: str | None = None, headers: dict[str, str] | None = None) -> SentEmail:
    """Send `body` (and `html`, if given) once for `key`. `secrets` (links carrying a token)
    go out in the email but are replaced by "[link hidden]" in the stored copy."""
    from mentorgroups.jobs.runner import current_outbox_id

    claimed = _claim(key, recipient, subject, redacted(body, secrets), account_id,
                     current_outbox_id.get())
    if isinstance(claimed, SentEmail):
        return claimed
    record, attempt = claimed
    record_id, message_id = record.id, record.message_id
    mine = [SentEmail.id == record_id, SentEmail.status == "sending",
            SentEmail.attempts == attempt]
    try:
        # The real body, not the stored (redacted) copy.
        message = LiteralHeadersMessage(subject=subject, recipients=[recipient], body=body,
                                        html=html, extra_headers=headers)
        message.msgId = message_id
        if current_app.config.get("MAIL_SUPPRESS_SEND"):
            log.info("Email not sent (no MAIL_SERVER): to=%s subject=%r\n%s",
                     recipient, subject, body)
            mail.send(message)  # suppressed: sends nothing, but signals it (email_dispatched)
            status = "logged"
        else:
            send_message(message)
            status = "sent"
    except Exception as exc:
        db.session.rollback()
        db.session.execute(update(SentEmail).where(*mine).values(
            status="failed", last_error=error_text(exc), claimed_until=None))
        db.session.commit()
        raise
    _record_sent(mine, record.claimed_until, dict(
        status=status, sent_at=utcnow(), claimed_until=None, last_error=None))
    return db.session.get(SentEmail, record_id, populate_existing=True)


def _record_sent(mine: list, claimed_until: datetime | None, values: dict) -> None:
    """The server accepted the email: record it, retrying while the database is unreachable
    until the claim ends. Nobody else sends this key before then, so an outage shorter than
    the claim (MAIL_TIMEOUT x 6 + 5 s) that begins right after the server's "250" no longer
    sends the email twice; a longer one still can (with the same Message-ID)."""
    while True:
        try:
            db.session.execute(update(SentEmail).where(*mine).values(**values))
            db.session.commit()
            return
        except (OperationalError, InterfaceError) as exc:
            with suppress(SQLAlchemyError):
                db.session.rollback()
            if claimed_until is None or utcnow() + timedelta(
                    seconds=RECORD_RETRY_SECONDS) >= claimed_until:
                raise
            log.warning("email sent but not recorded yet (%s); retrying until its claim "
                        "ends at %s", exc.__class__.__name__,
                        claimed_until.isoformat(timespec="seconds"))
            time.sleep(RECORD_RETRY_SECONDS)
