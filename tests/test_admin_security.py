"""The back office's security: who may open which screen, and that every screen only ever
shows, changes or exports the current school's rows.

Two schools are built. Every row of school A carries the word ALPHAROW and every row of
school B the word BRAVOROW, so "no row of the other school appears" is a plain substring
check on every response body, the CSV export included. The people who act (the admins,
staff, learner, revoked admin) have plain names, because their own name is shown in the
page header."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select

from mentorgroups.extensions import db
from mentorgroups.models import (
    AccountMembership,
    Cohort,
    CohortMembership,
    Path,
    SentEmail,
    Step,
    utcnow,
)
from tests.factories import make_account, make_cohort, make_member, make_path
from tests.kept_scenes import kept_scene

A_WORD = "ALPHAROW"
B_WORD = "BRAVOROW"

VIEWS = ("people", "paths", "cohorts", "sent_emails")
ROUTES = ("index_view", "create_view", "details_view", "edit_view", "export_csv",
          "delete_view", "action_view", "ajax_lookup", "ajax_update")
ACTORS = ("anonymous", "learner", "staff", "revoked_admin", "other_admin", "admin")


# --------------------------------------------------------------------------- the world


def sent_email(account, word: str, n: int, **fields) -> SentEmail:
    email = SentEmail(
        account_id=account.id, idempotency_key=f"{word}-{n}-{account.id}",
        recipient=fields.pop("recipient", f"{word.lower()}{n}@example.test"),
        subject=fields.pop("subject", f"{word} subject {n}"),
        body=fields.pop("body", f"{word} body {n}"), status=fields.pop("status", "logged"),
        sent_at=utcnow(), **fields,
    )
    db.session.add(email)
    db.session.flush()
    return email


def build_school(word: str, name: str):
    account = make_account(name=name)
    admin = make_member(account, "admin", full_name=f"{name} Admin")
    staff = make_member(account, "staff", full_name=f"{name} Staff")
    learner = make_member(account, "member", full_name=f"{name} Learner")
    revoked_admin = make_member(account, "admin", status="revoked",
                                full_name=f"{name} Former Admin")
    # The marker person: only ever visible to this school's admins.
    marker = make_member(account, "member", full_name=f"Mara {word}",
                         email=f"mara.{word.lower()}@example.test")
    path = make_path(account, steps=2, title=f"{word} path")
    path.steps[0].title = f"{word} step one"
    cohort = make_cohort(path, name=f"{word} cohort", learners=[learner, marker])
    email = sent_email(account, word, 1)
    db.session.commit()
    marker_membership = db.session.scalar(
        select(AccountMembership).where(AccountMembership.account_id == account.id,
                                        AccountMembership.user_id == marker.id))
    return type("School", (), dict(
        account=account, admin=admin, staff=staff, learner=learner,
        revoked_admin=revoked_admin, marker=marker, membership=marker_membership,
        path=path, cohort=cohort, email=email,
        ids={"people": marker_membership.id, "paths": path.id, "cohorts": cohort.id,
             "sent_emails": email.id},
    ))


@pytest.fixture
def world(app, request):
    return kept_scene(request, build_world)


def build_world():
    a = build_school(A_WORD, "Alpha School")
    b = build_school(B_WORD, "Bravo School")
    return type("World", (), dict(a=a, b=b))


def login_as(client, world, actor: str):
    """Sign in as one of the actors; returns the word that must never appear to them."""
    if actor == "anonymous":
        return None
    user = {
        "learner": world.a.learner, "staff": world.a.staff,
        "revoked_admin": world.a.revoked_admin, "other_admin": world.b.admin,
        "admin": world.a.admin,
    }[actor]
    response = client.login(user.email)
    assert response.status_code == 302, f"{actor} could not sign in"
    return user


def token_for(client, actor: str) -> str:
    return client.csrf("/login" if actor == "anonymous" else "/accounts")


def row_state(world) -> dict:
    """What the matrix's writes could touch in school A, re-read from the database."""
    db.session.expire_all()
    return {
        "marker_status": db.session.get(AccountMembership, world.a.membership.id).status,
        "path": db.session.get(Path, world.a.path.id) is not None,
        "cohort": db.session.get(Cohort, world.a.cohort.id) is not None,
        "email": db.session.get(SentEmail, world.a.email.id) is not None,
        "paths": db.session.scalar(select(func.count()).select_from(Path)),
        "cohorts": db.session.scalar(select(func.count()).select_from(Cohort)),
        "memberships": db.session.scalar(select(func.count()).select_from(AccountMembership)),
        "steps": db.session.scalar(select(func.count()).select_from(Step)),
        "cohort_people": db.session.scalar(select(func.count()).select_from(CohortMembership)),
    }


