"""Two admins moving two groups under each other at the same moment (PostgreSQL): exactly one
move applies and the tree stays a tree, because the cycle check runs under the school's lock."""

import threading

import pytest
from sqlalchemy import select

from mentorgroups.extensions import db
from mentorgroups.models import Account, MentorGroup, User
from mentorgroups.services import groups
from mentorgroups.services.errors import ServiceError
from mentorgroups.services.group_repair import find_tree_problems
from tests.conftest import BACKEND
from tests.factories import make_account, make_member

pytestmark = pytest.mark.skipif(BACKEND != "postgresql",
                                reason="row locks are a PostgreSQL matter; SQLite has one writer")


def opposite_moves(app, monkeypatch) -> tuple[list[str], dict[int, int | None], list]:
    """Admin A moves group 1 under group 2 while admin B moves group 2 under group 1. Both
    start together (a barrier); each then waits, after its checks and before its write, for
    the other to have checked too (up to a second): without the lock both checks pass."""
    with app.app_context():
        account = make_account(plan="complete")
        first_admin, second_admin = make_member(account, "admin"), make_member(account, "admin")
        one = groups.create_group(first_admin, account.id, "One")
        two = groups.create_group(first_admin, account.id, "Two")
        db.session.commit()
        ids = (account.id, first_admin.id, second_admin.id, one.id, two.id)
    account_id, first_id, second_id, one_id, two_id = ids

    start, checked = threading.Barrier(2), threading.Barrier(2, timeout=1)
    check_sibling_name = groups._check_sibling_name

    def check_then_wait(*args, **kwargs):
        check_sibling_name(*args, **kwargs)
        try:
            checked.wait()
        except threading.BrokenBarrierError:
            pass  # the other move is waiting for the lock: it can't have checked yet

    monkeypatch.setattr(groups, "_check_sibling_name", check_then_wait)
    outcomes: list[str] = []

    def move(actor_id, group_id, name, parent_id):
        with app.app_context():
            actor = db.session.get(User, actor_id)
            start.wait()
            try:
                groups.update_group(actor, account_id, group_id, name, "", parent_id)
                db.session.commit()
                outcomes.append("moved")
            except ServiceError as exc:
                db.session.rollback()
                outcomes.append(exc.message)

    threads = [threading.Thread(target=move, args=(first_id, one_id, "One", two_id)),
               threading.Thread(target=move, args=(second_id, two_id, "Two", one_id))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    with app.app_context():
        parents = dict(db.session.execute(select(MentorGroup.id, MentorGroup.parent_id).where(
            MentorGroup.account_id == account_id)).all())
        problems = find_tree_problems(account_id)
    return outcomes, parents, problems


def test_opposite_moves_at_the_same_moment_leave_exactly_one_applied(make_app, monkeypatch):
    app = make_app(SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 4, "max_overflow": 0})
    outcomes, parents, problems = opposite_moves(app, monkeypatch)
    assert outcomes.count("moved") == 1, outcomes
    assert "A group can't be nested under one of its own nested groups." in outcomes
    assert sorted(parent is None for parent in parents.values()) == [False, True]
    assert problems == []


def test_without_the_lock_the_same_race_makes_a_cycle(make_app, monkeypatch):
    """The test above can fail: with the school's row read but not locked, both moves pass
    their checks and both apply."""
    def read_without_lock(account_id):
        return db.session.scalar(select(Account).where(Account.id == account_id))

    monkeypatch.setattr(groups, "_lock_account", read_without_lock)
    app = make_app(SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 4, "max_overflow": 0})
    outcomes, parents, problems = opposite_moves(app, monkeypatch)
    assert outcomes == ["moved", "moved"]
    assert None not in parents.values()
    assert {p.kind for p in problems} == {"cycle"} and len(problems) == 2
