"""Entry point: `flask --app app run`, `gunicorn app:app`."""

import logging
import sys

from mentorgroups import create_app
from mentorgroups.settings import ConfigError

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)

try:
    app = create_app()
except ConfigError as exc:  # a setting missing or malformed: say which, no traceback
    sys.exit(f"Mentor Groups cannot start: {exc}")
