"""Benchmark: building every weekly digest of the benchmark school, against its SQL alone.

The builder's statements are recorded once, then both are timed interleaved: the whole build
(SQL, assembling every person's sections in Python) and the floor (the same statements with
the same parameters, rows fetched and dropped). Medians over --rounds; at the full school and
at a tenth of it, to show growth.

    .venv/bin/python bench/digest.py [--rounds 7] [--scales 0.1,1]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

from sqlalchemy import event

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.dataset import NOW, build  # noqa: E402
from mentorgroups import create_app  # noqa: E402
from mentorgroups.extensions import db  # noqa: E402
from mentorgroups.models import Account  # noqa: E402
from mentorgroups.services.digest_content import build_digests  # noqa: E402
from mentorgroups.services.digest_weeks import latest_due_week  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results-digest.json"


def measure(scale: float, rounds: int) -> dict:
    url = build(scale)
    app = create_app({"SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": url,
                      "SESSION_COOKIE_SECURE": False})
    with app.app_context():
        account = db.session.get(Account, 1)
        week = latest_due_week(account, NOW)
        recorded = []

        def record(conn, cursor, statement, parameters, context, executemany):
            recorded.append((statement, parameters))

        event.listen(db.engine, "before_cursor_execute", record)
        digests = build_digests(account, week, NOW)
        event.remove(db.engine, "before_cursor_execute", record)
        sections = sum(len(d.sections) for d in digests)

        def whole():
            db.session.expire_all()
            build_digests(account, week, NOW)

        def floor():
            raw = db.session.connection().connection.driver_connection
            for statement, parameters in recorded:
                with raw.cursor() as cur:
                    cur.execute(statement, parameters)
                    cur.fetchall()

        times = {"app": [], "floor": []}
        for _ in range(rounds):
            for name, fn in (("app", whole), ("floor", floor)):
                start = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - start)
        db.session.remove()
        db.engine.dispose()
    app_ms = statistics.median(times["app"]) * 1000
    floor_ms = statistics.median(times["floor"]) * 1000
    return {"scale": scale, "digests": len(digests), "sections": sections,
            "statements": len(recorded), "app_ms": round(app_ms, 1),
            "floor_ms": round(floor_ms, 1), "app_over_floor": round(app_ms / floor_ms, 2)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--scales", default="0.1,1")
    args = parser.parse_args()
    rows = [measure(float(scale), args.rounds) for scale in args.scales.split(",")]
    print(f"{'learners':>9} {'digests':>8} {'sections':>8} {'SQL':>4} {'build ms':>9} "
          f"{'SQL-only ms':>11} {'build/SQL':>9}")
    for row in rows:
        print(f"{int(row['scale'] * 100_000):>9,} {row['digests']:>8,} {row['sections']:>8,} "
              f"{row['statements']:>4} {row['app_ms']:>9.0f} {row['floor_ms']:>11.0f} "
              f"{row['app_over_floor']:>9.2f}")
    RESULTS.write_text(json.dumps({"digest": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
