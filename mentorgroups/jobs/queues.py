"""RQ specifics: the connection, queue names, enqueueing one push of an outbox row."""

from __future__ import annotations

from redis import Redis
from rq import Queue
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from mentorgroups.jobs.registry import WORKER_ORDER


def redis_connection(app) -> Redis:
    conn = app.extensions.get("mentorgroups.redis")
    if conn is None:
        conn = Redis.from_url(app.config["REDIS_URL"], socket_connect_timeout=2, socket_timeout=5)
        app.extensions["mentorgroups.redis"] = conn
    return conn


def queue_name(app, name: str) -> str:
    return f"{app.config['RQ_QUEUE_PREFIX']}{name}"


def get_queue(app, name: str) -> Queue:
    return Queue(queue_name(app, name), connection=redis_connection(app))


def all_queues(app) -> list[Queue]:
    """Every queue, in the order a worker takes work from them (WORKER_ORDER)."""
    return [get_queue(app, name) for name in WORKER_ORDER]


def rq_job_id(outbox_id: int, push: int) -> str:
    return f"outbox-{outbox_id}-{push}"


def enqueue_outbox_job(app, outbox_id: int, push: int, queue: str) -> Job:
    """No RQ retries: a failure is recorded on the outbox row, whose next attempt the sweep
    pushes. RQ kills a job that outlives its lease (job_timeout)."""
    return get_queue(app, queue).enqueue(
        "mentorgroups.jobs.runner.run_outbox_job",
        outbox_id,
        push,
        job_id=rq_job_id(outbox_id, push),
        job_timeout=app.config["JOB_LEASE_SECONDS"],
        failure_ttl=7 * 24 * 3600,
        result_ttl=3600,
    )


def rq_job_lost(app, outbox_id: int, push: int) -> bool:
    """Whether RQ will never run this push of the row: the job is gone, or ended without
    the row being taken (failed, stopped, cancelled), or is marked started although the row
    was never taken (its worker died first)."""
    try:
        job = Job.fetch(rq_job_id(outbox_id, push), connection=redis_connection(app))
    except NoSuchJobError:
        return True
    return job.get_status() not in (JobStatus.QUEUED, JobStatus.DEFERRED, JobStatus.SCHEDULED)


def parse_rq_job_id(job_id: str) -> tuple[int, int] | None:
    prefix, _, rest = job_id.partition("-")
    outbox_id, _, push = rest.partition("-")
    if prefix != "outbox" or not outbox_id.isdigit() or not push.isdigit():
        return None
    return int(outbox_id), int(push)
