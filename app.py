"""Entry point: `flask --app app run`, `gunicorn app:app`."""

import gc
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

# What start-up built (the app, its models and admin views: about 190,000 objects) lives as
# long as the process. Frozen, the collector's full passes no longer walk it: they cost a big
# page (the digest preview of a mentor of 50 groups) about 100 ms of CPU every other request.
gc.freeze()
