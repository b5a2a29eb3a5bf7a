"""The back office's smaller rough edges (issue 23, item 8), each said once and truly: the
delete warning names pending invitations, Sent emails never claims a delivery that did not
happen, "1 notification" rather than "1-1 of 1 notifications", percentages rounded half up,
one time zone label per school, and the plan limit said once on a forced create."""

import re
from datetime import UTC, datetime

import pytest
from flask import render_template_string
from sqlalchemy import func, select

from mentorgroups.admin.emails import delivery_summary
from mentorgroups.extensions import db
from mentorgroups.models import MentorGroup, SentEmail, utcnow
from mentorgroups.paging import Page
from mentorgroups.services import group_members as gm
from mentorgroups.services import groups
from mentorgroups.services.learning import Progress
from mentorgroups.wording import count_of, delete_consequences, one_of, percent
from tests.factories import make_account, make_member

BASE = "/admin/community/groups"
CLOCK_START = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)


# ---- the delete warning names pending invitations ------------------------------------------

def test_delete_consequences_name_pending_invitations():
    assert delete_consequences(0, 0, None, 1)[0] == \
        "withdraws its 1 pending invitation (the link stops working);"
    assert delete_consequences(0, 2, None, 3)[1] == \
        "withdraws its 3 pending invitations (the links stop working);"
    assert not any("invitation" in line for line in delete_consequences(0, 2, None, 0))


def test_the_manage_page_warns_of_the_invitations_the_delete_then_ends(client):
    account = make_account(name="Hill School")
    admin = make_member(account, "admin")
    group = groups.create_group(admin, account.id, "Year 7")
    gm.add_members(admin, account.id, group.id, "member", addresses="new@elsewhere.test")
    db.session.commit()
    client.login(admin.email)
    page = client.get(f"{BASE}/{group.id}/manage").get_data(as_text=True)
    warning = page.split('data-testid="delete-consequences"')[1].split("</ul>")[0]
    assert "withdraws its 1 pending invitation" in warning
    response = client.post_form(f"{BASE}/{group.id}/delete", token_page=f"{BASE}/{group.id}/manage")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "1 pending invitation ended" in page


# ---- Sent emails says what the rows say ---------------------------------------------------

@pytest.mark.parametrize("counts, text", [
    ({}, "No emails yet."),
    ({"logged": 1}, "Nothing was sent: no mail server is configured, so 1 email was only "
                    "recorded here."),
    ({"logged": 4}, "Nothing was sent: no mail server is configured, so 4 emails were only "
                    "recorded here."),
    ({"sent": 2, "logged": 1}, "Nothing is waiting. 2 emails were delivered; 1 was only "
                               "recorded (no mail server then)."),
    ({"sent": 1}, "Nothing is waiting: every email was delivered to the mail server."),
])
def test_delivery_summary_is_true_to_the_rows(counts, text):
    assert delivery_summary(counts) == text


def test_sent_emails_of_a_school_without_a_mail_server_say_so(client):
    account = make_account()
    admin = make_member(account, "admin")
    other = make_account()
    for n, (school, status) in enumerate([(account, "logged"), (account, "logged"),
                                          (other, "sent")]):
        db.session.add(SentEmail(account_id=school.id, idempotency_key=f"small-{n}",
                                 recipient="a@example.test", subject="Hi", body="Hello",
                                 status=status, sent_at=utcnow()))
    db.session.commit()
    client.login(admin.email)
    page = client.get("/admin/sent_emails/").get_data(as_text=True)
    assert "Every email was delivered" not in page
    assert "no mail server is configured, so 2 emails were only recorded here." in page


# ---- counts of a list on one page ------------------------------------------------------------

@pytest.mark.parametrize("noun, one", [
    ("notifications", "notification"), ("activities", "activity"),
    ("drifting members", "drifting member"), ("staff", "staff"),
    ("waiting (oldest first)", "waiting (oldest first)"),
])
def test_one_of_a_list_noun(noun, one):
    assert one_of(noun) == one
    assert count_of(1, noun) == f"1 {one}"
    assert count_of(1200, noun) == f"1,200 {noun}"


@pytest.mark.parametrize("total, number, text", [
    (1, 1, "1 notification"), (3, 1, "3 notifications"), (0, 1, "No notifications"),
    (60, 2, "26-50 of 60 notifications"),
])
def test_the_pager_counts_a_single_page_plainly(app, total, number, text):
    page = Page(items=list(range(min(25, max(0, total - 25 * (number - 1))))), total=total,
                number=number, size=25)
    with app.test_request_context("/people/notifications"):
        html = render_template_string(
            '{% from "_pager.html" import pager %}{{ pager(page, "/x", noun="notifications") }}',
            page=page)
    count = re.search(r'data-testid="pager-count">(.*?)</span>', html, re.S).group(1)
    assert count.replace("&ndash;", "-").strip() == text


# ---- percentages round half up -------------------------------------------------------------

@pytest.mark.parametrize("done, total, shown", [
    (3, 8, 38), (1, 8, 13), (5, 8, 63), (7, 8, 88), (1, 200, 1), (1, 3, 33), (2, 3, 67),
    (0, 8, 0), (8, 8, 100), (0, 0, 0),
])
def test_percent_rounds_half_up(done, total, shown):
    assert percent(done, total) == shown
    assert Progress(done, total).percent == shown


# ---- one time zone label --------------------------------------------------------------------

def test_pending_invitations_show_the_schools_time_zone(client, clock):
    account = make_account(name="Hill School")
    account.time_zone = "Europe/London"
    admin = make_member(account, "admin")
    group = groups.create_group(admin, account.id, "Year 7")
    gm.add_members(admin, account.id, group.id, "member", addresses="new@elsewhere.test")
    db.session.commit()
    client.login(admin.email)
    page = client.get(f"{BASE}/{group.id}/").get_data(as_text=True)
    sent = page.split('data-label="Sent">')[1].split("<")[0].strip()
    assert sent == "28 Nov 2026, 10:00 GMT"
    assert " UTC" not in page


# ---- the plan limit said once -----------------------------------------------------------------

def test_a_forced_create_at_the_limit_says_the_limit_once(client):
    account = make_account(plan="starter")
    admin = make_member(account, "admin")
    groups.create_group(admin, account.id, "Only one")
    db.session.commit()
    client.login(admin.email)
    response = client.post_form(f"{BASE}/new", {"name": "Second", "parent_id": ""},
                                token_page=f"{BASE}/new")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert page.count("Your Starter plan includes 1 group") == 1
    assert db.session.scalar(select(func.count()).select_from(MentorGroup)) == 1
