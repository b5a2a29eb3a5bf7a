"""Sending the weekly Mentor Digest: exactly one per person, school and week.

The scheduler's tick (`tick`) notices that a school's send time has passed and records a
`DigestRun` for that week (unique, so two schedulers or a double tick start it once); the run's
job (`send_digests`) claims one `DigestDelivery` row per recipient (unique per person, school
and week: INSERT ... ON CONFLICT DO NOTHING), and takes the claimed rows a chunk at a time
with a conditional UPDATE ('claimed' -> 'staged'), so concurrent senders never stage a row
twice; it builds the digests of the chunk's people only (a fixed number of statements per
chunk, each reading only those people's groups) and hands each over to one email job.
Each email job sends through `deliver_email` under the delivery's idempotency key. A sender
that dies leaves rows 'claimed'; the next tick re-stages the run and they are picked up."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import datetime, timedelta

from flask import render_template
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from mentorgroups.extensions import db
from mentorgroups.jobs import job, stage_job
from mentorgroups.models import (
    Account,
    AccountMembership,
    DigestDelivery,
    DigestRun,
    User,
    utcnow,
)
from mentorgroups.services.digest_content import Digest, build_digests, subscribers
from mentorgroups.services.digest_subscriptions import unsubscribe_token
from mentorgroups.services.digest_weeks import DigestWeek, latest_due_week, week_by_key
from mentorgroups.services.email import deliver_email

log = logging.getLogger(__name__)

CHUNK = 200


def _insert_ignoring_duplicates(rows: list[dict]) -> None:
    if not rows:
        return
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    db.session.execute(insert(DigestDelivery).values(rows).on_conflict_do_nothing())


# ---- rendering ---------------------------------------------------------------------------------

def _urls(digest: Digest) -> tuple[str, dict[int, str]]:
    from mentorgroups.services.notifications import external_url

    whole = external_url("digests.unsubscribe",
                         token=unsubscribe_token(digest.user_id,
                                                 [s.group_id for s in digest.sections]))
    per_group = {s.group_id: external_url("digests.unsubscribe",
                                          token=unsubscribe_token(digest.user_id, [s.group_id]))
                 for s in digest.sections}
    return whole, per_group


def render(digest: Digest) -> dict:
    """Subject, text and HTML of one digest, from the Jinja templates."""
    from mentorgroups.services.notifications import external_url

    whole, per_group = _urls(digest)
    for section in digest.sections:
        section.unsubscribe_url = per_group[section.group_id]
    links = {"review_queue": external_url("review.queue"),
             "groups": external_url("mentor.groups"),
             "review": lambda sid: external_url("review.show", submission_id=sid),
             "group": lambda gid: external_url("mentor.group", group_id=gid)}
    context = {"digest": digest, "links": links, "unsubscribe_all": whole}
    return {"subject": f"Your Mentor Digest: {digest.week.label}",
            "text": render_template("email/digest.txt", **context),
            "html": render_template("email/digest.html", **context),
            "unsubscribe_url": whole}


# ---- the week's run ----------------------------------------------------------------------------

def start_run(account: Account, week: DigestWeek, stage: bool = True) -> bool:
    """Record that this school's digest for `week` starts, and stage its sending (unless the
    caller sends it itself). False when it was started already (by another tick, scheduler or
    operator)."""
    try:
        with db.session.begin_nested():
            db.session.add(DigestRun(account_id=account.id, week=week.key))
    except IntegrityError:
        return False
    if stage:
        stage_job("send_digests", account_id=account.id, week=week.key)
    return True


def week_totals(account: Account, week: DigestWeek) -> dict[str, int]:
    """How this school's digests for `week` stand, by delivery status."""
    from sqlalchemy import func

    return dict(db.session.execute(
        select(DigestDelivery.status, func.count()).where(
            DigestDelivery.account_id == account.id, DigestDelivery.week == week.key)
        .group_by(DigestDelivery.status)).all())


def tick(now: datetime | None = None) -> int:
    """The scheduler's periodic task: start every school's digest whose send time has passed
    this week (late if everything was down at that hour), and re-stage runs that left people
    claimed but not sent (a sender that died). Returns how many runs were staged."""
    now = now or utcnow()
    staged = 0
    for account in db.session.scalars(select(Account).order_by(Account.id)):
        week = latest_due_week(account, now)
        if week.send_at < account.created_at:
            continue  # the school did not exist at that send time
        if start_run(account, week):
            staged += 1
        db.session.commit()
    stuck_before = now - timedelta(minutes=15)
    for account_id, week_key in db.session.execute(
            select(DigestDelivery.account_id, DigestDelivery.week)
            .where(DigestDelivery.status == "claimed", DigestDelivery.created_at < stuck_before)
            .distinct()).all():
        stage_job("send_digests", account_id=account_id, week=week_key)
        staged += 1
    db.session.commit()
    return staged


def claim(account: Account, week: DigestWeek) -> int:
    """Insert a delivery row for every current recipient who has none for this week."""
    people = subscribers(account.id)
    _insert_ignoring_duplicates([
        {"account_id": account.id, "user_id": uid, "week": week.key, "status": "claimed",
         "created_at": utcnow()} for uid in people])
    db.session.commit()
    return len(people)


