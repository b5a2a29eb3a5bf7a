"""What the service provider supports: ServiceProviderConfig, ResourceTypes, Schemas
(RFC 7644 §4), built by scim2-models from the resource models it serves."""

from __future__ import annotations

from scim2_models import Context, ResourceType, Schema

from mentorgroups.scim import bp, resources
from mentorgroups.scim.protocol import ScimError, scim_response
from mentorgroups.scim.resources import dump, list_response


@bp.get("/ServiceProviderConfig")
def service_provider_config():
    return scim_response(dump(resources.service_provider_config()))


def _listed(model, items: list):
    return scim_response(list_response(model, len(items), 0, items))


@bp.get("/ResourceTypes")
def resource_types():
    return _listed(ResourceType, resources.resource_types())


@bp.get("/ResourceTypes/<name>")
def resource_type(name: str):
    for item in resources.resource_types():
        if item.id == name:
            return scim_response(dump(item))
    raise ScimError(404, f"There is no resource type called {name[:60]!r}.")


@bp.get("/Schemas")
def schemas():
    return _listed(Schema, resources.schemas())


@bp.get("/Schemas/<path:schema_id>")
def schema(schema_id: str):
    for item in resources.schemas():
        if item.id == schema_id:
            return scim_response(dump(item, Context.RESOURCE_QUERY_RESPONSE))
    raise ScimError(404, "There is no schema with that id.")
