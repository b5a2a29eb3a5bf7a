"""SCIM /Groups: a group is a Mentor Group of the token's school, its members its Members;
Mentors and Group Admins stay the product's; outsiders are invited; every change goes through
the product's services (plan limit, audit naming the token) and stays in the school."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from mentorgroups.extensions import db
from mentorgroups.models import (
    AuditEvent,
    GroupMembership,
    Invitation,
    MentorGroup,
    OutboxJob,
)
from mentorgroups.services import api_tokens
from mentorgroups.services.audit_words import describe
from tests.conftest import statements_of
from tests.factories import make_member
from tests.scim_rows import ERROR_SCHEMA, GROUP_SCHEMA, member_ids, patch_body, scim_school


@pytest.fixture
def school(app):
    return scim_school()


def uref(user) -> str:
    return f"user-{user.id}"


def create(client, school, name="Engineering", members=(), status=201, **extra):
    response = client.post("/scim/v2/Groups", headers=school.headers(), json={
        "schemas": [GROUP_SCHEMA], "displayName": name,
        "members": [{"value": v} for v in members], **extra})
    assert response.status_code == status, response.get_data(as_text=True)
    return response.get_json()


def patch(client, school, gid, *operations, status=204):
    response = client.patch(f"/scim/v2/Groups/{gid}", headers=school.headers(),
                            json=patch_body(*operations))
    assert response.status_code == status, response.get_data(as_text=True)
    return response


def roles(gid: str) -> dict[int, str]:
    db.session.expire_all()
    return dict(db.session.execute(select(GroupMembership.user_id, GroupMembership.role).where(
        GroupMembership.group_id == int(gid.removeprefix("group-")))).all())


def test_create_adds_school_people_and_invites_outsiders_once(client, school):
    a, b = school.people[:2]
    body = create(client, school, members=[uref(a), b.email.upper(), "new.person@else.test"],
                  externalId="okta-00g1")
    assert body["id"].startswith("group-") and body["externalId"] == "okta-00g1"
    assert member_ids(body) == sorted([uref(a), uref(b)])
    assert roles(body["id"]) == {a.id: "member", b.id: "member"}
    invitations = db.session.scalars(select(Invitation)).all()
    assert [(i.email, i.role, i.status, i.inviter_name) for i in invitations] == [
        ("new.person@else.test", "member", "pending", "API token \u201cOkta sync\u201d")]
    # The invitation email is staged as the members screen stages it.
    def emails() -> list[dict]:
        return [job.payload for job in db.session.scalars(
            select(OutboxJob).where(OutboxJob.name == "send_invitation"))]

    assert [p["invitation_id"] for p in emails()] == [invitations[0].id]
    # Pushing the same address again (Okta re-syncs) sends no second invitation.
    patch(client, school, body["id"], {"op": "add", "path": "members",
                                       "value": [{"value": "New.Person@else.test"}]})
    assert db.session.scalar(select(db.func.count()).select_from(Invitation)) == 1
    assert len(emails()) == 1
    events = db.session.scalars(select(AuditEvent).where(
        AuditEvent.action.in_(["group.create", "member.add", "invitation.send"]))).all()
    assert len(events) == 4
    assert {e.api_token.name for e in events} == {"Okta sync"}
    assert all(e.actor_id is None for e in events)


def test_a_patch_removing_a_mentor_leaves_them_with_their_role(client, school):
    a, b, c = school.people[:3]
    body = create(client, school, members=[uref(a), uref(b)])
    gid = int(body["id"].removeprefix("group-"))
    db.session.add(GroupMembership(group_id=gid, user_id=c.id, role="mentor"))
    db.session.commit()
    # SCIM lists Members only; removing the mentor, by filter or Entra's value list, or
    # replacing the list without them, leaves them a mentor; Members go.
    assert member_ids(client.get(f"/scim/v2/Groups/{body['id']}",
                                 headers=school.headers()).get_json()) == sorted(
        [uref(a), uref(b)])
    patch(client, school, body["id"], {"op": "remove", "path": f'members[value eq "{uref(c)}"]'})
    patch(client, school, body["id"], {"op": "Remove", "path": "members",
                                       "value": [{"value": uref(c)}, {"value": uref(a)}]})
    assert roles(body["id"]) == {b.id: "member", c.id: "mentor"}
    patch(client, school, body["id"], {"op": "replace", "path": "members", "value": []})
    assert roles(body["id"]) == {c.id: "mentor"}
    # Pushing the mentor as a member keeps them a mentor.
    patch(client, school, body["id"], {"op": "add", "path": "members",
                                       "value": [{"value": uref(c)}]})
    assert roles(body["id"]) == {c.id: "mentor"}


def test_put_and_patch_rename_and_delete_go_through_the_groups_service(client, school):
    a, b = school.people[:2]
    body = create(client, school, members=[uref(a)])
    gid = body["id"]
    response = client.put(f"/scim/v2/Groups/{gid}", headers=school.headers(), json={
        "schemas": [GROUP_SCHEMA], "id": gid, "displayName": "Platform",
        "members": [{"value": uref(b)}]})
    assert response.status_code == 200 and response.get_json()["displayName"] == "Platform"
    assert roles(gid) == {b.id: "member"}
    # Okta renames with a replace carrying the id along.
    patch(client, school, gid, {"op": "replace", "value": {"id": gid, "displayName": "Core"}})
    assert db.session.get(MentorGroup, int(gid[6:])).name == "Core"
    assert client.delete(f"/scim/v2/Groups/{gid}", headers=school.headers()).status_code == 204
    assert client.get(f"/scim/v2/Groups/{gid}", headers=school.headers()).status_code == 404
    actions = [e.action for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))
               if e.api_token_id is not None]
    assert actions == ["group.create", "member.add", "group.edit", "member.remove",
                       "member.add", "group.edit", "group.delete"]
    last = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert (last.group_name, describe(last).what) == ("Core", "Deleted the group")


def test_the_name_rule_and_the_plan_limit_answer_in_scim(client, app):
    school = scim_school(plan="starter")  # one group
    create(client, school, name="Only")
    refused = create(client, school, name="Second", status=403)
    assert refused["schemas"] == [ERROR_SCHEMA] and "includes 1 group" in refused["detail"]
    big = scim_school(plan="complete")
    create(client, big, name="Twins")
    clash = create(client, big, name="twins", status=409)
    assert clash["scimType"] == "uniqueness"


def test_another_schools_ids_are_404_and_change_nothing(client, school):
    other = scim_school(name="Other sync")
    theirs = create(client, other, name="Theirs", members=[uref(other.people[0])])
    ours = create(client, school, name="Ours")
    for method, url in (("get", f"/scim/v2/Groups/{theirs['id']}"),
                        ("put", f"/scim/v2/Groups/{theirs['id']}"),
                        ("patch", f"/scim/v2/Groups/{theirs['id']}"),
                        ("delete", f"/scim/v2/Groups/{theirs['id']}"),
                        ("get", f"/scim/v2/Users/{uref(other.people[0])}"),
                        ("get", "/scim/v2/Groups/12"),
                        ("get", "/scim/v2/Groups/group-99999999999")):
        response = getattr(client, method)(url, headers=school.headers(), json=patch_body(
            {"op": "replace", "path": "displayName", "value": "Mine"}) if method == "patch" else
            {"schemas": [GROUP_SCHEMA], "displayName": "Mine"})
        assert response.status_code == 404, (method, url)
        assert response.get_json()["schemas"] == [ERROR_SCHEMA]
    # Their person named as a member of our group is nobody of ours: 400, nothing added.
    response = client.patch(f"/scim/v2/Groups/{ours['id']}", headers=school.headers(),
                            json=patch_body({"op": "add", "path": "members",
                                             "value": [{"value": uref(other.people[0])}]}))
    assert response.status_code == 400 and response.get_json()["scimType"] == "invalidValue"
    assert roles(ours["id"]) == {}
    listed = client.get("/scim/v2/Groups", headers=school.headers()).get_json()
    assert [g["displayName"] for g in listed["Resources"]] == ["Ours"]
    assert db.session.get(MentorGroup, int(theirs["id"][6:])).name == "Theirs"
    assert roles(theirs["id"]) == {other.people[0].id: "member"}


def test_tokens_read_only_revoked_and_missing(client, school):
    body = {"schemas": [GROUP_SCHEMA], "displayName": "X"}
    read = client.post("/scim/v2/Groups", headers=school.headers(school.read_secret), json=body)
    assert read.status_code == 403 and read.get_json()["schemas"] == [ERROR_SCHEMA]
    assert client.get("/scim/v2/Groups",
                      headers=school.headers(school.read_secret)).status_code == 200
    token = api_tokens.authenticate(f"Bearer {school.secret}")
    api_tokens.revoke_token(school.admin, school.account.id, token.id)
    db.session.commit()
    revoked = client.post("/scim/v2/Groups", headers=school.headers(), json=body)
    assert revoked.status_code == 401 and revoked.headers["WWW-Authenticate"].startswith("Bearer")
    assert revoked.get_json()["schemas"] == [ERROR_SCHEMA]
    assert db.session.scalar(select(db.func.count()).select_from(MentorGroup)) == 0


@pytest.mark.parametrize("data, scim_type", [
    (b"{not json", "invalidSyntax"),
    (b"[1, 2]", "invalidSyntax"),
    (b'{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "X",'
     b' "colour": "red"}', "invalidSyntax"),
    (b'{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": 5,'
     b' "members": "all"}', "invalidValue"),
    (b'{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "X",'
     b' "members": [{"value": "bob"}]}', "invalidValue"),
])
def test_unreadable_bodies_are_400_with_a_scim_error(client, school, data, scim_type):
    response = client.post("/scim/v2/Groups", headers=school.headers(), data=data)
    assert response.status_code == 400
    body = response.get_json()
    assert body["schemas"] == [ERROR_SCHEMA] and body["status"] == "400"
    assert body["scimType"] == scim_type
    assert response.mimetype == "application/scim+json"
    assert db.session.scalar(select(db.func.count()).select_from(MentorGroup)) == 0


def test_bad_patches_and_huge_bodies(client, school):
    gid = create(client, school)["id"]
    for operations, scim_type in (
            ([{"op": "add", "path": "colour", "value": "red"}], "invalidPath"),
            ([{"op": "jump", "path": "members", "value": []}], "invalidValue"),
            ([{"op": "remove"}], "noTarget")):
        response = client.patch(f"/scim/v2/Groups/{gid}", headers=school.headers(),
                                json=patch_body(*operations))
        assert response.status_code == 400, operations
        assert response.get_json()["scimType"] == scim_type, response.get_json()
    # Over MAX_CONTENT_LENGTH: HTTP's 413, in a SCIM error body, before anything is read.
    huge = b'{"displayName": "' + b"x" * (3 * 1024 * 1024) + b'"}'
    response = client.post("/scim/v2/Groups", headers=school.headers(), data=huge)
    assert response.status_code == 413 and response.get_json()["schemas"] == [ERROR_SCHEMA]
    # Large but under it: too many members, or nested too deeply to read, are 400s.
    many = {"schemas": [GROUP_SCHEMA], "displayName": "Many",
            "members": [{"value": f"p{n}@partner.test"} for n in range(501)]}
    response = client.post("/scim/v2/Groups", headers=school.headers(), json=many)
    assert response.status_code == 400 and response.get_json()["scimType"] == "invalidValue"
    assert "at most 500 members" in response.get_json()["detail"]
    deep = b"[" * 5000 + b"]" * 5000
    response = client.post("/scim/v2/Groups", headers=school.headers(), data=deep)
    assert response.status_code == 400 and response.get_json()["scimType"] == "invalidSyntax"
    assert db.session.scalar(select(db.func.count()).select_from(Invitation)) == 0


def test_filters_paging_and_statement_counts(client, school, app):
    for n in range(7):
        create(client, school, name=f"G{n}", members=[uref(p) for p in school.people[:n % 4]])
    url = "/scim/v2/Groups?startIndex=3&count=2"
    page = client.get(url, headers=school.headers()).get_json()
    assert (page["totalResults"], page["startIndex"], page["itemsPerPage"]) == (7, 3, 2)
    assert [g["displayName"] for g in page["Resources"]] == ["G2", "G3"]
    found = client.get('/scim/v2/Groups?filter=displayName eq "g5"',
                       headers=school.headers()).get_json()
    assert [g["displayName"] for g in found["Resources"]] == ["G5"]
    user = client.get(f'/scim/v2/Users?filter=userName eq "{school.people[1].email.upper()}"',
                      headers=school.headers()).get_json()
    assert [u["id"] for u in user["Resources"]] == [uref(school.people[1])]
    for bad in ('displayName co "G"', 'members.value eq "1"', "displayName eq"):
        refused = client.get(f"/scim/v2/Groups?filter={bad}", headers=school.headers())
        assert refused.status_code == 400 and refused.get_json()["scimType"] == "invalidFilter"
    few = statements_of(lambda: client.get("/scim/v2/Groups?count=2", headers=school.headers()))
    many = statements_of(lambda: client.get("/scim/v2/Groups", headers=school.headers()))
    assert few == many
    for _ in range(5):
        make_member(school.account, "member")
    db.session.commit()
    people_few = statements_of(lambda: client.get("/scim/v2/Users?count=2",
                                                  headers=school.headers()))
    people_all = statements_of(lambda: client.get("/scim/v2/Users", headers=school.headers()))
    assert people_few == people_all


def test_users_are_read_only(client, school):
    for method, url in (("post", "/scim/v2/Users"), ("put", f"/scim/v2/Users/{uref(school.admin)}"),
                        ("patch", f"/scim/v2/Users/{uref(school.admin)}"),
                        ("delete", f"/scim/v2/Users/{uref(school.admin)}")):
        response = getattr(client, method)(url, headers=school.headers(), json={})
        assert response.status_code == 501 and "invitation" in response.get_json()["detail"]
    revoked = make_member(school.account, "member", status="revoked")
    db.session.commit()
    assert client.get(f"/scim/v2/Users/{uref(revoked)}",
                      headers=school.headers()).status_code == 404
    listed = client.get("/scim/v2/Users", headers=school.headers()).get_json()
    assert uref(revoked) not in {u["id"] for u in listed["Resources"]}
    assert listed["totalResults"] == 1 + len(school.people)


def test_dropping_an_invited_address_withdraws_its_invitation_not_a_mentors(client, school):
    body = create(client, school, members=["one@partner.test", "two@partner.test",
                                           "three@partner.test"])
    gid = int(body["id"].removeprefix("group-"))
    from mentorgroups.services import invitations
    from mentorgroups.services.groups import group_for_manager

    invitations.invite(school.admin, school.account.id,
                       group_for_manager(school.admin, school.account.id, gid),
                       "coach@partner.test", "mentor")
    db.session.commit()

    def pending() -> list[tuple[str, str]]:
        db.session.expire_all()
        return sorted((i.email, i.role) for i in db.session.scalars(select(Invitation).where(
            Invitation.status == "pending")))

    patch(client, school, body["id"],
          {"op": "remove", "path": 'members[value eq "one@partner.test"]'})
    assert pending() == [("coach@partner.test", "mentor"), ("three@partner.test", "member"),
                         ("two@partner.test", "member")]
    response = client.put(f"/scim/v2/Groups/{body['id']}", headers=school.headers(), json={
        "schemas": [GROUP_SCHEMA], "displayName": "Engineering",
        "members": [{"value": "THREE@partner.test"}]})
    assert response.status_code == 200
    assert pending() == [("coach@partner.test", "mentor"), ("three@partner.test", "member")]
    withdrawn = db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "invitation.revoke").order_by(AuditEvent.id)).all()
    assert [(e.before["email"], e.api_token.name) for e in withdrawn] == [
        ("one@partner.test", "Okta sync"), ("two@partner.test", "Okta sync")]
    # Three invitations were sent in all: keeping an address sends nothing again.
    assert db.session.scalar(select(db.func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "invitation.send", AuditEvent.api_token_id.is_not(None))) == 3


def test_over_the_invitation_limit_nothing_of_the_request_is_kept(make_app):
    app = make_app(INVITES_PER_ACCOUNT="2/hour")
    with app.app_context():
        school = scim_school()
        client = app.test_client()
        refused = client.post("/scim/v2/Groups", headers=school.headers(), json={
            "schemas": [GROUP_SCHEMA], "displayName": "Partners",
            "members": [{"value": f"p{n}@partner.test"} for n in range(3)]})
        assert refused.status_code == 429 and refused.headers["Retry-After"]
        body = refused.get_json()
        assert body["schemas"] == [ERROR_SCHEMA] and "Nothing of this request" in body["detail"]
        assert db.session.scalar(select(db.func.count()).select_from(MentorGroup)) == 0
        assert db.session.scalar(select(db.func.count()).select_from(Invitation)) == 0


# ---- the service (services.scim_groups) called directly ---------------------------------------

def token_actor(school) -> api_tokens.TokenActor:
    return api_tokens.TokenActor(api_tokens.authenticate(f"Bearer {school.secret}"))


def test_external_ids_are_kept_trimmed_none_when_blank_and_bounded(school):
    from mentorgroups.services import scim_groups
    from mentorgroups.services.errors import ServiceError

    actor = token_actor(school)
    plain = scim_groups.create_group(actor, school.account.id, "Plain")
    blank = scim_groups.create_group(actor, school.account.id, "Blank", external_id="   ")
    kept = scim_groups.create_group(actor, school.account.id, "Kept", external_id=" okta-1 ")
    assert [s.group.scim_external_id for s in (plain, blank, kept)] == [None, None, "okta-1"]
    assert plain.group.scim_revision == 1  # meta.version: one write so far
    again = scim_groups.replace_group(actor, school.account.id, plain.group.id, "Plain",
                                      " okta-2 ", [])
    assert (again.group.scim_external_id, again.group.scim_revision) == ("okta-2", 2)
    assert scim_groups.create_group(actor, school.account.id, "Longest",
                                    external_id="x" * 255).group.scim_external_id == "x" * 255
    with pytest.raises(ServiceError) as refused:
        scim_groups.create_group(actor, school.account.id, "Too long", external_id="x" * 256)
    assert refused.value.field == "externalId"
    db.session.rollback()


def test_only_the_schools_admins_list_its_groups(school):
    from mentorgroups.services import scim_groups
    from mentorgroups.services.errors import PermissionDenied

    scim_groups.create_group(token_actor(school), school.account.id, "Ours")
    assert [s.group.name for s in scim_groups.list_groups(
        school.admin, school.account.id, None, 0, 10)[1]] == ["Ours"]
    with pytest.raises(PermissionDenied):
        scim_groups.list_groups(school.people[0], school.account.id, None, 0, 10)


def test_member_values_name_this_schools_people_or_addresses_to_invite(school):
    """An address of a person of another school only is invited, not added; an invitation
    to another group, or one withdrawn, does not count as pending here."""
    from mentorgroups.services import invitations, scim_groups

    actor, account_id = token_actor(school), school.account.id
    a = school.people[0]
    outsider = scim_school(name="Other sync").people[0]
    team = scim_groups.create_group(actor, account_id, "Team",
                                    member_values=[a.email.upper(), outsider.email])
    assert [uid for uid, _ in team.members] == [a.id]
    assert set(scim_groups.pending_members(team.group.id)) == {outsider.email}
    scim_groups.create_group(actor, account_id, "Elsewhere", member_values=["wide@x.test"])
    gone = invitations.invite(school.admin, account_id, team.group, "gone@x.test", "member")
    invitations.revoke(school.admin, account_id, gone.id)
    db.session.commit()
    scim_groups.replace_group(actor, account_id, team.group.id, "Team", None,
                              [str(a.id), outsider.email, "wide@x.test", "gone@x.test"])
    assert set(scim_groups.pending_members(team.group.id)) == {
        outsider.email, "wide@x.test", "gone@x.test"}


@pytest.mark.parametrize("value, words", [
    ("abc", "\u201cabc\u201d names nobody"), (None, "\u201c\u201d names nobody"),
    ("a@", "\u201ca@\u201d is not an email address"),
])
def test_a_member_value_naming_nobody_is_refused_before_anything_is_made(school, value, words):
    from mentorgroups.services import scim_groups

    with pytest.raises(scim_groups.BadMember) as refused:
        scim_groups.create_group(token_actor(school), school.account.id, "X",
                                 member_values=[value])
    assert refused.value.message.startswith(words)
    assert db.session.scalar(select(db.func.count()).select_from(MentorGroup)) == 0


def test_a_put_keeps_the_members_sent_the_mentors_and_other_groups_invitations(school):
    from mentorgroups.services import group_members, scim_groups

    actor, account_id = token_actor(school), school.account.id
    a, b, c = school.people[:3]
    team = scim_groups.create_group(actor, account_id, "Team", member_values=[str(a.id), str(b.id)])
    other = scim_groups.create_group(actor, account_id, "Other", member_values=["keep@x.test"])
    group_members.add_members(school.admin, account_id, team.group.id, "mentor", user_ids=[c.id])
    db.session.commit()
    scim_groups.replace_group(actor, account_id, team.group.id, "Team", None, [str(a.id)])
    db.session.commit()
    assert roles(f"group-{team.group.id}") == {a.id: "member", c.id: "mentor"}
    assert set(scim_groups.pending_members(other.group.id)) == {"keep@x.test"}
    # Renamed to another group's name: NameTaken (SCIM's 409), nothing renamed.
    with pytest.raises(scim_groups.NameTaken):
        scim_groups.replace_group(actor, account_id, team.group.id, "other", None, [str(a.id)])
    db.session.rollback()
    assert db.session.get(MentorGroup, team.group.id).name == "Team"


def test_people_by_address_paged_and_for_the_schools_admins_only(school):
    """services.scim_people: an address in any case and spacing, a page by id, one person by
    id; another school's person, garbage and a non-admin are refused."""
    from mentorgroups.services import scim_people
    from mentorgroups.services.errors import NotFound, PermissionDenied

    account_id, a = school.account.id, school.people[0]
    other = scim_school(name="Other sync")
    assert scim_people.list_people(school.admin, account_id, f"  {a.email.upper()} ", 0, 10) \
        == (1, [(a.id, a.full_name, a.email)])
    everyone = sorted([school.admin.id] + [p.id for p in school.people])
    total, rows = scim_people.list_people(school.admin, account_id, None, 1, 2)
    assert total == 5 and [row[0] for row in rows] == everyone[1:3]
    assert scim_people.get_person(school.admin, account_id, str(a.id)) == (
        a.id, a.full_name, a.email)
    for garbage in ("abc", None, other.people[0].id):
        with pytest.raises(NotFound):
            scim_people.get_person(school.admin, account_id, garbage)
    with pytest.raises(PermissionDenied):
        scim_people.list_people(a, account_id, None, 0, 10)
    with pytest.raises(PermissionDenied):
        scim_people.get_person(a, account_id, a.id)
