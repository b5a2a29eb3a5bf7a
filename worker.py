"""The RQ worker: `python worker.py` (add --burst to drain the queues and exit).

It builds the app once and runs every job inside an app context. It runs RQ's scheduler too,
which retries failed jobs after their back-off interval."""

from __future__ import annotations

import argparse
import logging

from rq import Worker

from mentorgroups import create_app
from mentorgroups.jobs.queues import all_queues, redis_connection


def build_worker(app, worker_class=Worker) -> Worker:
    class AppWorker(worker_class):
        def perform_job(self, job, queue):
            with app.app_context():
                return super().perform_job(job, queue)

    return AppWorker(all_queues(app), connection=redis_connection(app))


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
    worker = build_worker(app)
    worker.work(burst=args.burst, with_scheduler=True, logging_level="INFO")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
