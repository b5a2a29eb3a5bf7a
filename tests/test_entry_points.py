"""The production entry points leave what start-up built out of the collector's full passes
(`gc.freeze()`): app.py for gunicorn and `flask`, worker.py for the RQ worker."""

from __future__ import annotations

import gc
import os
import subprocess
import sys

import pytest

import worker
from tests.conftest import ROOT


@pytest.mark.one_backend  # a SQLite file of its own: the test database plays no part
def test_app_py_freezes_what_start_up_built(tmp_path):
    env = {**os.environ, "MENTORGROUPS_DEV": "1",
           "DATABASE_URL": f"sqlite:///{tmp_path / 'entry.sqlite3'}"}
    env.pop("REDIS_URL", None)
    frozen = subprocess.run(
        [sys.executable, "-c", "import gc, app; print(gc.get_freeze_count())"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=True)
    assert int(frozen.stdout.split()[-1]) > 50_000, frozen.stdout + frozen.stderr


def test_worker_freezes_after_building_its_app(make_app, monkeypatch):
    app = make_app(REDIS_URL="redis://127.0.0.1:6379/15")
    seen = {}
    monkeypatch.setattr(worker, "create_app", lambda: app)
    monkeypatch.setattr(worker, "drop_inherited_connections", lambda built: None)

    def work(built, burst):
        seen["frozen"], seen["app"] = gc.get_freeze_count(), built
        return 0

    monkeypatch.setattr(worker, "work_until_stopped", work)
    gc.unfreeze()
    try:
        assert worker.main([]) == 0
    finally:
        gc.unfreeze()
    assert seen["app"] is app
    assert seen["frozen"] > 50_000
