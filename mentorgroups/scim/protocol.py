"""The SCIM 2.0 protocol around the routes (RFC 7644): responses as application/scim+json,
errors as urn:ietf:params:scim:api:messages:2.0:Error bodies with their scimType, request
bodies read and validated by scim2-models, filters parsed by scim2-models, paging."""

from __future__ import annotations

import json

from flask import current_app, request
from pydantic import ValidationError
from scim2_models import Context, Error, SCIMException, ScimFilter, SearchRequest
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
    from mentorgroups.api_auth import auth_headers

    return auth_headers(scim_response(error_body(status, detail, scim_type), status), status,
                        "Mentor Groups SCIM", headers)


def build_error(status: int, title: str, message: str, headers: dict):
    """The error format of everything under /scim/v2/ (api_auth.protect and error_pages call
    it: 401, 403, 404, 405, 413, 415, 429, 500, 503 and the input guard's 400s). A 400 that
    reaches here is a body that can't be read at all: invalidSyntax."""
    scim_type = "invalidSyntax" if status == 400 else None
    detail = f"{title}. {message}" if title and message else (title or message)
    return error_response(status, detail, scim_type, headers)


def from_service_error(exc: ServiceError) -> ScimError:
    """A service's refusal as SCIM: NotFound 404, PermissionDenied and the plan's group limit
    403, a name clash 409 uniqueness, the invitation rate limit 429, any other rule 400
    invalidValue (its message is written for a person and names the rule)."""
    from mentorgroups.services import scim_groups

    if isinstance(exc, scim_groups.NameTaken):
        return ScimError(409, exc.message, "uniqueness")
    if isinstance(exc, scim_groups.PlanLimitReached):
        return ScimError(403, exc.message)
    if isinstance(exc, scim_groups.InvitationsThrottled):
        return ScimError(429, exc.message + " Nothing of this request was kept.")
    if isinstance(exc, NotFound):
        return ScimError(404, exc.message)
    if isinstance(exc, PermissionDenied):
        return ScimError(403, exc.message)
    return ScimError(400, exc.message, "invalidValue")


def from_validation_error(exc: ValidationError) -> ScimError:
    """scim2-models' refusal of a body (its first error): unknown attributes
    (`extra_forbidden`) are invalidSyntax, the rest as scim2-models maps them (invalidPath,
    noTarget, invalidValue, ...)."""
    first = exc.errors()[0]
    kind = first.get("type", "")
    if kind == "extra_forbidden":
        name = ".".join(str(p) for p in first.get("loc", ())) or "an attribute"
        return ScimError(400, f"The attribute \u201c{name}\u201d is not part of this "
                              "resource's schema.", "invalidSyntax")
    error = Error.from_validation_error(first)  # scimType as RFC 7644 §3.12 maps it
    return ScimError(400, error.detail or "The request is not valid.",
                     error.scim_type or "invalidValue")


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


QUERY_NAMES = ("filter", "startIndex", "count", "attributes", "excludedAttributes")


def search_request(model) -> SearchRequest:
    """What a list asks for, from the query string (GET) or the body (POST .../.search,
    RFC 7644 §3.4.3), read by scim2-models: filter, paging, attributes. Its filter is
    bound to `model`, so an attribute the model does not have is an invalidFilter."""
    if request.method == "POST":
        document = read_body()
    else:
        document = {name: request.args[name] for name in QUERY_NAMES if name in request.args}
    if isinstance(document.get("filter"), str) and not document["filter"].strip():
        document.pop("filter")
    query = validate(SearchRequest, document, Context.SEARCH_REQUEST)
    if query.filter is not None:
        try:
            ScimFilter[model](str(query.filter))
        except SCIMException as exc:
            raise ScimError(400, f"The filter can't be used: {exc.detail}.",
                            "invalidFilter") from None
    return query


def page_of(query: SearchRequest) -> tuple[int, int]:
    """(offset, count): RFC 7644 §3.4.2.4 reads a startIndex below 1 as 1 and a negative
    count as 0; counts above MAX_RESULTS are cut to it."""
    start = max(query.start_index or 1, 1)
    count = MAX_RESULTS if query.count is None else min(max(query.count, 0), MAX_RESULTS)
    return start - 1, count


def equality_filter(model, attribute: str, query: SearchRequest) -> str | None:
    """The value of a `<attribute> eq "value"` filter (scim2-models parsed it), None without
    a filter; any other filter is refused (400 invalidFilter), never ignored."""
    if query.filter is None:
        return None
    node = ScimFilter[model](str(query.filter)).ast
    if not (isinstance(node, Comparison) and str(node.op.value) == "eq"
            and node.attr_path.sub_attr is None
            and str(node.attr_path.attr).lower() == attribute.lower()
            and isinstance(node.value, str)):
        raise ScimError(400, f"Only the filter {attribute} eq \"...\" is supported here.",
                        "invalidFilter")
    return node.value


def response_parameters():
    """`attributes` and `excludedAttributes` of a GET's query string, read by scim2-models."""
    from scim2_models import ResponseParameters

    values = {name: request.args[name] for name in ("attributes", "excludedAttributes")
              if request.args.get(name)}
    if not values:
        return None
    return validate(ResponseParameters, values, Context.RESOURCE_QUERY_REQUEST)


# RFC 7643 §3.1: an id is unique across all of a service provider's resources, so a person
# and a group never share one ("user-12", "group-7").
USER_ID, GROUP_ID = "user-", "group-"


def scim_id(prefix: str, row_id: int) -> str:
    return f"{prefix}{row_id}"


def row_id(prefix: str, value) -> int | None:
    """The row id a SCIM id names, None when it names none (the services answer 404)."""
    text = str(value or "")
    if not text.startswith(prefix) or not text[len(prefix):].isdigit():
        return None
    from mentorgroups.input_guard import parse_id

    return parse_id(text[len(prefix):])


def member_value(value: str) -> str:
    """A member's value as the members rules take it: a person's row id, or an address."""
    if "@" in value:
        return value
    uid = row_id(USER_ID, value)
    if uid is None:
        raise ScimError(400, f"\u201c{value[:80]}\u201d names nobody: a member's value is the "
                             "id of a person of the school (see /Users) or an email address.",
                        "invalidValue")
    return str(uid)
