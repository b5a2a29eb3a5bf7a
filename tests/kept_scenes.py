"""Scenes built once per module and put back for every test that asks for them.

A scene built through the services (schools, groups, submissions, reviews, with the jobs
their commits run in-process) costs a tenth of a second to several seconds; the tests of a
module mostly share one scene. The first test that asks builds it as before and the rows it
left are copied; every later test of the module starts from empty tables as always, gets
those rows inserted back (one INSERT per table) and the scene's objects loaded again from
them, ids and all. A test still sees exactly what a fresh build would have given it, and
changes nothing another test sees (the tables are emptied after each test as before).

What a kept scene may hold: model instances, plain values, and lists, tuples, dicts,
dataclasses, SimpleNamespaces and `type(...)` namespaces of them, and functions of their
arguments only; not closures (they would keep an earlier test's objects). Only the
database is put back: emails the build sent are in the SentEmail rows but not in
`mail_outbox`, and a rate limit it moved is not moved again, so a test that reads those
keeps a scene of its own. A scene built under the frozen `clock` gets the clock back where
the build left it. MG_TEST_KEEP_SCENES=0 builds every scene afresh (to rule the keeping out
when a test fails)."""

from __future__ import annotations

import dataclasses
import os
from datetime import UTC, datetime
from types import FunctionType, MethodType, SimpleNamespace

from sqlalchemy import bindparam, inspect, select

from mentorgroups.extensions import db


class _Kept:
    def __init__(self, value, rows, moment):
        self.value, self.rows, self.moment = value, rows, moment


_KEPT: dict[tuple, _Kept] = {}


def kept_scene(request, build, *args, **given):
    """`build(*args, **given)`'s scene for this test: built by the module's first test that
    asks, put back for the others. `args` tell scenes apart; `given` (a fixture the build
    uses, such as the clock) does not."""
    if os.environ.get("MG_TEST_KEEP_SCENES") == "0":  # every test builds its own, as before
        return build(*args, **given)
    module = request.module.__name__
    for key in [k for k in _KEPT if k[0] != module]:  # one module's scenes in memory at once
        del _KEPT[key]
    key = (module, build.__qualname__, args)
    clock = request.getfixturevalue("clock") if "clock" in request.fixturenames else None
    kept = _KEPT.get(key)
    if kept is None:
        value = build(*args, **given)
        db.session.commit()
        _check_holdable(value)
        _KEPT[key] = _Kept(value, _copy_rows(), datetime.now(UTC) if clock else None)
        return value
    _put_back(kept.rows)
    if clock is not None:
        clock.move_to(kept.moment)
    db.session.expunge_all()
    return _reload(kept.value)


def _copy_rows() -> list[tuple]:
    rows = []
    for table in db.metadata.sorted_tables:
        found = [dict(row) for row in db.session.execute(select(table)).mappings()]
        if found:
            rows.append((table, found))
    db.session.commit()
    return rows


def _put_back(rows) -> None:
    for table, found in rows:  # parents before children: sorted_tables' order
        own = [c for c in table.columns if any(fk.column.table is table for fk in c.foreign_keys)]
        if not own:
            db.session.execute(table.insert(), found)
            continue
        # A column naming a row of its own table (a group's parent): rows come back in any
        # order, and a tree a test broke may loop, so the rows go in without those links and
        # get them in a second statement.
        db.session.execute(table.insert(), [{**row, **{c.key: None for c in own}}
                                            for row in found])
        linked = [row for row in found if any(row[c.key] is not None for c in own)]
        if linked:
            keys = list(table.primary_key.columns)
            db.session.execute(
                table.update()
                .where(*(c == bindparam(f"key_{c.key}") for c in keys))
                .values({c.key: bindparam(f"link_{c.key}") for c in own}),
                [{**{f"key_{c.key}": row[c.key] for c in keys},
                  **{f"link_{c.key}": row[c.key] for c in own}} for row in linked])
    db.session.commit()


def _check_holdable(value) -> None:
    if isinstance(value, MethodType) or (isinstance(value, FunctionType) and value.__closure__):
        raise TypeError("a kept scene holds data and plain functions, not closures (they "
                        "would keep an earlier test's objects): build it per test instead")
    for part in _parts(value):
        _check_holdable(part)


def _parts(value):
    if isinstance(value, list | tuple):
        return list(value)
    if isinstance(value, dict):
        return list(value.values())
    if isinstance(value, SimpleNamespace):
        return list(vars(value).values())
    if isinstance(value, type):
        return [v for k, v in vars(value).items() if not k.startswith("__")]
    if dataclasses.is_dataclass(value):
        return [getattr(value, f.name) for f in dataclasses.fields(value)]
    return []


def _reload(value):
    """The same structure with every model instance loaded again in this test's session."""
    try:
        state = inspect(value)
    except Exception:
        state = None
    if state is not None and getattr(state, "mapper", None) is not None \
            and not isinstance(value, type):
        return db.session.get(type(value), state.identity)
    if isinstance(value, list):
        value[:] = [_reload(v) for v in value]
    elif isinstance(value, tuple):
        return type(value)(*(_reload(v) for v in value)) if hasattr(value, "_fields") \
            else tuple(_reload(v) for v in value)
    elif isinstance(value, dict):
        for k, v in list(value.items()):
            value[k] = _reload(v)
    elif isinstance(value, SimpleNamespace):
        for k, v in list(vars(value).items()):
            setattr(value, k, _reload(v))
    elif isinstance(value, type):
        for k, v in [(k, v) for k, v in vars(value).items() if not k.startswith("__")]:
            setattr(value, k, _reload(v))
    elif dataclasses.is_dataclass(value):
        return dataclasses.replace(value, **{f.name: _reload(getattr(value, f.name))
                                             for f in dataclasses.fields(value) if f.init})
    return value
