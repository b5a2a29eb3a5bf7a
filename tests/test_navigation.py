"""Where each person starts and what the header offers them: only the places their roles give
them. Account admins and Group Admins start on the school home, learners on their paths; a
learner sees no People or Review; an invitation accepted says which school was joined (and,
for members, no group: the help article's rule)."""

import re

import pytest

from mentorgroups.extensions import db
from mentorgroups.services import group_members as gm
from mentorgroups.services import groups
from tests.factories import PASSWORD, make_account, make_cohort, make_member, make_path

LINK = re.compile(r"http://127\.0\.0\.1:5000/invitations/([A-Za-z0-9_-]+)")


@pytest.fixture
def w(app):
    account = make_account(name="Riverside")
    people = {
        "admin": make_member(account, "admin", email="ada@river.test"),
        "group_admin": make_member(account, "staff", email="gus@river.test"),
        "mentor": make_member(account, "staff", email="mo@river.test"),
        "teacher": make_member(account, "staff", email="tom@river.test"),
        "learner": make_member(account, email="lia@river.test"),
        "staff_nothing": make_member(account, "staff", email="sue@river.test"),
    }
    path = make_path(account)
    make_cohort(path, teachers=[people["teacher"]], learners=[people["learner"]])
    db.session.commit()
    circle = groups.create_group(people["admin"], account.id, "Secret circle")
    gm.add_members(people["admin"], account.id, circle.id, "group_admin",
                   user_ids=[people["group_admin"].id])
    gm.add_members(people["admin"], account.id, circle.id, "mentor",
                   user_ids=[people["mentor"].id])
    gm.add_members(people["admin"], account.id, circle.id, "member",
                   user_ids=[people["learner"].id])
    db.session.commit()
    return type("W", (), dict(account=account, circle=circle, **people))


def nav_of(page: str) -> list[str]:
    nav = page.split('<nav aria-label="Main">')[1].split("</nav>")[0]
    return re.findall(r">([^<>]+)</a>", nav)


@pytest.mark.parametrize("who, places", [
    ("admin", ["People", "Review", "Back office"]),
    ("group_admin", ["People", "Review", "Back office"]),
    ("mentor", ["People", "Review"]),
    ("teacher", ["People", "Review"]),
    ("learner", ["My paths"]),
    ("staff_nothing", ["My paths"]),
])
def test_the_header_offers_only_what_the_roles_give(client, w, who, places):
    client.login(getattr(w, who).email)
    assert nav_of(client.get("/notifications").get_data(as_text=True)) == places


def test_a_staff_member_who_also_learns_keeps_my_paths(client, w):
    make_cohort(make_path(w.account), learners=[w.mentor])
    db.session.commit()
    client.login(w.mentor.email)
    assert nav_of(client.get("/notifications").get_data(as_text=True)) == [
        "My paths", "People", "Review"]


def test_roles_in_another_school_offer_nothing_here(client, w):
    """Riverside's Group Admin, Mentor and teacher are plain staff at Hillside; Riverside's
    learner teaches there. Each is offered Hillside's places for their Hillside roles only."""
    hill = make_account(name="Hillside")
    for who in ("group_admin", "mentor", "teacher", "learner"):
        make_member(hill, "staff", user=getattr(w, who))
    make_cohort(make_path(hill), teachers=[w.learner])
    db.session.commit()
    for who, places in (("group_admin", ["My paths"]), ("mentor", ["My paths"]),
                        ("teacher", ["My paths"]), ("learner", ["People", "Review"])):
        client.login(getattr(w, who).email, account_id=hill.id)
        page = client.get("/notifications").get_data(as_text=True)
        assert "Hillside" in page and nav_of(page) == places, who
        client.post_form("/logout", token_page="/notifications")


@pytest.mark.parametrize("who, home", [
    ("admin", "/admin/"), ("group_admin", "/admin/"), ("mentor", "/paths"),
    ("learner", "/paths"),
])
def test_sign_in_and_the_sites_root_lead_to_each_persons_home(client, w, who, home):
    response = client.login(getattr(w, who).email)
    assert response.headers["Location"] == home
    assert client.get("/").headers["Location"] == home
    client.post_form("/logout", token_page="/notifications")
    # Opening the site first: the sign-in form's next is "/", which leads home too.
    assert client.get("/").headers["Location"].startswith("/login?next=/")
    response = client.post_form("/login", {"email": getattr(w, who).email,
                                           "password": PASSWORD, "next": "/"})
    assert client.get(response.headers["Location"]).headers["Location"] == home


def test_a_member_who_accepts_is_told_the_school_and_not_the_group(client, w, mail_outbox):
    gm.add_members(w.admin, w.account.id, w.circle.id, "member", addresses="nia@new.test")
    db.session.commit()
    token = LINK.search(mail_outbox[-1].body).group(1)
    response = client.post_form(f"/invitations/{token}/join",
                                {"full_name": "Nia New", "password": "long-enough-1"},
                                token_page=f"/invitations/{token}")
    assert response.headers["Location"] == "/paths"
    page = client.get("/paths").get_data(as_text=True)
    assert "Welcome to Riverside: you have joined the school." in page
    assert "Secret circle" not in page
    assert nav_of(page) == ["My paths"]


def test_a_mentor_who_accepts_is_told_the_group(client, w, mail_outbox):
    gm.add_members(w.admin, w.account.id, w.circle.id, "mentor", addresses="max@new.test")
    db.session.commit()
    token = LINK.search(mail_outbox[-1].body).group(1)
    response = client.post_form(f"/invitations/{token}/join",
                                {"full_name": "Max New", "password": "long-enough-1"},
                                token_page=f"/invitations/{token}")
    assert response.headers["Location"] == "/people/groups"
    page = client.get("/people/groups").get_data(as_text=True)
    assert "Welcome to Riverside: you are now Mentor of \u201cSecret circle\u201d." in page
