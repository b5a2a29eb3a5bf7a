from sqlalchemy import select

from mentorgroups.extensions import db
from mentorgroups.models import StepCompletion, Submission
from mentorgroups.services import learning
from tests.conftest import statements_for
from tests.factories import make_account, make_cohort, make_member, make_path, school


def test_paths_show_progress(client):
    s = school()
    learning.complete_step(s.learner, s.account.id, s.path.steps[0].id)
    db.session.commit()
    client.login(s.learner.email)
    page = client.get("/paths").get_data(as_text=True)
    assert s.path.title in page and "1 of 4 steps" in page and "25%" in page


def test_complete_and_submit_through_the_screens(client):
    s = school()
    client.login(s.learner.email)
    path_url = f"/paths/{s.path.id}"
    first, second = s.path.steps[0], s.path.steps[1]
    response = client.post_form(f"/steps/{first.id}/complete", token_page=path_url)
    assert response.status_code == 302
    response = client.post_form(f"/steps/{second.id}/submit", {"content": "My essay"},
                                token_page=path_url)
    assert response.status_code == 302
    page = client.get(path_url).get_data(as_text=True)
    assert "Waiting for review" in page and "2 of 4 steps" in page
    assert db.session.scalar(select(Submission.content)) == "My essay"


def test_a_refused_submission_keeps_the_text(client):
    s = school()
    client.login(s.learner.email)
    path_url = f"/paths/{s.path.id}"
    long_text = "<b>draft</b> " + "x" * 20_000
    response = client.post_form(f"/steps/{s.path.steps[1].id}/submit", {"content": long_text},
                                token_page=path_url)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "at most 20,000 characters" in page
    assert "&lt;b&gt;draft&lt;/b&gt; xxxx" in page  # kept, and escaped
    assert db.session.scalar(select(Submission)) is None


def test_user_text_is_escaped(client):
    s = school()
    learning.submit_for_review(s.learner, s.account.id, s.path.steps[1].id,
                               "<script>alert(1)</script>")
    db.session.commit()
    client.login(s.learner.email)
    page = client.get(f"/paths/{s.path.id}").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_paths_of_others_are_not_found(client):
    s = school()
    foreign = make_path(make_account())
    unenrolled = make_path(s.account)
    other_teacher = make_member(s.account, "staff")
    make_cohort(unenrolled, teachers=[other_teacher])
    db.session.commit()
    client.login(s.learner.email)
    for path_id in (foreign.id, unenrolled.id, 999_999):
        assert client.get(f"/paths/{path_id}").status_code == 404
    token_page = f"/paths/{s.path.id}"
    for step in (foreign.steps[0], unenrolled.steps[0]):
        assert client.post_form(f"/steps/{step.id}/complete",
                                token_page=token_page).status_code == 404
    assert db.session.scalar(select(StepCompletion)) is None


def test_paths_page_query_count_does_not_grow_with_paths(client, app):

    s = school()
    client.login(s.learner.email)

    few = statements_for(client, "/paths")
    for _ in range(15):
        make_cohort(make_path(s.account), learners=[s.learner])
    db.session.commit()
    assert statements_for(client, "/paths") == few
