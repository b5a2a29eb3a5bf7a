import logging

import pytest

from mentorgroups import create_app
from mentorgroups.settings import ConfigError, load_config


def test_secret_key_required_outside_development(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("MENTORGROUPS_DEV", raising=False)
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    with pytest.raises(ConfigError, match="SECRET_KEY is not set"):
        load_config()


def test_development_defaults(monkeypatch):
    for name in ("SECRET_KEY", "DATABASE_URL", "REDIS_URL", "MAIL_SERVER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MENTORGROUPS_DEV", "1")
    config = load_config()
    assert config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///")
    assert config["SQLALCHEMY_DATABASE_URI"].endswith("instance/mentorgroups.sqlite3")
    assert config["REDIS_URL"] is None
    assert config["MAIL_SUPPRESS_SEND"] is True


def test_malformed_number_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "x")
    monkeypatch.setenv("MAIL_PORT", "twenty-five")
    with pytest.raises(ConfigError, match="MAIL_PORT must be a whole number"):
        load_config()


def test_start_up_logs_the_job_mode(database_url, caplog):
    caplog.set_level(logging.INFO)
    create_app({"SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": database_url})
    assert "Jobs: in-process (no REDIS_URL)" in caplog.text
    create_app({"SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": database_url,
                "REDIS_URL": "redis://127.0.0.1:6379/11"})
    assert "Jobs: RQ via Redis" in caplog.text


def test_postgresql_connections_are_opened_without_jit():
    url = "postgresql+psycopg://app@db.internal/mentorgroups"
    config = load_config({"SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": url})
    assert config["SQLALCHEMY_ENGINE_OPTIONS"] == {
        "pool_pre_ping": True, "connect_args": {"options": "-c jit=off"}}
    # Options of the operator's own are kept, the JIT setting added after them.
    config = load_config({"SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": url,
                          "SQLALCHEMY_ENGINE_OPTIONS": {
                              "pool_size": 3,
                              "connect_args": {"options": "-c statement_timeout=5000",
                                               "connect_timeout": 4}}})
    assert config["SQLALCHEMY_ENGINE_OPTIONS"] == {
        "pool_size": 3, "connect_args": {"options": "-c statement_timeout=5000 -c jit=off",
                                         "connect_timeout": 4}}
    config = load_config({"SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": url,
                          "DATABASE_JIT": True})
    assert config["SQLALCHEMY_ENGINE_OPTIONS"] == {"pool_pre_ping": True}
    config = load_config({"SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": "sqlite:///x.db"})
    assert config["SQLALCHEMY_ENGINE_OPTIONS"] == {"pool_pre_ping": True}


def test_the_app_s_postgresql_sessions_have_jit_off(make_app, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("a PostgreSQL setting")
    from sqlalchemy import text

    from mentorgroups.extensions import db

    for app, expected in ((make_app(), "off"), (make_app(DATABASE_JIT=True), None)):
        with app.app_context():
            setting = db.session.scalar(text("SHOW jit"))
            server_default = db.session.scalar(text("SELECT boot_val FROM pg_settings "
                                                    "WHERE name = 'jit'"))
            assert setting == (expected or server_default)
