from tests.factories import school


def test_login_and_paths(client, app):
    s = school()
    response = client.login(s.learner.email)
    assert response.status_code == 302
    page = client.get("/paths").get_data(as_text=True)
    assert s.path.title in page
