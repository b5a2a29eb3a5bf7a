"""Taking outbox rows (claim_rows): only the rows asked for and still in the state expected,
each by one caller at most, with RETURNING and with the row-by-row fallback of databases
that lack it (SQLite before 3.35)."""

from __future__ import annotations

import pytest
from sqlalchemy import event, insert, select

from mentorgroups.extensions import db
from mentorgroups.jobs.claims import claim_rows
from mentorgroups.jobs.outbox import WAITING
from mentorgroups.models import OutboxJob, utcnow

PUSH = (OutboxJob.id, OutboxJob.queue, OutboxJob.pushes)


@pytest.fixture(params=["returning", "row by row"])
def database(request, app, monkeypatch):
    if request.param == "row by row":
        monkeypatch.setattr(db.engine.dialect, "update_returning", False)
    return request.param


def row(status: str, queue: str = "default", pushes: int = 0) -> int:
    now = utcnow()
    return db.session.execute(insert(OutboxJob).values(
        name="send_email", queue=queue, payload={}, status=status, errors=[], attempts=0,
        pushes=pushes, created_at=now, next_attempt_at=now)).inserted_primary_key[0]


def push(ids: list[int]) -> list[tuple]:
    """What pushing these rows to RQ does: flip the waiting ones to 'enqueued', pushes + 1."""
    return claim_rows([OutboxJob.id.in_(ids), OutboxJob.status.in_(WAITING)],
                      {"status": "enqueued", "pushes": OutboxJob.pushes + 1,
                       "enqueued_at": utcnow()}, PUSH)


def state() -> dict[int, tuple[str, int]]:
    db.session.rollback()
    return {i: (s, p) for i, s, p in db.session.execute(
        select(OutboxJob.id, OutboxJob.status, OutboxJob.pushes))}


def test_claiming_takes_only_the_given_rows_that_are_still_waiting(database):
    new = row("staged")
    retrying = row("failed", queue="email", pushes=2)
    not_asked = row("staged")
    already_pushed = row("enqueued", pushes=1)
    db.session.commit()

    taken = push([new, retrying, already_pushed])

    assert sorted(taken) == [(new, "default", 1), (retrying, "email", 3)]
    assert state() == {new: ("enqueued", 1), retrying: ("enqueued", 3),
                       not_asked: ("staged", 0), already_pushed: ("enqueued", 1)}


def test_a_row_is_taken_once_by_two_claims_in_a_row(database):
    only = row("staged")
    db.session.commit()

    assert push([only]) == [(only, "default", 1)]
    assert push([only]) == []
    assert state() == {only: ("enqueued", 1)}


def test_row_by_row_a_row_another_sweep_took_meanwhile_is_not_returned(app, monkeypatch):
    """Without RETURNING the rows are read first and taken one by one: a row another sweep
    takes between the read and its own UPDATE (which then changes nothing) is not ours."""
    monkeypatch.setattr(db.engine.dialect, "update_returning", False)
    first, second = row("staged"), row("staged")
    db.session.commit()
    ours = []

    def other_sweep_takes_the_rest(conn, cursor, statement, parameters, context, many):
        if ours or not statement.lstrip().upper().startswith("UPDATE OUTBOX_JOB"):
            return
        other = cursor.connection.cursor()
        other.execute(f"SELECT id FROM outbox_job WHERE status = 'enqueued' "
                      f"AND id IN ({first}, {second})")
        ours.extend(r[0] for r in other.fetchall())
        other.execute(f"UPDATE outbox_job SET status = 'enqueued', pushes = pushes + 1 "
                      f"WHERE status IN ('staged', 'failed') AND id IN ({first}, {second})")
        other.close()

    event.listen(db.engine, "after_cursor_execute", other_sweep_takes_the_rest)
    try:
        taken = push([first, second])
    finally:
        event.remove(db.engine, "after_cursor_execute", other_sweep_takes_the_rest)

    assert len(ours) == 1
    assert taken == [(ours[0], "default", 1)]
    assert state() == {first: ("enqueued", 1), second: ("enqueued", 1)}
