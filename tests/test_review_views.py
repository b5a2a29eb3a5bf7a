from sqlalchemy import select

from mentorgroups.extensions import db
from mentorgroups.models import Review
from mentorgroups.services import learning
from tests.factories import make_account, make_member, school


def submitted(s):
    submission = learning.submit_for_review(s.learner, s.account.id, s.path.steps[2].id,
                                            "My <i>work</i>")
    db.session.commit()
    return submission


def test_teacher_reviews_from_the_queue(client):
    s = school()
    submission = submitted(s)
    client.login(s.teacher.email)
    queue = client.get("/review/").get_data(as_text=True)
    assert s.learner.full_name in queue and f"/review/{submission.id}" in queue
    page = client.get(f"/review/{submission.id}").get_data(as_text=True)
    assert "My &lt;i&gt;work&lt;/i&gt;" in page and "Grade (0 to 10)" in page
    response = client.post_form(f"/review/{submission.id}", {"grade": "11", "feedback": "x"})
    assert response.status_code == 422
    assert "The grade must be from 0 to 10." in response.get_data(as_text=True)
    response = client.post_form(f"/review/{submission.id}", {"grade": "8", "feedback": "Good"})
    assert response.status_code == 302
    review = db.session.scalar(select(Review))
    assert (review.grade, review.feedback, review.reviewer_id) == (8, "Good", s.teacher.id)
    client.post_form("/logout", token_page="/paths")
    client.login(s.learner.email)
    page = client.get(f"/paths/{s.path.id}").get_data(as_text=True)
    assert "Grade: 8 of 10" in page and "Good" in page


def test_nobody_else_can_open_a_submission(client):
    s = school()
    submission = submitted(s)
    foreign_admin = make_member(make_account(), "admin")
    db.session.commit()
    for person in (s.other, s.learner, foreign_admin):
        client.login(person.email)
        assert client.get(f"/review/{submission.id}").status_code == 404
        assert client.raw.post(f"/review/{submission.id}", data={
            "csrf_token": client.csrf("/review/"), "grade": "1", "feedback": "x"
        }).status_code == 404
        client.post_form("/logout", token_page="/review/")
    assert db.session.scalar(select(Review)) is None


def test_reviewing_twice_shows_who_reviewed(client):
    s = school()
    submission = submitted(s)
    learning.review_submission(s.admin, submission.id, "9", "")
    db.session.commit()
    client.login(s.teacher.email)
    page = client.get(f"/review/{submission.id}").get_data(as_text=True)
    assert "Reviewed by <strong>Ada Admin</strong>" in page
    assert "Save review" not in page
