"""INSERT ... ON CONFLICT for the database in use (PostgreSQL and SQLite spell it alike in
SQLAlchemy, from different modules): rows that two requests may create at the same moment
(a person's switch clicked twice, a mail client's one-click beside the person's click) are
written in one statement, never "read, none there, insert" that the second one loses with a
unique violation."""

from __future__ import annotations

from mentorgroups.extensions import db


def insert(model):
    if db.session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    return dialect_insert(model)


def upsert(model, keys: dict, values: dict) -> None:
    """The row with `keys` gets `values`, made if missing, in one statement."""
    db.session.execute(insert(model).values(**keys, **values)
                       .on_conflict_do_update(index_elements=list(keys), set_=values))
