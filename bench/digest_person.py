"""Benchmark: "Preview my digest" for a mentor of 50 groups, two versions of the app side by
side, against the hand-written SQL for the same content (the floor).

The benchmark school (bench/dataset.py, built once in a database of its own so other
benchmarks are not disturbed) gets a mentor of 50 groups with the digest on for each. Each
version of the code (`--code DIR`, e.g. /work/main for before and this checkout for after)
is served by gunicorn with one worker; every round requests the preview from each version
and runs the floor, interleaved. Medians over --rounds; the page's bytes and statements; the
worker's peak resident memory (VmHWM) after signing in and opening the groups page, and after
the rounds. Then, per version, what the weekly send builds for every person of the school
(`digests.dry_run`) in a process of its own: time and peak memory. Writes
bench/results-digest-person.json.

    .venv/bin/python bench/digest_person.py [--scale 0.2] [--rounds 9]
        [--code before=/work/main --code after=.]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import dataset  # noqa: E402
from bench.screens import Browser, Served, timed  # noqa: E402

RESULTS = ROOT / "bench" / "results-digest-person.json"
EMAIL = "digest50@large.test"
GROUPS = 50
SCHOOL = 1


def _own_database() -> None:
    """This benchmark adds a person to the school: it builds and uses a database of its own."""
    dataset.db_name = lambda scale: f"mentorgroups_digestbench_{int(scale * 100)}"


def mentor_of_50(url: str) -> tuple[int, list[int]]:
    """The mentor (added once): Mentor of 50 groups spread over the lowest level, the
    digest on for each. Returns their id and groups."""
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        found = conn.execute("SELECT id FROM user_account WHERE email = %s", (EMAIL,)).fetchone()
        if found is None:
            uid = conn.execute(
                "INSERT INTO user_account (email, full_name, password_hash, active, "
                "session_version, created_at) SELECT %s, 'Fifty Groups', password_hash, true, "
                "0, created_at FROM user_account WHERE id = 1 RETURNING id", (EMAIL,)
            ).fetchone()[0]
            conn.execute("INSERT INTO account_membership (account_id, user_id, role, status, "
                         "created_at) VALUES (%s, %s, 'staff', 'active', now())", (SCHOOL, uid))
            leaves = [g for g, in conn.execute(
                "SELECT g.id FROM mentor_group g WHERE g.account_id = %s AND NOT EXISTS "
                "(SELECT 1 FROM mentor_group c WHERE c.parent_id = g.id) ORDER BY g.id",
                (SCHOOL,))]
            chosen = leaves[::max(len(leaves) // GROUPS, 1)][:GROUPS]
            for gid in chosen:
                conn.execute("INSERT INTO group_membership (group_id, user_id, role, "
                             "created_at) VALUES (%s, %s, 'mentor', now())", (gid, uid))
                conn.execute("INSERT INTO digest_subscription (user_id, group_id, subscribed, "
                             "updated_at) VALUES (%s, %s, true, now())", (uid, gid))
            conn.execute("ANALYZE")
        else:
            uid = found[0]
        groups = [g for g, in conn.execute(
            "SELECT group_id FROM group_membership WHERE user_id = %s AND role = 'mentor' "
            "ORDER BY group_id", (uid,))]
    return uid, groups


def floor(cur, mentor: int, now: datetime) -> None:
    """The preview's content in hand-written SQL: the mentor's groups, their members, each
    member's steps by path (all, last week, last one), their waiting work, and the waits of
    the reviews of the last four weeks."""
    mine = ("SELECT gm.group_id FROM group_membership gm JOIN digest_subscription d ON "
            "d.group_id = gm.group_id AND d.user_id = gm.user_id AND d.subscribed "
            "WHERE gm.user_id = %(m)s AND gm.role = 'mentor'")
    members = (f"SELECT gm.user_id FROM group_membership gm WHERE gm.role = 'member' AND "
               f"gm.group_id IN ({mine})")
    args = {"m": mentor, "s": SCHOOL, "start": now - timedelta(days=7), "now": now,
            "window": now - timedelta(days=28)}
    for sql in (
        f"SELECT g.id, g.name FROM mentor_group g WHERE g.id IN ({mine})",
        f"SELECT gm.group_id, gm.user_id, u.full_name, gm.created_at FROM group_membership gm "
        f"JOIN user_account u ON u.id = gm.user_id JOIN account_membership am ON "
        f"am.user_id = u.id AND am.account_id = %(s)s AND am.status = 'active' "
        f"WHERE gm.role = 'member' AND gm.group_id IN ({mine})",
        f"SELECT c.user_id, p.title, count(*), sum(CASE WHEN c.completed_at >= %(start)s "
        f"THEN 1 ELSE 0 END), max(c.completed_at) FROM step_completion c JOIN step s ON "
        f"s.id = c.step_id JOIN path p ON p.id = s.path_id WHERE p.account_id = %(s)s AND "
        f"c.completed_at < %(now)s AND c.user_id IN ({members}) GROUP BY c.user_id, p.id",
        "SELECT p.id, count(*) FROM step s JOIN path p ON p.id = s.path_id "
        "WHERE p.account_id = %(s)s GROUP BY p.id",
        f"SELECT s.id, s.user_id, s.submitted_at, st.title, p.title FROM submission s JOIN "
        f"step st ON st.id = s.step_id JOIN path p ON p.id = st.path_id WHERE "
        f"s.account_id = %(s)s AND s.status = 'pending' AND s.user_id IN ({members}) "
        f"ORDER BY s.submitted_at, s.id",
        f"SELECT extract(epoch FROM r.created_at - s.submitted_at) FROM review r JOIN "
        f"submission s ON s.id = r.submission_id WHERE s.account_id = %(s)s AND "
        f"r.created_at > %(window)s AND r.created_at <= %(now)s AND s.user_id IN ({members})",
    ):
        cur.execute(sql, args)
        cur.fetchall()


def serve_from(code: Path, db_url: str) -> Served:
    """Served() runs from this checkout; this one from `code`."""
    port_env = {**os.environ, "MG_BENCH_DB": db_url, "PYTHONPATH": str(code)}
    port_env.pop("REDIS_URL", None)
    served = Served.__new__(Served)
    from bench.screens import free_port

    served.port = free_port()
    served.proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", "1", "--bind",
         f"127.0.0.1:{served.port}", "--timeout", "300", "--log-level", "warning",
         "bench.serve:app"], cwd=code, env=port_env)
    import socket

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", served.port), timeout=1):
                return served
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"the app from {code} did not start")


WEEKLY = """
import json, resource, statistics, sys, time
from mentorgroups import create_app
from mentorgroups.extensions import db
from mentorgroups.models import Account
from mentorgroups.services import digests
from mentorgroups.services.digest_weeks import latest_due_week
from bench.dataset import NOW
app = create_app({"SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": sys.argv[1],
                  "SESSION_COOKIE_SECURE": False})
