"""The one settings module: every setting is read from the environment here, through small
typed parsers, and nowhere else."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INSTANCE_DIR = ROOT / "instance"
# `make run` writes this file (development mode, the served port's BASE_URL), so every
# `flask --app app ...` command of the checkout works beside it as the README prints it.
# MENTORGROUPS_ENV_FILE names another file, or none when empty (the tests).
DEVELOPMENT_ENV_FILE = INSTANCE_DIR / "development.env"


class ConfigError(RuntimeError):
    """A setting is missing or malformed; the message says which and how to fix it."""


# The development file's settings, read anew by each load_config(); the environment wins.
_file_values: dict[str, str] = {}


def env_str(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name, _file_values.get(name))
    if value is None or value.strip() == "":
        return default
    return value.strip()


def env_int(name: str, default: int) -> int:
    raw = env_str(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from exc


def env_int_list(name: str, default: list[int]) -> list[int]:
    raw = env_str(name)
    if raw is None:
        return default
    try:
        return [int(part) for part in raw.replace(" ", "").split(",") if part]
    except ValueError as exc:
        raise ConfigError(f"{name} must be whole numbers separated by commas, got {raw!r}") from exc


def env_bool(name: str, default: bool = False) -> bool:
    raw = env_str(name)
    if raw is None:
        return default
    lowered = raw.lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines; blank lines and lines starting with # are skipped."""
    values = {}
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"{path}, line {number}: expected NAME=value, got {line!r}")
        values[key.strip()] = value.strip()
    return values


def apply_env_file() -> Path | None:
    """Read the development file's settings, which count under the environment (a variable
    that is set wins); os.environ itself is left alone. Returns the file read, if any."""
    named = os.environ.get("MENTORGROUPS_ENV_FILE")
    path = DEVELOPMENT_ENV_FILE if named is None else (Path(named) if named.strip() else None)
    _file_values.clear()
    if path is None or not path.is_file():
        return None
    _file_values.update(read_env_file(path))
    return path


def default_database_url() -> str:
    return f"sqlite:///{INSTANCE_DIR / 'mentorgroups.sqlite3'}"


