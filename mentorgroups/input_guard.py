"""Hostile input stops at the door, for every route at once.

- Ids: the tables' keys are 32-bit integers, so a number outside -2**31..2**31-1 names no row.
  In a URL the `int` converter refuses it (the rule does not match: 404); in a query string or
  form, any field named like an id (`id`, `rowid`, `*_id`, `*-id`) carrying such a number is
  answered 404 before a view runs. Either way the database is never asked to compare it (which
  PostgreSQL answers with "integer out of range", SQLite with an OverflowError).
- Control characters: NUL and the other C0 controls (tab, line feed and carriage return
  excepted: text areas send them) can't be stored by PostgreSQL, or mean nothing in a name or an
  address. A request carrying one in a query argument, form field, JSON value or path argument
  is refused with a 400 that names the field, before any view or database sees it.
"""

from __future__ import annotations

import re

from flask import render_template, request
from werkzeug.routing import IntegerConverter

INT4_MIN, INT4_MAX = -(2**31), 2**31 - 1
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
ID_FIELD = re.compile(r"(?:^|[_-])id$|^rowid$", re.I)
INTEGER = re.compile(r"\s*[+-]?\d+\s*")


def parse_id(raw) -> int | None:
    """A row id sent by a browser, or None when it can name no row (not a whole number, not
    positive, or beyond the 32-bit keys the tables use)."""
    try:
        pk = int(raw)
    except (TypeError, ValueError):
        return None
    return pk if 0 < pk <= INT4_MAX else None


class RowIdConverter(IntegerConverter):
    """Werkzeug's `int` converter, limited to the range of the tables' integer keys: a larger
    number does not match the rule, so the answer is 404 instead of a database error."""

    def __init__(self, map, fixed_digits=0, min=None, max=INT4_MAX, signed=False):
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def _label(name: str) -> str:
    if CONTROL_CHARS.search(name) or len(name) > 60:
        return "a field"
    return "\u201c" + name.replace("_", " ").replace("-", " ").strip() + "\u201d"


def _refuse(field: str, where: str):
    message = (f"The {where} {_label(field)} contains a control character (such as NUL) that "
               "can't be used. Remove it and try again.")
    return render_template("errors/error.html", title="That input can't be used",
                           message=message), 400


def _not_found():
    return render_template("errors/error.html", title="Not found",
                           message="That record does not exist, or it is not in the school "
                                   "you are working in."), 404


def _json_values(value, path: str = ""):
    if isinstance(value, dict):
        for key, item in value.items():
            yield str(key), str(key)
            yield from _json_values(item, str(key))
    elif isinstance(value, list):
        for item in value:
            yield from _json_values(item, path)
    elif isinstance(value, str):
        yield path or "value", value


def check_request():
    """The before-request hook: None lets the request through, a response refuses it."""
    for value in (request.view_args or {}).values():
        if isinstance(value, str) and CONTROL_CHARS.search(value):
            return _not_found()
    sources = [("field", request.args.items(multi=True))]
    if request.method in ("POST", "PUT", "PATCH", "DELETE"):
        sources.append(("field", request.form.items(multi=True)))
        if request.is_json:
            sources.append(("field", _json_values(request.get_json(silent=True))))
    for where, items in sources:
        for name, value in items:
            if CONTROL_CHARS.search(name) or CONTROL_CHARS.search(value):
                return _refuse(name, where)
            if ID_FIELD.search(name) and INTEGER.fullmatch(value) \
                    and not INT4_MIN <= int(value) <= INT4_MAX:
                return _not_found()
    return None


def init_app(app) -> None:
    """Call before any route is registered (the converter applies to rules added later) and
    before the other request hooks (this one runs first)."""
    app.url_map.converters["int"] = RowIdConverter
    app.before_request_funcs.setdefault(None, []).insert(0, check_request)
