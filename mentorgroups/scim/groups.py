"""/Groups: Mentor Groups of the token's school and their Members, through
services.scim_groups (which says what SCIM may change and what stays in the product)."""

from __future__ import annotations

from flask import g
from pydantic import ValidationError
from scim2_models import Context, Group, GroupMember, PatchOp, SCIMException, ScimFilter

from mentorgroups.extensions import db
from mentorgroups.scim import bp
from mentorgroups.scim.protocol import (
    GROUP_ID,
    USER_ID,
    ScimError,
    equality_filter,
    from_validation_error,
    member_value,
    page_of,
    read_body,
    response_parameters,
    row_id,
    scim_id,
    scim_response,
    search_request,
    validate,
)
from mentorgroups.scim.resources import dump, group_resource, list_response
from mentorgroups.services import scim_groups


def _answer(state, status: int = 200, context: Context = Context.RESOURCE_QUERY_RESPONSE,
            commit: bool = False):
    """The group as this request left it: built before the commit (after it, the rows would
    be read again, and another request may have changed them meanwhile)."""
    resource = group_resource(state)
    body = dump(resource, context, response_parameters())
    if commit:
        db.session.commit()
    response = scim_response(body, status,
                             location=resource.meta.location if status == 201 else None)
    response.headers["ETag"] = resource.meta.version
    return response


def _values(group: Group) -> list[str]:
    """Its members' values as the members rules take them (protocol.member_value)."""
    return [member_value(str(member.value)) for member in group.members or ()
            if member.value is not None]


@bp.get("/Groups")
@bp.post("/Groups/.search")
def list_groups():
    query = search_request(Group)
    offset, count = page_of(query)
    total, states = scim_groups.list_groups(g.api_actor, g.api_account_id,
                                            equality_filter(Group, "displayName", query),
                                            offset, count)
    return scim_response(list_response(Group, total, offset, [group_resource(s) for s in states],
                                       query))


@bp.get("/Groups/<ref>")
def get_group(ref: str):
    group_id = row_id(GROUP_ID, ref)
    return _answer(scim_groups.get_group(g.api_actor, g.api_account_id, group_id))


@bp.post("/Groups")
def create_group():
    group = validate(Group, read_body(), Context.RESOURCE_CREATION_REQUEST)
    state = scim_groups.create_group(g.api_actor, g.api_account_id, group.display_name,
                                     group.external_id, _values(group))
    return _answer(state, 201, Context.RESOURCE_CREATION_RESPONSE, commit=True)


@bp.put("/Groups/<ref>")
def replace_group(ref: str):
    group_id = row_id(GROUP_ID, ref)
    document = read_body()
    document.pop("id", None)  # the URL names the group; RFC 7644 §3.5.1 ignores a sent id
    group = validate(Group, document, Context.RESOURCE_REPLACEMENT_REQUEST)
    state = scim_groups.replace_group(g.api_actor, g.api_account_id, group_id,
                                      group.display_name, group.external_id, _values(group))
    return _answer(state, 200, Context.RESOURCE_REPLACEMENT_RESPONSE, commit=True)


def _usual_operations(document: dict) -> dict:
    """The PATCH operations identity providers send, as RFC 7644 §3.5.2 writes them.
    Microsoft Entra ID removes members as {"op": "Remove", "path": "members", "value":
    [{"value": id}, ...]}, where the RFC names them by a filter in the path: each listed
    member becomes a remove operation with that filter. Okta's replace of the name carries
    the group's id too, which can't change and is dropped."""
    operations = document.get("Operations")
    if not isinstance(operations, list):
        return document
    rewritten = []
    for operation in operations:
        if isinstance(operation, dict) and str(operation.get("op", "")).lower() == "remove" \
                and str(operation.get("path", "")).lower() == "members" \
                and isinstance(operation.get("value"), list):
            for member in operation["value"]:
                value = member.get("value") if isinstance(member, dict) else None
                if not isinstance(value, str):
                    raise ScimError(400, "Each member to remove needs a value.", "invalidValue")
                rewritten.append({"op": "remove",
                                  "path": f"members[value eq {ScimFilter.quote(value)}]"})
        elif isinstance(operation, dict) and str(operation.get("op", "")).lower() == "replace" \
                and isinstance(operation.get("value"), dict):
            # Okta sends the group's id along with a new displayName: the id can't change.
            value = dict(operation["value"])
            value.pop("id", None)
            rewritten.append({**operation, "value": value})
        else:
            rewritten.append(operation)
    return {**document, "Operations": rewritten}


def _renames(patch: PatchOp) -> bool:
    for operation in patch.operations or ():
        path = str(operation.path or "").lower()
        if not path or path.startswith("displayname") or path.endswith(":displayname"):
            return True
    return False


@bp.patch("/Groups/<ref>")
def patch_group(ref: str):
    group_id = row_id(GROUP_ID, ref)
    patch = validate(PatchOp[Group], _usual_operations(read_body()), Context.RESOURCE_PATCH_REQUEST)

    def apply(name: str, external_id: str | None, people: list[str]) -> scim_groups.Change:
        resource = Group(id=ref, display_name=name, external_id=external_id,
                         members=[GroupMember(value=v if "@" in v else scim_id(USER_ID, int(v)))
                                  for v in people] or None)
        try:
            patch.patch(resource)
        except SCIMException as exc:
            raise ScimError(exc.status, exc.detail, exc.scim_type or None) from None
        except ValidationError as exc:
            raise from_validation_error(exc) from None
        return scim_groups.Change(
            name=resource.display_name if resource.display_name != name else None,
            external_id=resource.external_id,
            external_id_set=resource.external_id != external_id,
            members=_values(resource))

    state = scim_groups.patch_group(g.api_actor, g.api_account_id, group_id, apply,
                                    renames=_renames(patch))
    if response_parameters() is None:
        # RFC 7644 §3.5.2: 204 when no attributes were asked for. meta.version in the ETag
        # says where this change stands among the group's SCIM changes (read before the
        # commit ends the lock).
        revision = state.group.scim_revision
        db.session.commit()
        return "", 204, {"ETag": f'W/"{revision}"'}
    return _answer(state, 200, Context.RESOURCE_PATCH_RESPONSE, commit=True)


@bp.delete("/Groups/<ref>")
def delete_group(ref: str):
    group_id = row_id(GROUP_ID, ref)
    scim_groups.delete_group(g.api_actor, g.api_account_id, group_id)
    db.session.commit()
    return "", 204
