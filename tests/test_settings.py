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