ACTIONS = {"people": "revoke", "paths": "delete", "cohorts": "delete", "sent_emails": "delete"}


def request_route(client, view: str, route: str, row_id, token: str | None):
    base = f"/admin/{view}"
    if route == "index_view":
        return client.get(f"{base}/")
    if route == "create_view":
        return client.get(f"{base}/new/")
    if route == "details_view":
        return client.get(f"{base}/details/?id={row_id}")
    if route == "edit_view":
        return client.get(f"{base}/edit/?id={row_id}")
    if route == "export_csv":
        return client.get(f"{base}/export/csv/")
    if route == "ajax_lookup":
        name = {"cohorts": "path", "people": "user"}.get(view, "account")
        return client.get(f"{base}/ajax/lookup/?name={name}&query=a")
    data = {"csrf_token": token}
    if route == "delete_view":
        data.update(id=str(row_id))
        return client.post(f"{base}/delete/", data=data)
    if route == "action_view":
        data.update(action=ACTIONS[view], rowid=str(row_id))
        return client.post(f"{base}/action/", data=data)
    if route == "ajax_update":
        data.update(list_form_pk=str(row_id), name="x", title="x", role="admin")
        return client.post(f"{base}/ajax/update/", data=data)
    raise AssertionError(route)


# What school A's admin gets on A's own rows. 302 is Flask-Admin's answer to a screen the
# view does not offer (it redirects back to the list); ajax routes with nothing to serve 404.
# People have no generic export: their data leaves only through the Mentor Group reports.
ADMIN_EXPECTED = {
    "people": dict(index_view=200, create_view=200, details_view=200, edit_view=200,
                   export_csv=302, delete_view=302, action_view=302, ajax_lookup=404,
                   ajax_update=404),
    "paths": dict(index_view=200, create_view=200, details_view=200, edit_view=200,
                  export_csv=200, delete_view=302, action_view=302, ajax_lookup=404,
                  ajax_update=404),
    "cohorts": dict(index_view=200, create_view=200, details_view=200, edit_view=200,
                    export_csv=302, delete_view=302, action_view=302, ajax_lookup=404,
                    ajax_update=404),
    "sent_emails": dict(index_view=200, create_view=302, details_view=200, edit_view=302,
                        export_csv=200, delete_view=302, action_view=302, ajax_lookup=404,
                        ajax_update=404),
}


def other_admin_expected(view: str, route: str) -> int:
    """School B's admin on school A's ids: a row lookup is a 404; the rest are B's own."""
    expected = ADMIN_EXPECTED[view][route]
    if route in ("details_view", "edit_view", "delete_view") and expected == 200:
        return 404
    if route == "delete_view" and view in ("paths", "cohorts"):
        return 404
    return expected


def expected_change(actor: str, view: str, route: str) -> dict:
    """The only writes the matrix may cause: A's admin deleting or revoking A's rows."""
    if actor != "admin":
        return {}
    if view == "people" and route == "action_view":
        return {"marker_status": "revoked"}
    if view == "paths" and route in ("delete_view", "action_view"):
        return {"path": False, "cohort": False, "paths": -1, "cohorts": -1, "steps": -2,
                "cohort_people": -2}
    if view == "cohorts" and route in ("delete_view", "action_view"):
        return {"cohort": False, "cohorts": -1, "cohort_people": -2}
    return {}


