from mentorgroups.extensions import db
from tests.factories import PASSWORD, make_account, make_member, make_user, school

BAD = "That email and password don&#39;t match an account. Check both and try again."


def test_sign_in_lands_learners_on_their_paths_and_admins_in_the_back_office(client):
    s = school()
    response = client.login(s.learner.email)
    assert response.headers["Location"] == "/paths"
    client.post_form("/logout", token_page="/paths")
    response = client.login(s.admin.email)
    assert response.headers["Location"] == "/admin/"


def test_wrong_password_and_unknown_email_get_the_same_message(client):
    s = school()
    wrong = client.post_form("/login", {"email": s.learner.email, "password": "nope-nope"})
    unknown = client.post_form("/login", {"email": "nobody@example.test",
                                          "password": PASSWORD})
    for response in (wrong, unknown):
        assert response.status_code == 200
        assert BAD in response.get_data(as_text=True)
    assert client.get("/paths").status_code == 302


def test_email_is_case_insensitive_at_sign_in(client):
    s = school()
    assert client.login(s.learner.email.upper()).headers["Location"] == "/paths"


def test_inactive_person_cannot_sign_in(client):
    account = make_account()
    user = make_member(account, active=False)
    db.session.commit()
    response = client.post_form("/login", {"email": user.email, "password": PASSWORD})
    assert BAD in response.get_data(as_text=True)


def test_forms_without_csrf_token_are_refused(client):
    s = school()
    response = client.raw.post("/login", data={"email": s.learner.email, "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/paths").status_code == 302


def test_next_is_followed_only_within_the_site(client):
    s = school()
    response = client.post_form("/login", {"email": s.learner.email, "password": PASSWORD,
                                           "next": f"/paths/{s.path.id}"})
    assert response.headers["Location"] == f"/paths/{s.path.id}"
    client.post_form("/logout", token_page="/paths")
    for evil in ("https://evil.test/", "//evil.test/x", "javascript:alert(1)"):
        response = client.post_form("/login", {"email": s.learner.email, "password": PASSWORD,
                                               "next": evil})
        assert response.headers["Location"] == "/paths"
        client.post_form("/logout", token_page="/paths")


def test_logout_needs_post(client):
    s = school()
    client.login(s.learner.email)
    assert client.get("/logout").status_code == 405
    client.post_form("/logout", token_page="/paths")
    assert client.get("/paths").status_code == 302


def test_a_person_in_two_schools_chooses_and_switches(client):
    first, second = make_account(name="North School"), make_account(name="South School")
    person = make_user(full_name="Two Schools")
    make_member(first, "member", user=person)
    make_member(second, "admin", user=person)
    db.session.commit()
    response = client.login(person.email)
    assert response.headers["Location"].startswith("/accounts")
    page = client.get("/accounts").get_data(as_text=True)
    assert "North School" in page and "South School" in page
    assert client.get("/paths").headers["Location"].startswith("/accounts")
    client.post_form("/accounts", {"account_id": str(first.id)}, token_page="/accounts")
    assert "North School" in client.get("/paths").get_data(as_text=True)
    assert client.get("/admin/").status_code == 403  # a member in North
    client.post_form("/accounts", {"account_id": str(second.id)}, token_page="/accounts")
    assert client.get("/admin/").status_code == 200  # an admin in South


def test_switching_to_a_school_you_are_not_in_is_refused(client):
    s = school()
    elsewhere = make_account(name="Elsewhere")
    db.session.commit()
    client.login(s.learner.email)
    response = client.post_form("/accounts", {"account_id": str(elsewhere.id)},
                                token_page="/accounts")
    assert "You are not a member of that school." in response.get_data(as_text=True)
    assert s.account.name in client.get("/paths").get_data(as_text=True)


def test_revoking_takes_effect_at_the_next_click(client):
    s = school()
    client.login(s.learner.email)
    assert client.get("/paths").status_code == 200
    from sqlalchemy import update

    from mentorgroups.models import AccountMembership

    db.session.execute(update(AccountMembership).where(
        AccountMembership.user_id == s.learner.id).values(status="revoked"))
    db.session.commit()
    response = client.get("/paths")
    assert response.headers["Location"].startswith("/accounts")
    assert "not an active member of any school" in client.get("/accounts").get_data(
        as_text=True)
