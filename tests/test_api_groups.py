"""The JSON API's rules, on both databases: a token reaches its own school only (another
school's ids are 404 and change nothing), a read token can't write, a revoked one is 401,
plan limits and the tree's rules come back as problems naming them, bodies are checked,
writes are audited under the token's name, and lists page by cursor in a fixed number of
statements."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from mentorgroups.extensions import db
from mentorgroups.models import (
    AuditEvent,
    Cohort,
    GroupMembership,
    Invitation,
    MentorGroup,
    OutboxJob,
    Step,
)
from mentorgroups.services import api_tokens, group_members, groups, learning
from tests.api_school import api_school
from tests.conftest import statements_of
from tests.factories import make_member
from tests.kept_scenes import kept_scene


@pytest.fixture
def scene(app, request):
    return kept_scene(request, build_scene)


def build_scene():
    return api_school()


def problem(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["status"] == status and body["title"] and body["detail"] and body["type"]
    return body


def snapshot() -> tuple:
    """Everything a write could change, to compare before and after a refused one."""
    db.session.expire_all()
    return (db.session.execute(select(MentorGroup.id, MentorGroup.name, MentorGroup.parent_id,
                                      MentorGroup.description).order_by(MentorGroup.id)).all(),
            db.session.execute(select(GroupMembership.group_id, GroupMembership.user_id,
                                      GroupMembership.role)
                               .order_by(GroupMembership.id)).all(),
            db.session.scalar(select(func.count()).select_from(AuditEvent)),
            db.session.scalar(select(func.count()).select_from(Invitation)))


def test_a_token_of_another_school_gets_404_and_changes_nothing(scene, client):
    other = api_school()
    before = snapshot()
    headers = other.headers
    top, learner = scene.top_id, scene.learner_id
    requests = [
        ("get", f"/api/v1/groups/{top}", None),
        ("patch", f"/api/v1/groups/{top}", {"name": "Taken over"}),
        ("delete", f"/api/v1/groups/{top}", None),
        ("get", f"/api/v1/groups/{top}/members", None),
        ("post", f"/api/v1/groups/{top}/members", {"role": "member", "emails": ["x@y.test"]}),
        ("get", f"/api/v1/groups/{top}/members/{learner}", None),
        ("put", f"/api/v1/groups/{top}/members/{learner}", {"role": "mentor"}),
        ("delete", f"/api/v1/groups/{top}/members/{learner}", None),
        ("get", f"/api/v1/groups/{top}/reviews", None),
        ("get", f"/api/v1/groups/{top}/progress", None),
    ]
    for method, url, body in requests:
        problem(getattr(client, method)(url, headers=headers, json=body), 404)
    # Their own group can't be moved under ours, nor people of ours added to theirs by id.
    problem(client.patch(f"/api/v1/groups/{other.top_id}", headers=headers,
                         json={"parent_id": top}), 422)
    report = client.post(f"/api/v1/groups/{other.top_id}/members", headers=headers,
                         json={"role": "member", "user_ids": [learner]}).get_json()
    assert report["not_in_school"] == [str(learner)] and report["added"] == []
    learner_email = db.session.get(type(scene.admin), learner).email
    problem(client.get(f"/api/v1/people?email={learner_email}", headers=headers), 404)
    listed = client.get("/api/v1/groups", headers=headers).get_json()["items"]
    assert {g["id"] for g in listed} == {other.top_id, other.nested_id}
    assert snapshot() == before


def test_a_read_token_reads_and_is_refused_writing(scene, client):
    assert client.get("/api/v1/groups", headers=scene.read_headers).status_code == 200
    before = snapshot()
    body = problem(client.post("/api/v1/groups", headers=scene.read_headers,
                               json={"name": "New"}), 403)
    assert "Reports" in body["detail"]
    problem(client.delete(f"/api/v1/groups/{scene.top_id}", headers=scene.read_headers), 403)
    assert snapshot() == before


def test_a_revoked_token_is_401(scene, client):
    token = db.session.scalar(select(api_tokens.ApiToken).where(
        api_tokens.ApiToken.name == "HR sync"))
    api_tokens.revoke_token(scene.admin, scene.account_id, token.id)
    db.session.commit()
    problem(client.get("/api/v1/groups", headers=scene.headers), 401)
    problem(client.post("/api/v1/groups", headers=scene.headers, json={"name": "X"}), 401)


def test_the_plan_limit_is_a_problem_naming_the_limit(app, client):
    scene = api_school(plan="essentials")  # 5 groups; the scene has 2
    for n in range(3):
        assert client.post("/api/v1/groups", headers=scene.headers,
                           json={"name": f"Group {n}"}).status_code == 201
    before = snapshot()
    body = problem(client.post("/api/v1/groups", headers=scene.headers,
                               json={"name": "One too many"}), 409)
    assert body["type"].endswith("/plan-limit")
    assert body["limit"] == {"name": "groups", "plan": "essentials", "maximum": 5, "used": 5}
    assert "Essentials plan includes 5 groups" in body["detail"]
    assert snapshot() == before


def test_moves_keep_the_tree_a_tree(scene, client):
    before = snapshot()
    body = problem(client.patch(f"/api/v1/groups/{scene.top_id}", headers=scene.headers,
                                json={"parent_id": scene.nested_id}), 422)
    assert body["field"] == "parent_id" and "nested" in body["detail"]
    problem(client.patch(f"/api/v1/groups/{scene.top_id}", headers=scene.headers,
                         json={"parent_id": scene.top_id}), 422)
    assert snapshot() == before
    moved = client.patch(f"/api/v1/groups/{scene.nested_id}", headers=scene.headers,
                         json={"parent_id": None, "name": "Evenings", "description": "Late"})
    assert moved.status_code == 200
    assert {k: moved.get_json()[k] for k in ("parent_id", "name", "description")} == {
        "parent_id": None, "name": "Evenings", "description": "Late"}
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "group.nest"))
    assert (event.actor_id, event.api_token.name) == (None, "HR sync")


@pytest.mark.parametrize(("data", "content_type", "status"), [
    ("{not json", "application/json", 400),
    ('{"name": "A", "colour": "red"}', "application/json", 400),
    ('{"name": 5}', "application/json", 400),
    ('["name"]', "application/json", 400),
    ('{"name": "' + "x" * 121 + '"}', "application/json", 400),
    ('{"name": "A", "parent_id": 99999999999}', "application/json", 400),
    ('{"name": "A\\u0000"}', "application/json", 400),
    ("name=A", "application/x-www-form-urlencoded", 415),
    ("", "application/json", 400),
    ("[" * 5000 + "]" * 5000, "application/json", 400),
])
def test_bodies_that_are_not_a_valid_group_are_400_problems(scene, client, data,
                                                            content_type, status):
    before = snapshot()
    problem(client.post("/api/v1/groups", headers=scene.headers, data=data,
                        content_type=content_type), status)
    assert snapshot() == before


def test_a_huge_body_is_refused_before_it_is_read(scene, client, app):
    huge = '{"name": "' + "x" * (app.config["MAX_CONTENT_LENGTH"] + 10) + '"}'
    problem(client.post("/api/v1/groups", headers=scene.headers, data=huge,
                        content_type="application/json"), 413)
    emails = [f"p{n}@big.test" for n in range(501)]
    problem(client.post(f"/api/v1/groups/{scene.top_id}/members", headers=scene.headers,
                        json={"role": "member", "emails": emails}), 400)


def test_memberships_through_the_api_invite_once_and_are_audited_under_the_token(scene,
                                                                                client):
    url = f"/api/v1/groups/{scene.nested_id}/members"
    newcomer = make_member(db.session.get(MentorGroup, scene.top_id).account, "member",
                           email="nia@school.test")
    db.session.commit()
    first = client.post(url, headers=scene.headers, json={
        "role": "member", "emails": ["nia@school.test", "New.Person@Elsewhere.test", "nope"],
        "user_ids": [scene.learner_id]}).get_json()
    assert sorted(a["user_id"] for a in first["added"]) == sorted([newcomer.id,
                                                                   scene.learner_id])
    assert first["invited"] == ["new.person@elsewhere.test"] and first["invalid"] == ["nope"]
    jobs = db.session.scalar(select(func.count()).select_from(OutboxJob))
    again = client.post(url, headers=scene.headers, json={
        "role": "member", "emails": ["nia@school.test", "new.person@elsewhere.test"]}).get_json()
    assert again["added"] == [] and again["invited"] == []
    assert again["pending"] == ["new.person@elsewhere.test"]
    assert [a["email"] for a in again["already"]] == ["nia@school.test"]
    assert db.session.scalar(select(func.count()).select_from(OutboxJob)) == jobs
    invitation = db.session.scalar(select(Invitation).where(
        Invitation.email == "new.person@elsewhere.test"))
    assert invitation.invited_by_id is None
    assert invitation.invited_by_token.name == "HR sync"
    assert db.session.scalar(select(func.count()).select_from(Invitation).where(
        Invitation.email == "new.person@elsewhere.test")) == 1
    # The members screen says who sent it.
    client.login(scene.admin.email, account_id=scene.account_id)
    screen = client.get(f"/admin/community/groups/{scene.nested_id}/").get_data(as_text=True)
    assert "new.person@elsewhere.test" in screen
    assert "API token \u201cHR sync\u201d" in screen
    changed = client.put(f"{url}/{newcomer.id}", headers=scene.headers, json={"role": "mentor"})
    assert changed.get_json()["role"] == "mentor"
    removed = client.delete(f"{url}/{newcomer.id}", headers=scene.headers)
    assert removed.get_json()["removed"]["email"] == "nia@school.test"
    problem(client.get(f"{url}/{newcomer.id}", headers=scene.headers), 404)
    actions = db.session.execute(select(AuditEvent.action, AuditEvent.actor_id,
                                        AuditEvent.api_token_id)
                                 .where(AuditEvent.group_id == scene.nested_id)
                                 .order_by(AuditEvent.id)).all()
    assert [a for a, _, _ in actions] == ["group.create", "invitation.send", "member.add",
                                          "member.add", "member.role", "member.remove"]
    assert all(actor is None and token is not None for _, actor, token in actions[1:])


def test_people_reviews_and_progress(scene, client):
    learner_email = client.get(f"/api/v1/groups/{scene.top_id}/members/{scene.learner_id}",
                               headers=scene.headers).get_json()["email"]
    person = client.get(f"/api/v1/people?email={learner_email.upper()}",
                        headers=scene.headers).get_json()
    assert (person["id"], person["school_role"], person["status"]) == (
        scene.learner_id, "member", "active")
    problem(client.get("/api/v1/people?email=nobody@nowhere.test", headers=scene.headers), 404)
    reviews = client.get(f"/api/v1/groups/{scene.top_id}/reviews",
                         headers=scene.headers).get_json()
    assert [r["learner"]["id"] for r in reviews["items"]] == [scene.learner_id]
    assert client.get(f"/api/v1/groups/{scene.nested_id}/reviews",
                      headers=scene.headers).get_json()["items"] == []
    progress = client.get(f"/api/v1/groups/{scene.top_id}/progress",
                          headers=scene.headers).get_json()["items"]
    mine = next(p for p in progress if p["user_id"] == scene.learner_id)
    assert mine["waiting_reviews"] == 1
    assert [(p["completed"], p["total"]) for p in mine["paths"]] == [(2, 4)]
    assert len(progress) == 2  # the members; the mentor is staff


def test_etags_for_incremental_sync(scene, client):
    url = f"/api/v1/groups/{scene.top_id}"
    first = client.get(url, headers=scene.headers)
    tag = first.headers["ETag"]
    assert client.get(url, headers={**scene.headers, "If-None-Match": tag}).status_code == 304
    problem(client.patch(url, headers={**scene.headers, "If-Match": 'W/"old"'},
                         json={"name": "Renamed"}), 412)
    renamed = client.patch(url, headers={**scene.headers, "If-Match": tag},
                           json={"name": "Renamed"})
    assert renamed.status_code == 200 and renamed.headers["ETag"] != tag
    assert client.get(url, headers={**scene.headers, "If-None-Match": tag}).status_code == 200


def test_lists_page_by_cursor_in_the_same_statements_whatever_the_size(scene, client):
    account_id = scene.account_id
    admin = scene.admin

    def walk(url: str) -> tuple[list[int], list[int]]:
        ids, counts, sizes, cursor = [], [], [], None
        limit = int(url.rsplit("limit=", 1)[1])
        while True:
            page_url = url + (f"&cursor={cursor}" if cursor else "")
            db.session.expire_all()
            holder = {}

            def get(page_url=page_url, holder=holder):
                holder["body"] = client.get(page_url, headers=scene.headers).get_json()

            counts.append(statements_of(get))
            ids += [item.get("id", item.get("user_id", item.get("submission_id")))
                    for item in holder["body"]["items"]]
            sizes.append(len(holder["body"]["items"]))
            cursor = holder["body"]["next_cursor"]
            if cursor is None:
                # Every page but the last is full, and none holds more than asked for.
                assert set(sizes[:-1]) <= {limit} and 1 <= sizes[-1] <= limit, (url, sizes)
                return ids, counts

    client.get("/api/v1/school", headers=scene.headers)  # the token's last use, written now
    top = scene.top_id
    lists = {"groups": "/api/v1/groups?limit=2",
             "members": f"/api/v1/groups/{top}/members?limit=2",
             "progress": f"/api/v1/groups/{top}/progress?limit=2",
             "reviews": f"/api/v1/groups/{top}/reviews?limit=2"}
    small = {name: walk(url) for name, url in lists.items()}
    account = db.session.get(MentorGroup, top).account
    for n in range(12):
        groups.create_group(admin, account_id, f"More {n}")
    newcomers = [make_member(account, "member") for _ in range(7)]
    group_members.add_members(admin, account_id, top, "member",
                              user_ids=[p.id for p in newcomers])
    steps = sorted(db.session.scalars(select(Step)), key=lambda step: step.position)
    for person in newcomers:
        learning.enroll(admin, db.session.scalars(select(Cohort)).first().id, person.id)
        learning.submit_for_review(person, account_id, steps[1].id, "Work")
    db.session.commit()
    big = {name: walk(url.replace("limit=2", "limit=3")) for name, url in lists.items()}
    big_ids = big["groups"][0]
    assert len(big_ids) == len(set(big_ids)) == 14 and big_ids == sorted(big_ids)
    assert set(small["groups"][0]) < set(big_ids)
    assert len(big["members"][0]) == 10 and len(big["progress"][0]) == 9
    assert len(big["reviews"][0]) == 8
    for name in lists:
        # The same statements for every page, of 2 rows or 14: groups 2 (the token, the
        # page with its counts), the others a few more (the group's access, the people's
        # figures).
        pages = small[name][1] + big[name][1]
        assert len(set(pages)) == 1, (name, small[name][1], big[name][1])
        assert len(big[name][1]) >= 3
    assert set(small["groups"][1]) == {2}  # the token; the page with its counts
    problem(client.get("/api/v1/groups?cursor=garbage", headers=scene.headers), 400)
    problem(client.get("/api/v1/groups?limit=0", headers=scene.headers), 400)


def _bulk_groups(account_id: int, parent_id: int, n: int) -> None:
    """`n` groups below `parent_id`, five under each (deeper as well as wider), as rows."""
    from sqlalchemy import insert

    ids = [parent_id]
    for i in range(n):
        ids.append(db.session.execute(insert(MentorGroup).values(
            account_id=account_id, name=f"Bulk {i}", parent_id=ids[i // 5], description="")
            .returning(MentorGroup.id)).scalar_one())
    db.session.commit()


def test_a_page_of_groups_costs_the_same_statements_over_10_and_500_groups(scene, client):
    """The token (an account admin's reach) lists groups in 2 statements at 10 groups and at
    500, on the first page and a later one; a Group Admin's page through the same service,
    their part of the tree a CTE in the statement (no list of ids), is flat too and holds
    only the groups below theirs."""
    from mentorgroups.services import api_reads

    gina = make_member(db.session.get(MentorGroup, scene.top_id).account, "staff")
    db.session.add(GroupMembership(group_id=scene.nested_id, user_id=gina.id,
                                   role="group_admin"))
    db.session.commit()
    _bulk_groups(scene.account_id, scene.nested_id, 8)
    client.get("/api/v1/school", headers=scene.headers)  # the token's last use, written now

    def token_page(url):
        db.session.expire_all()
        return statements_of(lambda: client.get(url, headers=scene.headers).get_json())

    def gina_page(after=0):
        db.session.expire_all()
        return statements_of(lambda: api_reads.groups_page(gina, scene.account_id, after, 5))

    from mentorgroups.api.common import encode_cursor

    few = [token_page("/api/v1/groups?limit=5"),
           token_page(f"/api/v1/groups?limit=5&cursor={encode_cursor(scene.nested_id)}"),
           gina_page()]
    assert few[:2] == [2, 2]
    _bulk_groups(scene.account_id, scene.nested_id, 490)
    first = client.get("/api/v1/groups?limit=100", headers=scene.headers).get_json()
    assert [token_page("/api/v1/groups?limit=5"),
            token_page(f"/api/v1/groups?limit=100&cursor={first['next_cursor']}"),
            gina_page(after=scene.nested_id + 200)] == few
    mine, after = [], 0
    while after is not None:
        page = api_reads.groups_page(gina, scene.account_id, after, 100)
        mine += [group.id for group, _ in page.items]
        after = page.next_after
    below = db.session.scalars(select(MentorGroup.id).where(
        MentorGroup.account_id == scene.account_id,
        MentorGroup.id.not_in([scene.top_id]))).all()
    assert sorted(mine) == sorted(below) and len(mine) == 499
    counts = {item["id"]: item["counts"] for item in first["items"]}
    assert counts[scene.top_id] == {"member": 2, "mentor": 1, "group_admin": 0}
    assert counts[scene.nested_id] == {"member": 0, "mentor": 0, "group_admin": 1}


def test_members_are_the_groups_own_by_role_and_one_by_id(scene, client):
    """A group's member list and one membership read that group's rows only; ?role= keeps
    that role only; an id no row can have is NotFound, never a database error."""
    from mentorgroups.services import api_reads

    def listed(group_id, query=""):
        body = client.get(f"/api/v1/groups/{group_id}/members{query}",
                          headers=scene.headers).get_json()
        return sorted((m["user_id"], m["role"]) for m in body["items"])

    top = listed(scene.top_id)
    assert (scene.mentor_id, "mentor") in top and (scene.learner_id, "member") in top
    assert len(top) == 3 and listed(scene.nested_id) == []
    assert listed(scene.top_id, "?role=mentor") == [(scene.mentor_id, "mentor")]
    assert {role for _, role in listed(scene.top_id, "?role=member")} == {"member"}
    assert len(listed(scene.top_id, "?role=member")) == 2
    problem(client.get(f"/api/v1/groups/{scene.nested_id}/members/{scene.learner_id}",
                       headers=scene.headers), 404)
    for unknown in (0, -3, 2 ** 64, "abc"):
        with pytest.raises(api_reads.NotFound):
            api_reads.membership_of(scene.admin, scene.account_id, scene.top_id, unknown)


def test_somebody_without_access_to_the_school_lists_no_groups(scene):
    from mentorgroups.services import api_reads

    other = api_school()
    page = api_reads.groups_page(other.admin, scene.account_id)
    assert (page.items, page.next_after) == ([], None)


def test_people_by_address_are_for_the_schools_admins_only(scene):
    """Staff of the school and another school's admin find nobody, even by an address that
    is somebody's here; no address at all finds nobody."""
    from mentorgroups.models import User
    from mentorgroups.services import api_reads

    learner_email = db.session.get(User, scene.learner_id).email
    found = api_reads.person_by_email(scene.admin, scene.account_id, learner_email)
    assert found.id == scene.learner_id
    mentor = db.session.get(User, scene.mentor_id)
    other = api_school()
    for actor, email in ((mentor, learner_email), (other.admin, learner_email),
                         (scene.admin, None), (scene.admin, "")):
        with pytest.raises(api_reads.NotFound):
            api_reads.person_by_email(actor, scene.account_id, email)


def test_reviewed_work_is_no_longer_waiting(scene, client):
    from mentorgroups.models import Submission

    submission = db.session.scalar(select(Submission).where(
        Submission.user_id == scene.learner_id))
    learning.review_submission(scene.admin, submission.id, None, "Good")
    db.session.commit()
    assert client.get(f"/api/v1/groups/{scene.top_id}/reviews",
                      headers=scene.headers).get_json()["items"] == []


def test_progress_is_of_the_groups_own_members_with_their_last_activity(scene):
    """A nested group without members shows nobody (not the members of the group above);
    a learner who only completed a step was last active then."""
    from mentorgroups.models import StepCompletion, User
    from mentorgroups.services import api_reads

    assert api_reads.progress_page(scene.admin, scene.account_id, scene.nested_id).items == []
    other = db.session.scalar(select(GroupMembership.user_id).where(
        GroupMembership.group_id == scene.top_id, GroupMembership.role == "member",
        GroupMembership.user_id != scene.learner_id))
    steps = sorted(db.session.scalars(select(Step)), key=lambda step: step.position)
    learning.complete_step(db.session.get(User, other), scene.account_id, steps[0].id)
    db.session.commit()
    done = db.session.scalar(select(StepCompletion.completed_at)
                             .where(StepCompletion.user_id == other))
    items = {p.user_id: p for p in api_reads.progress_page(scene.admin, scene.account_id,
                                                           scene.top_id).items}
    assert items[other].last_activity == done and items[other].waiting == 0
