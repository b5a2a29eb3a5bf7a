"""Benchmark: the school home (Home in the back office) and Home > People > Groups' "All
groups" at the size of a large school.

The Groups tab benchmark's school (5,000 learners, 20,000 group memberships, groups five
levels deep; bench/groups_tree.py) plus one path of 10 steps and 5,000 submissions (2,000
waiting, their ages spread over 30 days). For 10, 100, 1,000 and 2,000 groups it serves
each page through the app (test client, no network) as the account admin, and the home as a
Group Admin of one top-level group, and reports the SQL statements per request and the
median time. PostgreSQL is ANALYZEd after each load (see `analyze`).

    .venv/bin/python bench/school_home.py [--repeat 15] [--backends sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import event, insert, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.groups_tree import database, grow_groups, seed_school  # noqa: E402
from mentorgroups import create_app  # noqa: E402
from mentorgroups.extensions import db  # noqa: E402
from mentorgroups.models import Cohort, GroupMembership, Step, Submission  # noqa: E402
from mentorgroups.models import Path as LearningPath  # noqa: E402

SIZES = (10, 100, 1000, 2000)
SUBMISSIONS, WAITING = 5000, 2000
PAGES = (("home", "/admin/"), ("home by oldest wait", "/admin/?sort=oldest"),
         ("home by waiting", "/admin/?sort=waiting&page=3"),
         ("People > Groups", "/people/groups?all_sort=stale"))


def seed_work(app, account_id: int) -> None:
    rng = random.Random(7)
    now = datetime.now(UTC)
    with app.app_context():
        path = LearningPath(account_id=account_id, title="Essays")
        path.steps = [Step(position=i + 1, title=f"Step {i + 1}", requires_review=True)
                      for i in range(10)]
        db.session.add(path)
        db.session.flush()
        cohort = Cohort(path_id=path.id, name="All")
        db.session.add(cohort)
        db.session.flush()
        users = [row[0] for row in db.session.execute(
            text("SELECT id FROM user_account ORDER BY id"))][1:]
        rows, seen = [], set()
        while len(rows) < SUBMISSIONS:
            uid, step = rng.choice(users), rng.choice(path.steps)
            if (uid, step.id) in seen:
                continue
            seen.add((uid, step.id))
            rows.append({"account_id": account_id, "user_id": uid, "step_id": step.id,
                         "cohort_id": cohort.id, "content": "work",
                         "submitted_at": now - timedelta(hours=rng.randrange(1, 24 * 30)),
                         "status": "pending" if len(rows) < WAITING else "reviewed"})
        db.session.execute(insert(Submission), rows)
        db.session.commit()


def analyze(app) -> None:
    """PostgreSQL's statistics, as autovacuum keeps them in a running database. Right after
    a bulk load, before any ANALYZE, PostgreSQL estimates one row per table and picks nested
    loops: the home then took 10 to 20 s at 1,000 groups (SQLite, which has no statistics
    here either, is fine: its plan does not depend on them)."""
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect() as conn:
                raw = conn.connection.driver_connection
                raw.autocommit = True
                raw.execute("ANALYZE")


def group_admin_email(app) -> str:
    """Person 1 made Group Admin of the first top-level group (and nothing else)."""
    with app.app_context():
        first = db.session.execute(text("SELECT min(id) FROM mentor_group")).scalar()
        uid = db.session.execute(text("SELECT id FROM user_account WHERE email = "
                                      "'p1@large.test'")).scalar()
        db.session.execute(text("DELETE FROM group_membership WHERE user_id = :u"), {"u": uid})
        db.session.execute(insert(GroupMembership), [{"group_id": first, "user_id": uid,
                                                      "role": "group_admin"}])
        db.session.commit()
    return "p1@large.test"


def measure(app, email: str, url: str, repeat: int) -> tuple[float, int]:
    client = app.test_client()
    with app.app_context():
        page = client.get("/login").get_data(as_text=True)
        token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
        client.post("/login", data={"email": email, "password": "bench-pass-1",
                                    "csrf_token": token})
        engine = db.engine
        statements: list[int] = []
        listener = lambda *args: statements.append(1)  # noqa: E731
        times = []
        for _ in range(repeat):
            statements.clear()
            event.listen(engine, "before_cursor_execute", listener)
            start = time.perf_counter()
            response = client.get(url)
            times.append(time.perf_counter() - start)
            event.remove(engine, "before_cursor_execute", listener)
            assert response.status_code == 200, (url, response.status_code)
        return statistics.median(times), len(statements)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    print(f"School home, 5,000 learners, 20,000 memberships, {SUBMISSIONS:,} submissions "
          f"({WAITING:,} waiting), median of {args.repeat} requests")
    print(f"{'backend':<11} {'groups':>6} {'page':<22} {'statements':>10} {'median ms':>9}")
    with tempfile.TemporaryDirectory() as tmp:
        for backend in args.backends.split(","):
            url = database(backend, Path(tmp))
            app = create_app({"SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": url,
                              "SESSION_COOKIE_SECURE": False})
            account_id = seed_school(app)
            seed_work(app, account_id)
            for size in SIZES:
                grow_groups(app, account_id, size)
                gadmin = group_admin_email(app)
                analyze(app)
                for label, page in PAGES:
                    median, count = measure(app, "p0@large.test", page, args.repeat)
                    print(f"{backend:<11} {size:>6} {label:<22} {count:>10} "
                          f"{median * 1000:>9.1f}", flush=True)
                median, count = measure(app, gadmin, "/admin/", args.repeat)
                print(f"{backend:<11} {size:>6} {'home, Group Admin':<22} {count:>10} "
                      f"{median * 1000:>9.1f}", flush=True)
            with app.app_context():
                db.session.remove()
                db.engine.dispose()


if __name__ == "__main__":
    main()
