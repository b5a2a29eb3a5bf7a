"""100 SCIM PATCHes to one group at the same moment, against a live server on PostgreSQL:
each replaces the group's members; the group's row lock runs them one at a time, so the
membership ends exactly as the one committed last says (the highest revision, which each
answer carries as its ETag), with no duplicates and no 5xx."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request

import pytest
from sqlalchemy import func, select
from werkzeug.serving import make_server

from mentorgroups.extensions import db
from mentorgroups.models import GroupMembership, MentorGroup
from tests.conftest import BACKEND, free_port
from tests.scim_rows import GROUP_SCHEMA, SCIM_JSON, patch_body, scim_school

pytestmark = pytest.mark.skipif(BACKEND != "postgresql",
                                reason="row locks are a PostgreSQL matter; SQLite has one writer")
PATCHES = 100
DEADLINE = 120  # seconds a request may wait (two cores shared by several test runs)


def _request(url: str, secret: str, method: str, body: dict) -> tuple[int, dict, bytes]:
    request = urllib.request.Request(url, method=method, data=json.dumps(body).encode(),
                                     headers={"Authorization": f"Bearer {secret}",
                                              "Content-Type": SCIM_JSON})
    try:
        with urllib.request.urlopen(request, timeout=DEADLINE) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_parallel_patches_end_as_the_last_committed_one_says(make_app):
    app = make_app(SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 40, "max_overflow": 0,
                                              "pool_timeout": DEADLINE},
                   API_RATE_LIMIT="10000/minute")
    with app.app_context():
        school = scim_school(people=12)
        people = [f"user-{p.id}" for p in school.people]
        secret = school.secret
    server = make_server("127.0.0.1", free_port(), app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}/scim/v2"
    try:
        status, _, raw = _request(base + "/Groups", secret, "POST",
                                  {"schemas": [GROUP_SCHEMA], "displayName": "Busy"})
        assert status == 201, raw
        gid = json.loads(raw)["id"]
        # Each PATCH replaces the members with its own set (3 of the 12 people, and a person
        # added twice in the same request, which must not make a duplicate).
        wanted = {n: sorted({people[n % 12], people[(n * 5 + 1) % 12], people[(n // 12) % 12]})
                  for n in range(PATCHES)}
        barrier = threading.Barrier(PATCHES)
        answers: dict[int, tuple[int, str]] = {}
        lock = threading.Lock()

        def send(n: int):
            values = [{"value": v} for v in wanted[n]] + [{"value": wanted[n][0]}]
            barrier.wait(timeout=DEADLINE)
            status, headers, _ = _request(f"{base}/Groups/{gid}", secret, "PATCH", patch_body(
                {"op": "replace", "path": "members", "value": values}))
            with lock:
                answers[n] = (status, headers.get("ETag", ""))

        threads = [threading.Thread(target=send, args=(n,)) for n in range(PATCHES)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(DEADLINE)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    assert len(answers) == PATCHES
    assert sorted({status for status, _ in answers.values()}) == [204], answers
    revisions = {n: int(etag.strip('W/"')) for n, (_, etag) in answers.items()}
    assert sorted(revisions.values()) == list(range(2, PATCHES + 2))  # one after the other
    last = max(revisions, key=revisions.get)
    with app.app_context():
        group_id = int(gid.removeprefix("group-"))
        rows = db.session.execute(select(GroupMembership.user_id, GroupMembership.role).where(
            GroupMembership.group_id == group_id)).all()
        assert sorted(f"user-{uid}" for uid, _ in rows) == wanted[last]
        assert {role for _, role in rows} == {"member"}
        assert db.session.scalar(select(MentorGroup.scim_revision).where(
            MentorGroup.id == group_id)) == PATCHES + 1
        assert db.session.scalar(select(func.count()).select_from(GroupMembership)) == len(rows)
