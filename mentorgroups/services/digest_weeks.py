"""Digest weeks in the school's own time zone.

A school's digest goes out on its weekday at its hour, local time. It covers the seven local
calendar days before the send date (Monday 30 Nov 08:00 covers 23 Nov 00:00 to 30 Nov 00:00),
whatever daylight saving does in between, and is named by the ISO week of the send date
("2026-W49")."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from mentorgroups.models import Account
from mentorgroups.services.errors import ServiceError

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_WEEK_KEY = re.compile(r"^(\d{4})-W(\d{2})$")


@dataclass(frozen=True)
class DigestWeek:
    key: str
    send_at: datetime  # UTC
    start: datetime  # UTC: local midnight seven days before the send date
    end: datetime  # UTC: local midnight of the send date
    label: str  # "23 Nov – 29 Nov 2026"


def zone(account: Account) -> ZoneInfo:
    try:
        return ZoneInfo(account.time_zone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def _label(first: date, last: date) -> str:
    left = f"{first.day} {first:%b}" + (f" {first.year}" if first.year != last.year else "")
    return f"{left} \u2013 {last.day} {last:%b %Y}"


def week_for_send_date(account: Account, send_day: date, send_at: datetime | None = None
                       ) -> DigestWeek:
    tz = zone(account)
    if send_at is None:
        send_at = datetime.combine(send_day, time(account.digest_hour), tzinfo=tz).astimezone(UTC)
    iso = send_day.isocalendar()
    first = send_day - timedelta(days=7)
    return DigestWeek(key=f"{iso.year}-W{iso.week:02d}", send_at=send_at,
                      start=_local_midnight(first, tz), end=_local_midnight(send_day, tz),
                      label=_label(first, send_day - timedelta(days=1)))


def latest_due_week(account: Account, now: datetime) -> DigestWeek:
    """The most recent send time at or before `now` (this week's, or last week's if this
    week's is still ahead)."""
    tz = zone(account)
    local_now = now.astimezone(tz)
    day = local_now.date() - timedelta(days=local_now.weekday()) \
        + timedelta(days=account.digest_weekday)
    week = week_for_send_date(account, day)
    if week.send_at > now:
        week = week_for_send_date(account, day - timedelta(days=7))
    return week


def week_by_key(account: Account, key: str) -> DigestWeek:
    """`--week 2026-W48`: the digest whose send date falls in that ISO week."""
    match = _WEEK_KEY.match(key or "")
    if not match:
        raise ServiceError(f"Give the week as YYYY-Www, e.g. 2026-W48 (not {key!r}).")
    try:
        day = date.fromisocalendar(int(match[1]), int(match[2]), account.digest_weekday + 1)
    except ValueError:
        raise ServiceError(f"There is no week {key}.") from None
    return week_for_send_date(account, day)


def preview_week(account: Account, now: datetime) -> DigestWeek:
    """The digest as it would be sent right now: the seven days before today."""
    return week_for_send_date(account, now.astimezone(zone(account)).date(), send_at=now)
