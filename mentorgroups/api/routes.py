"""/api/v1/: the school, its groups (list, get, create, rename, describe, move, delete) and the
OpenAPI document. Each route reads the request, calls the same service as the back office
(acting as the token: an admin of its own school), and answers JSON."""

from __future__ import annotations

from flask import g, jsonify, url_for

from mentorgroups.api import bp
from mentorgroups.api.common import (
    account_id,
    actor,
    check_if_match,
    iso,
    json_body,
    page_args,
    page_response,
    service_call,
    with_etag,
)
from mentorgroups.extensions import db
from mentorgroups.models import Account
from mentorgroups.services import api_reads, groups
from mentorgroups.services.groups import KEEP


def group_json(group, counts: dict) -> dict:
    return {"id": group.id, "name": group.name, "description": group.description or "",
            "parent_id": group.parent_id, "created_at": iso(group.created_at),
            "counts": {"member": counts.get("member", 0), "mentor": counts.get("mentor", 0),
                       "group_admin": counts.get("group_admin", 0)}}


@bp.get("/openapi.json")
def openapi():
    from mentorgroups.api.spec import openapi_document

    return jsonify(openapi_document())


@bp.get("/school")
@service_call
def school():
    """The token's school and the token itself."""
    account = db.session.get(Account, account_id())
    return {"id": account.id, "name": account.name, "plan": account.plan,
            "token": {"name": g.api_token.name, "scope": g.api_token.scope}}


@bp.get("/groups")
@service_call
def list_groups():
    after, limit = page_args()
    page = api_reads.groups_page(actor(), account_id(), after, limit)
    return page_response([group_json(g, c) for g, c in page.items], page.next_after)


@bp.post("/groups")
@service_call
def create_group():
    body = json_body("GroupCreate")
    group = groups.create_group(actor(), account_id(), body["name"],
                                body.get("description", ""), body.get("parent_id"))
    document = group_json(group, {})
    response = with_etag(document, 201)
    response.headers["Location"] = url_for("api.get_group", group_id=group.id)
    return response


@bp.get("/groups/<int:group_id>")
@service_call
def get_group(group_id: int):
    group, counts = api_reads.group_with_counts(actor(), account_id(), group_id)
    return with_etag(group_json(group, counts))


@bp.patch("/groups/<int:group_id>")
@service_call
def update_group(group_id: int):
    """Rename, describe and move (parent_id; null for the top level) in one call; fields left
    out stay as they are."""
    body = json_body("GroupUpdate")
    group, counts = api_reads.group_with_counts(actor(), account_id(), group_id)
    check_if_match(group_json(group, counts))
    group = groups.update_group(
        actor(), account_id(), group.id, body.get("name", group.name),
        body.get("description", group.description),
        body["parent_id"] if "parent_id" in body else KEEP)
    return with_etag(group_json(group, counts))


@bp.delete("/groups/<int:group_id>")
@service_call
def delete_group(group_id: int):
    """Delete the group: its nested groups move up, its memberships and pending
    invitations end (as in the back office)."""
    group, counts = api_reads.group_with_counts(actor(), account_id(), group_id)
    check_if_match(group_json(group, counts))
    result = groups.delete_group(actor(), account_id(), group.id)
    return {"deleted": group_id, "children_moved": result["children_moved"],
            "memberships_ended": result["memberships_ended"],
            "invitations_ended": result["invitations_ended"]}


from mentorgroups.api import members  # noqa: E402,F401  (memberships, people, reviews, progress)
