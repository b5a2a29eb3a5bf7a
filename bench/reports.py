"""Benchmark: the two Mentor Group CSV reports at 100,000 and 1,000,000 rows on PostgreSQL.

Each school is built once with COPY into its own database (`mentorgroups_bench_reports`) and
reused when present. For each report and size a fresh process downloads the file through
the app (test client, streamed response, the admin's own URL) and reports rows per second
and its peak memory (ru_maxrss); the floor is PostgreSQL's own `COPY (same query) TO STDOUT`
of the same rows, read by the same kind of process.

    .venv/bin/python bench/reports.py [--sizes 100000,1000000] [--rebuild]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mentorgroups import create_app  # noqa: E402
from mentorgroups.extensions import db  # noqa: E402

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
DB_NAME = "mentorgroups_bench_reports"
DB_URL = PG_ADMIN.rsplit("/", 1)[0] + f"/{DB_NAME}"
PASSWORD = "bench-pass-1"
PATHS, STEPS = 10, 8
URLS = {"members": "/admin/community/reports/members.csv",
        "progress": "/admin/community/reports/learner-progress.csv"}


def make_app():
    return create_app({"SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": DB_URL,
                       "SESSION_COOKIE_SECURE": False, "RATELIMIT_STORAGE_URI": "memory://"})


def _schema_is_current() -> bool:
    """Whether the reused database has every column the models have (it is built with
    create_all(), which adds tables but never columns: a school built before a migration
    would fail the app's queries)."""
    from sqlalchemy import inspect

    engine = create_engine(DB_URL)
    try:
        inspector = inspect(engine)
        for table in db.metadata.sorted_tables:
            if not inspector.has_table(table.name):
                continue
            present = {c["name"] for c in inspector.get_columns(table.name)}
            if not {c.name for c in table.columns} <= present:
                return False
        return True
    finally:
        engine.dispose()


def ensure_database(rebuild: bool) -> None:
    engine = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        present = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                              {"n": DB_NAME})
    if present and not rebuild and not _schema_is_current():
        print(f"{DB_NAME} predates the current schema: rebuilding it", file=sys.stderr)
        rebuild = True
    with engine.connect() as conn:
        present = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                              {"n": DB_NAME})
        if rebuild and present:
            conn.execute(text(f'DROP DATABASE "{DB_NAME}" WITH (FORCE)'))
            present = False
        if not present:
            conn.execute(text(f'CREATE DATABASE "{DB_NAME}"'))
    engine.dispose()


# ---- building a school with COPY ------------------------------------------------------------

def school_exists(conn, slug: str) -> bool:
    return conn.execute(text("SELECT 1 FROM account WHERE slug = :s"), {"s": slug}).first() \
        is not None


