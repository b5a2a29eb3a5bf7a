"""The SCIM 2.0 protocol around the routes (RFC 7644): responses as application/scim+json,
errors as urn:ietf:params:scim:api:messages:2.0:Error bodies with their scimType, request
bodies read and validated by scim2-models, filters parsed by scim2-models, paging."""

from __future__ import annotations

import json

from flask import current_app, request
from pydantic import ValidationError
from scim2_models import Context, Error, SCIMException, ScimFilter
from scim2_models.path.expressions import Comparison

from mentorgroups.services.errors import NotFound, PermissionDenied, ServiceError

SCIM_JSON = "application/scim+json"
MAX_RESULTS = 100  # a page holds at most this many resources (ServiceProviderConfig says so)


class ScimError(Exception):
    """Answer the request with a SCIM error body: `status`, `detail`, and `scim_type` where
    RFC 7644 §3.12 names one."""

    def __init__(self, status: int, detail: str, scim_type: str | None = None,
                 headers: dict | None = None):
        super().__init__(detail)
        self.status, self.detail, self.scim_type = status, detail, scim_type
        self.headers = headers or {}


def scim_response(payload: dict, status: int = 200, location: str | None = None):
    response = current_app.response_class(json.dumps(payload), status=status,
                                          mimetype=SCIM_JSON)
    if location:
        response.headers["Location"] = location
    return response


def error_body(status: int, detail: str, scim_type: str | None = None) -> dict:
    return Error(status=status, scim_type=scim_type, detail=detail).model_dump(
        scim_ctx=Context.RESOURCE_QUERY_RESPONSE)


def error_response(status: int, detail: str, scim_type: str | None = None,
                   headers: dict | None = None):
    response = scim_response(error_body(status, detail, scim_type), status)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="Mentor Groups SCIM"'
    if status == 429 and "Retry-After" not in response.headers:
        from mentorgroups.api_auth import retry_after_seconds

        response.headers["Retry-After"] = str(retry_after_seconds())
    return response


def build_error(status: int, title: str, message: str, headers: dict):
    """The error format of everything under /scim/v2/ (api_auth.protect and error_pages call
    it: 401, 403, 404, 405, 413, 415, 429, 500, 503 and the input guard's 400s). A 400 that
    reaches here is a body that can't be read at all: invalidSyntax."""
    scim_type = "invalidSyntax" if status == 400 else None
    detail = f"{title}. {message}" if title and message else (title or message)
    return error_response(status, detail, scim_type, headers)


def from_service_error(exc: ServiceError) -> ScimError:
    """A service's refusal as SCIM: NotFound 404, PermissionDenied 403, any other rule 400
    invalidValue (its message is written for a person and names the rule)."""
    if isinstance(exc, NotFound):
        return ScimError(404, exc.message)
    if isinstance(exc, PermissionDenied):
        return ScimError(403, exc.message)
    return ScimError(400, exc.message, "invalidValue")


def from_validation_error(exc: ValidationError) -> ScimError:
    """scim2-models' refusal of a body: unknown attributes (`extra_forbidden`) are
    invalidSyntax, bad paths invalidPath, the rest what scim2-models says."""
    first = exc.errors()[0]
    kind = first.get("type", "")
    if kind == "extra_forbidden":
        name = ".".join(str(p) for p in first.get("loc", ())) or "an attribute"
        return ScimError(400, f"The attribute \u201c{name}\u201d is not part of this "
                              "resource's schema.", "invalidSyntax")
    error = Error.from_validation_errors(exc.errors()) if hasattr(
        Error, "from_validation_errors") else None
    scim_type = getattr(error, "scim_type", None) or (
        kind[len("scim_"):] if kind.startswith("scim_") else "invalidValue")
    return ScimError(400, str(first.get("msg", "The request is not valid.")), scim_type)


def read_body() -> dict:
    """The request's JSON object (the input guard has refused bodies that aren't JSON at all
    when they say they are; this also catches those sent with no or another content type)."""
    raw = request.get_data(cache=True)
    try:
        document = json.loads(raw) if raw else None
    except (ValueError, RecursionError):
        raise ScimError(400, "The body is not valid JSON. Nothing was changed.",
                        "invalidSyntax") from None
    if not isinstance(document, dict):
        raise ScimError(400, "The body must be a JSON object. Nothing was changed.",
                        "invalidSyntax")
    return document


def validate(model, document: dict, context: Context):
    """`document` read as `model` by scim2-models in a request context; ScimError when it
    does not conform (unknown attributes, wrong types, missing required ones)."""
    try:
        return model.model_validate(document, scim_ctx=context)
    except ValidationError as exc:
        raise from_validation_error(exc) from None
    except SCIMException as exc:
        raise ScimError(exc.status, exc.detail, exc.scim_type or None) from None


def page_arguments() -> tuple[int, int]:
    """(offset, count) of `startIndex` (1-based) and `count`: RFC 7644 §3.4.2.4 has values
    below 1 read as 1 and negative counts as 0; counts above MAX_RESULTS are cut to it."""
    def number(name: str, default: int) -> int:
        raw = request.args.get(name)
        if raw is None or raw == "":
            return default
        try:
            return int(raw)
        except ValueError:
            raise ScimError(400, f"{name} must be a whole number.", "invalidValue") from None

    start = max(number("startIndex", 1), 1)
    count = min(max(number("count", MAX_RESULTS), 0), MAX_RESULTS)
    return start - 1, count


def equality_filter(model, attribute: str) -> str | None:
    """The value of a `filter=<attribute> eq "value"` query (scim2-models parses it), None
    without a filter; any other filter is refused (400 invalidFilter), never ignored."""
    text = request.args.get("filter")
    if text is None or not text.strip():
        return None
    try:
        parsed = ScimFilter[model](text)
        node = parsed.ast
    except SCIMException as exc:
        raise ScimError(400, f"The filter can't be read: {exc.detail}.", "invalidFilter") \
            from None
    except ValidationError as exc:
        raise ScimError(400, "The filter can't be read.", "invalidFilter") from exc
    if not (isinstance(node, Comparison) and str(node.op.value) == "eq"
            and node.attr_path.sub_attr is None
            and str(node.attr_path.attr).lower() == attribute.lower()
            and isinstance(node.value, str)):
        raise ScimError(400, f"Only the filter {attribute} eq \"...\" is supported here.",
                        "invalidFilter")
    return node.value


def validate_parameters():
    """`attributes` and `excludedAttributes` of the query, as scim2-models reads them."""
    from scim2_models import ResponseParameters

    values = {name: request.args[name] for name in ("attributes", "excludedAttributes")
              if request.args.get(name)}
    if not values:
        return None
    return validate(ResponseParameters, values, Context.RESOURCE_QUERY_REQUEST)
