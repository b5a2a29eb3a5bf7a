"""Benchmark: every screen a person uses, at a school of 100,000 learners, against its floor
and against a stock Flask-Admin list of the same rows.

The app (bench/serve.py) and the stock lists (bench/stock_app.py) are each served by gunicorn
with one worker on 127.0.0.1; each screen is requested over HTTP by the person who uses it
(signed in once). Every round visits every screen: the app, its floor (bench/floors.py: the
hand-written SQL for the same content, on a psycopg connection of this process) and the stock
list, interleaved. Medians over --rounds. Then every screen again at a tenth of the school
(same way), to show growth: the README's "x from a tenth" column. Writes bench/results.json
and regenerates the README's table (bench/readme_table.py). bench/concurrency.py adds the
concurrent people.

    .venv/bin/python bench/screens.py [--rounds 15] [--scales 1,0.1]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from http.cookiejar import CookieJar
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import floors  # noqa: E402
from bench.dataset import (  # noqa: E402
    GROUP_ADMIN_EMAIL,
    MENTOR,
    MENTOR_50_EMAIL,
    MENTOR_50_GROUPS,
    PASSWORD,
    TREE_ADMIN_EMAIL,
    build,
)

RESULTS = ROOT / "bench" / "results.json"
IDS = {"school": 1, "admin": 1, "mentor": MENTOR, "big_group": 1, "learner": None,
       "m50_group": MENTOR_50_GROUPS[0], "tree_school": 3}
# The people of issue 24's cases, found by address (their ids depend on the data set).
EMAILS = {"group_admin": GROUP_ADMIN_EMAIL, "mentor50": MENTOR_50_EMAIL,
          "tree_admin": TREE_ADMIN_EMAIL}


@dataclass(frozen=True)
class Screen:
    name: str
    who: str  # "admin", "mentor", "learner" or one of EMAILS
    url: str
    floor: object
    stock: str | None = None  # the stock app's list of the same rows
    # Ids the floor reads under another name: (("mentor", "mentor50"),) gives the floor the
    # mentor of 50 groups as ids["mentor"].
    as_ids: tuple = ()


SCREENS = [
    Screen("members screen, 5,000-member group", "admin", "/admin/community/groups/1/",
           floors.members_screen, "/admin/members/"),
    Screen("mentor's group page, 5,000 members", "mentor", "/people/groups/1",
           floors.group_page, "/admin/members/"),
    Screen("review queue, 5,000 waiting", "admin", "/review/", floors.review_queue_admin,
           "/admin/submissions/"),
    Screen("review queue of a mentor", "mentor", "/review/", floors.review_queue_mentor,
           "/admin/mentor_queue/"),
    Screen("learner profile card", "mentor", "/people/{learner}", floors.profile_card),
    Screen("profile card, Activity", "mentor", "/people/{learner}?tab=activity",
           floors.profile_activity, "/admin/completions/"),
    Screen("Groups tab, 2,005 groups", "admin", "/admin/community/groups/", floors.groups_tab,
           "/admin/groups/"),
    Screen("People (back office)", "admin", "/admin/people/", floors.people, "/admin/people/"),
    Screen("/people/groups", "mentor", "/people/groups", floors.mentor_home),
    Screen("notifications", "mentor", "/notifications", floors.notifications,
           "/admin/notifications/"),
    Screen("/paths", "learner", "/paths", floors.learner_paths),
    Screen("audit log", "admin", "/admin/community/audit/", floors.audit_log, "/admin/audit/"),
    Screen("review queue, Group Admin at the root", "group_admin", "/review/",
           floors.review_queue_group_admin),
    Screen("/people/groups, Group Admin at the root", "group_admin", "/people/groups",
           floors.groups_of_group_admin),
    Screen("/people/groups, mentor of 50 groups", "mentor50", "/people/groups",
           floors.mentor_home, as_ids=(("mentor", "mentor50"),)),
    Screen("review queue, mentor of 50 groups", "mentor50", "/review/",
           floors.review_queue_mentor, as_ids=(("mentor", "mentor50"),)),
    Screen("a group page of the mentor of 50 groups", "mentor50", "/people/groups/{m50_group}",
           floors.group_page, as_ids=(("mentor", "mentor50"), ("big_group", "m50_group"))),
    Screen("Preview my digest, mentor of 50 groups", "mentor50", "/people/digest",
           floors.digest_preview, as_ids=(("mentor", "mentor50"),)),
    Screen("Groups tab, 20,000 groups (2,000 at a tenth)", "tree_admin",
           "/admin/community/groups/", floors.groups_tab, as_ids=(("school", "tree_school"),)),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Served:
    """gunicorn, one worker, on 127.0.0.1, for one WSGI module and database."""

    def __init__(self, module: str, db_url: str):
        self.port = free_port()
        env = {**os.environ, "MG_BENCH_DB": db_url, "PYTHONPATH": str(ROOT)}
        env.pop("REDIS_URL", None)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--workers", "1", "--bind",
             f"127.0.0.1:{self.port}", "--timeout", "120", "--log-level", "warning", module],
            cwd=ROOT, env=env)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"{module} did not start")

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def worker_peak_rss_mb(self) -> float:
        """VmHWM of the worker process (the master's only child)."""
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split()
        peak = 0.0
        for pid in children:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]) / 1024)
        return peak

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class Browser:
    """A person's cookie jar; every GET is a new connection (gunicorn's sync worker closes
    each one), for the app and the stock lists alike."""

    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))

    def get(self, path: str) -> tuple[bytes, int]:
        with self.opener.open(self.base + path, timeout=120) as response:
            body = response.read()
            if response.status != 200:
                raise RuntimeError(f"{path}: {response.status}")
            return body, int(response.headers.get("X-Bench-Statements", "0"))

    def sign_in(self, email: str) -> None:
        html = self.get("/login")[0].decode()
        token = re.search(r'name="csrf_token"[^>]* value="([^"]+)"', html).group(1)
        data = urllib.parse.urlencode({"csrf_token": token, "email": email,
                                       "password": PASSWORD}).encode()
        with self.opener.open(self.base + "/login", data=data, timeout=60) as response:
            if "/login" in response.url:
                raise RuntimeError(f"could not sign in as {email}")


