"""What people see when a request fails: the branded 503 while the database can't be reached
(signed in, GET and POST, in a view, a before-request hook or the user loader), the branded
500 for anything else, JSON for JSON clients, and error pages that never touch the database."""

from __future__ import annotations

import html
import re
from contextlib import contextmanager

import pytest
from flask import abort, has_app_context
from sqlalchemy import event, func, select, text

from mentorgroups.extensions import db
from mentorgroups.models import Account, StepCompletion
from tests.conftest import Client, free_port, statements_of
from tests.drills import TcpProxy
from tests.factories import school

# What must never reach a person: exception classes, driver and SQL text.
LEAKS = re.compile(r"OperationalError|InterfaceError|RuntimeError|Traceback|psycopg|sqlite3|"
                   r"SELECT|INSERT|connection refused|database cut|password=", re.I)
OUTAGE_WORDS = "We can't reach the database right now; nothing you sent was saved."


@contextmanager
def database_cut(app):
    """The database goes away: the app's pooled connections are dropped and every new one is
    refused, as a stopped server or a closed port would. Yields the list of connection attempts
    made meanwhile."""
    if has_app_context():  # the test's own session lets go of its connection
        db.session.remove()
    with app.app_context():
        engine = db.engine
    attempts = []

    def refuse(dialect, conn_rec, cargs, cparams):
        attempts.append(1)
        raise dialect.loaded_dbapi.OperationalError("connection refused (test: database cut)")

    event.listen(engine, "do_connect", refuse)
    engine.dispose()
    try:
        yield attempts
    finally:
        event.remove(engine, "do_connect", refuse)


def assert_outage_page(response):
    page = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 503, page[:300]
    assert response.headers["Retry-After"] == "60"
    assert OUTAGE_WORDS in page and "Try again in a minute." in page
    assert '<html lang="en">' in page and "<main>" in page and "Mentor Groups" in page
    assert not LEAKS.search(page), LEAKS.search(page).group(0)


def first_step(s):
    return sorted(s.path.steps, key=lambda step: step.position)[0]


def test_signed_in_get_and_post_answer_the_branded_503_and_nothing_is_saved(app, client):
    s = school()
    step_id = first_step(s).id
    client.login(s.learner.email)
    token = client.csrf("/paths")
    with database_cut(app) as attempts:
        assert_outage_page(client.get("/paths"))
        # One connection attempt for the request: rendering the page asked for none.
        assert len(attempts) == 1
        assert_outage_page(client.post(f"/steps/{step_id}/complete",
                                       data={"csrf_token": token}))
        assert_outage_page(client.get(f"/paths/{s.path.id}"))
        assert len(attempts) == 3
    db.session.remove()
    assert db.session.scalar(select(func.count()).select_from(StepCompletion)) == 0
    # The database is back: the same person carries on, signed in, and the POST now saves.
    assert client.get("/paths").status_code == 200
    assert client.post(f"/steps/{step_id}/complete", data={"csrf_token": token}).status_code \
        == 302
    assert db.session.scalar(select(func.count()).select_from(StepCompletion)) == 1


def test_a_json_client_gets_json_and_healthz_says_down(app, client):
    s = school()
    client.login(s.learner.email)
    with database_cut(app):
        response = client.get("/paths", headers={"Accept": "application/json"})
        assert response.status_code == 503 and response.headers["Retry-After"] == "60"
        assert response.get_json() == {
            "status": 503, "error": "Mentor Groups is unavailable for a moment",
            "message": OUTAGE_WORDS + " Try again in a minute."}
        health = client.get("/healthz")
        assert health.status_code == 503 and health.get_json()["database"] == {"ok": False}


def test_the_back_office_and_signed_out_pages_answer_503_too(app, client):
    s = school()
    client.login(s.admin.email)
    with database_cut(app):
        assert_outage_page(client.get("/admin/community/groups/"))
        assert_outage_page(client.get("/admin/people/"))
    db.session.remove()
    signed_out = Client(app.test_client())
    token = signed_out.csrf("/login")
    with database_cut(app):
        assert_outage_page(signed_out.post("/login", data={
            "csrf_token": token, "email": s.admin.email, "password": "x"}))


