"""Issue 13 through HTTP: the Community screen and its ways in, the search bar's invitations
and counts, the join form's errors, self-demotion, group roles on People, who manages a
nested group from above, the Plan screen, review conflicts and Sent emails details."""

import re

from sqlalchemy import select

from mentorgroups.extensions import db
from mentorgroups.models import GroupMembership, Invitation, Notification, SentEmail
from mentorgroups.services import group_members as gm
from mentorgroups.services import groups, invitations, learning
from tests.factories import make_account, make_member, school

BASE = "/admin/community/groups"


def hill(plan="essentials"):
    account = make_account(plan=plan, name="Hill School")
    admin = make_member(account, "admin", full_name="Ada Admin", email="ada@hill.test")
    gina = make_member(account, "staff", full_name="Gina Grant", email="gina@hill.test")
    lia = make_member(account, "member", full_name="Lia Learner", email="lia@hill.test")
    year7 = groups.create_group(admin, account.id, "Year 7")
    club = groups.create_group(admin, account.id, "Robotics club", "", year7.id)
    gm.add_members(admin, account.id, year7.id, "group_admin", user_ids=[gina.id])
    gm.add_members(admin, account.id, club.id, "mentor", user_ids=[lia.id])
    db.session.commit()
    return account, admin, gina, lia, year7, club


def test_back_office_menu_has_one_community_entry_with_tabs(client):
    account, admin, *_ = hill()
    client.login(admin.email)
    page = client.get(f"{BASE}/").get_data(as_text=True)
    menu = page.split('data-testid="community-tabs"')[0].split("navbar-nav")[1]
    # One Community entry in the menu (no dropdown of Groups / Audit log / Reports).
    assert re.search(r'href="/admin/community/groups/">\s*Community</a>', menu)
    assert "/admin/community/audit/" not in menu and "dropdown-toggle" not in menu
    assert 'href="/admin/community/audit/">Audit log</a>' in page  # the tab
    assert 'data-testid="community-actions"' in page  # the reports menu stays, for admins
    assert 'aria-current=page href="/admin/community/groups/"' in page


def test_group_admin_sees_the_groups_tab_only_and_no_reports(client):
    account, admin, gina, *_ = hill()
    client.login(gina.email)
    page = client.get(f"{BASE}/").get_data(as_text=True)
    assert 'data-testid="community-tabs"' in page
    assert 'href="/admin/community/audit/"' not in page
    assert 'data-testid="community-actions"' not in page


def test_search_offers_to_invite_a_new_address_and_counts_the_rest(app):
    account, admin, gina, lia, year7, club = hill()
    for n in range(23):
        make_member(account, "member", full_name=f"Sam {n:02d}", email=f"sam{n}@hill.test")
    other = make_member(make_account(name="Dale"), "member", email="otto@dale.test")
    db.session.commit()
    found = gm.search_for_adding(admin, account.id, club.id, "sam")
    assert len(found["people"]) == 20 and found["more"] == 3 and found["invite"] is None
    found = gm.search_for_adding(admin, account.id, club.id, "Newbie@Example.org")
    assert found == {"people": [], "more": 0, "invite": "newbie@example.org"}
    # An address with a personal account in another school: the same offer, no more.
    assert gm.search_for_adding(admin, account.id, club.id, other.email) == \
        {"people": [], "more": 0, "invite": "otto@dale.test"}
    # Somebody of the school is found, not invited.
    found = gm.search_for_adding(admin, account.id, club.id, "lia@hill.test")
    assert [p["email"] for p in found["people"]] == ["lia@hill.test"] and not found["invite"]
    assert gm.search_for_adding(admin, account.id, club.id, "not an@address")["invite"] is None


