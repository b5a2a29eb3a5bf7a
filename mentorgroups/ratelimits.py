"""Rate limits that services apply themselves (invitations per school and inviter, password
reset requests per address and client), sharing Flask-Limiter's storage (Redis in production).

When that storage is unreachable the counters move to this process's memory, logged, as the
sign-in limit does: a Redis outage must never turn an invitation or a reset into a 500."""

from __future__ import annotations

import logging

from flask import current_app
from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import FixedWindowRateLimiter

from mentorgroups.extensions import limiter

log = logging.getLogger(__name__)

_FALLBACK = "mentorgroups.ratelimit_fallback"


def _fallback():
    strategy = current_app.extensions.get(_FALLBACK)
    if strategy is None:
        strategy = current_app.extensions[_FALLBACK] = FixedWindowRateLimiter(MemoryStorage())
    return strategy


def _apply(strategy, namespace: str, checks: list[tuple[str, str, str]]) -> str | None:
    for limit, scope, key in checks:
        if not strategy.test(parse(limit), namespace, scope, key):
            return scope
    for limit, scope, key in checks:
        strategy.hit(parse(limit), namespace, scope, key)
    return None


def exceeded(namespace: str, checks: list[tuple[str, str, str]]) -> str | None:
    """Test every (limit, scope, key) and, when none is exceeded, count this request against
    all of them. Returns the scope of the first limit exceeded, or None."""
    try:
        return _apply(limiter.limiter, namespace, checks)
    except Exception:  # the storage (Redis) is unreachable: keep limiting, in memory
        log.warning("rate-limit storage unreachable; counting %s in memory", namespace,
                    exc_info=True)
        return _apply(_fallback(), namespace, checks)
