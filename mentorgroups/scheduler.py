"""Periodic tasks, defined as data. Exactly one scheduler process runs them
(`flask --app app scheduler`); each task is safe to run again, so a restart is harmless."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from mentorgroups.error_pages import DATABASE_DOWN, driver_reason

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PeriodicTask:
    name: str
    every_seconds: int
    run: Callable[[], object]
    every_setting: str | None = None  # a setting that overrides every_seconds

    def period(self, app) -> int:
        return app.config.get(self.every_setting, self.every_seconds) if self.every_setting \
            else self.every_seconds


def _sweep_outbox():
    from mentorgroups.jobs.outbox import sweep

    return sweep()


def _digest_tick():
    from mentorgroups.services.digests import tick

    return tick()


def _email_summaries():
    from mentorgroups.services.email_summaries import tick

    return tick()


def _prune_sign_in_throttle():
    from mentorgroups.services.sign_in import prune

    return prune()


TASKS: list[PeriodicTask] = [
    PeriodicTask("sweep-outbox", 15, _sweep_outbox, every_setting="OUTBOX_SWEEP_SECONDS"),
    # Starts each school's weekly digest once its local send time has passed. It runs every
    # five minutes rather than hourly so a digest leaves within minutes of its hour; the
    # database, not this loop, makes sure each week is sent once.
    PeriodicTask("mentor-digest", 300, _digest_tick),
    # Hourly summaries for the people who chose them: each hour's is claimed in the database,
    # so running every few minutes (or from two schedulers) sends it once, soon after the hour.
    PeriodicTask("email-summaries", 300, _email_summaries),
    # Addresses with no sign-in attempt for a day are forgotten (their count restarts anyway).
    PeriodicTask("prune-sign-in-throttle", 3600, _prune_sign_in_throttle),
]

def run_once(app, now: float, last_run: dict[str, float] | None = None) -> None:
    """Run every task that is due at `now` (monotonic seconds), given when each last ran
    (`last_run`, updated; every task is due without it)."""
    last_run = {} if last_run is None else last_run
    for task in TASKS:
        if now - last_run.get(task.name, float("-inf")) < task.period(app):
            continue
        last_run[task.name] = now
        with app.app_context():
            try:
                result = task.run()
                log.info("task %s: %s", task.name, result)
            except DATABASE_DOWN as exc:  # an outage: one line, not a traceback a period
                log.warning("task %s: the database can't be reached (%s); it runs again next "
                            "period", task.name, driver_reason(exc))
            except Exception:
                log.exception("task %s failed; it runs again next period", task.name)


def run_forever(app, tick: float = 5.0, stop: threading.Event | None = None) -> None:
    """Run the tasks as they fall due until `stop` is set (never, for `flask scheduler`)."""
    tick = min([tick] + [task.period(app) for task in TASKS])
    stop = stop or threading.Event()
    last_run: dict[str, float] = {}  # this loop's own: two loops in one process don't mix
    log.info("scheduler started with %d task(s)", len(TASKS))
    while not stop.is_set():
        run_once(app, time.monotonic(), last_run)
        stop.wait(tick)


class InProcessScheduler:
    """The periodic tasks in a daemon thread of the web process (development: `make run`
    sets PERIODIC_TASKS_IN_PROCESS), so the outbox is swept and a digest due while the demo
    is up is sent without a second process. Each task is safe to run beside another
    scheduler, so a `flask scheduler` started as well changes nothing."""

    def __init__(self, app, tick: float = 5.0):
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=run_forever, args=(app, tick, self.stop_event),
                                       name="periodic-tasks", daemon=True)

    def start(self) -> InProcessScheduler:
        self.thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        self.stop_event.set()
        self.thread.join(timeout)


def start_in_process(app, tick: float = 5.0) -> InProcessScheduler:
    log.info("periodic tasks run inside this process (PERIODIC_TASKS_IN_PROCESS)")
    return InProcessScheduler(app, tick).start()
