"""Benchmark: the Community > Groups tab at the size of a large school.

For 10, 100, 1,000 and 2,000 groups (5 levels deep) with 5,000 learners and 20,000 group
memberships, it serves the tab through the app (test client, no network) and reports the SQL
statements per request and the median time, plus each time as a ratio of the 10-group time
measured in the same run, on SQLite and on PostgreSQL.

    .venv/bin/python bench/groups_tree.py [--repeat 15] [--backends sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine, event, insert, text
from werkzeug.security import generate_password_hash

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mentorgroups import create_app  # noqa: E402
from mentorgroups.extensions import db  # noqa: E402
from mentorgroups.models import (  # noqa: E402
    Account,
    AccountMembership,
    GroupMembership,
    MentorGroup,
    User,
)

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
SIZES = (10, 100, 1000, 2000)
LEARNERS = 5000
MEMBERSHIPS = 20000


def database(backend: str, tmp: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp / 'bench.sqlite3'}"
    engine = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text('DROP DATABASE IF EXISTS "mentorgroups_bench" WITH (FORCE)'))
        conn.execute(text('CREATE DATABASE "mentorgroups_bench"'))
    engine.dispose()
    return PG_ADMIN.rsplit("/", 1)[0] + "/mentorgroups_bench"


def seed_school(app) -> int:
    with app.app_context():
        db.drop_all()
        db.create_all()
        account = Account(name="Large School", slug="large", plan="enterprise")
        db.session.add(account)
        db.session.flush()
        password = generate_password_hash("bench-pass-1")
        db.session.execute(insert(User), [
            {"email": f"p{i}@large.test", "full_name": f"Person {i}", "password_hash": password,
             "active": True} for i in range(LEARNERS + 1)])
        ids = [row[0] for row in db.session.execute(
            text("SELECT id FROM user_account ORDER BY id"))]
        db.session.execute(insert(AccountMembership), [
            {"account_id": account.id, "user_id": uid, "role": "admin" if n == 0 else "member",
             "status": "active"} for n, uid in enumerate(ids)])
        db.session.commit()
        return account.id


def grow_groups(app, account_id: int, target: int) -> None:
    """Add groups (ten roots, then five children each) and memberships up to `target`."""
    rng = random.Random(target)
    with app.app_context():
        existing = [row[0] for row in db.session.execute(
            text("SELECT id FROM mentor_group ORDER BY id"))]
        users = [row[0] for row in db.session.execute(
            text("SELECT id FROM user_account ORDER BY id"))][1:]
        for i in range(len(existing), target):
            parent = existing[i // 5 - 2] if i >= 10 else None
            group = MentorGroup(account_id=account_id, name=f"Group {i}", parent_id=parent)
            db.session.add(group)
            db.session.flush()
            existing.append(group.id)
        db.session.execute(text("DELETE FROM group_membership"))
        per_group = max(MEMBERSHIPS // target, 1)
        rows = []
        for gid in existing:
            for uid in rng.sample(users, per_group):
                rows.append({"group_id": gid, "user_id": uid,
                             "role": rng.choice(["member"] * 8 + ["mentor", "group_admin"])})
        db.session.execute(insert(GroupMembership), rows)
        db.session.commit()


def measure(app, repeat: int) -> tuple[float, int]:
    client = app.test_client()
    with app.app_context():
        page = client.get("/login").get_data(as_text=True)
        token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
        client.post("/login", data={"email": "p0@large.test", "password": "bench-pass-1",
                                    "csrf_token": token})
        statements = []
        with app.app_context():
            engine = db.engine
        listener = lambda *args: statements.append(1)  # noqa: E731
        times = []
        for _ in range(repeat):
            statements.clear()
            event.listen(engine, "before_cursor_execute", listener)
            start = time.perf_counter()
            response = client.get("/admin/community/groups/")
            times.append(time.perf_counter() - start)
            event.remove(engine, "before_cursor_execute", listener)
            assert response.status_code == 200, response.status_code
        return statistics.median(times), len(statements)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    print(f"Groups tab, {LEARNERS:,} learners, {MEMBERSHIPS:,} memberships, "
          f"median of {args.repeat} requests")
    print(f"{'backend':<11} {'groups':>6} {'queries':>7} {'median ms':>9} {'x 10-group time':>15}")
    with tempfile.TemporaryDirectory() as tmp:
        for backend in args.backends.split(","):
            url = database(backend, Path(tmp))
            app = create_app({"SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": url,
                              "SESSION_COOKIE_SECURE": False})
            account_id = seed_school(app)
            baseline = None
            for size in SIZES:
                grow_groups(app, account_id, size)
                median, queries = measure(app, args.repeat)
                baseline = baseline or median
                print(f"{backend:<11} {size:>6} {queries:>7} {median * 1000:>9.1f} "
                      f"{median / baseline:>15.1f}")
            with app.app_context():
                db.session.remove()
                db.engine.dispose()


if __name__ == "__main__":
    main()
