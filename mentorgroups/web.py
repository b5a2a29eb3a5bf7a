"""Template filters and the icon shared by every screen (error pages: error_pages.py)."""

from __future__ import annotations

from datetime import datetime
from functools import wraps
from pathlib import Path

from flask import Response, current_app, make_response


def waited(since: datetime, now: datetime) -> str:
    """How long something has waited, the way a person says it: '3 days', '5 hours'."""
    seconds = max(int((now - since).total_seconds()), 0)
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            n = seconds // size
            return f"{n} {unit}{'s' if n != 1 else ''}"
    return "just now"


def favicon():
    """Browsers ask for /favicon.ico whatever the page links to: answer it, not a 404.
    (684 bytes, read whole: no file is left open for the server to close.)"""
    data = (Path(current_app.static_folder) / "favicon.ico").read_bytes()
    response = Response(data, mimetype="image/vnd.microsoft.icon")
    response.cache_control.public = True
    response.cache_control.max_age = 86400
    return response


def local_time(value: datetime) -> str:
    """A moment in the current school's time zone, as people write it."""
    from mentorgroups.localtime import as_written
    from mentorgroups.tenancy import current_account

    return as_written(value, current_account())


def secret_in_url(view):
    """For pages whose URL carries a secret (an invitation, password or unsubscribe token):
    the browser never hands the URL on in a Referer header, and nothing caches the page."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        response = make_response(view(*args, **kwargs))
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Cache-Control"] = "no-store"
        return response

    return wrapped


def init_app(app) -> None:
    app.add_template_filter(waited, "waited")
    app.add_url_rule("/favicon.ico", "favicon", favicon)
    app.add_template_filter(local_time, "local_time")
    from mentorgroups.wording import count_of

    app.add_template_global(count_of, "count_of")

    from mentorgroups.paging import page_url

    app.add_template_global(page_url, "page_url")

    from mentorgroups import error_pages

    error_pages.init_app(app)
