"""Soak: the production shape under faults, measured from outside.

The Procfile under honcho (gunicorn with 4 workers, two `python worker.py`, the scheduler),
as the README's runbook runs it, with PostgreSQL (a database of its own), a Redis server of
its own and an aiosmtpd server, all on 127.0.0.1.
50 simulated people (5 admins browsing the back office, 10 mentors reviewing, 35 learners
submitting steps for review) use the site for --seconds (60). In the middle Redis is restarted
(empty: no persistence) and the SMTP server answers 451 for 20 s. Afterwards it waits for the
outbox to drain and prints requests, 5xx, latency percentiles and the email tally (expected /
delivered / lost / duplicated, by the stable Message-ID). Exit status 1 on any 5xx, loss,
duplicate, or a process that exited (honcho then stops them all).

    .venv/bin/python bench/soak.py [--seconds 60] [--users 50]
"""

from __future__ import annotations

import argparse
import http.cookiejar
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, select, text  # noqa: E402

PG_ADMIN = os.environ.get("MG_TEST_PG_ADMIN",
                          "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
PASSWORD = "soak-pass-1"
TOKEN = re.compile(r'name="csrf_token"[^>]* value="([^"]+)"')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Smtp:
    """aiosmtpd collecting Message-IDs; refuses every DATA with 451 while `refusing`."""

    def __init__(self):
        from aiosmtpd.controller import Controller

        self.seen: Counter = Counter()
        self.refusing = False
        self.refused = 0
        smtp = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                if smtp.refusing:
                    smtp.refused += 1
                    return "451 Try again later"
                match = re.search(rb"^Message-ID: *(<[^>]+>)", envelope.content,
                                  re.MULTILINE | re.IGNORECASE)
                smtp.seen[match.group(1).decode() if match else "?"] += 1
                return "250 OK"

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=free_port())
        self.controller.start()
        self.port = self.controller.port


class Redis:
    def __init__(self):
        self.port = free_port()
        self.proc = None
        self.start()

    def start(self):
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no"], stdout=subprocess.DEVNULL)
        time.sleep(0.3)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)


class User:
    """One simulated person: a cookie jar, and the latency of every request it made."""

    def __init__(self, base: str, email: str, results: list, lock: threading.Lock):
        self.base, self.email, self.results, self.lock = base, email, results, lock
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def request(self, kind: str, path: str, data: dict | None = None) -> str:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        started = time.perf_counter()
        try:
            with self.opener.open(self.base + path, data=body, timeout=30) as response:
                status, html = response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            status, html = exc.code, ""
        except OSError as exc:
            status, html = 599, str(exc)
        with self.lock:
            self.results.append((kind, status, time.perf_counter() - started))
        return html

    def form(self, kind: str, page: str, action: str, data: dict) -> str:
        match = TOKEN.search(self.request(f"{kind}-page", page))
        if not match:
            return ""
        return self.request(kind, action, {**data, "csrf_token": match.group(1)})

    def sign_in(self) -> None:
        self.form("sign-in", "/login", "/login", {"email": self.email, "password": PASSWORD})


def learner_loop(user: User, steps: list[int], path_id: int, stop: threading.Event):
    user.sign_in()
    for step_id in steps:
        if stop.is_set():
            return
        user.form("submit", f"/paths/{path_id}", f"/steps/{step_id}/submit",
                  {"content": f"work on {step_id}"})
        stop.wait(random.uniform(1.5, 3.5))


def mentor_loop(user: User, stop: threading.Event):
    user.sign_in()
    while not stop.is_set():
        ids = re.findall(r'href="/review/(\d+)', user.request("review-queue", "/review/"))
        if ids:
            sid = random.choice(ids)
            user.form("review", f"/review/{sid}", f"/review/{sid}", {"grade": "",
                                                                      "feedback": "Good work"})
        stop.wait(random.uniform(2, 4))


def admin_loop(user: User, stop: threading.Event):
    user.sign_in()
    pages = ["/admin/", "/admin/people/", "/admin/sent_emails/", "/admin/community/groups/",
             "/healthz"]
    while not stop.is_set():
        user.request("admin", random.choice(pages))
        stop.wait(random.uniform(1, 3))


