"""What every /api/v1/ route shares: reading a JSON body against the OpenAPI document's own
schema, cursors, ETags, and service errors as RFC 9457 problems."""

from __future__ import annotations

import base64
import hashlib
import json
from functools import wraps

from flask import g, jsonify, request
from jsonschema import Draft202012Validator
from sqlalchemy.exc import IntegrityError

from mentorgroups.api_auth import PROBLEM_TYPE_BASE, problem_response
from mentorgroups.extensions import db
from mentorgroups.services.errors import (
    FormErrors,
    NotFound,
    PermissionDenied,
    PlanLimitReached,
    ServiceError,
)

DEFAULT_LIMIT = 50
MAX_LIMIT = 100


class ApiProblem(Exception):
    """Raised by a route's helpers; answered as a problem by the blueprint's handler."""

    def __init__(self, status: int, title: str, detail: str, **extra):
        super().__init__(detail)
        self.status, self.title, self.detail, self.extra = status, title, detail, extra

    def response(self):
        return problem_response(self.status, self.title, self.detail, **self.extra)


def iso(moment) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment is not None else None


def actor():
    return g.api_actor


def account_id() -> int:
    return g.api_account_id


# ---- bodies ------------------------------------------------------------------------------------

_validators: dict[str, Draft202012Validator] = {}


def _validator(name: str) -> Draft202012Validator:
    if name not in _validators:
        from mentorgroups.api.spec import SCHEMAS

        _validators[name] = Draft202012Validator(SCHEMAS[name])
    return _validators[name]


def json_body(schema_name: str) -> dict:
    """The request's JSON object, valid against the document's schema `schema_name`
    (unknown fields, wrong types, too long values: 400 naming each); 415 for any other
    content type."""
    if request.mimetype != "application/json":
        raise ApiProblem(415, "Send JSON", "This operation takes an application/json body.")
    document = request.get_json(silent=True)
    if document is None:
        raise ApiProblem(400, "That request can't be read",
                         "Its body is not a JSON document. Nothing was changed.")
    errors = []
    for error in sorted(_validator(schema_name).iter_errors(document), key=str)[:20]:
        where = "/".join(str(p) for p in error.absolute_path) or "(body)"
        errors.append({"field": where, "message": error.message[:200]})
    if errors:
        raise ApiProblem(400, "That request is not valid",
                         "; ".join(f"{e['field']}: {e['message']}" for e in errors)[:1000],
                         errors=errors)
    return document


# ---- paging ------------------------------------------------------------------------------------

def encode_cursor(key: int | None) -> str | None:
    if key is None:
        return None
    return base64.urlsafe_b64encode(f"k{key}".encode()).decode().rstrip("=")


def page_args() -> tuple[int, int]:
    """(after, limit) from `cursor` and `limit`: 400 for a cursor this API did not write or a
    limit outside 1..100."""
    raw = request.args.get("cursor") or ""
    after = 0
    if raw:
        try:
            text = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode()
            after = int(text[1:]) if text.startswith("k") and text[1:].isdigit() else -1
        except (ValueError, UnicodeDecodeError):
            after = -1
        if not 0 < after <= 2**31 - 1:
            raise ApiProblem(400, "Unknown cursor", "Use the next_cursor of a previous page.")
    raw_limit = request.args.get("limit")
    limit = DEFAULT_LIMIT
    if raw_limit is not None:
        if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= MAX_LIMIT:
            raise ApiProblem(400, "Limit out of range",
                             f"limit is a whole number from 1 to {MAX_LIMIT}.")
        limit = int(raw_limit)
    return after, limit


def page_response(items: list, next_key: int | None):
    return jsonify(items=items, next_cursor=encode_cursor(next_key))


# ---- ETags -------------------------------------------------------------------------------------

def etag_of(document) -> str:
    digest = hashlib.sha256(json.dumps(document, sort_keys=True, default=str).encode())
    return f'W/"{digest.hexdigest()[:20]}"'


def _tags(header: str) -> set[str]:
    return {t.strip() for t in header.split(",") if t.strip()}


def check_if_match(document) -> None:
    """A write with `If-Match` goes ahead only on the version it names (412 otherwise)."""
    header = request.headers.get("If-Match")
    if header and "*" not in _tags(header) and etag_of(document) not in _tags(header):
        raise ApiProblem(412, "Changed meanwhile",
                         "The resource changed since that ETag. Read it again and retry.")


def with_etag(document, status: int = 200):
    """The document with its ETag; 304 when `If-None-Match` already names it."""
    tag = etag_of(document)
    if request.method == "GET" and tag in _tags(request.headers.get("If-None-Match", "")):
        response = jsonify()
        response.status_code = 304
        response.set_data(b"")
    else:
        response = jsonify(document)
        response.status_code = status
    response.headers["ETag"] = tag
    return response


# ---- service errors ----------------------------------------------------------------------------

def service_call(view):
    """Runs the route; commits what it did, or rolls back and answers the refusal as a
    problem. A service message is written for people and never carries SQL or internals."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        try:
            response = view(*args, **kwargs)
            db.session.commit()
            return response
        except ApiProblem as exc:
            db.session.rollback()
            return exc.response()
        except NotFound as exc:
            db.session.rollback()
            return problem_response(404, "Not found", exc.message)
        except PermissionDenied as exc:
            db.session.rollback()
            return problem_response(403, "Not allowed", exc.message)
        except PlanLimitReached as exc:
            db.session.rollback()
            return problem_response(
                409, "Plan limit reached", exc.message, type_=PROBLEM_TYPE_BASE + "plan-limit",
                limit={"name": exc.limit, "plan": exc.plan, "maximum": exc.maximum,
                       "used": exc.used})
        except FormErrors as exc:
            db.session.rollback()
            return problem_response(422, "Not accepted", exc.message,
                                    errors=[{"field": f, "message": m}
                                            for f, m in exc.errors.items()])
        except ServiceError as exc:
            db.session.rollback()
            extra = {"field": exc.field} if exc.field else {}
            return problem_response(422, "Not accepted", exc.message, **extra)
        except IntegrityError:
            db.session.rollback()
            return problem_response(409, "Conflict", "Another request changed the same thing "
                                                     "at the same moment. Read it again and retry.")

    return wrapped
