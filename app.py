"""Entry point: `flask --app app run`, `gunicorn app:app`."""

import logging

from mentorgroups import create_app

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

app = create_app()
