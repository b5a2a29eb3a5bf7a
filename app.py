"""Entry point: `flask --app app run`, `gunicorn app:app`."""

import logging

from mentorgroups import create_app

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)

app = create_app()
