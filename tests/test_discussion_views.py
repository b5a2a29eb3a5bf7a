"""The discussion on the screens: the learner's path, the review page and the profile card's
Review tab show it in order with author and the school's local time, escaped, links made
clickable; the one reply route refuses strangers (403), other schools' ids (404), forged
forms (400) and bad text (422, text kept), and goes back only to a page of this site."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from mentorgroups.extensions import db
from mentorgroups.models import Notification, OutboxJob, SubmissionMessage
from mentorgroups.services import discussion, groups, learning
from mentorgroups.services import group_members as gm
from tests.conftest import statements_for
from tests.factories import make_account, make_member, school

# 03:30 UTC on 2 March is 22:30 on 1 March in New York: the page shows the school's day.
CLOCK_START = datetime(2026, 3, 2, 3, 30, tzinfo=UTC)


@pytest.fixture
def scene(app, clock):
    s = school(plan="complete")
    s.account.time_zone = "America/New_York"
    s.mia = make_member(s.account, "staff", full_name="Mia Mentor")
    s.sol = make_member(s.account, "staff", full_name="Sol Stranger")
    coaching = groups.create_group(s.admin, s.account.id, "Coaching")
    gm.add_members(s.admin, s.account.id, coaching.id, "member", user_ids=[s.learner.id])
    gm.add_members(s.admin, s.account.id, coaching.id, "mentor", user_ids=[s.mia.id])
    other = make_account(plan="complete")
    s.foreign_admin = make_member(other, "admin", full_name="Fred Foreign")
    foreign_learner = make_member(other, full_name="Fran Foreign")
    from tests.factories import make_cohort, make_path

    foreign_path = make_path(other, steps=2, review_at=(1,))
    make_cohort(foreign_path, learners=[foreign_learner])
    db.session.commit()
    s.foreign_submission = learning.submit_for_review(
        foreign_learner, other.id, foreign_path.steps[0].id, "Foreign work")
    s.submission = learning.submit_for_review(s.learner, s.account.id, s.path.steps[2].id,
                                              "My work")
    db.session.commit()
    return s


def messages() -> int:
    return db.session.scalar(select(func.count()).select_from(SubmissionMessage))


def url(submission) -> str:
    return f"/submissions/{submission.id}/discussion"


def bodies(html: str) -> list[str]:
    return re.findall(r'data-testid="message-body">(.*?)</div>', html, re.S)


def test_the_three_places_show_the_discussion_in_order(client, scene, clock):
    s = scene
    discussion.add_reply(s.mia, s.account.id, s.submission.id,
                         "<script>alert(1)</script>\nSee https://docs.example/guide?a=1&b=2 "
                         "and javascript:alert(2)")
    clock.shift(timedelta(minutes=3))
    discussion.add_reply(s.learner, s.account.id, s.submission.id, "Thanks!\nOn it.")
    db.session.commit()
    escaped = ('&lt;script&gt;alert(1)&lt;/script&gt;\nSee <a href="https://docs.example/guide?'
               'a=1&amp;b=2" rel="nofollow noopener">https://docs.example/guide?a=1&amp;b=2</a>'
               ' and javascript:alert(2)')
    places = [(s.learner, f"/paths/{s.path.id}"), (s.mia, f"/review/{s.submission.id}"),
              (s.mia, f"/people/{s.learner.id}?tab=review")]
    for person, page in places:
        client.login(person.email)
        html = client.get(page).get_data(as_text=True)
        assert bodies(html) == [escaped, "Thanks!\nOn it."], page
        assert "<script>alert(1)" not in html
        thread = html[html.index('data-testid="discussion"'):]
        assert thread.index("Mia Mentor</strong>") < thread.index("Lia Learner</strong>")
        # the school's time zone: New York, the evening before in UTC terms
        assert "01 Mar 2026, 22:30 EST" in html and "01 Mar 2026, 22:33 EST" in html
        assert f'action="/submissions/{s.submission.id}/discussion"' in html
        assert 'name="csrf_token"' in html and f'id="reply-{s.submission.id}"' in html
        client.post_form("/logout", token_page="/paths")


def test_a_reply_from_each_place_goes_back_there(client, scene):
    s = scene
    client.login(s.learner.email)
    back = f"/paths/{s.path.id}#discussion-{s.submission.id}"
    response = client.post_form(url(s.submission), {"body": "Question", "next": back},
                                token_page=f"/paths/{s.path.id}")
    assert response.status_code == 302 and response.headers["Location"] == back
    client.post_form("/logout", token_page="/paths")
    client.login(s.mia.email)
    for back in (f"/people/{s.learner.id}?tab=review#discussion-{s.submission.id}",
                 f"/review/{s.submission.id}?next=/review/#discussion-{s.submission.id}"):
        response = client.post_form(url(s.submission), {"body": "Answer", "next": back},
                                    token_page=f"/review/{s.submission.id}")
        assert response.headers["Location"] == back
    # Another site is never where a reply leads: the review page instead.
    for unsafe in ("https://evil.example/", "//evil.example/x", "javascript:alert(1)"):
        response = client.post_form(url(s.submission), {"body": "Again", "next": unsafe},
                                    token_page=f"/review/{s.submission.id}")
        assert response.headers["Location"] == (
            f"/review/{s.submission.id}#discussion-{s.submission.id}")
    assert messages() == 6
    assert db.session.scalar(select(func.count()).select_from(Notification).where(
        Notification.kind == "reply", Notification.user_id == s.learner.id)) == 5


def test_bad_text_is_refused_with_the_text_kept(client, scene):
    s = scene
    client.login(s.learner.email)
    long_text = "<b>draft</b> " + "x" * 5_000
    response = client.post_form(url(s.submission), {"body": long_text},
                                token_page=f"/paths/{s.path.id}")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "A reply can be at most 5,000 characters (this one has 5,013)." in html
    assert "&lt;b&gt;draft&lt;/b&gt; xxx" in html and 'aria-invalid="true"' in html
    response = client.post_form(url(s.submission), {"body": "  \n "},
                                token_page=f"/paths/{s.path.id}")
    assert response.status_code == 422
    assert "Write something before sending your reply." in response.get_data(as_text=True)
    assert messages() == 0


def test_who_may_not_reply(client, scene):
    s = scene
    client.login(s.sol.email)  # staff of the school, not the learner's mentor or teacher
    assert client.get(url(s.submission)).status_code == 403
    assert client.post_form(url(s.submission), {"body": "Me too"},
                            token_page="/paths").status_code == 403
    client.post_form("/logout", token_page="/paths")
    client.login(s.other.email)  # a fellow learner
    assert client.post_form(url(s.submission), {"body": "Me too"},
                            token_page="/paths").status_code == 403
    client.post_form("/logout", token_page="/paths")
    client.login(s.foreign_admin.email)  # another school's admin: ids of this one are unknown
    for target in (url(s.submission), f"/submissions/{s.submission.id + 999}/discussion"):
        assert client.get(target).status_code == 404
        assert client.post_form(target, {"body": "Hi"}, token_page="/paths").status_code == 404
    client.post_form("/logout", token_page="/paths")
    client.login(s.learner.email)  # a form without its CSRF token
    assert client.raw.post(url(s.submission), data={"body": "Hi"}).status_code == 400
    assert client.post_form(url(s.foreign_submission), {"body": "Hi"},
                            token_page="/paths").status_code == 404
    assert messages() == 0
    assert db.session.scalar(select(func.count()).select_from(OutboxJob).where(
        OutboxJob.name == "notify_reply")) == 0


@pytest.mark.scale
def test_statements_do_not_grow_with_the_discussion(client, scene, clock):
    s = scene
    discussion.add_reply(s.mia, s.account.id, s.submission.id, "one")
    db.session.commit()
    pages = {s.learner: f"/paths/{s.path.id}", s.mia: f"/review/{s.submission.id}"}
    counts = {}
    for person, page in pages.items():
        client.login(person.email)
        client.get(page)  # the first page after signing in does more
        counts[page] = statements_for(client, page)
        client.post_form("/logout", token_page="/paths")
    client.login(s.mia.email)
    client.get(f"/people/{s.learner.id}?tab=review")
    counts["card"] = statements_for(client, f"/people/{s.learner.id}?tab=review")
    for n in range(6):
        clock.shift(timedelta(seconds=1))
        author = s.learner if n % 2 else s.mia
        discussion.add_reply(author, s.account.id, s.submission.id, f"more {n}")
    db.session.commit()
    # (at most: the learner, once an author, is already loaded with the messages)
    assert statements_for(client, f"/people/{s.learner.id}?tab=review") <= counts["card"]
    assert statements_for(client, f"/review/{s.submission.id}") <= counts[
        f"/review/{s.submission.id}"]
    client.post_form("/logout", token_page="/paths")
    client.login(s.learner.email)
    client.get(f"/paths/{s.path.id}")
    assert statements_for(client, f"/paths/{s.path.id}") <= counts[f"/paths/{s.path.id}"]