def apply_change(before: dict, change: dict) -> dict:
    after = dict(before)
    for key, value in change.items():
        after[key] = before[key] + value if isinstance(value, int) and not isinstance(
            value, bool) else value
    return after


# --------------------------------------------------------------------------- the matrix


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("view", VIEWS)
def test_permission_matrix(client, world, view, route, actor):
    login_as(client, world, actor)
    token = token_for(client, actor)
    before = row_state(world)

    response = request_route(client, view, route, world.a.ids[view], token)
    body = response.get_data(as_text=True)
    lowered = body.lower()

    if actor == "anonymous":
        assert response.status_code == 302
        location = urlsplit(response.headers["Location"])
        assert location.path == "/login"
        assert parse_qs(location.query)["next"][0].startswith(f"/admin/{view}/")
    elif actor in ("learner", "staff", "revoked_admin"):
        assert response.status_code == 403, body[:500]
    elif actor == "other_admin":
        assert response.status_code == other_admin_expected(view, route), body[:500]
    else:
        assert response.status_code == ADMIN_EXPECTED[view][route], body[:500]

    # Nobody but A's own admin ever sees a row of school A; nobody but B's admin ever sees
    # a row of school B.
    if actor != "admin":
        assert A_WORD.lower() not in lowered
    if actor != "other_admin":
        assert B_WORD.lower() not in lowered
    if response.status_code == 200 and route in ("index_view", "export_csv"):
        # The checks above are not vacuous: each admin does see their own school's rows.
        own = {"admin": A_WORD, "other_admin": B_WORD}[actor]
        assert own.lower() in lowered
    shows_the_row = route == "details_view" or (
        route == "edit_view" and view != "people")  # a person's edit form: role, access
    if actor == "admin" and response.status_code == 200 and shows_the_row:
        assert A_WORD.lower() in lowered

    assert row_state(world) == apply_change(before, expected_change(actor, view, route))


def test_back_office_home_permissions(client, world):
    response = client.get("/admin/")
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/login"
    assert parse_qs(urlsplit(response.headers["Location"]).query)["next"] == ["/admin/"]
    for user in (world.a.learner, world.a.staff, world.a.revoked_admin):
        client.login(user.email)
        assert client.get("/admin/").status_code == 403
        client.post_form("/logout", token_page="/accounts")
    client.login(world.a.admin.email)
    response = client.get("/admin/")
    assert response.status_code == 200
    assert "Alpha School" in response.get_data(as_text=True)
    assert "Bravo School" not in response.get_data(as_text=True)


def test_admin_of_one_school_working_in_another_is_refused(client, world):
    """A's admin who is a plain member of B, working in B, gets 403 on the back office."""
    make_member(world.b.account, "member", user=world.a.admin)
    db.session.commit()
    client.login(world.a.admin.email, account_id=world.b.account.id)
    for view in VIEWS:
        response = client.get(f"/admin/{view}/")
        assert response.status_code == 403
        assert B_WORD not in response.get_data(as_text=True)
    assert client.get("/admin/").status_code == 403


def test_someone_in_several_schools_who_has_not_chosen_is_sent_to_choose(client, world):
    make_member(world.b.account, "member", user=world.a.admin)
    db.session.commit()
    client.login(world.a.admin.email)  # two schools: none chosen yet
    response = client.get("/admin/paths/")
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.path == "/accounts"
    assert parse_qs(location.query)["next"] == ["/admin/paths/"]
    client.post_form("/accounts", {"account_id": str(world.a.account.id),
                                   "next": "/admin/paths/"}, token_page="/accounts")
    page = client.get("/admin/paths/").get_data(as_text=True)
    assert A_WORD in page and B_WORD not in page


def test_revoking_an_admin_takes_effect_at_their_next_click(client, world):
    client.login(world.a.admin.email)
    assert client.get("/admin/paths/").status_code == 200
    membership = db.session.scalar(select(AccountMembership).where(
        AccountMembership.user_id == world.a.admin.id))
    membership.status = "revoked"
    db.session.commit()
    response = client.get("/admin/paths/")
    assert response.status_code == 403
    assert A_WORD not in response.get_data(as_text=True)