def test_add_invites_addresses_picked_from_the_search_bar(client):
    account, admin, gina, lia, year7, club = hill()
    other = make_member(make_account(name="Dale"), "member", email="otto@dale.test")
    db.session.commit()
    client.login(admin.email)
    url = f"{BASE}/{club.id}/"
    response = client.post_form(f"{BASE}/{club.id}/add", {
        "role": "mentor", "invite": ["newbie@example.org", other.email], "addresses": ""},
        token_page=url)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert ("Invited as Mentor (an email is on its way): newbie@example.org, "
            "otto@dale.test.") in page
    pending = {i.email: i.role for i in db.session.scalars(select(Invitation))}
    assert pending == {"newbie@example.org": "mentor", "otto@dale.test": "mentor"}
    # The existing personal account is invited, never enrolled.
    assert db.session.scalar(select(GroupMembership).where(
        GroupMembership.user_id == other.id)) is None


def test_join_form_shows_every_error_at_once(client):
    account, admin, gina, lia, year7, club = hill()
    invitation = invitations.invite(admin, account.id, club, "new@example.org", "member")
    db.session.commit()
    from mentorgroups.services.invitations import make_token

    token = make_token(invitation.nonce)
    response = client.post_form(f"/invitations/{token}/join",
                                {"full_name": "  ", "password": "short"},
                                token_page=f"/invitations/{token}")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'data-testid="name-error">Enter a name.' in page
    assert 'data-testid="password-error">Passwords need at least 8 characters.' in page
    assert 'aria-invalid="true"' in page


def test_group_admin_demoting_themselves_is_warned_and_lands_somewhere_they_can_see(client):
    account, admin, gina, lia, year7, club = hill()
    client.login(gina.email)
    page = client.get(f"{BASE}/{year7.id}/").get_data(as_text=True)
    assert "You will lose access to manage \u201cYear 7\u201d" in page
    response = client.post_form(f"{BASE}/{year7.id}/role/{gina.id}", {"role": "member"},
                                token_page=f"{BASE}/{year7.id}/")
    assert response.status_code == 302 and response.headers["Location"] == "/people/groups"
    landing = client.get("/people/groups").get_data(as_text=True)
    assert "You no longer manage \u201cYear 7\u201d" in landing


def test_a_group_admin_above_keeps_the_nested_group_and_is_not_warned(client):
    account, admin, gina, lia, year7, club = hill()
    gm.add_members(admin, account.id, club.id, "group_admin", user_ids=[gina.id])
    db.session.commit()
    client.login(gina.email)
    page = client.get(f"{BASE}/{club.id}/").get_data(as_text=True)
    assert "You will lose access" not in page
    response = client.post_form(f"{BASE}/{club.id}/role/{gina.id}", {"role": "member"},
                                token_page=f"{BASE}/{club.id}/")
    assert response.headers["Location"] == f"{BASE}/{club.id}/"


def test_make_mentor_is_confirmed_like_the_role_menu(client):
    account, admin, gina, lia, year7, club = hill()
    gm.add_members(admin, account.id, year7.id, "member", user_ids=[lia.id])
    db.session.commit()
    client.login(admin.email)
    page = client.get(f"{BASE}/{year7.id}/").get_data(as_text=True)
    confirms = dict(re.findall(r'formaction="[^"]*/role/(\d+)"[^>]*'
                               r'data-confirm="([^"]*role to Mentor\?)"', page))
    # The member's "Make mentor" and the staff role menu ask the same question.
    assert confirms[str(lia.id)].replace("&#39;", "'") == "Change Lia Learner's role to Mentor?"
    assert confirms[str(gina.id)].replace("&#39;", "'") == "Change Gina Grant's role to Mentor?"


def test_people_list_shows_group_roles(client):
    account, admin, gina, lia, *_ = hill()
    client.login(admin.email)
    page = client.get("/admin/people/").get_data(as_text=True)
    assert "Group Admin of Year 7" in page and "Mentor of Robotics club" in page


def test_nested_groups_show_who_manages_them_from_above(client):
    account, admin, gina, lia, year7, club = hill()
    client.login(admin.email)
    tree = client.get(f"{BASE}/").get_data(as_text=True)
    assert 'data-testid="managed-above">Managed from above by Gina Grant</div>' in tree
    members = client.get(f"{BASE}/{club.id}/").get_data(as_text=True)
    assert ("Also managed from above by Gina Grant (Group Admin of &ldquo;Year 7&rdquo;)."
            in members)


