"""Benchmark: how many gunicorn workers and threads, measured on this machine.

The app (bench/serve.py) on the screens bench's school (bench/dataset.py, 100,000 learners
unless --scale says otherwise) is served by gunicorn with each setting of --configs in turn
(workers x threads; one thread is the sync worker, more is gthread). For each, --people
people sign in (the account admin, the mentor of the big group, a learner, the Group Admin
at the root, the mentor of 50 groups and the admin of the 20,000-group school, in turn) and
each, in a thread of this process, opens the screens bench/screens.py lists for them one
after another for --seconds, after one warm-up visit of each. Between two screens a person
reads for --think seconds on average (drawn from an exponential distribution, each person's
own seeded sequence, so every setting sees the same pauses); --think 0 is no pause at all, a
saturation test whose latency is set by the queue (20 people / requests per second), not by
any one request. Each setting runs --passes times, the passes in alternating order, and its
requests are pooled. Latency is from request to the last byte; p50, p95 and p99 over every
request of the setting. Writes the runs into bench/results.json ("concurrency" with pauses,
"saturation" without) and regenerates the README's tables.

    .venv/bin/python bench/concurrency.py [--configs 2x1,2x4,4x1,4x2,4x4,5x1,5x2,5x4]
        [--people 20] [--seconds 20] [--passes 2] [--scale 1]
        [--think 5 (0: saturation)] [--skip "Preview my digest;20,000 groups"]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.dataset import build  # noqa: E402
from bench.screens import (  # noqa: E402
    EMAILS,
    IDS,
    RESULTS,
    SCREENS,
    Browser,
    free_port,
    learner_of,
    people_of,
)

ROLES = ("admin", "mentor", "learner", "group_admin", "mentor50", "tree_admin")


class Gunicorn:
    """bench.serve:app with `workers` processes of `threads` threads on 127.0.0.1."""

    def __init__(self, db_url: str, workers: int, threads: int):
        self.port = free_port()
        env = {**os.environ, "MG_BENCH_DB": db_url, "PYTHONPATH": str(ROOT)}
        env.pop("REDIS_URL", None)
        kind = ["--worker-class", "gthread", "--threads", str(threads)] if threads > 1 else []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--workers", str(workers), *kind, "--bind",
             f"127.0.0.1:{self.port}", "--timeout", "120", "--log-level", "warning",
             "bench.serve:app"], cwd=ROOT, env=env)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                Browser(self.base).get("/login")
                return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError("gunicorn did not start")

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def run(db_url: str, ids: dict, screens: list, workers: int, threads: int, people: int,
        seconds: float, think: float = 0.0) -> tuple[list[float], int]:
    """Latencies (ms) of every request of one run, and the errors."""
    server = Gunicorn(db_url, workers, threads)
    try:
        crowd, warmed = [], set()
        roles = [r for r in ROLES if any(s.who == r for s in screens)]
        for n in range(people):
            who = roles[n % len(roles)]
            browser = Browser(server.base)
            browser.sign_in(EMAILS[who] if who in EMAILS else f"p{ids[who]}@large.test")
            mine = [s.url.format(**ids) for s in screens if s.who == who]
            crowd.append((browser, mine[n % len(mine):] + mine[:n % len(mine)]))
            for url in mine:  # warm the imports, caches and plans once per screen and person
                if (who, url) not in warmed:
                    warmed.add((who, url))
                    browser.get(url)
        latencies, errors, lock = [], [0], threading.Lock()
        start = threading.Barrier(people + 1)
        stop_at = [0.0]

        def person(browser, urls, seed):
            pauses = random.Random(seed)
            start.wait()
            n = 0
            while time.monotonic() < stop_at[0]:
                if think and n:
                    time.sleep(min(pauses.expovariate(1 / think),
                                   max(stop_at[0] - time.monotonic(), 0)))
                    if time.monotonic() >= stop_at[0]:
                        break
                began = time.perf_counter()
                try:
                    browser.get(urls[n % len(urls)])
                    with lock:
                        latencies.append((time.perf_counter() - began) * 1000)
                except Exception:  # noqa: BLE001 (counted: an error is a result here)
                    with lock:
                        errors[0] += 1
                n += 1

        pool = [threading.Thread(target=person, args=(*pair, n), daemon=True)
                for n, pair in enumerate(crowd)]
        for thread in pool:
            thread.start()
        stop_at[0] = time.monotonic() + seconds
        start.wait()
        for thread in pool:
            thread.join(timeout=seconds + 180)
        return latencies, errors[0]
    finally:
        server.stop()


def summary(workers: int, threads: int, latencies: list[float], errors: int,
            seconds: float) -> dict:
    return {"label": f"{workers} x {threads}", "workers": workers, "threads": threads,
            "requests": len(latencies), "per_second": round(len(latencies) / seconds, 1),
            "p50_ms": round(statistics.median(latencies), 1),
            "p95_ms": round(percentile(latencies, 95), 1),
            "p99_ms": round(percentile(latencies, 99), 1), "errors": errors}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--configs", default="2x1,2x4,4x1,4x2,4x4,5x1,5x2,5x4")
    parser.add_argument("--people", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--passes", type=int, default=2)
    parser.add_argument("--think", type=float, default=5.0,
                        help="mean seconds a person reads a screen before the next (0: none)")
    parser.add_argument("--skip", default="", help="screens left out of the mix: parts of "
                        "their names, separated by ';'")
    args = parser.parse_args()
    skipped = [part for part in args.skip.split(";") if part]
    screens = [s for s in SCREENS if not any(part in s.name for part in skipped)]
    db_url = build(args.scale)
    ids = {**IDS, "learner": learner_of(db_url), **people_of(db_url)}
    load = os.getloadavg()[0]
    configs = [tuple(int(part) for part in config.split("x"))
               for config in args.configs.split(",")]
    pooled = {config: ([], [0]) for config in configs}
    # Passes in alternating order, each setting's requests pooled: a machine whose load
    # changes during the run (others share it) weighs on every setting alike.
    for n in range(args.passes):
        for workers, threads in configs if n % 2 == 0 else configs[::-1]:
            latencies, errors = run(db_url, ids, screens, workers, threads, args.people,
                                    args.seconds, args.think)
            pooled[(workers, threads)][0].extend(latencies)
            pooled[(workers, threads)][1][0] += errors
            one = summary(workers, threads, latencies, errors, args.seconds)
            print(f"pass {n + 1} {one['label']:>7}: {one['requests']:>6} requests, "
                  f"{one['per_second']:>6.1f}/s, p50 {one['p50_ms']:>7.0f} ms, "
                  f"p95 {one['p95_ms']:>7.0f} ms, {one['errors']} errors", flush=True)
    runs = [summary(w, t, lat, err[0], args.seconds * args.passes)
            for (w, t), (lat, err) in pooled.items()]
    # The lowest p95; on a tie within 5%, the fewest processes and threads (less memory).
    best = min(r["p95_ms"] for r in runs)
    chosen = min((r for r in runs if r["p95_ms"] <= best * 1.05),
                 key=lambda r: (r["workers"] * r["threads"], r["workers"]))
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {"screens": []}
    # People who read what they open are the product's case ("concurrency"); no pause at all
    # measures the most the setting serves ("saturation"). Each run keeps the other's table.
    results["concurrency" if args.think else "saturation"] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d"), "people": args.people,
        "seconds": args.seconds, "passes": args.passes, "think_s": args.think, "load": load,
        # Production's setting is chosen with people who read; saturation only shows the most
        # each setting serves.
        **({"chosen": chosen["label"]} if args.think else {}),
        "data": f"{int(100_000 * args.scale):,} learners, every screen of the table above"
                + (" but " + " and ".join(f"“{s.name}”" for s in SCREENS if s not in screens)
                   if len(screens) < len(SCREENS) else ""),
        "runs": runs}
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"lowest p95: {chosen['label']} (workers x threads)")
    from bench.readme_table import write_readme

    write_readme()


if __name__ == "__main__":
    main()
