"""A newcomer's first hour: beside `make run`, every command the README prints works as
printed (development settings come from the file `make run` leaves in instance/, not from an
export), links follow the port that is served, a missing SECRET_KEY outside development is one
clear line, and the periodic tasks run inside the development web process, so a digest due
while the demo is up is sent without a second command."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from mentorgroups import create_app
from mentorgroups.extensions import db
from mentorgroups.models import DigestDelivery, SentEmail, utcnow
from mentorgroups.services import digests, groups, learning
from mentorgroups.services import group_members as gm
from mentorgroups.settings import ConfigError, read_env_file
from tests.conftest import ROOT, reset_limiter_storage
from tests.drills import wait_for
from tests.factories import make_account, make_cohort, make_member, make_path

SERVED_PORT = 5101


def readme_commands() -> list[str]:
    """Every `flask --app app ...` line of the README's shell blocks, as printed (comments,
    output redirections and `a|b` alternatives aside: the first alternative is taken)."""
    text = (ROOT / "README.md").read_text()
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", text, flags=re.S):
        for line in block.splitlines():
            line = line.split(" #")[0].split(" > ")[0].strip()
            if line.startswith("flask --app app "):
                line = re.sub(r"([^\s|]+)(\|[^\s|]+)+", r"\1", line)
                commands.append(line)
    return commands


@pytest.fixture
def dev_file(tmp_path):
    """What `make run PORT=5101` writes to instance/development.env."""
    path = tmp_path / "development.env"
    path.write_text("# Written by `make run`\nMENTORGROUPS_DEV=1\n"
                    f"BASE_URL=http://127.0.0.1:{SERVED_PORT}\n")
    return path


@pytest.fixture
def newcomer_env(dev_file, tmp_path, monkeypatch):
    """A shell with nothing exported but what the README's commands need: no SECRET_KEY, no
    MENTORGROUPS_DEV, no BASE_URL; a fresh SQLite database as `make run` would have."""
    for name in ("SECRET_KEY", "MENTORGROUPS_DEV", "BASE_URL", "DATABASE_URL", "REDIS_URL",
                 "MAIL_SERVER", "FLASK_DEBUG", "PERIODIC_TASKS_IN_PROCESS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MENTORGROUPS_ENV_FILE", str(dev_file))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'demo.sqlite3'}")
    return dict(os.environ)


def flask_cli(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "flask", "--app", "app", *args], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=300)


def test_the_readme_lists_the_operator_commands_this_test_runs():
    commands = readme_commands()
    assert "flask --app app accounts list" in commands
    assert "flask --app app users create --email ops@example.com --name \"Ops Person\"" \
        in commands
    assert len(commands) >= 15


@pytest.mark.one_backend
def test_every_readme_command_works_beside_make_run(newcomer_env, monkeypatch):
    """Each command runs against the demo database with the development file only: no
    traceback, no missing setting; `jobs show 42` (no such job) is a clean refusal."""
    assert flask_cli(newcomer_env, "db", "upgrade").returncode == 0
    seeded = flask_cli(newcomer_env, "seed-demo", "--if-empty")
    assert seeded.returncode == 0, seeded.stderr
    app = create_app()  # as the `flask` command builds it: from the environment and the file
    assert app.config["DEVELOPMENT"] and app.config["BASE_URL"].endswith(f":{SERVED_PORT}")
    runner = app.test_cli_runner()
    refused = {"flask --app app jobs show 42": "No job #42."}
    try:
        for command in readme_commands():
            args = shlex.split(command)[3:]
            if args == ["scheduler"]:
                args = ["scheduler", "--once"]  # the real one runs until stopped
            with app.app_context():
                result = runner.invoke(args=args)
                db.session.remove()
            assert result.exception is None or isinstance(result.exception, SystemExit), \
                f"{command}: {result.exception!r}\n{result.output}"
            if command in refused:
                assert result.exit_code == 1 and refused[command] in result.output, command
            else:
                assert result.exit_code == 0, f"{command}:\n{result.output}"
            assert "Traceback" not in result.output, command
    finally:
        with app.app_context():
            db.engine.dispose()
        reset_limiter_storage()


@pytest.mark.one_backend
def test_printed_links_follow_the_served_port(newcomer_env):
    assert flask_cli(newcomer_env, "db", "upgrade").returncode == 0
    made = flask_cli(newcomer_env, "users", "create", "--email", "ops@example.com", "--name",
                     "Ops Person", "--print-link")
    assert made.returncode == 0, made.stderr
    assert f"http://127.0.0.1:{SERVED_PORT}/password/reset/" in made.stdout
    listed = flask_cli(newcomer_env, "accounts", "list")
    assert listed.returncode == 0 and "Traceback" not in listed.stderr


@pytest.mark.one_backend
def test_an_exported_setting_wins_over_the_file(newcomer_env):
    env = {**newcomer_env, "BASE_URL": "https://school.example"}
    assert flask_cli(env, "db", "upgrade").returncode == 0
    made = flask_cli(env, "users", "create", "--email", "ops@example.com", "--name", "Ops",
                     "--print-link")
    assert "https://school.example/password/reset/" in made.stdout


@pytest.mark.one_backend
def test_outside_development_a_missing_secret_key_is_one_clear_line(newcomer_env):
    env = {**newcomer_env, "MENTORGROUPS_ENV_FILE": ""}  # no file: production
    result = flask_cli(env, "accounts", "list")
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert ("Mentor Groups cannot start: SECRET_KEY is not set. Set SECRET_KEY to a long "
            "random string in production; for development, run `make run` once (it writes "
            "instance/development.env) or set MENTORGROUPS_DEV=1.") in result.stderr


def test_the_development_file_is_plain_and_a_bad_line_is_named(tmp_path):
    path = tmp_path / "development.env"
    path.write_text("# comment\n\nMENTORGROUPS_DEV=1\nBASE_URL = http://127.0.0.1:5101\n")
    assert read_env_file(path) == {"MENTORGROUPS_DEV": "1",
                                   "BASE_URL": "http://127.0.0.1:5101"}
    path.write_text("MENTORGROUPS_DEV=1\nnot a setting\n")
    with pytest.raises(ConfigError, match=r"development.env, line 2: expected NAME=value"):
        read_env_file(path)


def test_a_digest_due_while_the_demo_is_up_is_sent_by_the_web_process(app, make_app):
    """The school's send time passed this morning; nobody runs a command: the web process's
    own periodic tasks start the week and send the digest (in-process jobs, no Redis)."""
    now = utcnow()
    account = make_account(name="Demo-like School", plan="complete")
    account.created_at = now - timedelta(days=30)
    account.time_zone = "UTC"
    account.digest_weekday, account.digest_hour = now.weekday(), 0
    admin = make_member(account, "admin")
    mentor = make_member(account, "staff", full_name="Morgan Mentor")
    learner = make_member(account, "member", full_name="Sam Rivera")
    path = make_path(account, steps=2, review_at=(1,))
    make_cohort(path, learners=[learner])
    group = groups.create_group(admin, account.id, "Coaching circle")
    gm.add_members(admin, account.id, group.id, "mentor", user_ids=[mentor.id])
    gm.add_members(admin, account.id, group.id, "member", user_ids=[learner.id])
    learning.submit_for_review(learner, account.id, path.steps[0].id, "my work")
    db.session.commit()
    before = digests.dry_run(account, digests.resolve_week(account, None, now), now)
    assert before["would_send"] == 1

    web = make_app(PERIODIC_TASKS_IN_PROCESS=True)
    periodic = web.extensions["mentorgroups.periodic"]
    try:
        def digest_sent() -> int:
            db.session.rollback()  # a new snapshot (SQLite keeps the old one)
            return db.session.scalar(select(func.count()).select_from(SentEmail).where(
                SentEmail.recipient == mentor.email, SentEmail.subject.like("Your Mentor%")))

        wait_for(digest_sent, 120, "the digest sent by the web process's periodic tasks")
    finally:
        periodic.stop()
    assert not periodic.thread.is_alive()
    assert db.session.scalar(select(DigestDelivery.status).where(
        DigestDelivery.user_id == mentor.id)) == "sent"
