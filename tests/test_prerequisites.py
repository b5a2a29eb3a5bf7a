"""`make test` says what is missing before it installs or runs anything: one line per piece,
with the command that starts or installs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import free_port

SCRIPT = Path(__file__).with_name("prerequisites.py")


def check(**env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=60)


def test_everything_there_says_nothing():
    result = check()
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_each_missing_piece_gets_one_line_with_its_command(tmp_path):
    nobody = free_port()
    result = check(MG_TEST_PG_ADMIN=f"postgresql+psycopg://postgres@127.0.0.1:{nobody}/postgres",
                   MG_TEST_REDIS_URL=f"redis://127.0.0.1:{nobody}/0",
                   MG_TEST_CHROMIUM=str(tmp_path / "chromium"))
    lines = result.stderr.splitlines()
    assert result.returncode == 1 and result.stdout == ""
    assert lines == [
        f"make test: PostgreSQL is not answering on 127.0.0.1:{nobody} (trust auth, role "
        "postgres); start it: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) "
        "main start",
        f"make test: Redis is not answering on 127.0.0.1:{nobody}; start it: redis-server "
        '--daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir '
        "/var/lib/redis --logfile /var/log/redis/ci.log",
        f"make test: Chromium is not installed at {tmp_path / 'chromium'} (the browser tests "
        "drive it); install it: apt-get install -y chromium",
        "make test: nothing was run; .ci/run starts and installs these by itself.",
    ]


def test_a_port_that_answers_something_else_is_not_taken_for_the_service():
    """An HTTP server on the port is not PostgreSQL or Redis."""
    import http.server
    import threading

    server = http.server.HTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_port
        result = check(MG_TEST_PG_ADMIN=f"postgresql+psycopg://postgres@127.0.0.1:{port}/x",
                       MG_TEST_REDIS_URL=f"redis://127.0.0.1:{port}/0")
    finally:
        server.shutdown()
        server.server_close()
    assert result.returncode == 1
    assert [line.split(" is not")[0] for line in result.stderr.splitlines()[:2]] == [
        "make test: PostgreSQL", "make test: Redis"]
