"""The benchmark school, built in PostgreSQL with COPY and reused when present.

A school of 100,000 learners (or a tenth of that), 2,005 groups five levels deep, about
152,000 group memberships (one group of 5,000 members), 2,000,000 step completions and 20,000
submissions (5,000 waiting), 10,000 notifications and 20,000 audit events, plus a second
small school so every query's scoping is real.

    .venv/bin/python bench/dataset.py [--scale 1.0] [--rebuild]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from sqlalchemy import create_engine, text
from werkzeug.security import generate_password_hash

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PASSWORD = "bench-pass-1"
NOW = datetime(2026, 11, 30, 8, 30, tzinfo=UTC)
PATHS, STEPS_PER_PATH = 20, 10
BIG_GROUP_MEMBERS = 5000


# MG_BENCH_DB_PREFIX gives a branch's run a data set of its own (another branch's migrations
# in the shared one would stop this one's upgrade).
DB_PREFIX = os.environ.get("MG_BENCH_DB_PREFIX", "mentorgroups_bench")


def db_name(scale: float) -> str:
    return f"{DB_PREFIX}_{int(scale * 100)}"


def sqlalchemy_url(scale: float) -> str:
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{db_name(scale)}"


def _progress(label: str, done: int, total: int, started: float) -> None:
    width = 30
    filled = int(width * done / max(total, 1))
    sys.stderr.write(f"\r  {label:<22} [{'#' * filled}{'.' * (width - filled)}] "
                     f"{done:>10,}/{total:,} {time.perf_counter() - started:5.1f}s")
    if done >= total:
        sys.stderr.write("\n")
    sys.stderr.flush()


def _copy(conn, table: str, columns: list[str], rows, total: int) -> None:
    started = time.perf_counter()
    with conn.cursor() as cur, cur.copy(
            f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for n, row in enumerate(rows, 1):
            copy.write_row(row)
            if n % 50_000 == 0:
                _progress(table, n, total, started)
    _progress(table, total, total, started)


def exists(scale: float) -> bool:
    try:
        with psycopg.connect(f"postgresql://postgres@127.0.0.1:5432/{db_name(scale)}") as conn:
            return conn.execute("SELECT done FROM bench_marker").fetchone() is not None
    except psycopg.Error:
        return False


def _migrate(scale: float) -> None:
    """Bring the schema to the code's head (new indexes reach a reused data set)."""
    from flask_migrate import upgrade

    from mentorgroups import create_app
    from mentorgroups.extensions import db

    app = create_app({"SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": sqlalchemy_url(scale),
                      "SESSION_COOKIE_SECURE": False})
    with app.app_context():
        upgrade(directory=str(Path(__file__).resolve().parent.parent / "migrations"))
        db.session.remove()
        db.engine.dispose()


def build(scale: float = 1.0, rebuild: bool = False) -> str:
    """The database URL of the benchmark school, building it first if needed, with the
    extras the screens bench needs (added to an older data set without rebuilding it). Two
    benchmarks started at once build it once: the second waits on an advisory lock."""
    with psycopg.connect(PG_ADMIN, autocommit=True) as lock:
        lock.execute("SELECT pg_advisory_lock(hashtext(%s))", (db_name(scale),))
        return _build_or_reuse(scale, rebuild)


