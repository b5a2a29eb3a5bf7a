"""/Users: the school's people, read only (they join by invitation; an identity provider
pushes them as group members by email address instead, see mentorgroups.scim.groups)."""

from __future__ import annotations

from flask import g
from scim2_models import ResponseParameters, User

from mentorgroups.scim import bp
from mentorgroups.scim.protocol import ScimError, equality_filter, page_arguments, scim_response
from mentorgroups.scim.resources import dump, list_response, user_resource
from mentorgroups.services import scim_people

READ_ONLY = ("People join a school by invitation, so /Users is read only. Push people as "
             "members of a group (by id, or by email address to invite them).")


def response_parameters() -> ResponseParameters | None:
    from mentorgroups.scim.protocol import validate_parameters

    return validate_parameters()


@bp.get("/Users")
def list_users():
    user_name = equality_filter(User, "userName")
    offset, count = page_arguments()
    total, rows = scim_people.list_people(g.api_actor, g.api_account_id, user_name, offset,
                                          count)
    return scim_response(list_response(User, total, offset, [user_resource(*r) for r in rows],
                                       response_parameters()))


@bp.get("/Users/<int:user_id>")
def get_user(user_id: int):
    row = scim_people.get_person(g.api_actor, g.api_account_id, user_id)
    return scim_response(dump(user_resource(*row), parameters=response_parameters()))


@bp.route("/Users", methods=["POST"])
@bp.route("/Users/<int:user_id>", methods=["PUT", "PATCH", "DELETE"])
def change_user(user_id: int | None = None):
    raise ScimError(501, READ_ONLY)