with app.app_context():
    account = db.session.get(Account, 1)
    week = latest_due_week(account, NOW)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    times = []
    for _ in range(int(sys.argv[2])):
        db.session.expire_all()
        start = time.perf_counter()
        result = digests.dry_run(account, week, NOW)
        times.append((time.perf_counter() - start) * 1000)
    print(json.dumps({"ms": round(statistics.median(times), 1), "result": result,
                      "rss_mb_before": round(before, 1),
                      "peak_rss_mb": round(resource.getrusage(
                          resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}))
"""


def weekly(code: Path, url: str, rounds: int) -> dict:
    """What the weekly send builds for every person of the school (`digests.dry_run`: every
    digest, nothing staged), in a process of its own running `code`: median time and the
    process's peak memory."""
    env = {**os.environ, "PYTHONPATH": str(code)}
    env.pop("REDIS_URL", None)
    out = subprocess.run([sys.executable, "-c", WEEKLY, url, str(rounds)], cwd=code, env=env,
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def measure(scale: float, rounds: int, codes: dict[str, Path]) -> dict:
    _own_database()
    url = dataset.build(scale)
    mentor, groups = mentor_of_50(url)
    raw_url = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(raw_url) as conn:
        members = conn.execute(
            "SELECT count(DISTINCT user_id), count(*) FROM group_membership WHERE role = "
            "'member' AND group_id = ANY(%s)", (groups,)).fetchone()
        learners = conn.execute("SELECT count(*) FROM account_membership WHERE account_id = 1 "
                                "AND role = 'member'").fetchone()[0]
        completions = conn.execute("SELECT count(*) FROM step_completion").fetchone()[0]
        group_count = conn.execute("SELECT count(*) FROM mentor_group WHERE account_id = 1"
                                   ).fetchone()[0]
    servers = {name: serve_from(code, url) for name, code in codes.items()}
    try:
        people, rss_before = {}, {}
        for name, served in servers.items():
            person = Browser(served.base)
            person.sign_in(EMAIL)
            person.get("/people/groups")
            people[name] = person
            rss_before[name] = served.worker_peak_rss_mb()
        times = {name: [] for name in [*servers, "floor"]}
        sizes, statements = {}, {}
        with psycopg.connect(raw_url) as conn:
            for _ in range(rounds):
                for name, person in people.items():
                    ms, (body, count) = timed(lambda p=person: p.get("/people/digest"))
                    times[name].append(ms)
                    sizes[name], statements[name] = len(body), count
                with conn.cursor() as cur:
                    ms, _ = timed(lambda c=cur: floor(c, mentor, datetime.now(UTC)))
                times["floor"].append(ms)
        rss_after = {name: served.worker_peak_rss_mb() for name, served in servers.items()}
    finally:
        for served in servers.values():
            served.stop()
    floor_ms = statistics.median(times["floor"])
    # Interleaved too: one build per process, the versions taking turns.
    runs = {name: [] for name in codes}
    for _ in range(max(rounds // 3, 1)):
        for name, code in codes.items():
            runs[name].append(weekly(code, url, 1))
    weeks = {name: {"ms": round(statistics.median(r["ms"] for r in found), 1),
                    "result": found[0]["result"],
                    "rss_mb_before": round(statistics.median(r["rss_mb_before"] for r in found), 1),
                    "peak_rss_mb": round(max(r["peak_rss_mb"] for r in found), 1),
                    "runs": len(found)} for name, found in runs.items()}
    return {
        "scale": scale, "learners": learners, "groups": group_count,
        "completions": completions, "mentor_groups": len(groups),
        "mentor_members": members[0], "mentor_memberships": members[1], "rounds": rounds,
        "floor_ms": round(floor_ms, 1),
        "versions": {name: {
            "code": str(codes[name]), "ms": round(statistics.median(times[name]), 1),
            "over_floor": round(statistics.median(times[name]) / floor_ms, 2),
            "html_bytes": sizes[name], "statements": statements[name],
            "worker_rss_mb_before": round(rss_before[name], 1),
            "worker_peak_rss_mb": round(rss_after[name], 1),
            "weekly_every_digest": weeks[name]} for name in servers},
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=0.2)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--code", action="append", default=[],
                        help="NAME=DIR: a version of the app to serve (repeat)")
    args = parser.parse_args()
    codes = dict(item.split("=", 1) for item in args.code) or {"app": str(ROOT)}
    result = measure(args.scale, args.rounds,
                     {name: Path(code).resolve() for name, code in codes.items()})
    print(f"{result['learners']:,} learners, {result['groups']:,} groups, "
          f"{result['completions']:,} completions; mentor of {result['mentor_groups']} groups, "
          f"{result['mentor_members']:,} members; floor {result['floor_ms']:.0f} ms")
    print(f"{'version':>8} {'ms':>7} {'/floor':>7} {'HTML KB':>8} {'SQL':>4} "
          f"{'RSS MB before':>13} {'peak':>6}")
    for name, row in result["versions"].items():
        print(f"{name:>8} {row['ms']:>7.0f} {row['over_floor']:>7.2f} "
              f"{row['html_bytes'] / 1024:>8.0f} {row['statements']:>4} "
              f"{row['worker_rss_mb_before']:>13.0f} {row['worker_peak_rss_mb']:>6.0f}")
    for name, row in result["versions"].items():
        week = row["weekly_every_digest"]
        print(f"{name:>8} weekly send, every digest of the school built: {week['ms']:.0f} ms, "
              f"{week['result']}, process peak {week['peak_rss_mb']:.0f} MB "
              f"(from {week['rss_mb_before']:.0f})")
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
