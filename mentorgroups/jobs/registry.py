"""Job functions by name. A job takes ids and primitives, loads what it needs and is safe to
run twice."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

QUEUES = ("emails", "notifications", "digests", "default")
# The order a worker takes work in: fan-outs first (they write the bell and stage the emails,
# and are quick), then emails. With emails first, a mail server refusing for long kept a busy
# worker on email retries while a submission's fan-out waited: the bell waited for SMTP.
WORKER_ORDER = ("notifications", "digests", "emails", "default")


@dataclass(frozen=True)
class JobSpec:
    name: str
    queue: str
    func: Callable[..., object]


JOBS: dict[str, JobSpec] = {}


def job(name: str, queue: str = "default"):
    """Register a job function under a stable name (stored in outbox rows)."""
    if queue not in QUEUES:
        raise ValueError(f"unknown queue {queue!r}")

    def decorator(func):
        if name in JOBS and JOBS[name].func is not func:
            raise ValueError(f"job {name!r} registered twice")
        JOBS[name] = JobSpec(name=name, queue=queue, func=func)
        return func

    return decorator


def load_job_modules() -> None:
    """Import every module that registers jobs, so a worker knows them all."""
    from mentorgroups.services import (  # noqa: F401
        digests,
        discussion,
        email_summaries,
        notifications,
        passwords,
    )