def seed(database_url: str, learners: int, mentors: int, admins: int, steps: int):
    from flask_migrate import upgrade
    from werkzeug.security import generate_password_hash

    from mentorgroups import create_app
    from mentorgroups.extensions import db
    from mentorgroups.models import (
        Account,
        AccountMembership,
        Cohort,
        CohortMembership,
        Path,
        Step,
        User,
    )

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "soak",
                      "REDIS_URL": None})
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        account = Account(name="Soak School", slug="soak-school", plan="complete")
        db.session.add(account)
        pw = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")

        def person(kind, n, role):
            user = User(email=f"{kind}{n}@soak.test", full_name=f"{kind.title()} {n}",
                        password_hash=pw)
            db.session.add(AccountMembership(account=account, user=user, role=role))
            return user

        admin_users = [person("admin", n, "admin") for n in range(admins)]
        mentor_users = [person("mentor", n, "staff") for n in range(mentors)]
        learner_users = [person("learner", n, "member") for n in range(learners)]
        path = Path(account=account, title="Soak path", steps=[
            Step(position=i + 1, title=f"Step {i + 1}", requires_review=True)
            for i in range(steps)])
        cohort = Cohort(path=path, name="Soak cohort")
        # Two teachers per submission: every submission is two emails.
        for mentor in mentor_users[:2]:
            cohort.memberships.append(CohortMembership(user=mentor, role="teacher"))
        for mentor in mentor_users[2:]:
            cohort.memberships.append(CohortMembership(user=mentor, role="moderator"))
        for learner in learner_users:
            cohort.memberships.append(CohortMembership(user=learner, role="learner"))
        db.session.add(cohort)
        db.session.commit()
        result = ([u.email for u in admin_users], [u.email for u in mentor_users],
                  [u.email for u in learner_users], path.id, [s.id for s in path.steps])
        db.session.remove()
        db.engine.dispose()
    return app, result


