"""/Users: the school's people, read only (they join by invitation; an identity provider
pushes them as group members by email address instead, see mentorgroups.scim.groups)."""

from __future__ import annotations

from flask import g
from scim2_models import User

from mentorgroups.scim import bp
from mentorgroups.scim.protocol import (
    USER_ID,
    ScimError,
    equality_filter,
    page_of,
    response_parameters,
    row_id,
    scim_response,
    search_request,
)
from mentorgroups.scim.resources import dump, list_response, user_resource
from mentorgroups.services import scim_people

READ_ONLY = ("People join a school by invitation, so /Users is read only. Push people as "
             "members of a group (by id, or by email address to invite them).")


@bp.get("/Users")
@bp.post("/Users/.search")
def list_users():
    query = search_request(User)
    offset, count = page_of(query)
    total, rows = scim_people.list_people(g.api_actor, g.api_account_id,
                                          equality_filter(User, "userName", query), offset,
                                          count)
    return scim_response(list_response(User, total, offset, [user_resource(*r) for r in rows],
                                       query))


@bp.get("/Users/<ref>")
def get_user(ref: str):
    row = scim_people.get_person(g.api_actor, g.api_account_id, row_id(USER_ID, ref))
    return scim_response(dump(user_resource(*row), parameters=response_parameters()))


@bp.route("/Users", methods=["POST"])
@bp.route("/Users/<ref>", methods=["PUT", "PATCH", "DELETE"])
def change_user(ref: str | None = None):
    raise ScimError(501, READ_ONLY)


@bp.post("/.search")
def search_all():
    """RFC 7644 §3.4.3 at the root: the school's Users, then its Groups, paged as one list.
    A filter belongs to one resource type, so it is asked of /Users or /Groups instead."""
    from scim2_models import Group

    from mentorgroups.scim.resources import group_resource
    from mentorgroups.services import scim_groups

    query = search_request(User)
    if query.filter is not None:
        raise ScimError(400, "Search with a filter at /Users/.search or /Groups/.search.",
                        "invalidFilter")
    offset, count = page_of(query)
    users_total, rows = scim_people.list_people(g.api_actor, g.api_account_id, None, offset,
                                                count)
    resources = [user_resource(*r) for r in rows]
    groups_offset = max(offset - users_total, 0)
    groups_total, states = scim_groups.list_groups(g.api_actor, g.api_account_id, None,
                                                   groups_offset, count - len(resources))
    resources += [group_resource(s) for s in states]
    return scim_response(list_response(User | Group, users_total + groups_total, offset,
                                       resources, query))
