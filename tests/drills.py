"""Shared parts of the delivery fault drills: a school that makes many emails, real worker and
scheduler processes, and the tally every drill prints (expected / delivered / lost /
duplicated, counted by the stable Message-ID each email keeps across resends)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

from sqlalchemy import func, select

from mentorgroups.extensions import db
from mentorgroups.models import Notification, Submission
from mentorgroups.services.mentoring import submission_recipients
from mentorgroups.services.smtp import stable_message_id
from tests.factories import make_account, make_cohort, make_member, make_path

ROOT = Path(__file__).resolve().parent.parent
LOG_DIR = ROOT / "test-artifacts" / "drills"  # each process's output, for a failing drill
LOG_DIR.mkdir(parents=True, exist_ok=True)

# Short intervals so a drill takes seconds: a send may take 6 s, its claim lasts 11 s, a
# worker holds a job 12 s, retries back off 1 s then 2 s, the sweep runs every second.
# Queues of this test process's own: a worker left running by a killed earlier run (its own
# session, so it outlives pytest) listens on its own prefix and never takes these jobs.
FAST = {"MAIL_TIMEOUT": 1, "JOB_LEASE_SECONDS": 12, "JOB_RETRY_BASE_SECONDS": 1,
        "JOB_RETRY_MAX_SECONDS": 2, "OUTBOX_SWEEP_SECONDS": 1, "OUTBOX_STALE_SECONDS": 5,
        "RQ_QUEUE_PREFIX": f"drill{os.getpid()}-"}


def drill_school(learners: int = 2, steps: int = 5, teachers: int = 2):
    account = make_account(name="Drill School", plan="complete")
    staff = [make_member(account, "staff", full_name=f"Teacher {i}") for i in range(teachers)]
    people = [make_member(account, "member", full_name=f"Learner {i}") for i in range(learners)]
    path = make_path(account, steps=steps, review_at=tuple(range(1, steps + 1)))
    make_cohort(path, teachers=staff, learners=people)
    db.session.commit()
    return account, staff, people, path


def expected_message_ids() -> set[str]:
    ids = set()
    for submission in db.session.scalars(select(Submission)):
        for reviewer in submission_recipients(submission):
            ids.add(stable_message_id(f"submission:{submission.id}:reviewer:{reviewer.id}"))
    return ids


def notification_count() -> int:
    db.session.rollback()  # a new snapshot (SQLite keeps the old one)
    return db.session.scalar(select(func.count()).select_from(Notification))


def tally(name: str, expected: set[str], messages: list[dict]) -> dict:
    seen = Counter(str(m["message"]["Message-ID"]) for m in messages)
    result = {"expected": len(expected), "delivered": len(expected & set(seen)),
              "lost": len(expected - set(seen)),
              "duplicated": sum(n - 1 for n in seen.values() if n > 1),
              "unexpected": len(set(seen) - expected)}
    print(f"\n[{name}] " + " ".join(f"{k}={v}" for k, v in result.items()))
    return result


# How long a drill waits for what its processes will do. A drill never fails for being slow,
# only for waiting past a deadline derived from the intervals above plus STARTUP, the time a
# worker or scheduler process may take to import the app on a busy 2-core machine (seen: 3 s
# idle, 20 s with two CPU-bound processes beside the suite).
STARTUP = 60
# One full retry cycle with FAST: a send's claim, a back-off, a sweep.
CYCLE = FAST["MAIL_TIMEOUT"] * 6 + 5 + FAST["JOB_RETRY_MAX_SECONDS"] + FAST["OUTBOX_SWEEP_SECONDS"]
# What one job may take on a loaded machine: RQ forks a process per job (0.2 s idle; seen
# 1 to 2 s with load average 18 on the 2-core machine).
JOB = 3


def patience(*intervals: float, jobs: int = 0) -> float:
    """A deadline for something the processes do within `intervals` on an idle machine, plus
    JOB seconds for each of the `jobs` it takes to get there."""
    return STARTUP + sum(intervals) + jobs * JOB


def wait_for(condition, timeout: float, what: str, step: float = 0.2, progress=None):
    """Poll `condition` until it is true; past `timeout` seconds fail, saying what was still
    missing (`what`, and `progress()` when given: the count reached so far)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            seen = f" (so far: {progress()})" if progress is not None else ""
            raise AssertionError(f"still waiting after {timeout:.0f} s for {what}{seen}")
        time.sleep(step)


