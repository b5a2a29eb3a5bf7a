"""A school's own settings, changed by its admins."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from mentorgroups.extensions import db
from mentorgroups.models import Account, User
from mentorgroups.services.errors import ServiceError
from mentorgroups.services.permissions import require_account_admin

DRIFT_DAYS = range(1, 366)


def drift_cutoff(account_id: int, now: datetime) -> datetime:
    """Before this moment, a member's last progress makes them drifting (the school's
    number of days, 14 unless changed under School settings). The school is usually in the
    session already (read with the person at the start of the request): no statement."""
    account = db.session.get(Account, account_id)
    return now - timedelta(days=(account.drift_days if account else None) or 14)


def update(actor: User, account_id: int, time_zone: str, digest_weekday: int,
           digest_hour: int, drift_days: int | None = None) -> Account:
    """`drift_days`: after how many days without progress a member counts as drifting on
    the group page and in the digest (unchanged when not given)."""
    require_account_admin(actor, account_id)
    try:
        ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ServiceError(f"{time_zone!r} is not a time zone.", field="time_zone") from None
    if digest_weekday not in range(7):
        raise ServiceError("Choose a weekday.", field="digest_weekday")
    if digest_hour not in range(24):
        raise ServiceError("Choose an hour from 00:00 to 23:00.", field="digest_hour")
    if drift_days is not None and drift_days not in DRIFT_DAYS:
        raise ServiceError("Give a number of days from 1 to 365.", field="drift_days")
    account = db.session.get(Account, account_id)
    account.time_zone, account.digest_weekday, account.digest_hour = (
        time_zone, digest_weekday, digest_hour)
    if drift_days is not None:
        account.drift_days = drift_days
    return account
