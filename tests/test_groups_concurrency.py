"""The plan limit holds when many admins create groups at the same moment (PostgreSQL)."""

import threading

import pytest
from sqlalchemy import func, select

from mentorgroups.extensions import db
from mentorgroups.models import MentorGroup, User
from mentorgroups.services import groups
from mentorgroups.services.errors import ServiceError
from tests.conftest import BACKEND
from tests.factories import make_account, make_member

pytestmark = pytest.mark.skipif(BACKEND != "postgresql",
                                reason="row locks are a PostgreSQL matter; SQLite has one writer")


def test_thirty_parallel_creates_at_the_limit_leave_exactly_the_limit(make_app):
    app = make_app(SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 32, "max_overflow": 0})
    with app.app_context():
        account = make_account(plan="essentials")  # 5 groups
        admin = make_member(account, "admin")
        groups.create_group(admin, account.id, "Existing")
        db.session.commit()
        account_id, admin_id = account.id, admin.id

    barrier = threading.Barrier(30)
    outcomes: list[str] = []
    lock = threading.Lock()

    def attempt(n: int):
        with app.app_context():
            actor = db.session.get(User, admin_id)
            barrier.wait()
            try:
                groups.create_group(actor, account_id, f"Group {n}")
                db.session.commit()
                result = "created"
            except ServiceError as exc:
                db.session.rollback()
                result = "refused: " + exc.message
            with lock:
                outcomes.append(result)

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    with app.app_context():
        total = db.session.scalar(select(func.count()).select_from(MentorGroup).where(
            MentorGroup.account_id == account_id))
    assert total == 5
    assert outcomes.count("created") == 4
    assert len(outcomes) == 30
    assert all("includes 5 groups" in o for o in outcomes if o != "created")


def test_a_delete_waits_for_a_create_beside_where_its_groups_move(make_app):
    """Bo is creating "Algebra" under Year 7 (he holds the school's lock) when Ada deletes
    Maths, whose nested "Algebra" would move up under Year 7: her delete waits for his
    create and is then refused, instead of leaving two "Algebra" side by side."""
    from mentorgroups.models import Account

    app = make_app()
    with app.app_context():
        account = make_account(plan="complete")
        admin = make_member(account, "admin")
        year7 = groups.create_group(admin, account.id, "Year 7")
        maths = groups.create_group(admin, account.id, "Maths", "", year7.id)
        groups.create_group(admin, account.id, "Algebra", "", maths.id)
        db.session.commit()
        account_id, admin_id, year7_id, maths_id = account.id, admin.id, year7.id, maths.id

        outcome: list[str] = []

        def delete_maths():
            with app.app_context():
                try:
                    groups.delete_group(db.session.get(User, admin_id), account_id, maths_id)
                    db.session.commit()
                    outcome.append("deleted")
                except ServiceError as exc:
                    db.session.rollback()
                    outcome.append(exc.message)

        with db.engine.connect() as bo:
            with bo.begin():
                bo.execute(select(Account.id).where(Account.id == account_id).with_for_update())
                bo.execute(MentorGroup.__table__.insert().values(
                    account_id=account_id, name="Algebra", parent_id=year7_id,
                    description="", created_at=func.now()))
                ada = threading.Thread(target=delete_maths)
                ada.start()
                ada.join(2)  # she waits at the lock meanwhile; Bo's create commits
            ada.join(30)
        assert len(outcome) == 1 and "can't be deleted yet" in outcome[0]
        names = db.session.scalars(select(MentorGroup.name).where(
            MentorGroup.parent_id == year7_id).order_by(MentorGroup.name)).all()
        assert names == ["Algebra", "Maths"]
