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
