"""Rows for tests, built through the real models (and services where rules matter)."""

from __future__ import annotations

import itertools

from werkzeug.security import generate_password_hash

from mentorgroups.extensions import db
from mentorgroups.models import (
    Account,
    AccountMembership,
    Cohort,
    CohortMembership,
    Path,
    Step,
    User,
)

PASSWORD = "pass-word-1"
# A cheap hash: tests sign in thousands of times; production hashes use the default (scrypt).
_PASSWORD_HASH = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
_seq = itertools.count(1)


def make_account(name: str | None = None, plan: str = "essentials") -> Account:
    n = next(_seq)
    account = Account(name=name or f"School {n}", slug=f"school-{n}", plan=plan)
    db.session.add(account)
    db.session.flush()
    return account


def make_user(email: str | None = None, full_name: str | None = None,
              active: bool = True) -> User:
    n = next(_seq)
    user = User(email=(email or f"person{n}@example.test").lower(),
                full_name=full_name or f"Person {n}", password_hash=_PASSWORD_HASH,
                active=active)
    db.session.add(user)
    db.session.flush()
    return user


def make_member(account: Account, role: str = "member", user: User | None = None,
                status: str = "active", **user_kwargs) -> User:
    user = user or make_user(**user_kwargs)
    db.session.add(AccountMembership(account=account, user=user, role=role, status=status))
    db.session.flush()
    return user


def make_path(account: Account, steps: int = 4, review_at: tuple[int, ...] = (2,),
              points: dict[int, int] | None = None, title: str | None = None) -> Path:
    points = points or {}
    path = Path(account=account, title=title or f"Path {next(_seq)}")
    path.steps = [
        Step(position=i + 1, title=f"Step {i + 1}", requires_review=(i + 1) in review_at,
             points=points.get(i + 1))
        for i in range(steps)
    ]
    db.session.add(path)
    db.session.flush()
    return path


def make_cohort(path: Path, name: str = "Cohort A", teachers=(), learners=(),
                moderators=()) -> Cohort:
    cohort = Cohort(path=path, name=name)
    for role, people in (("teacher", teachers), ("learner", learners),
                         ("moderator", moderators)):
        for person in people:
            cohort.memberships.append(CohortMembership(user=person, role=role))
    db.session.add(cohort)
    db.session.flush()
    return cohort


def school(plan: str = "essentials"):
    """A small school: an admin, a teacher, two learners, one path (step 2 marked for review,
    step 3 for review with 10 points) and one cohort."""
    account = make_account(plan=plan)
    admin = make_member(account, "admin", full_name="Ada Admin")
    teacher = make_member(account, "staff", full_name="Tom Teacher")
    learner = make_member(account, "member", full_name="Lia Learner")
    other = make_member(account, "member", full_name="Olu Other")
    path = make_path(account, steps=4, review_at=(2, 3), points={3: 10})
    cohort = make_cohort(path, teachers=[teacher], learners=[learner, other])
    db.session.commit()
    return type("School", (), dict(account=account, admin=admin, teacher=teacher,
                                   learner=learner, other=other, path=path, cohort=cohort))
