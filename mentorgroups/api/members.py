"""/api/v1/: a group's memberships (list, add by email or id with a role, change role,
remove), people of the school by email, a group's waiting reviews and its members' progress."""

from __future__ import annotations

from flask import request

from mentorgroups.api import bp
from mentorgroups.api.common import (
    ApiProblem,
    account_id,
    actor,
    iso,
    json_body,
    page_args,
    page_response,
    service_call,
)
from mentorgroups.models import GROUP_ROLES
from mentorgroups.services import api_reads, group_members


def member_json(item: api_reads.MemberItem) -> dict:
    return {"user_id": item.user_id, "email": item.email, "name": item.name,
            "role": item.role, "added_at": iso(item.added_at)}


@bp.get("/groups/<int:group_id>/members")
@service_call
def list_members(group_id: int):
    after, limit = page_args()
    role = request.args.get("role") or None
    if role is not None and role not in GROUP_ROLES:
        raise ApiProblem(400, "Unknown role", "role is member, mentor or group_admin.")
    page = api_reads.memberships_page(actor(), account_id(), group_id, after, limit, role)
    return page_response([member_json(m) for m in page.items], page.next_after)


@bp.post("/groups/<int:group_id>/members")
@service_call
def add_members(group_id: int):
    """Add people of the school by email or id with one role. Addresses nobody in the school
    has are invited, exactly as the members screen does; an address already invited to the
    group is left as it is (reported as pending), so a sync may send the same list again."""
    body = json_body("MembersAdd")
    report = group_members.add_members(
        actor(), account_id(), group_id, body["role"], user_ids=body.get("user_ids", []),
        addresses="\n".join(body.get("emails", [])), keep_pending=True)
    return {"added": [{"user_id": u.id, "email": u.email} for u in report.added],
            "already": [{"user_id": u.id, "email": u.email, "role": role}
                        for u, role in report.already],
            "invited": report.invited, "pending": report.pending,
            "not_in_school": report.not_in_account, "revoked": report.revoked,
            "invalid": report.invalid, "refused": report.refused}


@bp.get("/groups/<int:group_id>/members/<int:user_id>")
@service_call
def get_member(group_id: int, user_id: int):
    return member_json(api_reads.membership_of(actor(), account_id(), group_id, user_id))


@bp.put("/groups/<int:group_id>/members/<int:user_id>")
@service_call
def change_role(group_id: int, user_id: int):
    body = json_body("RoleChange")
    api_reads.membership_of(actor(), account_id(), group_id, user_id)
    group_members.change_role(actor(), account_id(), group_id, user_id, body["role"])
    return member_json(api_reads.membership_of(actor(), account_id(), group_id, user_id))


@bp.delete("/groups/<int:group_id>/members/<int:user_id>")
@service_call
def remove_member(group_id: int, user_id: int):
    item = api_reads.membership_of(actor(), account_id(), group_id, user_id)
    group_members.remove_members(actor(), account_id(), group_id, [user_id])
    return {"removed": member_json(item)}


@bp.get("/people")
@service_call
def person_by_email():
    email = request.args.get("email")
    if not email:
        raise ApiProblem(400, "Give an address", "Look people up with ?email=<address>.")
    person = api_reads.person_by_email(actor(), account_id(), email)
    return {"id": person.id, "email": person.email, "name": person.name,
            "school_role": person.school_role, "status": person.status}


@bp.get("/groups/<int:group_id>/reviews")
@service_call
def waiting_reviews(group_id: int):
    after, limit = page_args()
    page = api_reads.waiting_reviews_page(actor(), account_id(), group_id, after, limit)
    return page_response([
        {"submission_id": r.submission_id, "learner": {"id": r.learner_id, "name": r.learner_name},
         "path": r.path, "step": r.step, "round": r.round,
         "submitted_at": iso(r.submitted_at), "updated_at": iso(r.updated_at)}
        for r in page.items], page.next_after)


@bp.get("/groups/<int:group_id>/progress")
@service_call
def progress(group_id: int):
    after, limit = page_args()
    page = api_reads.progress_page(actor(), account_id(), group_id, after, limit)
    return page_response([
        {"user_id": p.user_id, "email": p.email, "name": p.name, "paths": p.paths,
         "waiting_reviews": p.waiting, "last_activity": iso(p.last_activity)}
        for p in page.items], page.next_after)