def build_school(app, rows: int) -> None:
    """A school whose two reports have `rows` rows each: rows/2 learners, each a member of
    two groups (1,000 members a group) and started on one path (3 of 8 steps done, one
    submission, half of them reviewed)."""
    from werkzeug.security import generate_password_hash

    slug = f"bench-{rows}"
    with app.app_context():
        db.create_all()
        raw = db.engine.raw_connection()
        try:
            cur = raw.cursor()
            cur.execute("SELECT 1 FROM account WHERE slug = %s", (slug,))
            if cur.fetchone():
                return
            start = time.perf_counter()
            base = rows * 10  # ids of this school's rows start here, so schools never collide
            now = datetime.now(UTC)
            learners = rows // 2
            groups = max(rows // 1000, 2)
            account = base
            cur.execute("INSERT INTO account (id, name, slug, plan, time_zone, created_at) "
                        "VALUES (%s, %s, %s, 'enterprise', 'Europe/Paris', %s)",
                        (account, f"Bench School {rows:,}", slug, now))
            admin = base
            pw = generate_password_hash(PASSWORD)

            def copy(table, columns, source):
                with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copier:
                    for row in source:
                        copier.write_row(row)

            copy("user_account", ["id", "email", "full_name", "password_hash", "active",
                                  "created_at"],
                 ((admin + i, f"p{i}@{slug}.test", f"Learner {i:07d}" if i else "Bench Admin",
                   pw if i == 0 else None, True, now) for i in range(learners + 1)))
            copy("account_membership", ["id", "account_id", "user_id", "role", "status",
                                        "created_at"],
                 ((base + i, account, admin + i, "admin" if i == 0 else "member", "active", now)
                  for i in range(learners + 1)))
            copy("mentor_group", ["id", "account_id", "parent_id", "name", "description",
                                  "created_at"],
                 ((base + g, account, base + g // 10 if g >= 10 else None, f"Group {g:05d}", "",
                   now) for g in range(groups)))
            copy("group_membership", ["id", "group_id", "user_id", "role", "created_at",
                                      "added_by_id"],
                 ((base + 2 * (i - 1) + k, base + (i - 1 + k * (groups // 2)) % groups,
                   admin + i, "member", now - timedelta(days=i % 90), admin)
                  for i in range(1, learners + 1) for k in (0, 1)))
            copy("path", ["id", "account_id", "title", "description", "created_at"],
                 ((base + p, account, f"Path {p:02d}", "", now) for p in range(PATHS)))
            copy("step", ["id", "path_id", "position", "title", "body", "requires_review"],
                 ((base + p * STEPS + s, base + p, s + 1, f"Step {s + 1}", "", s == 2)
                  for p in range(PATHS) for s in range(STEPS)))
            copy("cohort", ["id", "path_id", "name", "created_at"],
                 ((base + p, base + p, f"Cohort {p:02d}", now) for p in range(PATHS)))
            copy("cohort_membership", ["id", "cohort_id", "user_id", "role", "created_at"],
                 ((base + i, base + i % PATHS, admin + i, "learner", now)
                  for i in range(1, learners + 1)))
            copy("step_completion", ["id", "user_id", "step_id", "cohort_id", "completed_at"],
                 ((base + 3 * i + s, admin + i, base + (i % PATHS) * STEPS + s, base + i % PATHS,
                   now - timedelta(days=30 - s, seconds=i))
                  for i in range(1, learners + 1) for s in range(3)))
            copy("submission", ["id", "account_id", "user_id", "step_id", "cohort_id",
                                "content", "submitted_at", "status"],
                 ((base + i, account, admin + i, base + (i % PATHS) * STEPS + 2,
                   base + i % PATHS, "work", now - timedelta(days=28, seconds=i),
                   "reviewed" if i % 2 else "pending") for i in range(1, learners + 1)))
            copy("review", ["id", "submission_id", "reviewer_id", "grade", "feedback",
                            "created_at"],
                 ((base + i, base + i, admin, None, "ok", now)
                  for i in range(1, learners + 1, 2)))
            for table in ("account", "user_account", "account_membership", "mentor_group",
                          "group_membership", "path", "step", "cohort", "cohort_membership",
                          "step_completion", "submission", "review"):
                cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                            f"(SELECT max(id) FROM {table}))")
            raw.commit()
            cur.execute("ANALYZE")
            raw.commit()
            print(f"  built {slug} in {time.perf_counter() - start:.0f} s", flush=True)
        finally:
            raw.close()


# ---- one measurement per process -----------------------------------------------------------

def peak_mb() -> float:
    """This process's peak resident memory (VmHWM: unlike ru_maxrss it does not carry over
    the parent's peak from before the exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def measure_app(kind: str, rows: int) -> dict:
    app = make_app()
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    client.post("/login", data={"email": f"p0@bench-{rows}.test", "password": PASSWORD,
                                "csrf_token": token})
    before = peak_mb()
    start = time.perf_counter()
    response = client.get(URLS[kind], buffered=False)
    assert response.status_code == 200, response.status_code
    first, size, lines = None, 0, 0
    for chunk in response.response:
        if first is None:
            first = time.perf_counter() - start
        size += len(chunk)
        lines += chunk.count(b"\r\n")
    response.close()
    seconds = time.perf_counter() - start
    return {"rows": lines - 1, "seconds": seconds, "first_byte": first, "bytes": size,
            "peak_mb": peak_mb(), "baseline_mb": before}


def measure_copy(kind: str, rows: int) -> dict:
    """PostgreSQL's COPY of the report's own query (same rows, same order)."""
    import psycopg

    from mentorgroups.services import reports

    app = make_app()
    with app.app_context():
        report = reports.operator_report(kind, f"bench-{rows}")
        statement = report.statement
        compiled = statement.compile(dialect=db.engine.dialect)
        raw = db.engine.raw_connection()
        try:
            sql = psycopg.ClientCursor(raw.driver_connection).mogrify(str(compiled),
                                                                     compiled.params)
            before = peak_mb()
            start = time.perf_counter()
            size = lines = 0
            with raw.driver_connection.cursor() as cur:
                with cur.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)") as copier:
                    for data in copier:
                        size += len(data)
                        lines += bytes(data).count(b"\n")
            seconds = time.perf_counter() - start
        finally:
            raw.close()
    return {"rows": lines, "seconds": seconds, "bytes": size, "peak_mb": peak_mb(),
            "baseline_mb": before}


def run_one(mode: str, kind: str, rows: int) -> dict:
    out = subprocess.run([sys.executable, __file__, "--one", mode, kind, str(rows)],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--one", nargs=3, metavar=("MODE", "KIND", "ROWS"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        mode, kind, rows = args.one
        measure = measure_app if mode == "app" else measure_copy
        print(json.dumps(measure(kind, int(rows))))
        return

    sizes = [int(s) for s in args.sizes.split(",")]
    ensure_database(args.rebuild)
    app = make_app()
    print(f"Mentor Group reports on PostgreSQL ({DB_NAME}; schools built with COPY, reused)")
    for rows in sizes:
        build_school(app, rows)
    with app.app_context():
        db.engine.dispose()
    print(f"{'report':<9} {'rows':>9} {'COPY s':>7} {'app s':>7} {'app rows/s':>10} "
          f"{'x COPY':>7} {'first byte ms':>13} {'peak MB':>8} {'before MB':>9} "
          f"{'COPY peak MB':>12}")
    for rows in sizes:
        for kind in ("members", "progress"):
            floor = run_one("copy", kind, rows)
            got = run_one("app", kind, rows)
            assert got["rows"] == floor["rows"] == rows, (kind, rows, got["rows"], floor["rows"])
            print(f"{kind:<9} {rows:>9,} {floor['seconds']:>7.2f} {got['seconds']:>7.2f} "
                  f"{rows / got['seconds']:>10,.0f} {floor['seconds'] / got['seconds']:>7.2f} "
                  f"{got['first_byte'] * 1000:>13.0f} {got['peak_mb']:>8.0f} "
                  f"{got['baseline_mb']:>9.0f} {floor['peak_mb']:>12.0f}", flush=True)


if __name__ == "__main__":
    main()
