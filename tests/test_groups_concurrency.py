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
