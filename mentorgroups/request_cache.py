"""Lookups repeated within one request (the school's group parent map, the person's
membership), kept for that request only.

Outside a request (jobs, CLI, tests calling services) nothing is cached. Inside one, the cache
is dropped whenever the session commits or rolls back, so a request that changes groups or
memberships and reads them again sees the change. Writes that must see rows locked by
themselves (a group move checking for cycles) read the database directly, not through here."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import g, has_request_context
from sqlalchemy import event

_KEY = "mg_request_cache"
_MISSING = object()


def cached(key: tuple, load: Callable[[], Any]) -> Any:
    if not has_request_context():
        return load()
    store = g.get(_KEY)
    if store is None:
        store = g.setdefault(_KEY, {})
    value = store.get(key, _MISSING)
    if value is _MISSING:
        value = store[key] = load()
    return value


def remember(key: tuple, value: Any) -> None:
    """Keep a value read by a statement that read more than `cached` asked for (the request's
    first statement: the person, their membership, roles and bell together)."""
    if has_request_context():
        g.setdefault(_KEY, {})[key] = value


def forget() -> None:
    if has_request_context():
        g.pop(_KEY, None)


def init_app(app) -> None:
    from mentorgroups.extensions import db

    app.before_request(forget)  # a test client may share one app context across requests

    for name in ("after_commit", "after_rollback", "after_soft_rollback"):
        if not event.contains(db.session, name, _on_transaction_end):
            event.listen(db.session, name, _on_transaction_end)


def _on_transaction_end(session, *args) -> None:
    forget()
