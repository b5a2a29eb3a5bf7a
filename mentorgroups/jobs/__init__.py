"""Job plumbing: stage a job with the change that causes it, push it after commit, run it
idempotently in a worker (or in-process when no Redis is configured)."""

from mentorgroups.jobs.outbox import stage_job
from mentorgroups.jobs.registry import job

__all__ = ["job", "stage_job"]
