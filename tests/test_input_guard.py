"""Bad input gets a clear 4xx before it reaches the database (the fuzzer in test_fuzz_routes
checks every route; these pin down what a person is told)."""

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import DataError

from mentorgroups.admin.learning import PathView
from mentorgroups.extensions import db
from mentorgroups.services import group_tree, groups
from tests.factories import school

BASE = "/admin/community/groups"


def test_nul_in_a_form_field_is_refused_naming_the_field(client):
    s = school()
    response = client.post_form("/login", {"email": "a\x00@x.org", "password": "x"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "The field \u201cemail\u201d contains a control character" in page
    client.login(s.admin.email)
    response = client.post_form(f"{BASE}/new", {"name": "Year\x0b7", "description": ""})
    assert response.status_code == 400
    assert "\u201cname\u201d" in response.get_data(as_text=True)


def test_tab_and_new_lines_are_text_not_control_characters(client):
    s = school()
    client.login(s.admin.email)
    response = client.post_form(f"{BASE}/new", {"name": "Year 7",
                                                 "description": "Line one\r\n\tLine two"})
    assert response.status_code == 302
    assert group_tree.top_level(s.admin, s.account.id).items[0].description \
        == "Line one\r\n\tLine two"


def test_nul_in_a_query_argument_or_a_path_argument(client):
    s = school()
    client.login(s.admin.email)
    response = client.get("/admin/people/?search=a%00b")
    assert response.status_code == 400 and "\u201csearch\u201d" in response.get_data(as_text=True)
    assert client.get("/invitations/abc%00def").status_code == 404


@pytest.mark.parametrize("url", ["/people/2147483648", "/review/99999999999999999999",
                                 "/admin/people/details/?id=2147483648",
                                 "/admin/people/edit/?id=-2147483649"])
def test_ids_beyond_the_keys_are_not_found(client, url):
    s = school()
    client.login(s.admin.email)
    assert client.get(url).status_code == 404


def test_out_of_range_ids_in_forms_are_not_found(client):
    s = school()
    client.login(s.admin.email)
    response = client.post_form("/accounts", {"account_id": "99999999999999999999"},
                                token_page="/accounts")
    assert response.status_code == 404
    assert client.get("/admin/people/").status_code == 200  # still signed in, same school


@pytest.mark.parametrize("page", ["-1", "99999999999999999999", "x"])
def test_page_numbers_are_clamped(client, page):
    s = school()
    client.login(s.admin.email)
    response = client.get(f"/admin/people/?page={page}")
    assert response.status_code == 200


def test_first_page_for_a_negative_page(client):
    s = school()
    client.login(s.admin.email)
    assert "Lia Learner" in client.get("/admin/people/?page=-1").get_data(as_text=True)


def test_a_database_error_while_saving_is_told_plainly_and_logged(client, monkeypatch, caplog):
    s = school()
    client.login(s.admin.email)

    def fail(view, form, model, is_created):
        raise DataError("INSERT INTO path (title) VALUES (%(title)s)", {"title": "x"},
                        Exception("value too long"))

    monkeypatch.setattr(PathView, "on_model_change", fail)
    response = client.post_form("/admin/paths/new/", {"title": "New path", "description": ""},
                                follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "That could not be saved: a value is out of range or not allowed here." in page
    assert "INSERT" not in page and "value too long" not in page
    assert "INSERT INTO path" in caplog.text
    db.session.rollback()


# Bad bodies: answered before any view runs, with words a person can act on.

def test_json_nested_5000_deep_is_a_400_not_a_500(client):
    response = client.post("/login", data="[" * 5000, content_type="application/json")
    assert response.status_code == 400
    assert "nested too deeply" in response.get_data(as_text=True)
    response = client.post("/login", data="[" * 5000 + "]" * 5000,
                           content_type="application/json")
    assert response.status_code == 400


def test_json_nested_deep_but_valid_is_walked_without_exhausting_the_stack(client):
    """900 levels: valid JSON Python reads, deeper than the old recursive walk could go."""
    body = '{"a":' * 900 + '"x\\u0000y"' + "}" * 900
    response = client.post("/login", data=body, content_type="application/json")
    assert response.status_code == 400
    assert "contains a control character" in response.get_data(as_text=True)


def test_malformed_json_is_a_400_with_a_clear_message(client):
    response = client.post("/login", data='{"email": ', content_type="application/json")
    assert response.status_code == 400
    assert "is not valid JSON" in response.get_data(as_text=True)
    response = client.post("/login", data='{"email": ', content_type="application/json",
                           headers={"Accept": "application/json"})
    assert response.status_code == 400 and response.get_json()["status"] == 400


def test_a_body_over_max_content_length_is_a_413(make_app):
    small = make_app(MAX_CONTENT_LENGTH=1000).test_client()
    response = small.post("/login", data={"email": "a" * 2000, "password": "x"})
    assert response.status_code == 413
    assert "larger than Mentor Groups accepts" in response.get_data(as_text=True)


def test_the_default_limit_is_2_mb_and_a_500_address_paste_fits(app, client):
    assert app.config["MAX_CONTENT_LENGTH"] == 2 * 1024 * 1024
    response = client.post("/login", data={"email": "a" * (3 * 1024 * 1024), "password": "x"})
    assert response.status_code == 413
    s = school()
    client.login(s.admin.email)
    group = groups.create_group(s.admin, s.account.id, "Big paste")
    db.session.commit()
    # The most the members screen takes at once: 500 addresses (these name nobody, so the
    # answer is a list of invalid ones; the size of the body is the point).
    pasted = "\n".join(f"someone.with.a.long.name.{n}-at-school-{n}.example.org"
                        for n in range(500))
    assert len(pasted) > 25_000
    response = client.post_form(f"{BASE}/{group.id}/add", {"addresses": pasted,
                                                            "role": "member"},
                                token_page=f"{BASE}/{group.id}/")
    assert response.status_code == 302


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml",
                                          "application/octet-stream"])
def test_a_form_post_in_another_content_type_is_a_415_and_changes_nothing(client, content_type):
    from mentorgroups.models import EmailChoice
    from mentorgroups.services.email_choices import unsubscribe_token

    s = school()
    token = unsubscribe_token(s.learner.id, s.account.id, "submissions")
    response = client.post(f"/email/unsubscribe/{token}", data="List-Unsubscribe=One-Click",
                           content_type=content_type)
    assert response.status_code == 415
    assert "accepts forms only" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(EmailChoice)) == 0
    # The RFC 8058 one-click POST itself still works.
    response = client.post(f"/email/unsubscribe/{token}",
                           data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
