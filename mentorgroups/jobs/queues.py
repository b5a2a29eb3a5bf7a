"""RQ specifics: the connection, queue names, enqueueing with retries."""

from __future__ import annotations

from datetime import datetime

from redis import Redis
from rq import Queue, Retry
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from sqlalchemy import select

from mentorgroups.extensions import db
from mentorgroups.jobs.registry import QUEUES
from mentorgroups.models import OutboxJob


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
    return [get_queue(app, name) for name in QUEUES]


def rq_job_id(outbox_id: int) -> str:
    return f"outbox-{outbox_id}"


def enqueue_outbox_job(app, outbox_id: int, queue: str) -> Job:
    retries = max(app.config["JOB_MAX_ATTEMPTS"] - 1, 0)
    intervals = app.config["JOB_RETRY_INTERVALS"] or [0]
    return get_queue(app, queue).enqueue(
        "mentorgroups.jobs.runner.run_outbox_job",
        outbox_id,
        job_id=rq_job_id(outbox_id),
        retry=Retry(max=retries, interval=intervals[:retries]) if retries else None,
        failure_ttl=7 * 24 * 3600,
        result_ttl=3600,
    )


def lost_outbox_jobs(app, cutoff: datetime) -> list[int]:
    """'enqueued' rows, older than cutoff, whose RQ job is gone or finally failed."""
    ids = list(
        db.session.scalars(
            select(OutboxJob.id).where(
                OutboxJob.status == "enqueued", OutboxJob.enqueued_at <= cutoff
            )
        )
    )
    db.session.commit()
    lost = []
    conn = redis_connection(app)
    for outbox_id in ids:
        try:
            job = Job.fetch(rq_job_id(outbox_id), connection=conn)
        except NoSuchJobError:
            lost.append(outbox_id)
            continue
        if job.get_status() in (JobStatus.CANCELED, JobStatus.STOPPED):
            lost.append(outbox_id)
    return lost