def test_a_fresh_process_on_a_closed_port_answers_503_from_the_user_loader(make_app):
    """The drill's shape: the app starts while the database is down and every signed-in
    request fails in Flask-Login's user loader, the first thing that reads the database."""
    closed = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/gone"
    app = make_app(SQLALCHEMY_DATABASE_URI=closed, WTF_CSRF_ENABLED=False)
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = "1.0"
        session["_fresh"] = True
        session["account_id"] = 1
    for url in ("/paths", "/review/", "/people/groups", "/admin/", "/notifications"):
        assert_outage_page(client.get(url))
    assert_outage_page(client.post("/steps/1/complete"))


def test_a_before_request_hook_that_loses_the_database_answers_503(make_app):
    app = make_app()

    @app.before_request
    def read_something():
        db.session.execute(text("SELECT 1"))

    client = app.test_client()
    with database_cut(app):
        assert_outage_page(client.get("/login"))
    with app.app_context():
        db.session.remove()
    assert client.get("/login").status_code == 200


def test_any_other_error_is_the_branded_500_and_the_session_is_rolled_back(make_app):
    app = make_app(PROPAGATE_EXCEPTIONS=False)

    @app.get("/boom")
    def boom():
        db.session.add(Account(name="Half written", slug="half-written", plan="trial"))
        db.session.flush()
        raise RuntimeError("SELECT password FROM user_account -- a secret in the message")

    client = app.test_client()
    response = client.get("/boom")
    page = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Something went wrong on our side" in page and "Nothing you sent was saved" in page
    assert not LEAKS.search(page)
    response = client.get("/boom", headers={"Accept": "application/json"})
    assert response.status_code == 500 and response.get_json()["status"] == 500
    assert "SELECT" not in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Account)) == 0


@pytest.mark.parametrize("status", [400, 403, 404, 405, 413, 415, 429, 500, 503])
def test_every_error_page_renders_without_the_database(make_app, status):
    """The pages a signed-in person may meet, rendered by their handlers: no SQL at all (no
    current_user lookup, no school switcher, no bell)."""
    app = make_app(PROPAGATE_EXCEPTIONS=False)

    @app.get("/fail")
    def fail():
        abort(status)

    with app.app_context():
        s = school()
        client = Client(app.test_client())
        client.login(s.teacher.email)
        db.session.expire_all()
        responses = []
        count = statements_of(lambda: responses.append(client.get("/fail")))
    assert responses[0].status_code == status
    assert count == 0
    page = responses[0].get_data(as_text=True)
    assert "<h1>" in page and "Back to Mentor Groups" in page and "Sign out" not in page


def test_a_page_not_found_signed_in_makes_no_sql_and_keeps_the_allow_header(app, client):
    s = school()
    client.login(s.teacher.email)
    db.session.expire_all()
    assert statements_of(lambda: client.get("/no-such-page")) == 0
    response = client.put("/paths")
    assert response.status_code == 405 and "GET" in response.headers["Allow"]


def test_postgresql_behind_a_proxy_that_stops_mid_session(make_app, app, database_url):
    """PostgreSQL only: the app's connections go through a relay; the person signs in, the
    relay stops (live pooled connections die), and a GET and a POST answer 503 with nothing
    saved."""
    if not database_url.startswith("postgresql"):
        pytest.skip("a TCP relay needs a database server (PostgreSQL)")
    s = school()
    step_id, email = first_step(s).id, s.learner.email
    db.session.remove()
    proxy = TcpProxy(("127.0.0.1", 5432))
    proxied = make_app(SQLALCHEMY_DATABASE_URI=database_url.replace(
        "@127.0.0.1:5432/", f"@127.0.0.1:{proxy.port}/"))
    client = Client(proxied.test_client())
    client.login(email)
    token = client.csrf("/paths")
    assert client.get("/paths").status_code == 200
    proxy.cut()
    try:
        assert_outage_page(client.get("/paths"))
        assert_outage_page(client.post(f"/steps/{step_id}/complete",
                                       data={"csrf_token": token}))
    finally:
        with proxied.app_context():
            db.session.remove()
            db.engine.dispose()
        proxy.close()
    assert db.session.scalar(select(func.count()).select_from(StepCompletion)) == 0
