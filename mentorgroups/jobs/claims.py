"""Taking outbox rows atomically, so that any number of sweeps, web processes and workers
racing over the same rows each get a row at most once.

On PostgreSQL (and SQLite 3.35+) this is one `UPDATE ... WHERE <still in the state we expect>
RETURNING ...`: under READ COMMITTED a concurrent UPDATE of the same row waits for the first
and then re-checks the WHERE, which no longer matches. SQLite serialises writers on the whole
database, which makes the same statement atomic there. Where RETURNING is missing, each row is
taken by its own conditional UPDATE and kept only when it changed exactly one row.
"""

from __future__ import annotations

from sqlalchemy import select, update

from mentorgroups.extensions import db
from mentorgroups.models import OutboxJob


def claim_rows(where: list, values: dict, returning: tuple) -> list[tuple]:
    """UPDATE outbox rows matching `where` to `values` and return `returning` for the rows
    this call changed, committed in a transaction of its own (callers may be inside the
    session's commit, or about to hand the rows to another process)."""
    with db.engine.begin() as conn:
        if conn.dialect.update_returning:
            rows = conn.execute(
                update(OutboxJob).where(*where).values(**values).returning(*returning)).all()
        else:
            rows = []
            for outbox_id in conn.scalars(select(OutboxJob.id).where(*where)).all():
                changed = conn.execute(
                    update(OutboxJob).where(OutboxJob.id == outbox_id, *where).values(**values))
                if changed.rowcount == 1:
                    rows.append(conn.execute(
                        select(*returning).where(OutboxJob.id == outbox_id)).one())
    return [tuple(row) for row in rows]
