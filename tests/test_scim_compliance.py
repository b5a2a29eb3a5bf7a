"""RFC 7643/7644 compliance of /scim/v2/ as scim2-tester checks it, against the WSGI app:
every check that applies to what ServiceProviderConfig advertises must pass.

/Users is read only (people join a school by invitation; writes answer 501 Not Implemented,
RFC 7644 §3.12). scim2-tester fills a group's members by first creating Users to point at;
an identity provider instead looks its people up (`userName eq`) and links the ones the
school has. `IdpUserMatching` plays that part in front of the app: the tester's
POST /Users is answered with the next person of the school, read through the app's own
GET /Users/<id>; every other request, the group checks included, reaches the app unchanged."""

from __future__ import annotations

import itertools

import pytest
from scim2_client.engines.wsgi import WSGISCIMClient
from scim2_tester import Status, check_server

from mentorgroups.extensions import db
from tests.scim_rows import scim_school

FAILED = (Status.ERROR, Status.CRITICAL)


class IdpUserMatching:
    """WSGI middleware: POST /scim/v2/Users links the next existing person (201 with the
    app's own representation of them) instead of creating one."""

    def __init__(self, app, person_ids: list[int]):
        self.app, self.people = app, itertools.cycle(person_ids)
        self.linked = 0

    def __call__(self, environ, start_response):
        if environ["REQUEST_METHOD"] == "POST" and environ["PATH_INFO"] == "/scim/v2/Users":
            self.linked += 1
            environ = {**environ, "REQUEST_METHOD": "GET", "CONTENT_LENGTH": "0",
                       "PATH_INFO": f"/scim/v2/Users/user-{next(self.people)}"}

            def created(status, headers, exc_info=None):
                if status.startswith("200"):
                    status = "201 CREATED"
                return start_response(status, headers, exc_info)

            return self.app(environ, created)
        return self.app(environ, start_response)


@pytest.fixture
def school(app):
    yield scim_school(people=12)
    db.session.remove()


def _client(app, school, matching=None):
    return WSGISCIMClient(matching or app, base_url="http://localhost/scim/v2",
                          headers={"Authorization": f"Bearer {school.secret}"})


def _failures(results) -> list[str]:
    return [f"{r.resource_type or ''} {r.title}: {r.reason}" for r in results
            if r.status in FAILED]


def test_discovery_and_groups_pass_every_check(app, school):
    matching = IdpUserMatching(app, [p.id for p in school.people])
    results = check_server(_client(app, school, matching), resource_types=["Group"])
    assert _failures(results) == []
    passed = {r.title for r in results if r.status == Status.SUCCESS}
    for needed in ("service_provider_config_endpoint", "query_all_resource_types",
                   "query_all_schemas", "random_url", "object_creation", "object_query",
                   "object_query_without_id", "object_query_with_attributes",
                   "object_replacement", "object_deletion", "check_add_attribute",
                   "check_remove_attribute", "check_replace_attribute"):
        assert needed in passed, (needed, sorted(passed))
    assert matching.linked > 0  # groups were checked with members in them


def test_users_pass_the_discovery_and_read_checks(app, school):
    matching = IdpUserMatching(app, [p.id for p in school.people])
    results = check_server(_client(app, school, matching), resource_types=["User"],
                           include_tags={"discovery", "misc", "crud:read"})
    assert _failures(results) == []
    passed = {r.title for r in results if r.status == Status.SUCCESS}
    for needed in ("query_all_resource_types", "query_all_schemas", "random_url",
                   "object_query", "object_query_without_id"):
        assert needed in passed, (needed, sorted(passed))
