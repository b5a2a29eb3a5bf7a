"""Each person's choice, per school and kind of email, between one email per event
(the default), a summary at most once an hour, or none; and the signed one-click links
(RFC 8058) that turn one kind off for one school without signing in.

A fan-out that tells people about something rings the bell for everyone, then hands each
person's email to `email_or_collect`, which stages it, keeps it for the hourly summary
(services.email_summaries) or drops it, by that person's choice. A new kind of email is a
line in models.email_choices.EMAIL_KINDS and a call to `email_or_collect` from its fan-out."""

from __future__ import annotations

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import select

from mentorgroups.extensions import db
from mentorgroups.jobs import stage_job
from mentorgroups.models import Account, EmailChoice, EmailSummaryItem, User, utcnow
from mentorgroups.models.email_choices import CADENCES, DEFAULT_CADENCE, EMAIL_KINDS
from mentorgroups.services.errors import NotFound, ServiceError
from mentorgroups.services.permissions import active_membership
from mentorgroups.upserts import upsert

UNSUBSCRIBE_SALT = "email-choice-unsubscribe"


def cadences(account_id: int, kind: str, user_ids) -> dict[int, str]:
    """Each person's choice for this kind of email in this school, in one statement."""
    ids = sorted(set(user_ids))
    chosen = dict(db.session.execute(select(EmailChoice.user_id, EmailChoice.cadence).where(
        EmailChoice.account_id == account_id, EmailChoice.kind == kind,
        EmailChoice.user_id.in_(ids))).all()) if ids else {}
    return {uid: chosen.get(uid, DEFAULT_CADENCE) for uid in ids}


def choices_for(user: User, account_id: int) -> dict[str, str]:
    chosen = dict(db.session.execute(select(EmailChoice.kind, EmailChoice.cadence).where(
        EmailChoice.user_id == user.id, EmailChoice.account_id == account_id)).all())
    return {kind: chosen.get(kind, DEFAULT_CADENCE) for kind in EMAIL_KINDS}


def _set(user_id: int, account_id: int, kind: str, cadence: str) -> None:
    if kind not in EMAIL_KINDS or cadence not in CADENCES:
        raise ServiceError("Choose one of the options shown.")
    upsert(EmailChoice, {"user_id": user_id, "account_id": account_id, "kind": kind},
           {"cadence": cadence, "updated_at": utcnow()})


def set_choices(actor: User, account_id: int, choices: dict[str, str]) -> None:
    """The preferences page: this person's own choices in the school they work in."""
    if active_membership(actor, account_id) is None:
        raise NotFound("You are not part of this school.")
    for kind, cadence in choices.items():
        _set(actor.id, account_id, kind, cadence)


# ---- one email, a line for the summary, or nothing -------------------------------------------

def email_or_collect(person: User, account_id: int, kind: str, cadence: str, *, key: str,
                     subject: str, body: str, line: str, link: str) -> str:
    """By the person's choice: stage one email (`body`, with a footer saying how to change
    it), keep `line` and `link` for their next hourly summary, or nothing. Runs in the
    fan-out's transaction; safe to run twice (the email's key, the item's key)."""
    if cadence == "immediately":
        unsubscribe = unsubscribe_url(person.id, account_id, kind)
        stage_job("send_email", key=key, recipient=person.email, subject=subject,
                  body=body + footer(account_id, kind, unsubscribe), account_id=account_id,
                  unsubscribe_url=unsubscribe)
    elif cadence == "hourly":
        _collect(person.id, account_id, kind, key, line, link)
    return cadence


def _collect(user_id: int, account_id: int, kind: str, key: str, line: str, link: str) -> None:
    if db.session.scalar(select(EmailSummaryItem.id).where(EmailSummaryItem.key == key)):
        return
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    db.session.execute(insert(EmailSummaryItem).values(
        account_id=account_id, user_id=user_id, kind=kind, key=key, text=line[:500],
        link=link[:500], created_at=utcnow()).on_conflict_do_nothing())


def footer(account_id: int, kind: str, unsubscribe: str) -> str:
    from mentorgroups.services.notifications import external_url

    school = db.session.get(Account, account_id).name
    return (f"\n--\nEmail from {school}. Choose a summary at most once an hour, or no email, "
            f"here: {external_url('email_choices.edit')}\n"
            f"Stop these emails ({EMAIL_KINDS[kind].lower()}) at once: {unsubscribe}\n")


# ---- unsubscribing from an email, without signing in ------------------------------------------

def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=UNSUBSCRIBE_SALT)


def unsubscribe_token(user_id: int, account_id: int, kind: str) -> str:
    """A signed token naming a person, a school and one kind of email; nothing else."""
    return _serializer().dumps({"u": user_id, "a": account_id, "k": kind})


def unsubscribe_url(user_id: int, account_id: int, kind: str) -> str:
    from mentorgroups.services.notifications import external_url

    return external_url("email_choices.unsubscribe",
                        token=unsubscribe_token(user_id, account_id, kind))


def read_unsubscribe_token(token: str) -> tuple[User, Account, str]:
    max_age = current_app.config["DIGEST_UNSUBSCRIBE_TTL_DAYS"] * 86400
    try:
        data = _serializer().loads(token, max_age=max_age)
        user_id, account_id, kind = int(data["u"]), int(data["a"]), str(data["k"])
    except (BadSignature, KeyError, TypeError, ValueError):
        raise NotFound("This unsubscribe link is not valid or has expired. Choose your "
                       "emails under Notifications > Email choices instead.") from None
    user, account = db.session.get(User, user_id), db.session.get(Account, account_id)
    if user is None or account is None or kind not in EMAIL_KINDS:
        raise NotFound("This unsubscribe link is not valid any more.")
    return user, account, kind


def unsubscribe(token: str) -> tuple[User, Account, str]:
    """Turn off the one kind of email, in the one school, that the token names."""
    user, account, kind = read_unsubscribe_token(token)
    _set(user.id, account.id, kind, "off")
    return user, account, kind
