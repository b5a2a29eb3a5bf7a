"""A forked job process opens its own database connections (mentorgroups/jobs/forking.py).

The drills show the consequence with real workers (a killed work-horse no longer leaves the
worker's connection "in transaction"); these tests pin the rule itself in one process: after
`drop_inherited_connections`, a child of os.fork() holds none of the parent's pooled
connections, and a second call for the same app registers nothing more.
"""

from __future__ import annotations

import os

import pytest
from sqlalchemy import text

from mentorgroups.extensions import db
from mentorgroups.jobs import forking


def _pooled_in_child(app) -> int:
    """Fork; the child reports how many connections its pool still holds (checked in)."""
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: answer through the pipe and leave without running pytest's exit
        try:
            with app.app_context():
                held = db.engine.pool.checkedin()
            os.write(writer, str(held).encode())
        finally:
            os._exit(0)
    os.close(writer)
    with os.fdopen(reader) as answer:
        held = int(answer.read() or -1)
    os.waitpid(pid, 0)
    return held


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_starts_with_an_empty_pool(app):
    with app.app_context():
        db.session.execute(text("SELECT 1"))
        db.session.remove()  # the connection goes back to the pool, which now holds it
        assert db.engine.pool.checkedin() >= 1
    forking.drop_inherited_connections(app)
    assert _pooled_in_child(app) == 0
    with app.app_context():  # the parent keeps its own connections
        assert db.engine.pool.checkedin() >= 1


def test_registering_twice_for_one_app_adds_one_hook(app, monkeypatch):
    hooks = []
    monkeypatch.setattr(forking, "_registered", set())
    monkeypatch.setattr(forking.os, "register_at_fork", lambda **kw: hooks.append(kw))
    forking.drop_inherited_connections(app)
    forking.drop_inherited_connections(app)
    assert len(hooks) == 1 and set(hooks[0]) == {"after_in_child"}
    with app.app_context():
        engine = db.engine
        db.session.execute(text("SELECT 1"))
        db.session.remove()
        before = engine.pool
        hooks[0]["after_in_child"]()  # what the child runs: a fresh pool, the old one untouched
        assert engine.pool is not before
        assert before.checkedin() >= 1
        before.dispose()  # in a real child the parent closes these; here the test does