def send_week(account: Account, week: DigestWeek, now: datetime | None = None,
              progress: Callable[[int], None] | None = None) -> dict[str, int]:
    """Claim, build and stage this week's digests of one school. Safe to run any number of
    times, also at once: each person's digest is staged once and sent once."""
    now = now or utcnow()
    claim(account, week)
    claimed = dict(db.session.execute(
        select(DigestDelivery.user_id, DigestDelivery.id).where(
            DigestDelivery.account_id == account.id, DigestDelivery.week == week.key,
            DigestDelivery.status == "claimed")).all())
    counts = {"staged": 0, "skipped": 0}
    if not claimed:
        return counts
    ids = sorted(claimed.items())
    for start in range(0, len(ids), CHUNK):
        chunk = dict(ids[start:start + CHUNK])
        mine = set(db.session.scalars(
            update(DigestDelivery)
            .where(DigestDelivery.id.in_(chunk.values()), DigestDelivery.status == "claimed")
            .values(status="staged").returning(DigestDelivery.id)))
        rows = {row.id: row for row in db.session.scalars(
            select(DigestDelivery).where(DigestDelivery.id.in_(mine)))} if mine else {}
        # Only the digests of the people this sender got, each from their own groups.
        digests = {d.user_id: d for d in build_digests(
            account, week, now, user_ids=[uid for uid, did in chunk.items() if did in mine])
        } if mine else {}
        for uid, delivery_id in chunk.items():
            if delivery_id not in mine:
                continue  # another sender has it
            digest = digests.get(uid)
            row = rows[delivery_id]
            if digest is None or digest.is_empty:
                row.status = "skipped"  # nothing to say, or no longer following anybody
                counts["skipped"] += 1
                continue
            content = render(digest)
            row.subject, row.text_body = content["subject"], content["text"]
            row.html_body, row.unsubscribe_url = content["html"], content["unsubscribe_url"]
            stage_job("send_digest_email", delivery_id=delivery_id)
            counts["staged"] += 1
        db.session.commit()
        if progress:
            progress(len(chunk))
    return counts


def dry_run(account: Account, week: DigestWeek, now: datetime | None = None) -> dict[str, int]:
    """What `send_week` would do, changing nothing."""
    now = now or utcnow()
    done = set(db.session.scalars(select(DigestDelivery.user_id).where(
        DigestDelivery.account_id == account.id, DigestDelivery.week == week.key,
        DigestDelivery.status != "claimed")))
    todo = sorted(set(subscribers(account.id)) - done)
    built = empty = 0
    for start in range(0, len(todo), CHUNK):
        digests = build_digests(account, week, now, user_ids=todo[start:start + CHUNK])
        built += len(digests)
        empty += sum(1 for d in digests if d.is_empty)
    return {"would_send": built - empty, "nothing_to_say": empty,
            "already_done": len(done)}


@job("send_digests", queue="digests")
def send_digests(account_id: int, week: str) -> dict[str, int] | None:
    account = db.session.get(Account, account_id)
    if account is None:
        return None
    return send_week(account, week_by_key(account, week))


@job("send_digest_email", queue="emails")
def send_digest_email(delivery_id: int) -> bool:
    """One person's digest by email. A person whose access ended since it was built gets
    nothing; a second run of this job sends nothing more (the idempotency key)."""
    row = db.session.get(DigestDelivery, delivery_id)
    if row is None or row.status != "staged":
        return False
    person = db.session.get(User, row.user_id)
    member = db.session.scalar(select(AccountMembership).where(
        AccountMembership.account_id == row.account_id, AccountMembership.user_id == row.user_id))
    if person is None or not person.active or member is None or member.status != "active":
        row.status = "skipped"
        db.session.commit()
        return False
    headers = {"List-Unsubscribe": f"<{row.unsubscribe_url}>",
               "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
    deliver_email(key=f"digest:{row.id}", recipient=person.email, subject=row.subject,
                  body=row.text_body, html=row.html_body, headers=headers,
                  account_id=row.account_id, secrets=_unsubscribe_links(row))
    row = db.session.get(DigestDelivery, delivery_id)
    row.status, row.sent_at = "sent", utcnow()
    db.session.commit()
    return True


def _unsubscribe_links(row: DigestDelivery) -> list[str]:
    """The signed links in a digest are hidden in the copy admins read under Sent emails."""
    return sorted(set(re.findall(r"\S+/digest/unsubscribe/[A-Za-z0-9._-]+", row.text_body or "")))


def preview_for(user: User, account: Account, now: datetime | None = None) -> Digest | None:
    """This person's digest for this school as it would be sent now (nothing is sent)."""
    from mentorgroups.services.digest_weeks import preview_week

    now = now or utcnow()
    found = build_digests(account, preview_week(account, now), now, user_ids=[user.id])
    return found[0] if found else None


def resolve_week(account: Account, key: str | None, now: datetime | None = None) -> DigestWeek:
    return week_by_key(account, key) if key else latest_due_week(account, now or utcnow())

