"""What a person sees when a request fails: one branded page per status, or a JSON body for
JSON clients, and never an exception's or the database's text.

- 400, 403, 404, 405, 413, 415, 429: what went wrong and what to do.
- 503 while the database can't be reached (SQLAlchemy's OperationalError, InterfaceError,
  DisconnectionError or pool TimeoutError, wherever raised: a view, a before-request hook,
  Flask-Login's user loader, a template): nothing the request sent was saved (the session is
  rolled back), try again in a minute (`Retry-After`). PostgreSQL's transient failures (a
  deadlock, a serialization failure, a statement timeout) are OperationalErrors too, and the
  same advice holds for them.
- 500 for anything else unexpected; the details go to the log only.

Every page renders from `templates/errors/error.html`, which touches no database (no
current_user, no school switcher, no bell), so it renders during the outage it reports."""

from __future__ import annotations

import logging

from flask import current_app, jsonify, make_response, request
from sqlalchemy import exc as sa_exc
from werkzeug.exceptions import HTTPException, InternalServerError

log = logging.getLogger(__name__)

# (title, message) per status.
ERRORS = {
    400: ("Something was wrong with that request",
          "The form may have expired. Go back, reload the page and try again."),
    403: ("You can't open this page", "Your role in this school doesn't give access to it."),
    404: ("Not found", "That page does not exist, or it is not in the school you are working in."),
    405: ("Not allowed", "That action can't be done this way."),
    413: ("That is too much to send at once",
          "What you sent is larger than Mentor Groups accepts. Send less at a time, or a "
          "smaller file, and try again."),
    415: ("That kind of content can't be sent here",
          "This page accepts forms only. Nothing was changed."),
    429: ("Slow down", "Too many attempts in a short time. Wait a minute and try again."),
    500: ("Something went wrong on our side",
          "The error has been logged. Nothing you sent was saved. Go back and try again; if it "
          "keeps happening, tell your school's administrator."),
    503: ("Mentor Groups is unavailable for a moment",
          "We can't reach the database right now; nothing you sent was saved. "
          "Try again in a minute."),
}
DATABASE_DOWN = (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.DisconnectionError,
                 sa_exc.TimeoutError)
RETRY_AFTER_SECONDS = 60
# Headers of an HTTP error worth keeping on the branded page (405's Allow, 429's Retry-After).
KEPT_HEADERS = ("Allow", "Retry-After")


def wants_json() -> bool:
    """A JSON client (it prefers application/json to HTML, or the path is /healthz-style)."""
    if request.path == "/healthz":
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def render_page(title: str, message: str) -> str:
    """The error page, rendered without the app's context processors: Flask-Login's would load
    current_user (a query), the app's own offer the school and the bell (more queries)."""
    template = current_app.jinja_env.get_template("errors/error.html")
    return template.render(title=title, message=message)


_FORMATS = "mentorgroups.error_formats"


def register_error_format(app, prefix: str, build) -> None:
    """Errors of requests under `prefix` (an API's base path) are built by
    `build(status, title, message, headers)` in that API's own format (problem+json, SCIM
    error bodies), whoever raises them: a view, the input guard, routing, the rate limiter."""
    app.extensions.setdefault(_FORMATS, {})[prefix] = build


def _format_for_path():
    for prefix, build in current_app.extensions.get(_FORMATS, {}).items():
        if request.path.startswith(prefix):
            return build
    return None


def error_response(status: int, title: str | None = None, message: str | None = None,
                   headers: dict | None = None):
    """The page (or JSON body) for `status`; `title`/`message` replace the standard words."""
    default_title, default_message = ERRORS.get(status, ("", ""))
    title, message = title or default_title, message or default_message
    build = _format_for_path()
    if build is not None:
        return build(status, title, message, headers or {})
    if wants_json():
        response = jsonify(status=status, error=title, message=message)
        response.status_code = status
    else:
        response = make_response(render_page(title, message), status)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def discard_session() -> None:
    """Roll the request's transaction back and drop its session, whatever state the connection
    is in (after a lost connection the rollback itself may fail)."""
    from mentorgroups.extensions import db

    try:
        db.session.rollback()
    except Exception:  # the connection is gone: nothing was committed, removing is enough
        log.debug("rollback after a failed request failed too", exc_info=True)
    try:
        db.session.remove()
    except Exception:
        log.debug("removing the session after a failed request failed", exc_info=True)


def http_error(error: HTTPException):
    status = error.code if error.code in ERRORS else 500
    kept = {name: value for name, value in error.get_headers() if name in KEPT_HEADERS}
    return error_response(status, headers=kept)


def driver_reason(error: Exception) -> str:
    """The driver's first line ("connection failed: ... Connection refused"), never the SQL
    and parameters SQLAlchemy's own message carries; for logs and operators only."""
    text = str(getattr(error, "orig", None) or "").strip()
    return (text.splitlines() or [error.__class__.__name__])[0][:200]


def database_unreachable(error: Exception):
    discard_session()
    log.error("database unreachable during %s %s: %s: %s", request.method, request.path,
              error.__class__.__name__, driver_reason(error))
    return error_response(503, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


def unexpected_error(error: InternalServerError):
    """Flask logs every unhandled exception and hands it here (as InternalServerError, the
    exception in `original_exception`) when it is not propagated (production; tests and
    debug mode propagate it)."""
    original = getattr(error, "original_exception", None)
    if isinstance(original, DATABASE_DOWN):
        return database_unreachable(original)
    discard_session()  # Flask has logged the traceback already (app.log_exception)
    return error_response(500)


def init_app(app) -> None:
    for status in ERRORS:
        if status != 500:
            app.register_error_handler(status, http_error)
    app.register_error_handler(InternalServerError, unexpected_error)
    for error_class in DATABASE_DOWN:
        app.register_error_handler(error_class, database_unreachable)
