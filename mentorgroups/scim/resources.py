"""Mentor Groups' rows as SCIM resources (scim2-models), and the discovery documents."""

from __future__ import annotations

from flask import url_for
from scim2_models import (
    AuthenticationScheme,
    Bulk,
    ChangePassword,
    Context,
    Email,
    ETag,
    Filter,
    Group,
    GroupMember,
    ListResponse,
    Meta,
    Patch,
    ResourceType,
    ServiceProviderConfig,
    Sort,
    User,
)

from mentorgroups.scim.protocol import GROUP_ID, MAX_RESULTS, USER_ID, scim_id
from mentorgroups.services.scim_groups import GroupState

RESOURCE_MODELS = {"User": User, "Group": Group}


def location(endpoint: str, **values) -> str:
    return url_for(endpoint, _external=True, **values)


def user_resource(uid: int, full_name: str, email: str) -> User:
    return User(id=scim_id(USER_ID, uid), user_name=email, display_name=full_name, active=True,
                # Built without validation: the address was checked when it was stored, and
                # reserved test domains (.test, .example) are valid addresses of a school.
                emails=[Email.model_construct(value=email, primary=True, type=Email.Type.work)],
                meta=Meta(resource_type="User",
                          location=location("scim.get_user", ref=scim_id(USER_ID, uid))))


def group_resource(state: GroupState) -> Group:
    group = state.group
    return Group(
        id=scim_id(GROUP_ID, group.id), external_id=group.scim_external_id, display_name=group.name,
        # No display: the person's name is theirs to keep in the school (read it at /Users),
        # and what an identity provider pushed as a display name is never stored.
        members=[GroupMember(value=scim_id(USER_ID, uid), type="User",
                             ref=location("scim.get_user", ref=scim_id(USER_ID, uid)))
                 for uid, _name in state.members],
        meta=Meta(resource_type="Group", created=group.created_at,
                  location=location("scim.get_group", ref=scim_id(GROUP_ID, group.id)),
                  version=f'W/"{group.scim_revision}"'))


def dump(resource, context: Context = Context.RESOURCE_QUERY_RESPONSE, parameters=None) -> dict:
    return resource.model_dump(scim_ctx=context, response_parameters=parameters)


def list_response(model, total: int, offset: int, resources: list, parameters=None) -> dict:
    return ListResponse[model](total_results=total, start_index=offset + 1,
                               items_per_page=len(resources), resources=resources).model_dump(
        scim_ctx=Context.SEARCH_RESPONSE, response_parameters=parameters)


def service_provider_config() -> ServiceProviderConfig:
    return ServiceProviderConfig(
        documentation_uri=None,
        patch=Patch(supported=True),
        bulk=Bulk(supported=False, max_operations=0, max_payload_size=0),
        filter=Filter(supported=True, max_results=MAX_RESULTS),
        change_password=ChangePassword(supported=False),
        sort=Sort(supported=False),
        etag=ETag(supported=False),
        authentication_schemes=[AuthenticationScheme(
            type="oauthbearertoken", name="School API token", primary=True,
            description="A school API token with read and write scope (Settings > API "
                        "tokens), sent as Authorization: Bearer <token>.")],
        meta=Meta(resource_type="ServiceProviderConfig",
                  location=location("scim.service_provider_config")))


def resource_types() -> list[ResourceType]:
    out = []
    for name, model in RESOURCE_MODELS.items():
        resource_type = ResourceType.from_resource(model)
        resource_type.meta = Meta(resource_type="ResourceType",
                                  location=location("scim.resource_type", name=name))
        out.append(resource_type)
    return out


def schemas() -> list:
    out = []
    for model in RESOURCE_MODELS.values():
        schema = model.to_schema()
        if model is Group:  # members carry no display (resources.group_resource)
            for attribute in schema.attributes:
                if attribute.name == "members":
                    attribute.sub_attributes = [sub for sub in attribute.sub_attributes or ()
                                                if sub.name != "display"]
        schema.meta = Meta(resource_type="Schema",
                           location=location("scim.schema", schema_id=schema.id))
        out.append(schema)
    return out
