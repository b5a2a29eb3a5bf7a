"""The app as `make bench` serves it with gunicorn: the benchmark school's database (from
MG_BENCH_DB), and an `X-Bench-Statements` response header with the SQL statements the request
ran (counted by an engine event; the app itself knows nothing of the bench).

    gunicorn --workers 1 --bind 127.0.0.1:PORT bench.serve:app
"""

from __future__ import annotations

import gc
import os

from flask import g
from sqlalchemy import event

from mentorgroups import create_app
from mentorgroups.extensions import db

app = create_app({"SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": os.environ["MG_BENCH_DB"],
                  "SESSION_COOKIE_SECURE": False, "RATELIMIT_ENABLED": False})

with app.app_context():
    @event.listens_for(db.engine, "before_cursor_execute")
    def _count(conn, cursor, statement, parameters, context, executemany):
        try:
            g.bench_statements = g.get("bench_statements", 0) + 1
        except RuntimeError:  # outside a request
            pass


gc.freeze()  # as app.py does for production's workers


@app.after_request
def _statements_header(response):
    response.headers["X-Bench-Statements"] = str(g.get("bench_statements", 0))
    return response
