"""What `make test` needs besides Python, checked in well under a second before anything is
installed or collected: PostgreSQL, Redis and Chromium. One line per missing piece, with the
command that starts or installs it; exit status 1 when anything is missing.

Standard library only: it runs with the machine's python3, before the virtualenv exists.

    python3 tests/prerequisites.py
"""

from __future__ import annotations

import os
import socket
import sys
from urllib.parse import urlsplit

PG_ADMIN = os.environ.get("MG_TEST_PG_ADMIN",
                          "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REDIS = os.environ.get("MG_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
CHROMIUM = os.environ.get("MG_TEST_CHROMIUM", "/usr/bin/chromium")

START_PG = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"
START_REDIS = ('redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" '
               "--appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log")
INSTALL_CHROMIUM = "apt-get install -y chromium"


def _address(url: str, default_port: int) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or default_port


def postgresql_answers(url: str = PG_ADMIN, timeout: float = 0.5) -> bool:
    """A PostgreSQL server answers an SSL request (8 bytes) with 'S' or 'N'."""
    try:
        with socket.create_connection(_address(url, 5432), timeout=timeout) as sock:
            sock.settimeout(timeout)
            sock.sendall((8).to_bytes(4, "big") + (80877103).to_bytes(4, "big"))
            return sock.recv(1) in (b"S", b"N")
    except OSError:
        return False


def redis_answers(url: str = REDIS, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection(_address(url, 6379), timeout=timeout) as sock:
            sock.settimeout(timeout)
            sock.sendall(b"PING\r\n")
            return sock.recv(7).startswith(b"+PONG")
    except OSError:
        return False


def missing() -> list[str]:
    """One sentence per missing piece, each with what to run."""
    found = []
    if not postgresql_answers():
        host, port = _address(PG_ADMIN, 5432)
        found.append(f"PostgreSQL is not answering on {host}:{port} "
                     f"(trust auth, role postgres); start it: {START_PG}")
    if not redis_answers():
        host, port = _address(REDIS, 6379)
        found.append(f"Redis is not answering on {host}:{port}; start it: {START_REDIS}")
    if not os.access(CHROMIUM, os.X_OK):
        found.append(f"Chromium is not installed at {CHROMIUM} (the browser tests drive it); "
                     f"install it: {INSTALL_CHROMIUM}")
    return found


def main() -> int:
    problems = missing()
    for line in problems:
        print(f"make test: {line}", file=sys.stderr)
    if problems:
        print("make test: nothing was run; .ci/run starts and installs these by itself.",
              file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
