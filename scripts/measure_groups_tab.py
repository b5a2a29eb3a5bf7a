"""Measure the Groups tab's first response (bytes, time, SQL statements) at 2,000 and 20,000
groups on PostgreSQL, for the code of a given checkout (run it once for main, once for a
branch). A measurement printed for the README, not a test: nothing here asserts.

    python scripts/measure_groups_tab.py /work/main         # before
    python scripts/measure_groups_tab.py /work/wt-tree      # after

Each size gets its own database: one top group holding ten groups, five groups nested in
every group (six levels at 2,000), one member per 10 groups; measured for an account admin
and for the Group Admin of the top group. Times are medians of 5 warm requests through
Flask's test client (no network, no gunicorn): what the app itself costs."""

from __future__ import annotations

import os
import statistics
import sys
import time

ROOT = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else ".")
sys.path.insert(0, ROOT)
os.chdir(ROOT)

from sqlalchemy import create_engine, event, insert, text  # noqa: E402

from mentorgroups import create_app  # noqa: E402
from mentorgroups.extensions import db  # noqa: E402
from mentorgroups.models import GroupMembership, MentorGroup  # noqa: E402
from tests.conftest import base_config  # noqa: E402
from tests.factories import make_account, make_member  # noqa: E402

PG = os.environ.get("MG_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
URL = "/admin/community/groups/"
ROUNDS = 5


def fresh_database(name: str) -> str:
    engine = create_engine(PG, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return PG.rsplit("/", 1)[0] + f"/{name}"


def drop_database(name: str) -> None:
    engine = create_engine(PG, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def seed(total: int):
    account = make_account(plan="enterprise", name="Big School")
    make_member(account, "admin", full_name="Ada Admin", email="ada@big.test")
    gina = make_member(account, "staff", full_name="Gina Grant", email="gina@big.test")
    learner = make_member(account, "member", full_name="Lia Learner", email="lia@big.test")
    ids: list[int] = []
    for i in range(total):
        parent = ids[(i - 10) // 5] if i >= 10 else None
        ids.append(db.session.execute(insert(MentorGroup).values(
            account_id=account.id, name=f"Group {i}", parent_id=parent, description="")
            .returning(MentorGroup.id)).scalar_one())
    db.session.execute(insert(GroupMembership), [
        {"group_id": gid, "user_id": learner.id, "role": "member"} for gid in ids[::10]])
    # One group above the ten top-level ones, with Gina its Group Admin: she reaches the
    # whole tree (a Group Admin at the root).
    root = db.session.execute(insert(MentorGroup).values(
        account_id=account.id, name="Whole school", parent_id=None, description="")
        .returning(MentorGroup.id)).scalar_one()
    db.session.execute(text("UPDATE mentor_group SET parent_id = :r WHERE parent_id IS NULL "
                            "AND id <> :r"), {"r": root})
    db.session.add(GroupMembership(group_id=root, user_id=gina.id, role="group_admin"))
    db.session.commit()
    db.session.execute(text("ANALYZE"))
    db.session.commit()


def measure(app, email: str) -> tuple[int, float, int]:
    client = app.test_client()
    html = client.get("/login").get_data(as_text=True)
    import re

    token = re.search(r'name="csrf_token"[^>]* value="([^"]+)"', html).group(1)
    client.post("/login", data={"csrf_token": token, "email": email, "password": "pass-word-1"})
    statements: list[str] = []
    with app.app_context():
        engine = db.engine
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    client.get(URL)  # warm
    times, size = [], 0
    for _ in range(ROUNDS):
        statements.clear()
        event.listen(engine, "before_cursor_execute", listener)
        start = time.perf_counter()
        response = client.get(URL)
        times.append(time.perf_counter() - start)
        event.remove(engine, "before_cursor_execute", listener)
        assert response.status_code == 200, response.status_code
        size = len(response.get_data())
    return size, statistics.median(times), len(statements)


def main() -> None:
    print(f"code: {ROOT}")
    for total in (2_000, 20_000):
        name = f"mg_measure_tree_{total}"
        app = create_app(base_config(fresh_database(name)))
        with app.app_context():
            db.create_all()
            seed(total)
            db.session.remove()
        for who, email in (("account admin", "ada@big.test"), ("Group Admin at the root",
                                                               "gina@big.test")):
            size, seconds, count = measure(app, email)
            print(f"{total:>6,} groups, {who:<24} {size / 1024:8.1f} KB "
                  f"{seconds * 1000:8.1f} ms  {count:3d} statements")
        with app.app_context():
            db.engine.dispose()
        drop_database(name)


if __name__ == "__main__":
    main()
