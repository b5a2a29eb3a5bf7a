"""What every signed-in page costs before its content: one statement reads the person, their
membership of the school they work in, the school, the header's roles and the bell's count
(services.signed_in), and the rest of the request finds them there."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import event, select

from mentorgroups.extensions import db
from mentorgroups.models import AccountMembership
from mentorgroups.services import group_members as gm
from mentorgroups.services import groups, inbox, learning
from tests.factories import make_account, make_member, school

# Statements of each small page for the scene below: the one statement every page starts
# with, then the page's own (before services.signed_in each page began with five: person,
# membership, school, roles, bell count; the notifications page counted the bell twice).
SMALL_PAGES = {
    "mentor": {"/notifications": 1 + 2, "/people/{learner}": 1 + 10,
               "/people/{learner}?tab=review": 1 + 5, "/people/groups": 1 + 6},
    "learner": {"/paths": 1 + 3},
    "admin": {"/admin/community/audit/": 1 + 2},
}


@pytest.fixture
def s(app):
    s = school(plan="complete")
    s.mentor = make_member(s.account, "staff", full_name="Mia Mentor")
    s.group = groups.create_group(s.admin, s.account.id, "Coaching")
    gm.add_members(s.admin, s.account.id, s.group.id, "member", user_ids=[s.learner.id])
    gm.add_members(s.admin, s.account.id, s.group.id, "mentor", user_ids=[s.mentor.id])
    db.session.commit()
    learning.submit_for_review(s.learner, s.account.id, s.path.steps[1].id, "work")
    db.session.commit()
    return s


def statements_of_get(client, url: str, params: list | None = None) -> list[str]:
    """The SQL of one GET, from a fresh session (as a real request has); each statement's
    parameters go to `params` when given. A new session: one that still held the test's
    objects (the school among them) would find them where a real request reads them again."""
    db.session.remove()
    seen = []

    def record(*args):
        seen.append(" ".join(args[2].split()))
        if params is not None:
            params.append(args[3])

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        assert client.get(url).status_code == 200, url
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    return seen


@pytest.mark.parametrize("who", list(SMALL_PAGES))
def test_small_pages_start_with_one_statement(client, s, who):
    person = getattr(s, who)
    client.login(person.email)
    for url, expected in SMALL_PAGES[who].items():
        params = []
        sql = statements_of_get(client, url.format(learner=s.learner.id), params)
        assert len(sql) == expected, (url, sql)
        first = sql[0]
        assert first.startswith("SELECT user_account.id") and "account_membership" in first \
            and "account.name" in first and "notification" in first and "EXISTS" in first
        # Nothing after it reads the person's membership (the profile card reads the
        # learner's), the school or the bell again.
        assert not [q for q, p in zip(sql[1:], params[1:], strict=True)
                    if q.startswith("SELECT account_membership.id")
                    and person.id in (p.values() if isinstance(p, dict) else p)], url
        assert not [q for q in sql[1:] if q.startswith("SELECT account.id")]
        assert not [q for q in sql[1:] if "notification.read_at IS NULL" in q]


def bell(html: str) -> str:
    return re.search(r'aria-label="Notifications: (\d+) unread"', html).group(1)


def test_the_header_shows_what_the_first_statement_read(client, s):
    client.login(s.mentor.email)
    html = client.get("/notifications").get_data(as_text=True)
    assert bell(html) == "1"  # the learner's submission
    assert s.account.name in html and "Mia Mentor" in html
    assert ">People</a>" in html and ">Review</a>" in html and ">Back office</a>" not in html
    client.post_form("/notifications/read", token_page="/notifications")
    assert bell(client.get("/notifications").get_data(as_text=True)) == "0"
    inbox.notify(s.mentor.id, s.account.id, key="more", kind="submission", text="More",
                 link="/review/")
    db.session.commit()
    assert bell(client.get("/people/groups").get_data(as_text=True)) == "1"


def test_a_page_that_commits_reads_the_bell_again(client, s, app):
    """A commit empties the request's cache: a count taken after it is the database's."""
    from flask_login import login_user

    inbox.notify(s.mentor.id, s.account.id, key="one", kind="submission", text="One",
                 link="/review/")
    db.session.commit()
    with app.test_request_context("/"):
        from flask import session

        session["account_id"] = s.account.id
        login_user(s.mentor)
        from mentorgroups.tenancy import unread_notifications

        assert unread_notifications() == 2
        inbox.mark_read(s.mentor, s.account.id)
        db.session.commit()
        assert unread_notifications() == 0


def test_revoked_access_is_seen_by_the_first_statement(client, s):
    client.login(s.mentor.email)
    assert client.get("/people/groups").status_code == 200
    db.session.execute(select(AccountMembership).where(
        AccountMembership.user_id == s.mentor.id)).scalar_one().status = "revoked"
    db.session.commit()
    response = client.get("/people/groups")
    assert response.status_code == 302 and "/accounts" in response.headers["Location"]


def test_a_session_naming_a_school_of_someone_else_loads_no_membership(client, s):
    """The session's school is joined to this person's memberships: naming another school
    (or garbage) reads nobody's membership, and the person chooses a school of their own."""
    elsewhere = make_account()
    db.session.commit()
    client.login(s.mentor.email)
    for forged in (elsewhere.id, "1; DROP TABLE account", True, 2**70, -1):
        with client.raw.session_transaction() as session:
            session["account_id"] = forged
        response = client.get("/people/groups")
        # One school of their own: chosen for them again; nothing of the other school shown.
        assert response.status_code == 200, forged
        assert elsewhere.name not in response.get_data(as_text=True)
        with client.raw.session_transaction() as session:
            assert session["account_id"] == s.account.id


def test_a_session_naming_a_person_no_longer_there_is_signed_out(client, s):
    client.login(s.mentor.email)
    with client.raw.session_transaction() as session:
        session["_user_id"] = "999999999.0"  # "id.version", as User.get_id writes it
    response = client.get("/people/groups")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
