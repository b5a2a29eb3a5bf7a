"""Bearer-token authentication for the school's APIs (/api/v1/, /scim/v2/).

`protect(bp)` makes every route of a blueprint answer to school API tokens only:

- `Authorization: Bearer <secret>` names an active token (services.api_tokens.authenticate),
  otherwise 401 with `WWW-Authenticate: Bearer`: missing, malformed, unknown and revoked
  tokens alike. Cookies are never read: a request carrying the back office's session cookie
  and no token is a 401, and with a token it acts as the token, never as the signed-in person.
- A read-only token may read (GET, HEAD, OPTIONS) and nothing else: 403.
- CSRF does not apply: a bearer token is not sent by a browser on its own, and no cookie is
  accepted here.
- The request acts as `g.api_actor` (a TokenActor, an account admin of the token's school
  only) in `g.api_account_id`; `g.api_token` is the token.
- The token's last use is written at most once a minute (api_tokens.record_use).
- Requests are rate-limited per token (API_RATE_LIMIT, Flask-Limiter keyed by a hash of the
  header, so the limit is checked before any database work); 429 carries `Retry-After`.

Errors come in the API's own format: `problem_response` (RFC 9457 problem+json) unless the
blueprint passes its own builder (SCIM's error bodies)."""

from __future__ import annotations

import hashlib
import math
import time

from flask import current_app, g, jsonify, request
from flask_login import AnonymousUserMixin

from mentorgroups.error_pages import error_response, register_error_format
from mentorgroups.extensions import csrf, db, limiter
from mentorgroups.services.api_tokens import TokenActor, authenticate, record_use

READ_METHODS = ("GET", "HEAD", "OPTIONS")
PROBLEM_TYPE_BASE = "https://mentorgroups.example/problems/"
PROBLEM_TYPES = {400: "bad-request", 401: "unauthorized", 403: "forbidden", 404: "not-found",
                 405: "method-not-allowed", 409: "conflict", 412: "precondition-failed",
                 413: "too-large", 415: "unsupported-media-type", 422: "unprocessable",
                 428: "precondition-required", 429: "too-many-requests", 500: "server-error",
                 503: "unavailable"}


def retry_after_seconds() -> int:
    """Seconds until the limit this request broke lets the token in again (at least 1)."""
    current = limiter.current_limit
    if current is None:
        return 60
    return max(1, math.ceil(current.reset_at - time.time()))


def auth_headers(response, status: int, realm: str, headers: dict | None = None):
    """The headers every error of the school's APIs carries, whatever its body's format
    (problem+json here, SCIM's errors in scim/protocol.py): `headers` given by the caller
    (Allow, Retry-After), then for a 401 `WWW-Authenticate: Bearer realm="<realm>"` (RFC
    6750) and for a 429 `Retry-After`, the seconds until the broken limit lets the token in
    again, unless the caller said otherwise. Returns the response."""
    for name, value in (headers or {}).items():
        response.headers[name] = value
    if status == 401:
        response.headers["WWW-Authenticate"] = f'Bearer realm="{realm}"'
    if status == 429 and "Retry-After" not in response.headers:
        response.headers["Retry-After"] = str(retry_after_seconds())
    return response


def problem_response(status: int, title: str, detail: str, headers: dict | None = None,
                     type_: str | None = None, **extra):
    """An RFC 9457 problem: `type` (a URI naming the kind of problem), `title`, `status`,
    `detail`, and any extension members (`limit`, `errors`, `field`)."""
    body = {"type": type_ or PROBLEM_TYPE_BASE + PROBLEM_TYPES.get(status, "error"),
            "title": title, "status": status, "detail": detail, **extra}
    response = jsonify(body)
    response.status_code = status
    response.mimetype = "application/problem+json"
    return auth_headers(response, status, "Mentor Groups API", headers)


def rate_key() -> str:
    """Per token: a hash of the Authorization header (the secret never reaches the storage);
    requests with no header count per client address."""
    header = request.headers.get("Authorization", "")
    if header:
        return "token:" + hashlib.sha256(header.encode()).hexdigest()[:32]
    return "addr:" + (request.remote_addr or "unknown")


def _api_rate_limit() -> str:
    return current_app.config["API_RATE_LIMIT"]


def protect(bp, build_error=None, public: tuple[str, ...] = ()) -> None:
    """Bearer-token authentication, write scope, no CSRF, no cookies and a per-token rate
    limit for every route of `bp` but the `public` endpoints (a document describing the API);
    its errors (and those of anything under its URL prefix) in `build_error`'s format,
    problem+json by default."""
    build = build_error or (lambda status, title, detail, headers:
                            problem_response(status, title, detail, headers))
    csrf.exempt(bp)
    limiter.limit(_api_rate_limit, key_func=rate_key)(bp)

    @bp.record_once
    def _register_format(state):
        register_error_format(state.app, bp.url_prefix, build)

    @bp.before_request
    def authenticate_token():
        # Never the signed-in person, whatever cookie came along: Flask-Login finds this
        # anonymous user already loaded and reads no session.
        g._login_user = AnonymousUserMixin()
        if request.endpoint in public:
            return None
        token = authenticate(request.headers.get("Authorization"))
        if token is None:
            return error_response(401, title="Not authenticated",
                                  message="Send a school API token as `Authorization: Bearer "
                                          "<token>`. This one is missing, unknown or revoked.")
        if request.method not in READ_METHODS and not token.can_write:
            return error_response(403, title="Read-only token",
                                  message=f"The token \u201c{token.name}\u201d may only read. "
                                          "Create a read and write token to make changes.")
        if record_use(token):
            db.session.commit()
        g.api_token = token
        g.api_actor = TokenActor(token)
        g.api_account_id = token.account_id
        return None
