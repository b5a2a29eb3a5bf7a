"""The production shape as the README runs it: `honcho start` with the Procfile (web, worker,
scheduler), on this run's database and Redis database."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import ROOT, free_port
from tests.drills import LOG_DIR, patience, wait_for

pytestmark = pytest.mark.redis


def healthz(port: int) -> dict | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as answer:
            return json.loads(answer.read())
    except (OSError, urllib.error.URLError, ValueError):
        return None


def test_honcho_runs_the_procfile_and_stops_it_on_sigterm(database_url, redis_url):
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url,
           "SECRET_KEY": "test-secret", "WEB_CONCURRENCY": "1",
           "RQ_QUEUE_PREFIX": f"procfile{os.getpid()}-",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("MENTORGROUPS_DEV", None)
    log = LOG_DIR / f"{os.environ.get('MG_TEST_DB', 'sqlite')}-{os.getpid()}-honcho.log"
    with open(log, "ab") as out:
        honcho = subprocess.Popen(
            [sys.executable, "-m", "honcho", "--no-colour", "start", "-p", str(port),
             "-c", "worker=2"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True)
    try:
        body = wait_for(lambda: (healthz(port) or {}).get("redis", {}).get("live_workers") == 2
                        and healthz(port), patience(), "the web and two workers to answer",
                        progress=lambda: healthz(port))
        assert (body["status"], body["reasons"]) == ("ok", [])
        assert honcho.poll() is None
    finally:
        if honcho.poll() is None:
            os.killpg(honcho.pid, signal.SIGTERM)
        code = honcho.wait(30)
    output = log.read_text(errors="replace")
    for name in ("web.1", "worker.1", "worker.2", "scheduler.1"):
        assert f"{name} started" in output and f"{name} stopped" in output, name
    assert code in (0, 130, 143, -signal.SIGTERM), output[-2000:]
