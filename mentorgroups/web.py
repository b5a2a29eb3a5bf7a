"""Template filters and error pages shared by every screen."""

from __future__ import annotations

from datetime import datetime

from flask import render_template

ERRORS = {
    400: ("Something was wrong with that request",
          "The form may have expired. Go back, reload the page and try again."),
    403: ("You can't open this page", "Your role in this school doesn't give access to it."),
    404: ("Not found", "That page does not exist, or it is not in the school you are working in."),
    405: ("Not allowed", "That action can't be done this way."),
    429: ("Slow down", "Too many attempts in a short time. Wait a minute and try again."),
}


def waited(since: datetime, now: datetime) -> str:
    """How long something has waited, the way a person says it: '3 days', '5 hours'."""
    seconds = max(int((now - since).total_seconds()), 0)
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            n = seconds // size
            return f"{n} {unit}{'s' if n != 1 else ''}"
    return "just now"


def init_app(app) -> None:
    app.add_template_filter(waited, "waited")
    from mentorgroups.paging import page_url

    app.add_template_global(page_url, "page_url")

    for code, (title, message) in ERRORS.items():
        def handler(error, title=title, message=message, code=code):
            return render_template("errors/error.html", title=title, message=message), code

        app.register_error_handler(code, handler)