def expected_message_ids(app) -> set[str]:
    from mentorgroups.extensions import db
    from mentorgroups.models import Review, Submission
    from mentorgroups.services.mentoring import submission_recipients
    from mentorgroups.services.smtp import stable_message_id

    ids = set()
    with app.app_context():
        for submission in db.session.scalars(select(Submission)):
            for reviewer in submission_recipients(submission):
                ids.add(stable_message_id(
                    f"submission:{submission.id}:reviewer:{reviewer.id}"))
        for review in db.session.scalars(select(Review)):
            ids.add(stable_message_id(f"review:{review.id}:learner"))
        db.session.remove()
    return ids


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(len(ordered) * p), len(ordered) - 1)] * 1000


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--drain-timeout", type=int, default=300)
    args = parser.parse_args(argv)
    admins, mentors = 5, 10
    learners = args.users - admins - mentors
    dbname = f"mentorgroups_soak_{os.getpid()}"
    admin_engine = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin_engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{dbname}"'))
    database_url = PG_ADMIN.rsplit("/", 1)[0] + f"/{dbname}"
    redis, smtp = Redis(), Smtp()
    procs: list[tuple[str, list[str], subprocess.Popen]] = []
    logs = ROOT / "test-artifacts" / "soak"
    logs.mkdir(parents=True, exist_ok=True)
    try:
        app, (admin_emails, mentor_emails, learner_emails, path_id, steps) = seed(
            database_url, learners, mentors, admins, steps=40)
        web_port = free_port()
        env = {**os.environ, "DATABASE_URL": database_url,
               "REDIS_URL": f"redis://127.0.0.1:{redis.port}/0", "SECRET_KEY": "soak-secret",
               "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(smtp.port),
               "SESSION_COOKIE_SECURE": "false", "LOGIN_RATE_LIMIT": "100000/minute",
               "JOB_RETRY_BASE_SECONDS": "2", "JOB_RETRY_MAX_SECONDS": "10",
               "OUTBOX_SWEEP_SECONDS": "2", "OUTBOX_STALE_SECONDS": "30", "MAIL_TIMEOUT": "5"}
        env.pop("MENTORGROUPS_DEV", None)
        # The production shape as the README runs it: the Procfile under honcho, with two
        # workers. Nothing restarts a process here: honcho stops everything when one exits,
        # and the soak reports that as a failure.
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
        env["WEB_CONCURRENCY"] = "4"
        out = open(logs / "honcho.log", "ab")
        honcho = subprocess.Popen(
            [sys.executable, "-m", "honcho", "--no-colour", "-f", str(ROOT / "Procfile"),
             "-d", str(ROOT), "start", "-p", str(web_port), "-c", "worker=2"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        procs.append(("honcho", honcho.args, honcho))
        base = f"http://127.0.0.1:{web_port}"
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/healthz", timeout=2)
                break
            except OSError:
                time.sleep(0.2)

        results: list = []
        lock = threading.Lock()
        stop = threading.Event()
        threads = []
        for email in learner_emails:
            threads.append(threading.Thread(target=learner_loop, args=(
                User(base, email, results, lock), random.sample(steps, len(steps)), path_id,
                stop)))
        for email in mentor_emails:
            threads.append(threading.Thread(target=mentor_loop,
                                            args=(User(base, email, results, lock), stop)))
        for email in admin_emails:
            threads.append(threading.Thread(target=admin_loop,
                                            args=(User(base, email, results, lock), stop)))
        started = time.monotonic()
        for thread in threads:
            thread.start()
        third = args.seconds / 3
        time.sleep(third)
        print(f"[{time.monotonic() - started:5.1f} s] restarting Redis (empty)", flush=True)
        redis.stop()
        time.sleep(3)
        redis.start()
        time.sleep(max(third - 13, 1))
        print(f"[{time.monotonic() - started:5.1f} s] SMTP answers 451 for 20 s", flush=True)
        smtp.refusing = True
        time.sleep(20)
        smtp.refusing = False
        print(f"[{time.monotonic() - started:5.1f} s] SMTP healthy", flush=True)
        time.sleep(max(args.seconds - (time.monotonic() - started), 0))
        stop.set()
        for thread in threads:
            thread.join(60)
        load_seconds = time.monotonic() - started
        expected = expected_message_ids(app)
        drain_started = time.monotonic()
        while time.monotonic() - drain_started < args.drain_timeout:
            if expected <= set(smtp.seen):
                break
            time.sleep(1)
        drained = time.monotonic() - drain_started
        time.sleep(5)  # a duplicate would arrive now
        exited = honcho.poll()

        latencies = [seconds for _kind, _status, seconds in results]
        statuses = Counter(status for _kind, status, _seconds in results)
        errors = sum(n for status, n in statuses.items() if status >= 500)
        kinds = Counter(kind for kind, _status, _seconds in results)
        lost = len(expected - set(smtp.seen))
        duplicated = sum(n - 1 for n in smtp.seen.values() if n > 1)
        print(f"\nload: {args.users} users for {load_seconds:.0f} s, {len(results)} requests "
              f"({len(results) / load_seconds:.1f}/s): " +
              ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())))
        print("status codes: " + ", ".join(f"{s}: {n}" for s, n in sorted(statuses.items())))
        print(f"5xx: {errors}")
        print("latency ms: " + ", ".join(
            f"p{int(p * 100)} {percentile(latencies, p):.0f}" for p in (0.5, 0.9, 0.95, 0.99))
              + f", max {max(latencies) * 1000:.0f}, mean {statistics.mean(latencies) * 1000:.0f}")
        print(f"emails: expected {len(expected)}, delivered {len(expected & set(smtp.seen))}, "
              f"lost {lost}, duplicated {duplicated}; SMTP refused {smtp.refused} tries; "
              f"outbox drained {drained:.0f} s after the load stopped")
        print("processes: " + ("all ran to the end (nothing restarted)" if exited is None else
                               f"honcho exited with {exited}: see {logs / 'honcho.log'}"))
        return 1 if errors or lost or duplicated or exited is not None else 0
    finally:
        for _name, _cmd, proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for _name, _cmd, proc in procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        redis.stop()
        smtp.controller.stop()
        with admin_engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)'))
        admin_engine.dispose()


if __name__ == "__main__":
    raise SystemExit(main())
