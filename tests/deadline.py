"""A deadline for code that must end: a walk of a group tree left with a loop in it.

Such a walk that forgets where it has been goes round the loop forever; a test of it must fail,
not hang the suite. `ends_within()` interrupts the code (SIGALRM, in the main thread, where
pytest runs tests) once the deadline passes and fails the test saying what never finished."""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager

import pytest


class _Deadline(BaseException):
    """Raised by the alarm; a BaseException so code that catches Exception does not eat it."""


@contextmanager
def ends_within(seconds: float, what: str):
    if threading.current_thread() is not threading.main_thread():  # no alarms there
        yield
        return

    def ring(signum, frame):
        raise _Deadline

    previous = signal.signal(signal.SIGALRM, ring)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    late = False
    try:
        yield
    except _Deadline:
        late = True
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    if late:
        pytest.fail(f"{what} did not finish within {seconds:g} s: a walk of the group tree "
                    "that goes round a loop forever?", pytrace=False)


@contextmanager
def sql_ends_within(seconds: float, what: str):
    """ends_within() for a walk the database does (a recursive CTE): the alarm cannot stop a
    statement that is running, so the database is asked to: PostgreSQL's statement_timeout
    for this transaction, SQLite's progress handler. Either way the test fails, saying what
    never finished, instead of hanging the suite."""
    import time

    from sqlalchemy.exc import OperationalError

    from mentorgroups.extensions import db

    connection = db.session.connection()
    postgresql = connection.dialect.name == "postgresql"
    raw = connection.connection.driver_connection
    if postgresql:
        connection.exec_driver_sql(f"SET LOCAL statement_timeout = {int(seconds * 1000)}")
    else:
        deadline = time.monotonic() + seconds
        raw.set_progress_handler(lambda: int(time.monotonic() > deadline), 10_000)
    stopped = False
    try:
        with ends_within(seconds, what):
            yield
    except OperationalError:
        stopped = True
    finally:
        if not postgresql:
            raw.set_progress_handler(None, 0)
    if stopped:
        pytest.fail(f"{what} did not finish within {seconds:g} s: a walk of the group tree in "
                    "SQL that goes round a loop forever (UNION ALL?)", pytrace=False)
    if postgresql:
        connection.exec_driver_sql("SET LOCAL statement_timeout = 0")
