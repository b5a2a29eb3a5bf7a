import os
import subprocess
import sys

import pytest
from sqlalchemy import func, select

from mentorgroups.demo import DEMO_PASSWORD
from mentorgroups.extensions import db
from mentorgroups.models import (
    Account,
    AccountMembership,
    Cohort,
    CohortMembership,
    Path,
    Review,
    Step,
    StepCompletion,
    Submission,
    User,
)
from mentorgroups.services.accounts import authenticate
from tests.conftest import ROOT

TABLES = (Account, User, AccountMembership, Path, Step, Cohort, CohortMembership,
          StepCompletion, Submission, Review)


def snapshot():
    return {model.__name__: db.session.scalar(select(func.count()).select_from(model))
            for model in TABLES}


def test_seed_demo_builds_the_school_once(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    for login in ("admin@demo.test", "mentor@demo.test", "teacher@demo.test",
                  "learner@demo.test", "sam@demo.test", DEMO_PASSWORD):
        assert login in result.output
    first = snapshot()
    assert first["Account"] == 1 and first["Path"] == 3
    assert 40 <= first["User"] <= 45
    assert first["Cohort"] == 6
    steps_per_path = db.session.execute(
        select(func.count(Step.id)).group_by(Step.path_id)).scalars().all()
    assert all(8 <= n <= 12 for n in steps_per_path)
    assert db.session.scalar(select(func.count()).select_from(Step).where(
        Step.requires_review.is_(True))) >= 6
    pending = db.session.scalar(select(func.count()).select_from(Submission).where(
        Submission.status == "pending"))
    assert pending > 5 and first["Review"] > 5
    account = db.session.scalar(select(Account))
    assert (account.name, account.plan) == ("Demo School", "essentials")
    roles = dict(db.session.execute(
        select(User.email, AccountMembership.role).join(AccountMembership)
        .where(User.email.like("%@demo.test"), User.email.not_like("%.%@demo.test"))
    ).all())
    assert roles == {"admin@demo.test": "admin", "mentor@demo.test": "staff",
                     "teacher@demo.test": "staff", "learner@demo.test": "member",
                     "sam@demo.test": "member"}
    for email in roles:
        assert authenticate(email, DEMO_PASSWORD) is not None
    # The login the README gives for "a learner with work waiting" has work waiting, which
    # the mentor of Coaching circle sees in the review queue.
    from mentorgroups.services.learning import review_queue

    sam = db.session.scalar(select(User).where(User.email == "sam@demo.test"))
    mentor = db.session.scalar(select(User).where(User.email == "mentor@demo.test"))
    sams_waiting = db.session.scalar(select(func.count()).select_from(Submission).where(
        Submission.user_id == sam.id, Submission.status == "pending"))
    assert sams_waiting == 2
    queue = review_queue(mentor, account.id)
    assert [item.learner for item in queue.items].count("Sam Rivera") == 2

    result = runner.invoke(args=["seed-demo"])
    assert "exists already" in result.output
    assert snapshot() == first
    result = runner.invoke(args=["seed-demo", "--if-empty"])
    assert "not seeding" in result.output
    assert snapshot() == first


def test_accounts_and_users_commands(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["accounts", "create", "Hill School", "--plan", "starter",
                                 "--admin-email", "head@hill.test", "--admin-name", "Hana Head"])
    assert result.exit_code == 0, result.output
    assert "slug hill-school" in result.output
    assert "no password yet" in result.output and "Emailed them a link" in result.output
    result = runner.invoke(args=["accounts", "set-plan", "hill-school", "complete"])
    assert "now on the complete plan" in result.output
    assert db.session.scalar(select(Account.plan)) == "complete"
    result = runner.invoke(args=["accounts", "set-plan", "nope", "complete"])
    assert result.exit_code != 0 and "No school with the slug 'nope'" in result.output
    result = runner.invoke(args=["accounts", "set-plan", "hill-school", "gold"])
    assert result.exit_code != 0 and "gold" in result.output
    result = runner.invoke(args=["users", "create", "--email", "Op@Hill.test", "--name",
                                 "Operator"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["users", "create", "--email", "op@hill.test", "--name",
                                 "Operator"])
    assert result.exit_code != 0 and "already exists" in result.output
    result = runner.invoke(args=["accounts", "list"])
    assert "hill-school" in result.output


# The database down: every command says so in one line on stderr, exit code 1, no traceback.

DOWN_COMMANDS = [["jobs", "status"], ["jobs", "sweep"], ["accounts", "list"], ["seed-demo"],
                 ["digests", "send", "--dry-run"], ["groups", "check", "--dry-run"],
                 ["reports", "members", "--account", "demo-school"]]


def closed_port_url() -> str:
    from tests.conftest import free_port

    return f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/gone"


@pytest.mark.parametrize("args", DOWN_COMMANDS, ids=" ".join)
def test_every_command_says_the_database_is_unreachable_in_one_line(make_app, args):
    app = make_app(SQLALCHEMY_DATABASE_URI=closed_port_url())
    with app.app_context():  # as the flask command gives every command
        result = app.test_cli_runner().invoke(args=args)
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: Mentor Groups can't reach the database "
                               "(postgresql+psycopg://postgres@127.0.0.1:")
    assert "Check DATABASE_URL" in lines[0]
    assert "Traceback" not in result.output and "OperationalError" not in result.output


def test_the_scheduler_rides_out_the_outage_with_one_line_per_task(make_app, caplog):
    """The one long-running command keeps running (its tasks run again next period), and
    says what failed in one line each, no traceback."""
    app = make_app(SQLALCHEMY_DATABASE_URI=closed_port_url())
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["scheduler", "--once"])
    assert result.exit_code == 0, result.output
    outage = [r for r in caplog.records if r.name == "mentorgroups.scheduler"]
    from mentorgroups.scheduler import TASKS

    assert len(outage) == len(TASKS) and all(r.exc_info is None for r in outage)
    assert all("the database can't be reached (connection failed" in r.getMessage()
               for r in outage)


@pytest.mark.one_backend
def test_the_flask_command_itself_prints_one_line_and_exits_1(tmp_path):
    """The real `flask --app app ...` process, as an operator runs it during the outage:
    an app command and Flask-Migrate's `db upgrade`."""
    env = {**os.environ, "SECRET_KEY": "cli-test", "DATABASE_URL": closed_port_url(),
           "MENTORGROUPS_ENV_FILE": "", "REDIS_URL": ""}
    for args in (["jobs", "status"], ["db", "upgrade"]):
        done = subprocess.run([sys.executable, "-m", "flask", "--app", "app", *args],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 1, (args, done.stderr)
        errors = [line for line in done.stderr.splitlines() if "INFO" not in line]
        assert len(errors) == 1 and "can't reach the database" in errors[0], done.stderr
        assert "Traceback" not in done.stderr and done.stdout == ""
