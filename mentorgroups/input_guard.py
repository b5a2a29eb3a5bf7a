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
- Bodies: a JSON body that can't be read (malformed, or nested so deeply that reading it
  would exhaust the stack: 5,000 `[`) is a 400; a body in a content type the app never
  accepts (anything but a form, a multipart form or JSON) is a 415, before anything changes;
  a body larger than MAX_CONTENT_LENGTH is a 413 (Werkzeug, when the form is read here).
"""

from __future__ import annotations

import re

from flask import request
from werkzeug.exceptions import BadRequest
from werkzeug.routing import IntegerConverter

from mentorgroups.error_pages import error_response

INT4_MIN, INT4_MAX = -(2**31), 2**31 - 1
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
ID_FIELD = re.compile(r"(?:^|[_-])id$|^rowid$", re.I)
INTEGER = re.compile(r"\s*[+-]?\d+\s*")
BODY_METHODS = ("POST", "PUT", "PATCH", "DELETE")
# What the app's forms, scripts and RFC 8058 one-click unsubscribes send; SCIM's own type.
ACCEPTED_BODIES = ("application/x-www-form-urlencoded", "multipart/form-data", "application/json",
                   "application/scim+json")


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
    return error_response(400, title="That input can't be used", message=message)


def _not_found():
    return error_response(404, message="That record does not exist, or it is not in the school "
                                       "you are working in.")


def _unreadable_json(why: str):
    return error_response(400, title="That request can't be read",
                          message=f"Its JSON body {why}. Nothing was changed.")


def _json_values(value):
    """(name, text) of every key and string in a JSON document, walked without recursion (a
    document nested a few hundred levels deep is valid JSON but would exhaust the stack)."""
    pending = [("", value)]
    while pending:
        path, item = pending.pop()
        if isinstance(item, dict):
            for key, child in item.items():
                yield str(key), str(key)
                pending.append((str(key), child))
        elif isinstance(item, list):
            pending.extend((path, child) for child in item)
        elif isinstance(item, str):
            yield path or "value", item


def _read_json():
    """The request's JSON document, or a response refusing the request."""
    try:
        return request.get_json(), None
    except RecursionError:
        return None, _unreadable_json("is nested too deeply")
    except BadRequest:
        return None, _unreadable_json("is not valid JSON")


def check_request():
    """The before-request hook: None lets the request through, a response refuses it."""
    for value in (request.view_args or {}).values():
        if isinstance(value, str) and CONTROL_CHARS.search(value):
            return _not_found()
    sources = [("field", request.args.items(multi=True))]
    if request.method in BODY_METHODS:
        if request.mimetype and request.mimetype not in ACCEPTED_BODIES \
                and (request.content_length or request.headers.get("Transfer-Encoding")):
            return error_response(415)
        sources.append(("field", request.form.items(multi=True)))
        if request.is_json and (request.content_length or request.headers.get("Transfer-Encoding")):
            document, refused = _read_json()
            if refused is not None:
                return refused
            sources.append(("field", _json_values(document)))
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