def test_new_group_says_where_it_goes(client):
    account, admin, gina, *_ = hill()
    client.login(gina.email)
    page = client.get(f"{BASE}/new").get_data(as_text=True)
    assert "The new group will go under <strong>Year 7</strong>." in page
    assert "<details" not in page.split('id="parent_id"')[0].split("<form")[1]


def test_plan_screen_and_wording_over_the_limit(client):
    account, admin, *_ = hill()
    account.plan = "trial"  # a downgrade: two groups on a plan that includes one
    db.session.commit()
    client.login(admin.email)
    tree = client.get(f"{BASE}/").get_data(as_text=True)
    assert "2 groups; the Trial plan includes 1 group" in tree
    assert 'href="/admin/plan/?reason=limit">See the plans</a>' in tree
    page = client.get("/admin/plan/").get_data(as_text=True)
    for row in ("Trial", "Starter", "Essentials", "Complete", "Enterprise"):
        assert f'<th scope="row">{row}</th>' in page
    assert "Unlimited groups" in page and "20 groups" in page
    assert "flask --app app accounts set-plan " + account.slug + " &lt;plan&gt;" in page
    assert "Hill School is on the <strong>Trial</strong> plan: 2 groups; the Trial plan" in page


def test_plan_screen_is_for_account_admins(client):
    account, admin, gina, *_ = hill()
    client.login(gina.email)
    assert client.get("/admin/plan/").status_code == 403


def test_a_review_settles_every_reviewers_notification_and_a_late_one_keeps_feedback(client):
    s = school()
    # Two reviewers told: the cohort's teacher and a mentor of the learner's group.
    mentor = make_member(s.account, "staff", full_name="Mo Mentor")
    circle = groups.create_group(s.admin, s.account.id, "Circle")
    gm.add_members(s.admin, s.account.id, circle.id, "mentor", user_ids=[mentor.id])
    gm.add_members(s.admin, s.account.id, circle.id, "member", user_ids=[s.learner.id])
    db.session.commit()
    submission = learning.submit_for_review(s.learner, s.account.id, s.path.steps[2].id, "w")
    db.session.commit()
    told = {n.user_id for n in db.session.scalars(select(Notification).where(
        Notification.key.like(f"submission:{submission.id}:%")))}
    assert told == {s.teacher.id, mentor.id}
    client.login(s.teacher.email)
    form_page = f"/review/{submission.id}"
    token = client.csrf(form_page)
    learning.review_submission(mentor, submission.id, None, "Fine")
    db.session.commit()
    db.session.expire_all()
    for note in db.session.scalars(select(Notification).where(
            Notification.kind == "submission")):
        assert note.read_at is not None and note.text.endswith("reviewed by Mo Mentor")
    response = client.raw.post(form_page, data={"csrf_token": token, "grade": "",
                                                "feedback": "My careful notes\nline two"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Mo Mentor already reviewed this on" in page
    assert 'data-testid="unsaved-review"' in page and "My careful notes\nline two" in page
    assert "reviewed by Mo Mentor on" in page and "waiting" not in page.split("<h1")[1]
    assert client.get("/notifications").status_code == 200
    assert 'data-testid="bell"' in client.get("/paths").get_data(as_text=True)
    assert 'class="bell-count"' not in client.get("/paths").get_data(as_text=True)


def test_sent_email_details_keep_lines_and_links_in_the_school_zone(client):
    s = school()
    s.account.time_zone = "Asia/Tokyo"
    db.session.commit()
    learning.submit_for_review(s.learner, s.account.id, s.path.steps[2].id, "w")
    db.session.commit()
    email = db.session.scalar(select(SentEmail).where(SentEmail.recipient == s.teacher.email))
    client.login(s.admin.email)
    page = client.get(f"/admin/sent_emails/details/?id={email.id}").get_data(as_text=True)
    assert 'white-space:pre-wrap' in page
    assert f'<a href="http://127.0.0.1:5000/review/{email.body.split("/review/")[1].split()[0]}"' \
        in page
    assert " JST" in page and "+00:00" not in page
    assert "Hi Tom Teacher,\n\n" in page