def load_config(overrides: dict | None = None) -> dict:
    """Read the whole configuration from the environment; `overrides` (tests) win.

    SECRET_KEY is required outside development: a missing one would sign every session with a
    key anybody can read in this repository.
    """
    overrides = overrides or {}
    apply_env_file()
    development = env_bool("MENTORGROUPS_DEV", False) or env_str("FLASK_DEBUG") == "1"
    secret = overrides.get("SECRET_KEY") or env_str("SECRET_KEY")
    if secret is None:
        if not development:
            raise ConfigError(
                "SECRET_KEY is not set. Set SECRET_KEY to a long random string in production; "
                "for development, run `make run` once (it writes instance/development.env) or "
                "set MENTORGROUPS_DEV=1."
            )
        secret = "dev-only-not-secret"
    mail_server = env_str("MAIL_SERVER")
    config = {
        "SECRET_KEY": secret,
        "DEVELOPMENT": development,
        "SQLALCHEMY_DATABASE_URI": env_str("DATABASE_URL", default_database_url()),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        # PostgreSQL's JIT compiles every statement its planner costs high, and a walk of the
        # group tree is costed high whatever its real size: 35 to 50 ms of compiling for a
        # statement of 12 to 45 ms (the review queue's count on the bench school). Off for
        # the app's connections unless DATABASE_JIT=1.
        "DATABASE_JIT": env_bool("DATABASE_JIT", False),
        "REDIS_URL": env_str("REDIS_URL"),
        "RQ_QUEUE_PREFIX": env_str("RQ_QUEUE_PREFIX", ""),
        "MAIL_SERVER": mail_server,
        "MAIL_PORT": env_int("MAIL_PORT", 25),
        "MAIL_USE_TLS": env_bool("MAIL_USE_TLS", False),
        "MAIL_USE_SSL": env_bool("MAIL_USE_SSL", False),
        "MAIL_USERNAME": env_str("MAIL_USERNAME"),
        "MAIL_PASSWORD": env_str("MAIL_PASSWORD"),
        "MAIL_DEFAULT_SENDER": env_str("MAIL_DEFAULT_SENDER", "Mentor Groups <no-reply@localhost>"),
        "MAIL_SUPPRESS_SEND": mail_server is None,
        "BASE_URL": env_str("BASE_URL", "http://127.0.0.1:5000"),
        # Told of every plan change, beside the school's admins (unset: the admins only).
        "BILLING_EMAIL": env_str("BILLING_EMAIL"),
        "INVITATION_TTL_DAYS": env_int("INVITATION_TTL_DAYS", 14),
        "INVITES_PER_ACCOUNT": env_str("INVITES_PER_ACCOUNT", "300/hour"),
        "INVITES_PER_INVITER": env_str("INVITES_PER_INVITER", "100/hour"),
        "LOGIN_RATE_LIMIT": env_str("LOGIN_RATE_LIMIT", "20/minute"),
        # Requests per school API token (/api/v1/, /scim/v2/); over it: 429 with Retry-After.
        "API_RATE_LIMIT": env_str("API_RATE_LIMIT", "600/minute"),
        # Reverse proxies in front of the app that append to X-Forwarded-For (and set
        # X-Forwarded-Proto/-Host). 0: those headers are ignored, the peer is the client.
        "TRUSTED_PROXY_HOPS": env_int("TRUSTED_PROXY_HOPS", 0),
        # Sign-in throttling per address (any client): after this many failures in a row, a
        # wait doubling from the base up to the cap before the next attempt is checked.
        "LOGIN_FAILURES_BEFORE_WAIT": env_int("LOGIN_FAILURES_BEFORE_WAIT", 5),
        "LOGIN_WAIT_BASE_SECONDS": env_int("LOGIN_WAIT_BASE_SECONDS", 2),
        "LOGIN_WAIT_MAX_SECONDS": env_int("LOGIN_WAIT_MAX_SECONDS", 900),
        # A browser someone signed in from keeps a signed cookie this long: it is not held
        # back by the per-address wait (a stranger's guessing never locks the owner out).
        "KNOWN_BROWSER_DAYS": env_int("KNOWN_BROWSER_DAYS", 90),
        # "Forgot your password?": links live an hour; the operator's set-up link three days.
        "DIGEST_UNSUBSCRIBE_TTL_DAYS": env_int("DIGEST_UNSUBSCRIBE_TTL_DAYS", 60),
        # Pending work older than this is flagged stale in the digest.
        "DIGEST_STALE_DAYS": env_int("DIGEST_STALE_DAYS", 7),
        "PASSWORD_RESET_TTL_MINUTES": env_int("PASSWORD_RESET_TTL_MINUTES", 60),
        "PASSWORD_SETUP_TTL_HOURS": env_int("PASSWORD_SETUP_TTL_HOURS", 72),
        "PASSWORD_RESETS_PER_ADDRESS": env_str("PASSWORD_RESETS_PER_ADDRESS", "3/hour"),
        "PASSWORD_RESETS_PER_CLIENT": env_str("PASSWORD_RESETS_PER_CLIENT", "20/hour"),
        # Rate-limit counters live in Redis when there is one, so every web process shares them.
        "RATELIMIT_STORAGE_URI": env_str("RATELIMIT_STORAGE_URI",
                                         env_str("REDIS_URL", "memory://")),
        "RATELIMIT_KEY_PREFIX": "mentorgroups",
        # Retries are decided by the outbox row: exponential back-off from the base, capped at
        # the max, with jitter, until the horizon has passed since the job was staged.
        "JOB_RETRY_BASE_SECONDS": env_int("JOB_RETRY_BASE_SECONDS", 10),
        "JOB_RETRY_MAX_SECONDS": env_int("JOB_RETRY_MAX_SECONDS", 3600),
        "JOB_RETRY_HORIZON_SECONDS": env_int("JOB_RETRY_HORIZON_SECONDS", 24 * 3600),
        # A worker holds the job it runs this long; past it the row is due again. RQ kills a
        # job that runs longer. Must exceed the email claim (MAIL_TIMEOUT x 6).
        "JOB_LEASE_SECONDS": env_int("JOB_LEASE_SECONDS", 120),
        "OUTBOX_SWEEP_SECONDS": env_int("OUTBOX_SWEEP_SECONDS", 15),
        "OUTBOX_STALE_SECONDS": env_int("OUTBOX_STALE_SECONDS", 120),
        # An idle worker reports to Redis every WORKER_TTL_SECONDS - 15 s (a busy one every
        # 30 s); /healthz counts a worker live when it reported within WORKER_TTL_SECONDS.
        "WORKER_TTL_SECONDS": env_int("WORKER_TTL_SECONDS", 60),
        # /healthz is degraded when a due job has waited longer than this to be run.
        "HEALTH_DUE_AGE_SECONDS": env_int("HEALTH_DUE_AGE_SECONDS", 60),
        # Development (`make run`): the scheduler's periodic tasks in a thread of the web
        # process. Production runs exactly one `flask scheduler` instead.
        "PERIODIC_TASKS_IN_PROCESS": env_bool("PERIODIC_TASKS_IN_PROCESS", False),
        "MAIL_TIMEOUT": env_int("MAIL_TIMEOUT", 10),
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "RATELIMIT_SWALLOW_ERRORS": True,
        # The largest request body accepted (413 above it). The largest legitimate ones are a
        # pasted list of 500 addresses (~130 kB) and a 20,000-character submission (80 kB).
        "MAX_CONTENT_LENGTH": env_int("MAX_CONTENT_LENGTH", 2 * 1024 * 1024),
        "WTF_CSRF_TIME_LIMIT": None,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": env_bool("SESSION_COOKIE_SECURE", not development),
        "FLASK_ADMIN_SWATCH": "default",
    }
    config.update(overrides)
    if config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql") and not config["DATABASE_JIT"]:
        engine = dict(config["SQLALCHEMY_ENGINE_OPTIONS"])
        connect_args = dict(engine.get("connect_args", {}))
        connect_args["options"] = f"{connect_args.get('options', '')} -c jit=off".strip()
        config["SQLALCHEMY_ENGINE_OPTIONS"] = {**engine, "connect_args": connect_args}
    email_claim = config["MAIL_TIMEOUT"] * 6 + 5
    if config["JOB_LEASE_SECONDS"] <= email_claim:
        raise ConfigError(
            f"JOB_LEASE_SECONDS ({config['JOB_LEASE_SECONDS']}) must be longer than an email "
            f"send may take (MAIL_TIMEOUT x 6 + 5 = {email_claim} s)")
    if config["TRUSTED_PROXY_HOPS"] < 0:
        raise ConfigError(f"TRUSTED_PROXY_HOPS must be 0 or more, got "
                          f"{config['TRUSTED_PROXY_HOPS']}")
    config["MAIL_SUPPRESS_SEND"] = overrides.get(
        "MAIL_SUPPRESS_SEND", config["MAIL_SERVER"] is None
    )
    return config