def outbox_settled() -> bool:
    """Every outbox row is finished (done or dead) and no email claim is open: a second copy
    of anything would have been sent by now."""
    from mentorgroups.models import OutboxJob, SentEmail

    db.session.rollback()  # a new snapshot (SQLite keeps the old one)
    open_jobs = db.session.scalar(select(func.count()).select_from(OutboxJob).where(
        OutboxJob.status.not_in(("done", "dead"))))
    sending = db.session.scalar(select(func.count()).select_from(SentEmail).where(
        SentEmail.status == "sending"))
    return open_jobs == 0 and sending == 0


def wait_settled(timeout: float) -> None:
    """Wait until the outbox is settled, then one sweep more: a push a racing sweep made
    would have run by then."""
    wait_for(outbox_settled, timeout, "every outbox row done and no email being sent")
    time.sleep(FAST["OUTBOX_SWEEP_SECONDS"] * 2)


class Processes:
    """Worker and scheduler processes started with the app's environment, each in its own
    process group so a drill can kill one (and its work-horse) like a crash would."""

    def __init__(self, database_url: str, redis_url: str, smtp_port: int, **settings):
        self.env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url,
                    "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(smtp_port),
                    "SECRET_KEY": "test-secret",
                    **{k: str(v) for k, v in {**FAST, **settings}.items()}}
        self.env.pop("MENTORGROUPS_DEV", None)
        self.procs: list[subprocess.Popen] = []

    def _start(self, args) -> subprocess.Popen:
        log = LOG_DIR / (f"{os.environ.get('MG_TEST_DB', 'sqlite')}-{os.getpid()}-"
                         f"{args[-1].replace('.py', '')}-{len(self.procs)}.log")
        with open(log, "ab") as out:
            proc = subprocess.Popen([sys.executable, *args], cwd=ROOT, env=self.env,
                                    stdout=out, stderr=subprocess.STDOUT,
                                    start_new_session=True)
        proc.log_path = log
        self.procs.append(proc)
        return proc

    def worker(self) -> subprocess.Popen:
        return self._start(["worker.py"])

    def scheduler(self) -> subprocess.Popen:
        return self._start(["-m", "flask", "--app", "app", "scheduler"])

    def sweep_once(self) -> subprocess.Popen:
        return self._start(["-m", "flask", "--app", "app", "jobs", "sweep"])

    @classmethod
    def kill_group(cls, proc: subprocess.Popen) -> None:
        """SIGKILL the process, its group and its children (RQ's work-horse calls setsid,
        so it is in a group of its own)."""
        for pid in cls.children(proc.pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(10)

    @staticmethod
    def children(pid: int) -> list[int]:
        try:
            text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
        except OSError:
            return []
        return [int(part) for part in text.split()]

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    continue
        for proc in self.procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill_group(proc)


class TcpProxy:
    """A TCP forwarder on a free 127.0.0.1 port to `target` (host, port), so a drill can take a
    server away from some processes only: `cut()` drops every forwarded connection and turns
    new ones away (accepted, then closed at once, as a server going down does) until
    `restore()`."""

    def __init__(self, target: tuple[str, int]):
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.down = threading.Event()
        self.closed = threading.Event()
        self.lock = threading.Lock()
        self.open: set = set()
        threading.Thread(target=self._accept, name="tcp-proxy", daemon=True).start()

    def _accept(self) -> None:
        while not self.closed.is_set():
            try:
                client, _address = self.listener.accept()
            except OSError:
                return
            if self.down.is_set():
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self.lock:
                self.open.update((client, upstream))
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source, sink) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            self._drop(source, sink)

    def _drop(self, *sockets) -> None:
        for sock in sockets:
            with self.lock:
                self.open.discard(sock)
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    def cut(self) -> None:
        self.down.set()
        with self.lock:
            sockets = list(self.open)
        self._drop(*sockets)

    def restore(self) -> None:
        self.down.clear()

    def close(self) -> None:
        self.closed.set()
        self.cut()
        self.listener.close()