def _build_or_reuse(scale: float, rebuild: bool) -> str:
    if exists(scale) and not rebuild:
        _migrate(scale)
        add_extras(scale)
        add_reach_extras(scale)
        return sqlalchemy_url(scale)
    learners = int(100_000 * scale)
    name = db_name(scale)
    print(f"Building {name}: {learners:,} learners (COPY; once, then reused)", file=sys.stderr)
    admin = create_engine(PG_ADMIN.replace("postgresql://", "postgresql+psycopg://"),
                          isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()

    _migrate(scale)

    rng = random.Random(20261130)
    password = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
    staff_n = max(learners // 50, 40)
    with psycopg.connect(f"postgresql://postgres@127.0.0.1:5432/{name}") as conn:
        conn.execute("INSERT INTO account (id, name, slug, plan, time_zone, digest_weekday, "
                     "digest_hour, created_at) VALUES (1, 'Large School', 'large', "
                     "'enterprise', 'Europe/London', 0, 8, %s), (2, 'Small School', 'small', "
                     "'essentials', 'UTC', 0, 8, %s)", (NOW - timedelta(days=400),) * 2)
        # People: 1 admin, staff, learners of the large school; 30 people of the small one.
        total_people = 1 + staff_n + learners + 30
        _copy(conn, "user_account", ["id", "email", "full_name", "password_hash", "active",
                                     "session_version", "created_at"],
              ((i, f"p{i}@large.test" if i <= 1 + staff_n + learners else f"s{i}@small.test",
                f"Person {i:06d}", password, True, 0, NOW - timedelta(days=300))
               for i in range(1, total_people + 1)), total_people)
        staff_ids = list(range(2, 2 + staff_n))
        learner_ids = list(range(2 + staff_n, 2 + staff_n + learners))
        small_ids = list(range(2 + staff_n + learners, total_people + 1))
        staff_set, small_set = set(staff_ids), set(small_ids)
        _copy(conn, "account_membership", ["account_id", "user_id", "role", "status",
                                           "created_at"],
              ((2 if uid in small_set else 1, uid,
                "admin" if uid in (1, small_ids[0]) else "staff" if uid in staff_set
                else "member", "active", NOW - timedelta(days=300 - (uid % 290)))
               for uid in range(1, total_people + 1)), total_people)

        # Paths and steps; one cohort per path (and one path of the small school).
        with conn.cursor() as cur:
            for p in range(1, PATHS + 2):
                cur.execute("INSERT INTO path (id, account_id, title, description, created_at) "
                            "VALUES (%s, %s, %s, '', %s)",
                            (p, 2 if p == PATHS + 1 else 1, f"Path {p:02d}", NOW))
                for s in range(1, STEPS_PER_PATH + 1):
                    cur.execute("INSERT INTO step (id, path_id, position, title, body, "
                                "requires_review, points) VALUES (%s, %s, %s, %s, '', %s, %s)",
                                ((p - 1) * STEPS_PER_PATH + s, p, s, f"Step {s}", s in (5, 8),
                                 10 if s == 8 else None))
                cur.execute("INSERT INTO cohort (id, path_id, name, created_at) VALUES "
                            "(%s, %s, %s, %s)", (p, p, f"Cohort {p}", NOW))
        # Each learner takes two paths.
        takes = {uid: rng.sample(range(1, PATHS + 1), 2) for uid in learner_ids}
        _copy(conn, "cohort_membership", ["cohort_id", "user_id", "role", "created_at"],
              ((pid, uid, "learner", NOW) for uid in learner_ids for pid in takes[uid]),
              2 * learners)
        with conn.cursor() as cur:
            for n, uid in enumerate(staff_ids[:PATHS]):
                cur.execute("INSERT INTO cohort_membership (cohort_id, user_id, role, "
                            "created_at) VALUES (%s, %s, 'teacher', %s)", (n + 1, uid, NOW))

        # 2,000,000 completions: each learner's first steps of both paths, over 60 days.
        def completions():
            for uid in learner_ids:
                for pid in takes[uid]:
                    for s in range(1, STEPS_PER_PATH + 1):
                        at = NOW - timedelta(minutes=rng.randint(0, 60 * 24 * 60))
                        yield ((pid - 1) * STEPS_PER_PATH + s, uid, pid, at)
        _copy(conn, "step_completion", ["step_id", "user_id", "cohort_id", "completed_at"],
              completions(), learners * 2 * STEPS_PER_PATH)

        # 20,000 submissions (5,000 waiting), and reviews of the others.
        n_sub = int(20_000 * scale)
        chosen = rng.sample([(uid, pid) for uid in learner_ids for pid in takes[uid]], n_sub)
        _copy(conn, "submission", ["id", "account_id", "user_id", "step_id", "cohort_id",
                                   "content", "submitted_at", "status"],
              ((i + 1, 1, uid, (pid - 1) * STEPS_PER_PATH + 5, pid,
                "My work: notes, links and a reflection. " * 5,
                NOW - timedelta(minutes=rng.randint(60, 60 * 24 * 30)),
                "pending" if i < n_sub // 4 else "reviewed")
               for i, (uid, pid) in enumerate(chosen)), n_sub)
        _copy(conn, "review", ["submission_id", "reviewer_id", "grade", "feedback",
                               "created_at"],
              ((i + 1, staff_ids[i % len(staff_ids)], None, "Good work.", NOW)
               for i in range(n_sub // 4, n_sub)), n_sub - n_sub // 4)

        # 2,005 groups, five levels: 5, 20, 80, 400, 1,500.
        groups, level, next_id = [], [None], 1
        for width in (5, 4, 4, 5, None):
            new_level = []
            for p_index, parent in enumerate(level):
                count = width if width else (4 if p_index < 300 else 3)
                for _ in range(count):
                    groups.append((next_id, parent))
                    new_level.append(next_id)
                    next_id += 1
            level = new_level
        groups.append((next_id, None))  # the small school's group
        _copy(conn, "mentor_group", ["id", "account_id", "parent_id", "name", "description",
                                     "created_at", "created_by_id"],
              ((gid, 2 if gid == next_id else 1, parent, f"Group {gid:04d}", "",
                NOW - timedelta(days=gid % 300), 1) for gid, parent in groups), len(groups))
        big = 1  # a root group with 5,000 members
        memberships = []
        for uid in learner_ids[:min(BIG_GROUP_MEMBERS, learners)]:
            memberships.append((big, uid, "member"))
        large_groups = [gid for gid, _ in groups[:-1]]
        for uid in learner_ids:
            for gid in rng.sample(large_groups[1:], 1 if rng.random() < 0.5 else 2):
                memberships.append((gid, uid, "member"))
        for n, uid in enumerate(staff_ids):
            gid = large_groups[n % len(large_groups)]
            memberships.append((gid, uid, "group_admin" if n % 5 == 0 else "mentor"))
        for n, uid in enumerate(staff_ids[:20]):
            memberships.append((big, uid, "mentor" if n % 2 else "group_admin"))
        memberships.append((next_id, small_ids[1], "mentor"))
        memberships.extend((next_id, uid, "member") for uid in small_ids[2:])
        seen, unique = set(), []
        for row in memberships:
            if row[:2] not in seen:
                seen.add(row[:2])
                unique.append(row)
        _copy(conn, "group_membership", ["group_id", "user_id", "role", "created_at"],
              ((g, u, r, NOW - timedelta(days=30)) for g, u, r in unique), len(unique))
        _copy(conn, "digest_subscription", ["user_id", "group_id", "subscribed", "updated_at"],
              ((u, g, True, NOW) for g, u, r in unique if r != "member"),
              sum(1 for *_, r in unique if r != "member"))

        for table in ("user_account", "path", "step", "cohort", "submission", "mentor_group"):
            conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                         f"(SELECT max(id) FROM {table}))")
        conn.execute("CREATE TABLE bench_marker (done timestamptz)")
        conn.execute("INSERT INTO bench_marker VALUES (now())")
        conn.execute("ANALYZE")
    add_extras(scale)
    add_reach_extras(scale)
    return sqlalchemy_url(scale)


MENTOR = 3  # mentors the 5,000-member group 1 (and one more group)
NOTIFICATIONS_PER_PERSON = 5000
AUDIT_EVENTS = 20_000


def add_extras(scale: float) -> None:
    """What the screens bench reads beyond the school itself: 5,000 notifications for the
    admin and for the mentor of the big group (a tenth unread), and 20,000 audit events.
    Added once (a marker table says so), also to a data set built before they existed."""
    name = db_name(scale)
    with psycopg.connect(f"postgresql://postgres@127.0.0.1:5432/{name}") as conn:
        if conn.execute("SELECT to_regclass('bench_extras')").fetchone()[0] is not None:
            return
        rng = random.Random(20261201)
        people = conn.execute("SELECT count(*) FROM account_membership WHERE account_id = 1"
                              ).fetchone()[0]
        n = NOTIFICATIONS_PER_PERSON

        def notes():
            for who in (1, MENTOR):
                for i in range(n):
                    at = NOW - timedelta(minutes=i * 7 + rng.randint(0, 6))
                    yield (1, who, f"bench-{who}-{i}", "submission",
                           f"Person {rng.randint(100, 99_999):06d} submitted Step 5 in Path "
                           f"{rng.randint(1, PATHS):02d} for review", f"/review/{i % 5000 + 1}",
                           at, None if i < n // 10 else at + timedelta(hours=1))
        _copy(conn, "notification", ["account_id", "user_id", "key", "kind", "text", "link",
                                     "created_at", "read_at"], notes(), 2 * n)
        actions = ["member.add", "member.role", "member.remove", "group.edit"]

        def events():
            for i in range(AUDIT_EVENTS):
                action = actions[i % len(actions)]
                subject = rng.randint(2, people)
                yield (1, 1, action, i % 2000 + 1, f"Group {i % 2000 + 1:04d}", subject,
                       f"p{subject}@large.test", None if action == "member.add"
                       else '{"role": "member"}', '{"role": "mentor"}'
                       if action != "member.remove" else None,
                       NOW - timedelta(minutes=i * 3))
        _copy(conn, "audit_event", ["account_id", "actor_id", "action", "group_id",
                                    "group_name", "subject_user_id", "subject_email", "before",
                                    "after", "created_at"], events(), AUDIT_EVENTS)
        conn.execute("CREATE TABLE bench_extras (done timestamptz)")
        conn.execute("INSERT INTO bench_extras VALUES (now())")
        conn.execute("ANALYZE notification")
        conn.execute("ANALYZE audit_event")


GROUP_ADMIN_EMAIL = "ga-root@large.test"  # Group Admin of every top-level group
MENTOR_50_EMAIL = "mentor50@large.test"  # mentors 50 groups, digest on for each
TREE_ADMIN_EMAIL = "admin@tree.test"  # the admin of the school of 20,000 groups
TREE_GROUPS = 20_000
MENTOR_50_GROUPS = [106 + 37 * k for k in range(50)]  # groups of the fourth and fifth levels


def add_reach_extras(scale: float) -> None:
    """The people issue 24 measures, added once (a marker table says so): a Group Admin of
    every top-level group of the large school, a mentor of 50 of its groups (digest on), and
    a third school of TREE_GROUPS x scale groups (four levels, ten children a group, two
    members each) with its admin."""
    name = db_name(scale)
    with psycopg.connect(f"postgresql://postgres@127.0.0.1:5432/{name}") as conn:
        if conn.execute("SELECT to_regclass('bench_reach_extras')").fetchone()[0] is not None:
            return
        next_user = conn.execute("SELECT max(id) + 1 FROM user_account").fetchone()[0]
        next_group = conn.execute("SELECT max(id) + 1 FROM mentor_group").fetchone()[0]
        password = conn.execute("SELECT password_hash FROM user_account WHERE id = 1"
                                ).fetchone()[0]
        ga, mentor50, tree_admin = next_user, next_user + 1, next_user + 2
        tree_n = int(TREE_GROUPS * scale)
        tree_people = list(range(next_user + 3, next_user + 3 + max(200, tree_n // 10)))
        people = [(ga, GROUP_ADMIN_EMAIL, "Gail Root-Admin"), (mentor50, MENTOR_50_EMAIL,
                  "Mo Fifty"), (tree_admin, TREE_ADMIN_EMAIL, "Tree Admin")] + [
            (uid, f"t{uid}@tree.test", f"Tree Person {uid:06d}") for uid in tree_people]
        _copy(conn, "user_account", ["id", "email", "full_name", "password_hash", "active",
                                     "session_version", "created_at"],
              ((uid, email, full, password, True, 0, NOW - timedelta(days=200))
               for uid, email, full in people), len(people))
        conn.execute("INSERT INTO account (id, name, slug, plan, time_zone, digest_weekday, "
                     "digest_hour, created_at) VALUES (3, 'Tree School', 'tree', 'enterprise', "
                     "'UTC', 0, 8, %s)", (NOW - timedelta(days=400),))
        _copy(conn, "account_membership", ["account_id", "user_id", "role", "status",
                                           "created_at"],
              ((1 if uid in (ga, mentor50) else 3, uid,
                "admin" if uid == tree_admin else "staff" if uid in (ga, mentor50)
                else "member", "active", NOW - timedelta(days=200)) for uid, *_ in people),
              len(people))
        roots = [g for g, in conn.execute("SELECT id FROM mentor_group WHERE account_id = 1 "
                                          "AND parent_id IS NULL ORDER BY id")]
        staff_rows = [(g, ga, "group_admin") for g in roots] + [
            (g, mentor50, "mentor") for g in MENTOR_50_GROUPS]
        top = max(2, tree_n // 1000)
        tree = [(next_group + i, None if i < top else next_group + (i - top) // 10)
                for i in range(tree_n)]
        _copy(conn, "mentor_group", ["id", "account_id", "parent_id", "name", "description",
                                     "created_at", "created_by_id"],
              ((gid, 3, parent, f"Tree group {gid - next_group + 1:05d}", "",
                NOW - timedelta(days=100), tree_admin) for gid, parent in tree), tree_n)
        tree_rows = [(gid, tree_people[(2 * n + k) % len(tree_people)], "member")
                     for n, (gid, _) in enumerate(tree) for k in range(2)]
        rows = staff_rows + tree_rows
        _copy(conn, "group_membership", ["group_id", "user_id", "role", "created_at"],
              ((g, u, r, NOW - timedelta(days=30)) for g, u, r in rows), len(rows))
        _copy(conn, "digest_subscription", ["user_id", "group_id", "subscribed", "updated_at"],
              ((mentor50, g, True, NOW) for g in MENTOR_50_GROUPS), len(MENTOR_50_GROUPS))
        for table in ("user_account", "mentor_group"):
            conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                         f"(SELECT max(id) FROM {table}))")
        conn.execute("CREATE TABLE bench_reach_extras (done timestamptz)")
        conn.execute("INSERT INTO bench_reach_extras VALUES (now())")
        for table in ("user_account", "account_membership", "mentor_group", "group_membership",
                      "digest_subscription"):
            conn.execute(f"ANALYZE {table}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args()
    print(build(args.scale, args.rebuild))


if __name__ == "__main__":
    main()
