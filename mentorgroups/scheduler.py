"""Periodic tasks, defined as data. Exactly one scheduler process runs them
(`flask --app app scheduler`); each task is safe to run again, so a restart is harmless."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

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


TASKS: list[PeriodicTask] = [
    PeriodicTask("sweep-outbox", 15, _sweep_outbox, every_setting="OUTBOX_SWEEP_SECONDS"),
    # Starts each school's weekly digest once its local send time has passed. It runs every
    # five minutes rather than hourly so a digest leaves within minutes of its hour; the
    # database, not this loop, makes sure each week is sent once.
    PeriodicTask("mentor-digest", 300, _digest_tick),
]

_last_run: dict[str, float] = {}


def run_once(app, now: float) -> None:
    for task in TASKS:
        if now - _last_run.get(task.name, float("-inf")) < task.period(app):
            continue
        _last_run[task.name] = now
        with app.app_context():
            try:
                result = task.run()
                log.info("task %s: %s", task.name, result)
            except Exception:
                log.exception("task %s failed; it runs again next period", task.name)


def run_forever(app, tick: float = 5.0) -> None:
    tick = min([tick] + [task.period(app) for task in TASKS])
    log.info("scheduler started with %d task(s)", len(TASKS))
    while True:
        run_once(app, time.monotonic())
        time.sleep(tick)
