"""Job processes never share their parent's database connections.

RQ forks a process (the work-horse) for every job. A forked child inherits the parent's
connection pool, sockets included: if both use one connection, the server sees one session
carrying two processes' statements. A work-horse killed mid-transaction then leaves that
session "in transaction", and the worker's next use of the connection (handing the killed
job's row back) fails with "can't change 'autocommit' now: connection in transaction status
INTRANS", so the row waited out its lease. SQLAlchemy's advice for multiprocessing: right
after the fork, the child forgets the pool it inherited without closing the parent's
connections (`dispose(close=False)`) and opens its own.
"""

from __future__ import annotations

import os

_registered: set[int] = set()


def drop_inherited_connections(app) -> None:
    """Make every process forked from this one open its own connections to `app`'s database.
    Safe to call more than once for one app."""
    from mentorgroups.extensions import db

    with app.app_context():
        engine = db.engine
    if id(engine) in _registered:
        return
    _registered.add(id(engine))
    os.register_at_fork(after_in_child=lambda: engine.dispose(close=False))
