"""The OpenAPI 3.1 document of /api/v1/, served at /api/v1/openapi.json. Request bodies are
validated against these same schemas (api.common.json_body), so the document and the
server cannot disagree about what a request may contain."""

from __future__ import annotations

from copy import deepcopy

from flask import current_app

from mentorgroups.models import GROUP_ROLES

INT_ID = {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}
STAMP = {"type": "string", "format": "date-time"}
NULLABLE_STAMP = {"type": ["string", "null"], "format": "date-time"}
ROLE = {"type": "string", "enum": list(GROUP_ROLES)}
EMAIL = {"type": "string", "minLength": 1, "maxLength": 254}


def _obj(properties: dict, required=None, closed: bool = True, **more) -> dict:
    schema = {"type": "object", "properties": properties,
              "required": list(properties) if required is None else required, **more}
    if closed:
        schema["additionalProperties"] = False
    return schema


def _list_of(ref: str) -> dict:
    return _obj({"items": {"type": "array", "items": {"$ref": f"#/components/schemas/{ref}"}},
                 "next_cursor": {"type": ["string", "null"],
                                 "description": "Pass as `cursor` for the next page; null on "
                                                "the last page."}})


# Request bodies: closed (an unknown field is a 400), bounded.
SCHEMAS: dict[str, dict] = {
    "GroupCreate": _obj({
        "name": {"type": "string", "minLength": 1, "maxLength": 120},
        "description": {"type": "string", "maxLength": 2000},
        "parent_id": {"type": ["integer", "null"], "minimum": 1, "maximum": 2**31 - 1},
    }, required=["name"]),
    "GroupUpdate": _obj({
        "name": {"type": "string", "minLength": 1, "maxLength": 120},
        "description": {"type": "string", "maxLength": 2000},
        "parent_id": {"type": ["integer", "null"], "minimum": 1, "maximum": 2**31 - 1,
                      "description": "The group to nest under; null for the top level."},
    }, required=[], minProperties=1),
    "MembersAdd": _obj({
        "role": ROLE,
        "emails": {"type": "array", "items": EMAIL, "maxItems": 500},
        "user_ids": {"type": "array", "items": INT_ID, "maxItems": 500},
    }, required=["role"]),
    "RoleChange": _obj({"role": ROLE}),
}

RESPONSE_SCHEMAS: dict[str, dict] = {
    "Problem": _obj({
        "type": {"type": "string"}, "title": {"type": "string"},
        "status": {"type": "integer"}, "detail": {"type": "string"},
        "field": {"type": "string"},
        "errors": {"type": "array", "items": _obj({"field": {"type": "string"},
                                                   "message": {"type": "string"}})},
        "limit": _obj({"name": {"type": "string"}, "plan": {"type": "string"},
                       "maximum": {"type": "integer"}, "used": {"type": "integer"}}),
    }, required=["type", "title", "status", "detail"]),
    "School": _obj({"id": INT_ID, "name": {"type": "string"}, "plan": {"type": "string"},
                    "token": _obj({"name": {"type": "string"},
                                   "scope": {"type": "string", "enum": ["read", "write"]}})}),
    "Group": _obj({
        "id": INT_ID, "name": {"type": "string"}, "description": {"type": "string"},
        "parent_id": {"type": ["integer", "null"]}, "created_at": STAMP,
        "counts": _obj({"member": {"type": "integer"}, "mentor": {"type": "integer"},
                        "group_admin": {"type": "integer"}}),
    }),
    "GroupList": _list_of("Group"),
    "GroupDeleted": _obj({"deleted": INT_ID, "children_moved": {"type": "integer"},
                          "memberships_ended": {"type": "integer"},
                          "invitations_ended": {"type": "integer"}}),
    "Member": _obj({"user_id": INT_ID, "email": {"type": "string"}, "name": {"type": "string"},
                    "role": ROLE, "added_at": STAMP}),
    "MemberList": _list_of("Member"),
    "MemberRemoved": _obj({"removed": {"$ref": "#/components/schemas/Member"}}),
    "AddReport": _obj({
        "added": {"type": "array", "items": _obj({"user_id": INT_ID,
                                                  "email": {"type": "string"}})},
        "already": {"type": "array", "items": _obj({"user_id": INT_ID,
                                                    "email": {"type": "string"},
                                                    "role": ROLE})},
        "invited": {"type": "array", "items": {"type": "string"},
                    "description": "Addresses nobody in the school has: invited by email."},
        "pending": {"type": "array", "items": {"type": "string"},
                    "description": "Already invited to the group: left as it is."},
        "not_in_school": {"type": "array", "items": {"type": "string"}},
        "revoked": {"type": "array", "items": {"type": "string"}},
        "invalid": {"type": "array", "items": {"type": "string"}},
        "refused": {"type": "array", "items": {"type": "string"}},
    }),
    "Person": _obj({"id": INT_ID, "email": {"type": "string"}, "name": {"type": "string"},
                    "school_role": {"type": "string", "enum": ["admin", "staff", "member"]},
                    "status": {"type": "string", "enum": ["active", "revoked"]}}),
    "Review": _obj({
        "submission_id": INT_ID,
        "learner": _obj({"id": INT_ID, "name": {"type": "string"}}),
        "path": {"type": "string"}, "step": {"type": "string"}, "round": {"type": "integer"},
        "submitted_at": STAMP, "updated_at": NULLABLE_STAMP}),
    "ReviewList": _list_of("Review"),
    "Progress": _obj({
        "user_id": INT_ID, "email": {"type": "string"}, "name": {"type": "string"},
        "paths": {"type": "array", "items": _obj({
            "path_id": INT_ID, "title": {"type": "string"}, "completed": {"type": "integer"},
            "total": {"type": "integer"}, "percent": {"type": "integer"}})},
        "waiting_reviews": {"type": "integer"}, "last_activity": NULLABLE_STAMP}),
    "ProgressList": _list_of("Progress"),
}

