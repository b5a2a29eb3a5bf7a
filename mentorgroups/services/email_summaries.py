"""Hourly summaries: for a person who chose "a summary at most once an hour", exactly one
email per school, kind and hour, listing what happened (one line each, with its link).

The fan-out writes one `EmailSummaryItem` per event instead of an email. The scheduler's
periodic task (`tick`, every few minutes, any number at once) claims an `EmailSummary` row per
person, school, kind and the hour that has just ended (unique: INSERT ... ON CONFLICT DO
NOTHING) before anything is built, then in one transaction flips the claimed rows to 'staged'
with a conditional UPDATE (so two schedulers never both get a row), attaches the waiting items
to the summary it staged and stages one email job per summary. An item committed after its
summary was staged waits for the next hour's: every item is in exactly one summary. A summary
whose email fails is retried by the outbox like any email: late, never twice."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select, update

from mentorgroups.extensions import db
from mentorgroups.jobs import job, stage_job
from mentorgroups.models import (
    Account,
    AccountMembership,
    EmailSummary,
    EmailSummaryItem,
    User,
    utcnow,
)
from mentorgroups.models.email_choices import EMAIL_KINDS
from mentorgroups.services.email import deliver_email
from mentorgroups.services.email_choices import cadences, footer, unsubscribe_url

CHUNK = 500
SHOWN = 50  # lines in one summary; the rest are "and N more" (all are on the bell's page)


def _insert_ignoring_duplicates(rows: list[dict]) -> None:
    if not rows:
        return
    if db.session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    db.session.execute(insert(EmailSummary).values(rows).on_conflict_do_nothing())


def tick(now: datetime | None = None) -> int:
    """Claim and stage the summaries of every item that happened before this hour began.
    Returns how many summaries this run staged (0 when another run had them)."""
    now = now or utcnow()
    cutoff = now.replace(minute=0, second=0, microsecond=0)
    waiting = select(EmailSummaryItem.account_id, EmailSummaryItem.user_id,
                     EmailSummaryItem.kind).where(EmailSummaryItem.summary_id.is_(None),
                                                  EmailSummaryItem.created_at < cutoff)
    _insert_ignoring_duplicates([
        {"account_id": a, "user_id": u, "kind": k, "hour": cutoff - timedelta(hours=1),
         "status": "claimed", "created_at": now}
        for a, u, k in db.session.execute(waiting.distinct()).all()])
    db.session.commit()

    staged = 0
    while True:
        mine = list(db.session.scalars(
            update(EmailSummary).where(EmailSummary.id.in_(
                select(EmailSummary.id).where(EmailSummary.status == "claimed")
                .order_by(EmailSummary.id).limit(CHUNK).scalar_subquery()),
                EmailSummary.status == "claimed")
            .values(status="staged").returning(EmailSummary.id)))
        if not mine:
            break
        target = (select(func.min(EmailSummary.id)).where(
            EmailSummary.id.in_(mine), EmailSummary.account_id == EmailSummaryItem.account_id,
            EmailSummary.user_id == EmailSummaryItem.user_id,
            EmailSummary.kind == EmailSummaryItem.kind).scalar_subquery())
        db.session.execute(
            update(EmailSummaryItem)
            .where(EmailSummaryItem.summary_id.is_(None), EmailSummaryItem.created_at < cutoff,
                   target.is_not(None))
            .values(summary_id=target).execution_options(synchronize_session=False))
        for summary_id in mine:
            stage_job("send_email_summary", summary_id=summary_id)
        staged += len(mine)
        db.session.commit()
    return staged


def _still_wanted(row: EmailSummary, person: User | None) -> bool:
    member = db.session.scalar(select(AccountMembership.status).where(
        AccountMembership.account_id == row.account_id, AccountMembership.user_id == row.user_id))
    return (person is not None and person.active and member == "active"
            and cadences(row.account_id, row.kind, [row.user_id])[row.user_id] != "off")


def content(row: EmailSummary, person: User, items: list[EmailSummaryItem]) -> dict:
    from mentorgroups.localtime import as_written
    from mentorgroups.wording import plural

    account = db.session.get(Account, row.account_id)
    what = EMAIL_KINDS[row.kind]
    lines = [f"- {as_written(item.created_at, account)}: {item.text}\n  {item.link}"
             for item in items[:SHOWN]]
    if len(items) > SHOWN:
        from mentorgroups.services.notifications import external_url

        lines.append(f"... and {len(items) - SHOWN} more: "
                     f"{external_url('mentor.notifications')}")
    unsubscribe = unsubscribe_url(person.id, account.id, row.kind)
    body = (f"Hi {person.full_name},\n\n{what} at {account.name} since your last summary "
            f"({plural(len(items), 'item')}):\n\n" + "\n".join(lines) + "\n"
            + footer(account.id, row.kind, unsubscribe))
    return {"subject": f"{what}: {plural(len(items), 'new item')} at {account.name}",
            "body": body, "unsubscribe_url": unsubscribe}


@job("send_email_summary", queue="emails")
def send_email_summary(summary_id: int) -> bool:
    """One person's summary by email. Nobody who lost access or turned the kind off since
    gets it; a second run sends nothing more (the idempotency key)."""
    row = db.session.get(EmailSummary, summary_id)
    if row is None or row.status != "staged":
        return False
    person = db.session.get(User, row.user_id)
    items = list(db.session.scalars(select(EmailSummaryItem).where(
        EmailSummaryItem.summary_id == row.id)
        .order_by(EmailSummaryItem.created_at, EmailSummaryItem.id)))
    if not items or not _still_wanted(row, person):
        row.status = "skipped"
        db.session.commit()
        return False
    email = content(row, person, items)
    deliver_email(key=f"email-summary:{row.id}", recipient=person.email,
                  subject=email["subject"], body=email["body"],
                  headers=unsubscribe_headers(email["unsubscribe_url"]),
                  account_id=row.account_id, secrets=[email["unsubscribe_url"]])
    row = db.session.get(EmailSummary, summary_id)
    row.status, row.sent_at = "sent", utcnow()
    db.session.commit()
    return True


def unsubscribe_headers(url: str) -> dict[str, str]:
    """RFC 8058 one-click unsubscribe; sent literally (see services.email)."""
    return {"List-Unsubscribe": f"<{url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