# --------------------------------------------------------------------------- forged ids


@pytest.mark.parametrize("view", ["people", "paths", "cohorts", "sent_emails"])
@pytest.mark.parametrize("route", ["details_view", "edit_view"])
def test_forged_id_of_another_school_is_404(client, world, view, route):
    client.login(world.a.admin.email)
    url = f"/admin/{view}/{'details' if route == 'details_view' else 'edit'}/" \
          f"?id={world.b.ids[view]}"
    response = client.get(url)
    if view == "sent_emails" and route == "edit_view":
        assert response.status_code == 302  # no edit screen at all
    else:
        assert response.status_code == 404
    assert B_WORD not in response.get_data(as_text=True)


@pytest.mark.parametrize("view", ["people", "paths", "cohorts"])
def test_forged_id_posted_to_edit_changes_nothing(client, world, view):
    client.login(world.a.admin.email)
    before = row_state_b(world)
    data = {"people": {"role": "admin", "status": "revoked"},
            "paths": {"title": "hijacked", "description": "x"},
            "cohorts": {"path": str(world.a.path.id), "name": "hijacked"}}[view]
    response = client.post_form(f"/admin/{view}/edit/?id={world.b.ids[view]}", data,
                                token_page="/admin/")
    assert response.status_code == 404
    assert B_WORD not in response.get_data(as_text=True)
    assert row_state_b(world) == before


def row_state_b(world) -> dict:
    db.session.expire_all()
    membership = db.session.get(AccountMembership, world.b.membership.id)
    path = db.session.get(Path, world.b.path.id)
    cohort = db.session.get(Cohort, world.b.cohort.id)
    return {"membership": (membership.role, membership.status), "path": path.title,
            "cohort": (cohort.name, cohort.path_id),
            "email": db.session.get(SentEmail, world.b.email.id) is not None}


@pytest.mark.parametrize("view", ["paths", "cohorts"])
def test_forged_id_delete_is_404_and_deletes_nothing(client, world, view):
    client.login(world.a.admin.email)
    before = row_state_b(world)
    response = client.post_form(f"/admin/{view}/delete/", {"id": str(world.b.ids[view])},
                                token_page=f"/admin/{view}/")
    assert response.status_code == 404
    assert B_WORD not in response.get_data(as_text=True)
    assert row_state_b(world) == before


@pytest.mark.parametrize("view,action", [("people", "revoke"), ("people", "restore"),
                                         ("paths", "delete"), ("cohorts", "delete"),
                                         ("sent_emails", "delete")])
def test_forged_ids_in_an_action_change_nothing_of_the_other_school(client, world, view,
                                                                    action):
    if action == "restore":
        world.b.membership.status = "revoked"
        db.session.commit()
    client.login(world.a.admin.email)
    before = row_state_b(world)
    response = client.post_form(
        f"/admin/{view}/action/",
        {"action": action, "rowid": [str(world.b.ids[view])]},
        token_page=f"/admin/{view}/",
    )
    assert response.status_code == 302
    assert row_state_b(world) == before
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert B_WORD not in page
    assert "mara.bravorow" not in page


