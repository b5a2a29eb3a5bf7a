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
