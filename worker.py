"""The RQ worker: `python worker.py` (add --burst to drain the queues and exit).

It builds the app once and runs every job inside an app context. It needs no RQ scheduler:
retries are decided by the outbox rows and pushed by the sweep (`flask scheduler`).

It outlives Redis: RQ's own loop quits when Redis goes away while it is between jobs, so
`python worker.py` waits for Redis to answer again (one log line, then pings with a back-off
growing to RECONNECT_MAX_SECONDS) and starts a fresh RQ worker. Only SIGTERM or SIGINT (or the
end of a --burst run) stops it. Jobs staged meanwhile wait in the outbox; the sweep pushes
them once Redis is back."""

from __future__ import annotations

import argparse
import gc
import logging
import signal
import threading
import time
from contextlib import suppress

from redis.exceptions import RedisError
from rq import Worker, worker_registration

from mentorgroups import create_app
from mentorgroups.jobs.forking import drop_inherited_connections
from mentorgroups.jobs.queues import all_queues, parse_rq_job_id, redis_connection

log = logging.getLogger("worker")

RECONNECT_FIRST_SECONDS = 1.0
RECONNECT_MAX_SECONDS = 30.0
# A worker that ran this long before it stopped was healthy: the next back-off starts short.
HEALTHY_RUN_SECONDS = 60.0


def build_worker(app, worker_class=Worker) -> Worker:
    class AppWorker(worker_class):
        stop_requested = False

        def perform_job(self, job, queue):
            with app.app_context():
                return super().perform_job(job, queue)

        def handle_work_horse_killed(self, job, retpid, ret_val, rusage):
            """The job's process died (killed, out of memory) mid-attempt: give the row back
            now rather than when its lease runs out. An email it was sending stays claimed
            until its claim expires (the server may have accepted it)."""
            super().handle_work_horse_killed(job, retpid, ret_val, rusage)
            release_killed_attempt(app, job.id, ret_val)

        def request_stop(self, signum, frame):
            self.stop_requested = True  # an operator's stop, not a lost Redis
            super().request_stop(signum, frame)

        def heartbeat(self, timeout=None, pipeline=None):
            """Also re-register when Redis came back empty while RQ's dequeue loop waited
            for it: the worker keeps working, and /healthz sees it (RQ's worker registry)."""
            super().heartbeat(timeout, pipeline)
            if pipeline is None and not self.connection.sismember(self.redis_workers_keys,
                                                                  self.key):
                with self.connection.pipeline() as registering:
                    registering.hset(self.key, mapping=self.serialize())
                    worker_registration.register(self, registering)
                    registering.expire(self.key, timeout or self.worker_ttl + 60)
                    registering.execute()

        def teardown(self):
            """Without Redis RQ cannot record the death (the worker's key expires on its own);
            stop its command listener instead of letting it retry for ever."""
            try:
                super().teardown()
            except RedisError:
                if self.pubsub_thread is not None:
                    self.pubsub_thread.stop()
                    self.pubsub_thread.join(timeout=1)
                    with suppress(RedisError):
                        self.pubsub.close()

    worker = AppWorker(all_queues(app), connection=redis_connection(app),
                       worker_ttl=app.config["WORKER_TTL_SECONDS"])
    worker.redis_lost = None
    worker.redis_loss_filter = _RedisLossFilter(worker)
    worker.log.addFilter(worker.redis_loss_filter)
    return worker


class _RedisLossFilter(logging.Filter):
    """RQ logs a whole traceback when it quits because Redis went away; keep the error for
    the one line work_until_stopped writes instead."""

    def __init__(self, worker):
        super().__init__()
        self.worker = worker

    def filter(self, record):
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, RedisError):
            self.worker.redis_lost = error
            return False
        return True


def release_killed_attempt(app, rq_job_id: str, ret_val) -> None:
    from mentorgroups.extensions import db
    from mentorgroups.jobs.retry import record_failure
    from mentorgroups.models import OutboxJob

    parsed = parse_rq_job_id(rq_job_id)
    if parsed is None:
        return
    outbox_id, push = parsed
    with app.app_context():
        try:
            row = db.session.get(OutboxJob, outbox_id)
            if row is not None and row.status == "running" and row.pushes == push:
                record_failure(outbox_id, row.attempts,
                               f"the job's process died (waitpid status {ret_val})",
                               immediate=True)
        except Exception:
            log.exception("could not release job %s; its lease will expire", rq_job_id)
        finally:
            db.session.remove()


def redis_answers(app) -> bool:
    try:
        return bool(redis_connection(app).ping())
    except RedisError:
        return False


def work_until_stopped(app, burst: bool = False) -> int:
    """Run RQ workers one after another until an operator stops them: each time one ends for
    any other reason (Redis went away, an unexpected error), wait with a growing back-off
    until Redis answers, then start a fresh one (it registers itself again)."""
    stop = threading.Event()
    delay = RECONNECT_FIRST_SECONDS
    while not stop.is_set():
        worker, failure = None, None
        started = time.monotonic()
        try:
            worker = build_worker(app)  # RQ names its connection: Redis must answer already
            worker.work(burst=burst, with_scheduler=False, logging_level="INFO")
        except RedisError as exc:  # building, registering, or recording its end failed
            failure = exc
        finally:
            if worker is not None:
                worker.log.removeFilter(worker.redis_loss_filter)
        if worker is not None:
            failure = failure or worker.redis_lost
            if worker.stop_requested:
                return 0
        if burst:  # one pass over the queues, whatever happened
            return 1 if failure else 0
        if time.monotonic() - started > HEALTHY_RUN_SECONDS:
            delay = RECONNECT_FIRST_SECONDS
        _stop_on_signals(stop)
        lost_at = time.monotonic()
        if redis_answers(app):
            log.warning("the RQ worker stopped (%s); starting another in %.0f s",
                        failure or "see the log above", delay)
            stop.wait(delay)
        else:
            log.warning("Redis is unreachable (%s); retrying with a back-off of %.0f s "
                        "growing to %.0f s", failure or "the RQ worker stopped", delay,
                        RECONNECT_MAX_SECONDS)
            while not stop.is_set() and not redis_answers(app):
                stop.wait(delay)
                delay = min(delay * 2, RECONNECT_MAX_SECONDS)
            if not stop.is_set():
                log.warning("Redis answers again after %.0f s; the worker resumes",
                            time.monotonic() - lost_at)
        delay = min(delay * 2, RECONNECT_MAX_SECONDS)
    return 0


def _stop_on_signals(stop: threading.Event) -> None:
    """While no RQ worker runs (it installs its own handlers), SIGTERM/SIGINT end the wait."""
    def handler(signum, frame):
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--burst", action="store_true", help="exit when the queues are empty")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = create_app()
    if not app.config.get("REDIS_URL"):
        raise SystemExit("REDIS_URL is not set: without Redis, jobs run inside the web process "
                         "and no worker is needed.")
    drop_inherited_connections(app)
    # As app.py: start-up's objects left out of full collections, which in a forked work horse
    # would also touch (and copy) every page they live on.
    gc.freeze()
    return work_until_stopped(app, burst=args.burst)


if __name__ == "__main__":
    raise SystemExit(main())