_PROBLEM_WORDS = {
    "400": "The request can't be read or is not valid (unknown fields, wrong types).",
    "401": "No token, or an unknown or revoked one.",
    "403": "The token may only read, or the action is not allowed.",
    "404": "Nothing with that id in the token's school.",
    "405": "No such operation at that address (ids beyond 2147483647 match no route).",
    "409": "A plan limit (named in `limit`) or a concurrent change.",
    "412": "If-Match names an older version.",
    "413": "The body is too large.",
    "415": "The body is not application/json.",
    "422": "A rule refused the change (the detail says which; `field` names the field).",
    "429": "Too many requests for this token; wait `Retry-After` seconds.",
}


def _problems(*codes: str) -> dict:
    out = {}
    for code in codes:
        response = {"description": _PROBLEM_WORDS[code], "content": {
            "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}
        if code == "429":
            response["headers"] = {"Retry-After": {"schema": {"type": "integer"}}}
        out[code] = response
    return out


READ_ERRORS = ("400", "401", "404", "405", "429")
WRITE_ERRORS = ("400", "401", "403", "404", "405", "409", "412", "413", "415", "422", "429")


def _ok(schema: str, description: str, code: str = "200", etag: bool = False) -> dict:
    response = {"description": description, "content": {
        "application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}}
    if etag:
        response["headers"] = {"ETag": {"schema": {"type": "string"}}}
    return {code: response}


def _body(schema: str) -> dict:
    return {"required": True, "content": {
        "application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}}


def _path_id(name: str, description: str) -> dict:
    return {"name": name, "in": "path", "required": True, "description": description,
            "schema": INT_ID}


PAGING = [
    {"name": "cursor", "in": "query", "required": False, "schema": {"type": "string",
                                                                     "maxLength": 40},
     "description": "next_cursor of the previous page; leave out for the first page."},
    {"name": "limit", "in": "query", "required": False,
     "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 50}},
]
GROUP_ID = _path_id("group_id", "A group of the token's school.")
USER_ID = _path_id("user_id", "A person in the group.")
IF_MATCH = {"name": "If-Match", "in": "header", "required": False,
            "schema": {"type": "string", "maxLength": 100},
            "description": "The group's ETag: the change is made only on that version."}


def _op(operation_id: str, summary: str, responses: dict, errors=READ_ERRORS,
        parameters=(), body: str | None = None, tag: str = "Groups") -> dict:
    op = {"operationId": operation_id, "summary": summary, "tags": [tag],
          "responses": {**responses, **_problems(*errors)}}
    if parameters:
        op["parameters"] = list(parameters)
    if body:
        op["requestBody"] = _body(body)
    return op


PATHS = {
    "/school": {"get": _op("getSchool", "The token's school and the token", _ok(
        "School", "The school"), tag="School")},
    "/groups": {
        "get": _op("listGroups", "Groups of the school, by id, a page at a time",
                   _ok("GroupList", "A page of groups"), parameters=PAGING),
        "post": _op("createGroup", "Create a group (top level, or nested under parent_id)",
                    _ok("Group", "Created", "201", etag=True), WRITE_ERRORS,
                    body="GroupCreate"),
    },
    "/groups/{group_id}": {
        "get": _op("getGroup", "A group", {**_ok("Group", "The group", etag=True),
                                          "304": {"description": "Not modified"}},
                   parameters=[GROUP_ID]),
        "patch": _op("updateGroup", "Rename, describe or move a group",
                     _ok("Group", "The group as changed", etag=True), WRITE_ERRORS,
                     parameters=[GROUP_ID, IF_MATCH], body="GroupUpdate"),
        "delete": _op("deleteGroup", "Delete a group (nested groups move up)",
                      _ok("GroupDeleted", "What the deletion did"), WRITE_ERRORS,
                      parameters=[GROUP_ID, IF_MATCH]),
    },
    "/groups/{group_id}/members": {
        "get": _op("listMembers", "People in a group, a page at a time",
                   _ok("MemberList", "A page of memberships"), tag="Memberships",
                   parameters=[GROUP_ID, *PAGING,
                               {"name": "role", "in": "query", "required": False,
                                "schema": ROLE}]),
        "post": _op("addMembers", "Add people by email or id with a role; unknown addresses "
                                  "are invited", _ok("AddReport", "What happened to each"),
                    WRITE_ERRORS, parameters=[GROUP_ID], body="MembersAdd",
                    tag="Memberships"),
    },
    "/groups/{group_id}/members/{user_id}": {
        "get": _op("getMember", "One person's membership", _ok("Member", "The membership"),
                   parameters=[GROUP_ID, USER_ID], tag="Memberships"),
        "put": _op("changeRole", "Change a person's role in the group",
                   _ok("Member", "The membership as changed"), WRITE_ERRORS,
                   parameters=[GROUP_ID, USER_ID], body="RoleChange", tag="Memberships"),
        "delete": _op("removeMember", "Remove a person from the group",
                      _ok("MemberRemoved", "The membership that ended"), WRITE_ERRORS,
                      parameters=[GROUP_ID, USER_ID], tag="Memberships"),
    },
    "/people": {"get": _op("findPerson", "A person of the school by email",
                           _ok("Person", "The person"), tag="People", parameters=[
                               {"name": "email", "in": "query", "required": True,
                                "schema": {"type": "string", "maxLength": 254}}])},
    "/groups/{group_id}/reviews": {"get": _op(
        "listWaitingReviews", "Work of the group's members waiting for review, by id",
        _ok("ReviewList", "A page of waiting work"), parameters=[GROUP_ID, *PAGING],
        tag="Progress")},
    "/groups/{group_id}/progress": {"get": _op(
        "listProgress", "Each member's progress on their paths, by person id",
        _ok("ProgressList", "A page of members"), parameters=[GROUP_ID, *PAGING],
        tag="Progress")},
}


def openapi_document(base_url: str | None = None) -> dict:
    base = (base_url or current_app.config["BASE_URL"]).rstrip("/")
    return {
        "openapi": "3.1.0",
        "info": {"title": "Mentor Groups API", "version": "1.0.0",
                 "description": "A school's groups, memberships and progress. Authenticate "
                                "with a school API token (Back office > API tokens) as "
                                "`Authorization: Bearer <token>`. Errors are RFC 9457 "
                                "problem documents."},
        "servers": [{"url": f"{base}/api/v1"}],
        "security": [{"bearer": []}],
        "tags": [{"name": n} for n in ("School", "Groups", "Memberships", "People",
                                        "Progress")],
        "paths": deepcopy(PATHS),
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {**deepcopy(SCHEMAS), **deepcopy(RESPONSE_SCHEMAS)},
        },
    }
