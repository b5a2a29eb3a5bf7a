"""Sign-in throttling per address, which slows guessing one person's password from anywhere
without letting a stranger lock that person out.

- Every attempt for an address is counted *before* its password is checked, with one
  compare-and-set on the address's row, in the database (all web processes share it):
  attempts at the same moment for one address are counted one after the other, never both
  against the same count.
- From the `LOGIN_FAILURES_BEFORE_WAIT`-th attempt in a row that did not succeed, the next
  attempt waits: `LOGIN_WAIT_BASE_SECONDS` doubling with each further attempt, capped at
  `LOGIN_WAIT_MAX_SECONDS` (2, 4, 8 s ... 15 min by default). An attempt made during the wait
  is refused without checking the password, and the person is told how long to wait. A
  success clears the address's row; a day without attempts forgets it (`prune`).
- The owner is not locked out by a stranger: a browser someone signed in from keeps a signed
  cookie naming (by a keyed hash) the addresses that signed in there, for
  `KNOWN_BROWSER_DAYS`. Attempts from such a browser for such an address skip the wait (and
  are not counted); they still count against the per-client limit (`LOGIN_RATE_LIMIT`)."""

from __future__ import annotations

import hashlib
import hmac
import math
from datetime import datetime, timedelta

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import delete, select, update

from mentorgroups import upserts
from mentorgroups.extensions import db
from mentorgroups.models import SignInThrottle, normalize_email, utcnow
from mentorgroups.services.errors import ServiceError

KNOWN_BROWSER_COOKIE = "mg_known_browser"
KNOWN_BROWSER_SALT = "known-browser"
KNOWN_BROWSER_MAX = 5  # addresses remembered per browser (a shared family computer)
FORGET_AFTER = timedelta(days=1)  # no attempt for a day: the address starts afresh


class SignInWait(ServiceError):
    """Too many attempts for this address: `seconds` until the next one is checked."""

    def __init__(self, seconds: int):
        self.seconds = seconds
        super().__init__(f"Too many sign-in attempts for this email address. Wait "
                         f"{describe_wait(seconds)}, then try again. (The password you typed "
                         "was not checked.)")


def describe_wait(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = math.ceil(seconds / 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def wait_after(failures: int) -> timedelta | None:
    """How long the attempt after `failures` in a row waits; None below the threshold."""
    config = current_app.config
    first = config["LOGIN_FAILURES_BEFORE_WAIT"]
    if failures < first:
        return None
    doublings = min(failures - first, 40)  # 2**40 s is past any cap
    return timedelta(seconds=min(config["LOGIN_WAIT_BASE_SECONDS"] * 2 ** doublings,
                                 config["LOGIN_WAIT_MAX_SECONDS"]))


def _insert_ignoring_duplicate(email: str, now: datetime) -> None:
    db.session.execute(upserts.insert(SignInThrottle).values(
        email=email, failures=0, attempts=0, last_attempt_at=now).on_conflict_do_nothing())


def count_attempt(email: str) -> None:
    """Count an attempt for `email` before its password is checked, or raise SignInWait.
    The caller commits at once (the count must hold whatever the check finds) and calls
    `succeeded` when the password was right."""
    email = normalize_email(email)
    now = utcnow()
    for _ in range(100):  # a pass that fails saw another attempt counted meanwhile
        _insert_ignoring_duplicate(email, now)
        row = db.session.execute(
            select(SignInThrottle.failures, SignInThrottle.attempts,
                   SignInThrottle.last_attempt_at, SignInThrottle.blocked_until)
            .where(SignInThrottle.email == email)).one_or_none()
        if row is None:  # a success at this moment deleted it
            continue
        if row.blocked_until is not None and row.blocked_until > now:
            raise SignInWait(math.ceil((row.blocked_until - now).total_seconds()))
        failures = 0 if row.last_attempt_at <= now - FORGET_AFTER else row.failures
        wait = wait_after(failures + 1)
        counted = db.session.execute(
            update(SignInThrottle)
            .where(SignInThrottle.email == email, SignInThrottle.attempts == row.attempts)
            .values(failures=failures + 1, attempts=row.attempts + 1, last_attempt_at=now,
                    blocked_until=now + wait if wait is not None else None)
            .execution_options(synchronize_session=False))
        if counted.rowcount == 1:
            return
    raise SignInWait(current_app.config["LOGIN_WAIT_BASE_SECONDS"])  # a storm: hold back


def succeeded(email: str) -> None:
    """The password was right: the address starts afresh."""
    db.session.execute(delete(SignInThrottle).where(
        SignInThrottle.email == normalize_email(email)))


def prune(now: datetime | None = None) -> int:
    """Forget addresses with no attempt for a day (their count would restart anyway)."""
    cutoff = (now or utcnow()) - FORGET_AFTER
    result = db.session.execute(delete(SignInThrottle).where(
        SignInThrottle.last_attempt_at < cutoff))
    db.session.commit()
    return result.rowcount or 0


# ---- the known browser ------------------------------------------------------------------------

def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=KNOWN_BROWSER_SALT)


def _address_mark(email: str) -> str:
    """A keyed hash of the address: the cookie names nobody to someone reading it."""
    key = current_app.config["SECRET_KEY"].encode()
    digest = hmac.new(key, normalize_email(email).encode(), hashlib.sha256).hexdigest()
    return digest[:32]


def _marks(cookie: str | None) -> list[str]:
    if not cookie:
        return []
    max_age = current_app.config["KNOWN_BROWSER_DAYS"] * 86400
    try:
        marks = _serializer().loads(cookie, max_age=max_age)
    except BadSignature:
        return []
    if not isinstance(marks, list):
        return []
    return [mark for mark in marks if isinstance(mark, str)][:KNOWN_BROWSER_MAX]


def is_known_browser(cookie: str | None, email: str) -> bool:
    return _address_mark(email) in _marks(cookie)


def known_browser_cookie(cookie: str | None, email: str) -> str:
    """The cookie's new value after `email` signed in on this browser (newest first)."""
    mark = _address_mark(email)
    marks = [mark] + [m for m in _marks(cookie) if m != mark]
    return _serializer().dumps(marks[:KNOWN_BROWSER_MAX])
