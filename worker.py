"""The RQ worker: `python worker.py` (add --burst to drain the queues and exit).

It builds the app once and runs every job inside an app context. It needs no RQ scheduler:
retries are decided by the outbox rows and pushed by the sweep (`flask scheduler`)."""

from __future__ import annotations

import argparse
import logging

from rq import Worker

from mentorgroups import create_app
from mentorgroups.jobs.forking import drop_inherited_connections
from mentorgroups.jobs.queues import all_queues, parse_rq_job_id, redis_connection

log = logging.getLogger("worker")


def build_worker(app, worker_class=Worker) -> Worker:
    class AppWorker(worker_class):
        def perform_job(self, job, queue):
            with app.app_context():
                return super().perform_job(job, queue)

        def handle_work_horse_killed(self, job, retpid, ret_val, rusage):
            """The job's process died (killed, out of memory) mid-attempt: give the row back
            now rather than when its lease runs out. An email it was sending stays claimed
            until its claim expires (the server may have accepted it)."""
            super().handle_work_horse_killed(job, retpid, ret_val, rusage)
            release_killed_attempt(app, job.id, ret_val)

    return AppWorker(all_queues(app), connection=redis_connection(app))


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
    worker = build_worker(app)
    worker.work(burst=args.burst, with_scheduler=False, logging_level="INFO")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