def test_action_mixing_own_and_forged_ids_touches_only_own_rows(client, world):
    client.login(world.a.admin.email)
    response = client.post_form(
        "/admin/people/action/",
        {"action": "revoke", "rowid": [str(world.a.membership.id), str(world.b.membership.id)]},
        token_page="/admin/people/",
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(AccountMembership, world.a.membership.id).status == "revoked"
    assert db.session.get(AccountMembership, world.b.membership.id).status == "active"


@pytest.mark.parametrize("view", VIEWS)
@pytest.mark.parametrize("bad", ["abc", "1.5", "", "1 OR 1=1", "-1", "99999999",
                                 "99999999999999999999999"])
def test_non_numeric_or_unknown_id_is_404(client, world, view, bad):
    client.login(world.a.admin.email)
    response = client.get(f"/admin/{view}/details/", query_string={"id": bad})
    if bad == "":
        # An empty id is no id at all: back to the list.
        assert response.status_code in (302, 404)
    else:
        assert response.status_code == 404
    if view != "sent_emails":
        response = client.get(f"/admin/{view}/edit/", query_string={"id": bad})
        assert response.status_code in ((302, 404) if bad == "" else (404,))


@pytest.mark.parametrize("view", ["paths", "cohorts"])
@pytest.mark.parametrize("bad", ["abc", "1 OR 1=1", "99999999", "99999999999999999999999"])
def test_non_numeric_id_in_delete_is_404(client, world, view, bad):
    client.login(world.a.admin.email)
    before = row_state(world)
    response = client.post_form(f"/admin/{view}/delete/", {"id": bad},
                                token_page=f"/admin/{view}/")
    assert response.status_code == 404
    assert row_state(world) == before


@pytest.mark.parametrize("view,action", [("people", "revoke"), ("paths", "delete"),
                                         ("cohorts", "delete")])
@pytest.mark.parametrize("bad", ["abc", "1 OR 1=1", "99999999", "",
                                 "99999999999999999999999"])
def test_non_numeric_ids_in_an_action_change_nothing(client, world, view, action, bad):
    client.login(world.a.admin.email)
    before = row_state(world)
    before_b = row_state_b(world)
    response = client.post_form(f"/admin/{view}/action/", {"action": action, "rowid": [bad]},
                                token_page=f"/admin/{view}/")
    assert response.status_code in (302, 404)
    assert row_state(world) == before
    assert row_state_b(world) == before_b


# --------------------------------------------------------------------------- lists, search


B_ROWS = {"people": f"Mara {B_WORD}", "paths": f"{B_WORD} path",
          "cohorts": f"{B_WORD} cohort", "sent_emails": f"{B_WORD} subject"}
A_ROWS = {"people": f"Mara {A_WORD}", "paths": f"{A_WORD} path",
          "cohorts": f"{A_WORD} cohort", "sent_emails": f"{A_WORD} subject"}
# School A's rows per list: 5 people (one revoked), 1 path, 1 cohort, 1 sent email.
A_COUNTS = {"people": 5, "paths": 1, "cohorts": 1, "sent_emails": 1}


FIRST_COLUMN = {"people": "user.full_name", "paths": "title", "cohorts": "path",
                "sent_emails": "created_at"}


def listed_rows(page: str, view: str) -> int:
    return page.count(f'<td class="col-{FIRST_COLUMN[view]}"')


@pytest.mark.parametrize("view", VIEWS)
def test_lists_sorting_and_paging_show_only_this_school(client, world, view):
    client.login(world.a.admin.email)
    for url in (f"/admin/{view}/", f"/admin/{view}/?page_size=500",
                f"/admin/{view}/?sort=0", f"/admin/{view}/?sort=0&desc=1",
                f"/admin/{view}/?sort=1&desc=1", f"/admin/{view}/?page=1"):
        response = client.get(url)
        assert response.status_code == 200, url
        page = response.get_data(as_text=True)
        assert B_WORD.lower() not in page.lower(), url
        if "page=1" not in url:
            assert listed_rows(page, view) == A_COUNTS[view], url
            assert A_ROWS[view] in page, url


@pytest.mark.parametrize("view", VIEWS)
def test_search_finds_only_this_school(client, world, view):
    client.login(world.a.admin.email)
    term = {"people": "mara", "paths": "path", "cohorts": "cohort",
            "sent_emails": "subject"}[view]
    page = client.get(f"/admin/{view}/?search={term}").get_data(as_text=True)
    assert listed_rows(page, view) == 1
    assert A_ROWS[view] in page
    assert B_WORD.lower() not in page.lower()
    # Searching for the other school's word finds nothing at all.
    page = client.get(f"/admin/{view}/?search={B_WORD}").get_data(as_text=True)
    assert listed_rows(page, view) == 0
    assert "There are no items in the table." in page
    assert B_ROWS[view] not in page


def test_home_counts_only_this_school(client, world):
    client.login(world.a.admin.email)
    home = client.get("/admin/").get_data(as_text=True)
    compact = "".join(home.split())
    # 4 people with active access (the revoked admin is not counted), 1 path, 1 cohort.
    assert '<divclass="h2mb-0">4</div><divclass="text-muted">Peoplewithaccess' in compact
    assert '<divclass="h2mb-0">1</div><divclass="text-muted">Paths' in compact
    assert '<divclass="h2mb-0">1</div><divclass="text-muted">Cohorts' in compact
    assert B_WORD.lower() not in home.lower()


@pytest.mark.parametrize("view", ["paths", "sent_emails"])
def test_csv_export_holds_only_this_school(client, world, view):
    client.login(world.a.admin.email)
    response = client.get(f"/admin/{view}/export/csv/")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    text = response.get_data(as_text=True)
    assert A_WORD.lower() in text.lower()
    assert B_WORD.lower() not in text.lower()


@pytest.mark.parametrize("view", ["people", "sent_emails"])
def test_filters_stay_in_this_school(client, world, view):
    client.login(world.a.admin.email)
    page = client.get(f"/admin/{view}/").get_data(as_text=True)
    assert page  # filters are listed; applying any of them still scopes the rows
    for flt in range(0, 6):
        for value in ("member", "admin", "active", "revoked", "logged", "sent"):
            response = client.get(f"/admin/{view}/?flt0_{flt}={value}")
            assert response.status_code == 200
            assert B_WORD.lower() not in response.get_data(as_text=True).lower()


# --------------------------------------------------------------------------- CSRF


CSRF_CASES = [
    ("people", "/admin/people/new/", lambda w: {"email": "new@example.test",
                                                 "role": "member"}),
    ("people", "edit", lambda w: {"role": "admin", "status": "active"}),
    ("people", "/admin/people/action/", lambda w: {"action": "revoke",
                                                    "rowid": str(w.a.membership.id)}),
    ("paths", "/admin/paths/new/", lambda w: {"title": "Sneaky", "description": ""}),
    ("paths", "edit", lambda w: {"title": "Sneaky", "description": ""}),
    ("paths", "/admin/paths/action/", lambda w: {"action": "delete",
                                                  "rowid": str(w.a.path.id)}),
    ("paths", "/admin/paths/delete/", lambda w: {"id": str(w.a.path.id)}),
    ("cohorts", "/admin/cohorts/new/", lambda w: {"path": str(w.a.path.id),
                                                   "name": "Sneaky"}),
    ("cohorts", "edit", lambda w: {"path": str(w.a.path.id), "name": "Sneaky"}),
    ("cohorts", "/admin/cohorts/action/", lambda w: {"action": "delete",
                                                      "rowid": str(w.a.cohort.id)}),
    ("cohorts", "/admin/cohorts/delete/", lambda w: {"id": str(w.a.cohort.id)}),
]


@pytest.mark.parametrize("token", ["missing", "wrong"])
@pytest.mark.parametrize("view,url,data", CSRF_CASES)
def test_post_without_csrf_token_is_400_and_changes_nothing(client, world, view, url, data,
                                                            token):
    client.login(world.a.admin.email)
    client.get("/admin/")  # a session with a real token exists; the post just lacks it
    if url == "edit":
        url = f"/admin/{view}/edit/?id={world.a.ids[view]}"
    payload = data(world)
    if token == "wrong":
        payload["csrf_token"] = "not-the-token"
    before = row_state(world)
    titles = sorted(db.session.scalars(select(Path.title)))
    names = sorted(db.session.scalars(select(Cohort.name)))
    response = client.post(url, data=payload)
    assert response.status_code == 400
    assert row_state(world) == before
    assert sorted(db.session.scalars(select(Path.title))) == titles
    assert sorted(db.session.scalars(select(Cohort.name))) == names