def timed(fn) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn()
    return (time.perf_counter() - start) * 1000, result


def people_of(db_url: str) -> dict[str, int]:
    """Ids of the people of EMAILS in this data set."""
    with psycopg.connect(db_url.replace("+psycopg", "")) as conn:
        return {who: conn.execute("SELECT id FROM user_account WHERE email = %s",
                                  (email,)).fetchone()[0] for who, email in EMAILS.items()}


def floor_ids(screen: Screen, ids: dict) -> dict:
    return {**ids, **{name: ids[source] for name, source in screen.as_ids}}


def learner_of(db_url: str) -> int:
    """The first member of the big group: a learner the mentor follows."""
    with psycopg.connect(db_url.replace("+psycopg", "")) as conn:
        return conn.execute("SELECT min(user_id) FROM group_membership WHERE group_id = 1 "
                            "AND role = 'member'").fetchone()[0]


def measure(scale: float, screens: list[Screen], rounds: int) -> tuple[list[dict], float,
                                                                       float]:
    db_url = build(scale)
    ids = {**IDS, "learner": learner_of(db_url), **people_of(db_url)}
    app, stock = Served("bench.serve:app", db_url), Served("bench.stock_app:app", db_url)
    try:
        people = {}
        for who, uid in (("admin", ids["admin"]), ("mentor", ids["mentor"]),
                         ("learner", ids["learner"])):
            people[who] = Browser(app.base)
            people[who].sign_in(f"p{uid}@large.test")
        for who, email in EMAILS.items():
            people[who] = Browser(app.base)
            people[who].sign_in(email)
        stock_browser = Browser(stock.base)
        # The floor's SQL runs as the app's does: without JIT (see DATABASE_JIT).
        conn = psycopg.connect(db_url.replace("+psycopg", ""), autocommit=True,
                               options="-c jit=off")
        times = {s.name: {"app": [], "floor": [], "stock": []} for s in screens}
        # The fixed cost of one HTTP request to the worker (a static file: no session, no
        # SQL), which no floor includes: on small pages it is most of the app's time.
        static, http = "/admin/static/admin/js/actions.js", []
        seen = {}
        for _ in range(2):  # warm up every path (imports, caches, plans), then record
            for screen in screens:
                seen[screen.name] = people[screen.who].get(screen.url.format(**ids))
                if screen.stock:
                    stock_browser.get(screen.stock)
        for n in range(rounds):
            order = screens[n % len(screens):] + screens[:n % len(screens)]
            for screen in order:
                url = screen.url.format(**ids)
                ms, _ = timed(lambda: people[screen.who].get(url))  # noqa: B023
                times[screen.name]["app"].append(ms)
                with conn.cursor() as cur:
                    ms, _ = timed(lambda: screen.floor(cur, floor_ids(screen, ids)))  # noqa: B023
                times[screen.name]["floor"].append(ms)
                if screen.stock:
                    ms, _ = timed(lambda: stock_browser.get(screen.stock))  # noqa: B023
                    times[screen.name]["stock"].append(ms)
            ms, _ = timed(lambda: people["admin"].get(static))
            http.append(ms)
            sys.stderr.write(f"\r  scale {scale}: round {n + 1}/{rounds}")
            sys.stderr.flush()
        sys.stderr.write("\n")
        rss = app.worker_peak_rss_mb()
        conn.close()
    finally:
        app.stop()
        stock.stop()
    rows = []
    for screen in screens:
        t = times[screen.name]
        app_ms, floor_ms = statistics.median(t["app"]), statistics.median(t["floor"])
        stock_ms = statistics.median(t["stock"]) if t["stock"] else None
        body, statements = seen[screen.name]
        rows.append({
            "screen": screen.name, "scale": scale, "learners": int(100_000 * scale),
            "app_ms": round(app_ms, 1), "floor_ms": round(floor_ms, 1),
            "app_over_floor": round(app_ms / floor_ms, 2),
            "stock_ms": round(stock_ms, 1) if stock_ms is not None else None,
            "app_over_stock": round(app_ms / stock_ms, 2) if stock_ms else None,
            "statements": statements, "html_bytes": len(body),
        })
    return rows, rss, statistics.median(http)


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    load = os.getloadavg()[0]
    return (f"{os.cpu_count()} cores ({cpu}), {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}, load average {load:.1f} at the end")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--scales", default="1,0.1")
    args = parser.parse_args()
    scales = [float(s) for s in args.scales.split(",")]
    results, peaks, http = [], {}, {}
    for scale in scales:
        rows, peaks[scale], http[scale] = measure(scale, SCREENS, args.rounds)
        results.extend(rows)
    header = (f"{'screen':<38} {'learners':>8} {'SQL':>4} {'HTML KB':>8} {'app ms':>8} "
              f"{'floor ms':>8} {'app/floor':>9} {'stock ms':>8} {'app/stock':>9}")
    print(header)
    for r in results:
        stock = f"{r['stock_ms']:>8.0f} {r['app_over_stock']:>9.2f}" if r["stock_ms"] else \
            f"{'':>8} {'':>9}"
        print(f"{r['screen']:<38} {r['learners']:>8,} {r['statements']:>4} "
              f"{r['html_bytes'] / 1024:>8.0f} {r['app_ms']:>8.0f} {r['floor_ms']:>8.1f} "
              f"{r['app_over_floor']:>9.2f} {stock}")
    print(f"one HTTP request for a static file (no session, no SQL): {http[scales[0]]:.1f} ms")
    for scale, mb in peaks.items():
        print(f"peak gunicorn worker RSS after every screen, {int(100_000 * scale):,} learners: "
              f"{mb:.0f} MB")
    old = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    kept = {key: old[key] for key in ("concurrency", "saturation") if key in old}
    RESULTS.write_text(json.dumps({
        "date": datetime.now(UTC).strftime("%Y-%m-%d"), "machine": machine(),
        "rounds": args.rounds,
        "peak_worker_rss_mb": {str(int(100_000 * s)): round(mb) for s, mb in peaks.items()},
        "http_static_ms": round(http[scales[0]], 1),
        "screens": results, **kept}, indent=2) + "\n")
    from bench.readme_table import write_readme

    write_readme()


if __name__ == "__main__":
    main()
