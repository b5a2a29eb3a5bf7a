"""Migrations: one head, `flask db upgrade` builds the schema, and it matches the models."""

from __future__ import annotations

import warnings

from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import upgrade
from sqlalchemy import inspect

from mentorgroups import create_app
from mentorgroups.extensions import db
from tests.conftest import (
    BACKEND,
    PG_TEST_DB,
    ROOT,
    base_config,
    drop_pg_database,
    recreate_pg_database,
)


def test_single_head():
    config = Config(str(ROOT / "migrations" / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    assert len(ScriptDirectory.from_config(config).get_heads()) == 1


def test_upgrade_builds_schema_matching_models(tmp_path):
    if BACKEND == "postgresql":
        url = recreate_pg_database(f"{PG_TEST_DB}_migrations")
    else:
        url = f"sqlite:///{tmp_path / 'migrated.sqlite3'}"
    app = create_app(base_config(url))
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        tables = set(inspect(db.engine).get_table_names())
        assert {"account", "user_account", "account_membership", "path", "step", "cohort",
                "submission", "review", "outbox_job", "sent_email"} <= tables
        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            with warnings.catch_warnings():
                # The models build their one index on an expression on PostgreSQL alone
                # (Index.ddl_if); SQLite cannot reflect such an index, and says so.
                warnings.filterwarnings("ignore", category=UserWarning, message=(
                    "autogenerate skipping metadata-specified expression-based index "
                    "'ix_user_account_name_order'; dialect 'sqlite'"))
                diff = compare_metadata(context, db.metadata)
        assert diff == []
        db.session.remove()
        db.engine.dispose()
    if BACKEND == "postgresql":
        drop_pg_database(f"{PG_TEST_DB}_migrations")
