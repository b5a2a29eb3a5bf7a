"""Paged screens: statement counts that do not grow with the list, and paging itself (first,
middle and last page, the count, search with paging, page sizes out of range)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from mentorgroups.extensions import db
from mentorgroups.models import (
    AccountMembership,
    CohortMembership,
    GroupMembership,
    Notification,
    StepCompletion,
    Submission,
    User,
    utcnow,
)
from mentorgroups.paging import Page, PageRequest, page_request, page_url
from mentorgroups.services import group_members as gm
from mentorgroups.services import groups, learning, mentoring
from tests.conftest import statements_for
from tests.factories import _PASSWORD_HASH, make_member, school

ADMIN_GROUPS = "/admin/community/groups"


def crowd(s, group_id: int, n: int, prefix: str = "Crowd", waiting: bool = True) -> list[int]:
    """n learners of the school in the group and the cohort, named "<prefix> 0001"...,
    each with a completed step and (when `waiting`) work waiting for review, oldest first
    in name order. Written as rows: a 500-member group in well under a second."""
    now = utcnow()
    tag = f"{prefix.lower()}{group_id}"
    users = [User(email=f"{tag}-{i:04d}@example.test", full_name=f"{prefix} {i:04d}",
                  password_hash=_PASSWORD_HASH, active=True) for i in range(1, n + 1)]
    db.session.add_all(users)
    db.session.flush()
    step1, step2 = s.path.steps[0], s.path.steps[1]
    for i, user in enumerate(users):
        db.session.add_all([
            AccountMembership(account_id=s.account.id, user_id=user.id, role="member"),
            GroupMembership(group_id=group_id, user_id=user.id, role="member"),
            CohortMembership(cohort_id=s.cohort.id, user_id=user.id, role="learner"),
            StepCompletion(user_id=user.id, step_id=step1.id, cohort_id=s.cohort.id,
                           completed_at=now - timedelta(days=1)),
        ])
        if waiting:
            db.session.add(Submission(account_id=s.account.id, user_id=user.id,
                                      step_id=step2.id, cohort_id=s.cohort.id, content="work",
                                      submitted_at=now - timedelta(hours=n - i),
                                      status="pending"))
    db.session.commit()
    return [u.id for u in users]


@pytest.fixture
def s(app):
    return build_s()  # cheap: putting it back costs more than building it


def build_s():
    s = school(plan="complete")
    s.mentor = make_member(s.account, "staff", full_name="Mia Mentor")
    s.small = groups.create_group(s.admin, s.account.id, "Small")
    s.big = groups.create_group(s.admin, s.account.id, "Big")
    for group in (s.small, s.big):
        gm.add_members(s.admin, s.account.id, group.id, "mentor", user_ids=[s.mentor.id])
    db.session.commit()
    return s


def shown_names(html: str, prefix: str = "Crowd") -> list[str]:
    """Names in the order shown (each row names its person several times: once counts)."""
    return list(dict.fromkeys(re.findall(rf"{prefix} \d{{4}}", html)))


def pager_count(html: str, testid: str = "pager-count") -> str:
    match = re.search(rf'data-testid="{testid}">(.*?)</span>', html, re.S)
    assert match, "no pager count on the page"
    return re.sub(r"\s+", " ", match.group(1).replace("&ndash;", "-")
                  .replace("&ldquo;", '"').replace("&rdquo;", '"'))


# ---- statements do not grow with the list -------------------------------------------------------

@pytest.mark.scale
def test_members_screen_statements_same_for_10_and_500_members(client, s):
    crowd(s, s.small.id, 10, "Few")
    crowd(s, s.big.id, 500)
    client.login(s.admin.email)
    few = statements_for(client, f"{ADMIN_GROUPS}/{s.small.id}/")
    assert statements_for(client, f"{ADMIN_GROUPS}/{s.big.id}/") == few
    assert statements_for(client, f"{ADMIN_GROUPS}/{s.big.id}/?page=5&per_page=100") == few


@pytest.mark.scale
def test_group_page_statements_same_for_10_and_500_members(client, s):
    crowd(s, s.small.id, 10, "Few")
    crowd(s, s.big.id, 500)
    client.login(s.mentor.email)
    few = statements_for(client, f"/people/groups/{s.small.id}")
    assert statements_for(client, f"/people/groups/{s.big.id}") == few
    assert statements_for(client, f"/people/groups/{s.big.id}?page=3&per_page=100") == few


def test_a_group_above_the_exact_bound_is_about_its_size(client, s, monkeypatch):
    """The group page counts its members up to page_counts.EXACT_UP_TO (1,000; 20 here),
    then says "about" the group's members from the index, people whose access ended
    included; a search or a filter is counted exactly. The members screen's counts by role
    are exact at any size."""
    from mentorgroups.services import page_counts

    monkeypatch.setattr(page_counts, "EXACT_UP_TO", 20)
    ids = crowd(s, s.big.id, 30)
    crowd(s, s.small.id, 10, "Few")  # another group's members never add to the estimate
    client.login(s.mentor.email)
    url = f"/people/groups/{s.big.id}?per_page=25"
    few = statements_for(client, url)
    assert pager_count(client.get(url).get_data(as_text=True)) == "1-25 of about 30 members"
    for uid in ids[:3]:
        db.session.get(User, uid).active = False
    db.session.commit()
    assert pager_count(client.get(url).get_data(as_text=True)) == "1-25 of about 30 members"
    assert pager_count(client.get(f"{url}&q=Crowd").get_data(as_text=True)) == \
        '1-25 of 27 members matching "Crowd"'
    monkeypatch.setattr(page_counts, "EXACT_UP_TO", 1000)
    assert pager_count(client.get(url).get_data(as_text=True)) == "1-25 of 27 members"
    assert statements_for(client, url) == few
    client.post_form("/logout", token_page="/accounts")
    client.login(s.admin.email)
    html = client.get(f"{ADMIN_GROUPS}/{s.big.id}/?per_page=25").get_data(as_text=True)
    assert "Members <small class=\"text-muted\">(30)</small>" in html
    assert "1-25 of 30 members" in pager_count(html)


@pytest.mark.parametrize("who", ["admin", "mentor"])
@pytest.mark.scale
def test_review_queue_statements_same_for_5_and_500_waiting(client, s, who):
    crowd(s, s.small.id, 5, "Few")
    client.login(getattr(s, who).email)
    few = statements_for(client, "/review/")
    crowd(s, s.big.id, 495)
    assert learning.review_queue(getattr(s, who), s.account.id).total == 500
    assert statements_for(client, "/review/") == few
    assert statements_for(client, "/review/?page=4&per_page=100") == few


def statements_of(client, method: str, url: str, **kwargs) -> tuple[int, object]:
    """SQL statements of one request of any kind (a redirect, a form post), and its answer."""
    from sqlalchemy import event

    db.session.expire_all()
    statements = []

    def record(*args):
        statements.append(args[2])

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        response = getattr(client.raw, method)(url, **kwargs)
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    return len(statements), response


def next_in_queue_statements(client, s, group_id: int) -> tuple:
    """Statements of the filtered queue, a review page, Skip and a save that moves on, for
    the group's oldest waiting item."""
    waiting = learning.pending_reviews_for(s.mentor, s.account.id)
    first = next(sub for sub in waiting if sub.user.full_name.startswith(
        "Few" if group_id == s.small.id else "Crowd"))
    page = f"/review/{first.id}?group={group_id}"
    counts = (statements_for(client, f"/review/?group={group_id}"),
              statements_for(client, page),
              statements_of(client, "get", f"/review/next?after={first.id}&group={group_id}")[0])
    token = client.csrf(page)
    saved, response = statements_of(client, "post", page, data={
        "csrf_token": token, "grade": "", "feedback": "Fine work"})
    assert response.status_code == 302 and f"?group={group_id}" in response.headers["Location"]
    return (*counts, saved)


@pytest.mark.scale
def test_next_in_queue_statements_same_for_5_and_500_waiting(client, s):
    crowd(s, s.small.id, 6, "Few")
    client.login(s.mentor.email)
    few = next_in_queue_statements(client, s, s.small.id)
    crowd(s, s.big.id, 500)
    assert learning.review_queue(s.mentor, s.account.id).total == 505
    assert next_in_queue_statements(client, s, s.big.id) == few
    assert next_in_queue_statements(client, s, s.small.id) == few


@pytest.mark.scale
def test_notifications_and_activity_statements_do_not_grow(client, s):
    learner = crowd(s, s.small.id, 1, "Solo")[0]
    client.login(s.mentor.email)

    def notes(n):
        db.session.add_all(Notification(user_id=s.mentor.id, account_id=s.account.id,
                                        key=f"k-{n}-{i}", kind="submission", text=f"Note {i}",
                                        link="/review/") for i in range(n))
        db.session.commit()

    notes(3)
    few = statements_for(client, "/notifications")
    activity = statements_for(client, f"/people/{learner}?tab=activity")
    notes(300)
    assert statements_for(client, "/notifications") == few
    more_steps = [StepCompletion(user_id=learner, step_id=step.id, cohort_id=s.cohort.id)
                  for step in s.path.steps[2:]]
    db.session.add_all(more_steps)
    db.session.commit()
    assert statements_for(client, f"/people/{learner}?tab=activity") == activity


# ---- paging --------------------------------------------------------------------------------------

def test_page_request_reads_and_clamps_arguments():
    assert page_request({}) == PageRequest(1, 50, "")
    assert page_request({"page": "3", "per_page": "25", "q": "  ana  b "}) == \
        PageRequest(3, 25, "ana b")
    for size in ("7", "1000", "0", "-25", "x", ""):
        assert page_request({"per_page": size}).size == 50  # out of range: the default
    for number in ("0", "-4", "x", ""):
        assert page_request({"page": number}).number == 1
    assert page_request({"page": "9" * 30}).number == 100_000  # never an overflowing OFFSET
    assert page_request({"staff_page": "2"}, prefix="staff_").number == 2
    page = Page(list(range(25)), 60, 2, 25)
    assert (page.pages, page.first_index, page.last_index) == (3, 26, 50)
    assert page.window() == [1, 2, 3]
    assert Page([], 1000, 10, 25).window() == [1, None, 8, 9, 10, 11, 12, None, 40]


def test_page_links_keep_the_other_arguments():
    from werkzeug.datastructures import MultiDict

    args = MultiDict([("q", "ana"), ("tab", "activity"), ("page", "2")])
    assert page_url("/x", args, page=3) == "/x?q=ana&tab=activity&page=3"
    assert page_url("/x", args, page=1) == "/x?q=ana&tab=activity"
    assert page_url("/x", args, per_page=25, page=None) == "/x?q=ana&tab=activity&per_page=25"
    assert page_url("/x", MultiDict(), page=1) == "/x"


def test_group_page_first_middle_last_and_out_of_range(client, s):
    crowd(s, s.big.id, 60)
    client.login(s.mentor.email)
    url = f"/people/groups/{s.big.id}"

    def get(query=""):
        html = client.get(url + query).get_data(as_text=True)
        names = shown_names(html)
        return names, pager_count(html) if names else None, html

    names, count, html = get("?per_page=25")
    assert names == [f"Crowd {i:04d}" for i in range(1, 26)] and count == "1-25 of 60 members"
    assert f'href="{url}?per_page=25&amp;page=2"' in html  # the next page keeps the size
    names, count, _ = get("?per_page=25&page=2")
    assert names == [f"Crowd {i:04d}" for i in range(26, 51)] and count == "26-50 of 60 members"
    names, count, _ = get("?per_page=25&page=3")
    assert names == [f"Crowd {i:04d}" for i in range(51, 61)] and count == "51-60 of 60 members"
    assert get("?per_page=25&page=99")[1] == "51-60 of 60 members"  # past the end: the last
    assert get("?per_page=7")[1] == "1-50 of 60 members"  # size out of range: the default
    assert get("?page=-1&per_page=1000")[1] == "1-50 of 60 members"
    # Search with paging: the count is of the matches, and links keep the search.
    names, count, html = get("?q=crowd+00&per_page=25&page=2")
    assert names == [f"Crowd {i:04d}" for i in range(26, 51)]
    assert count == '26-50 of 60 members matching "crowd 00"'
    assert "q=crowd+00" in html and "page=3" in html
    names, count, _ = get("?q=0042")
    assert names == ["Crowd 0042"] and count == '1 member matching "0042"'
    names, count, html = get("?q=nobody")
    assert names == [] and "Nobody in this group matches" in html


def test_group_page_rows_have_progress_and_waiting_of_their_page(client, s):
    ids = crowd(s, s.big.id, 30)
    client.login(s.mentor.email)
    html = client.get(f"/people/groups/{s.big.id}?per_page=25&page=2").get_data(as_text=True)
    rows = re.findall(r'<tr data-user="(\d+)">(.*?)</tr>', html, re.S)
    assert [int(uid) for uid, _ in rows] == ids[25:]
    for _, row in rows:
        assert "1/4" in row and 'data-testid="review-icon"' in row


def test_members_screen_pages_staff_and_members_apart(client, s):
    crowd(s, s.big.id, 120)
    client.login(s.admin.email)
    url = f"{ADMIN_GROUPS}/{s.big.id}/"
    html = client.get(url).get_data(as_text=True)
    assert shown_names(html) == [f"Crowd {i:04d}" for i in range(1, 51)]
    assert pager_count(html) == "1-50 of 120 members"
    assert "Members <small class=\"text-muted\">(120)</small>" in html
    assert "Mia Mentor" in html  # staff listed apart, on every members page
    html = client.get(url + "?page=3&per_page=50").get_data(as_text=True)
    assert shown_names(html) == [f"Crowd {i:04d}" for i in range(101, 121)]
    assert pager_count(html) == "101-120 of 120 members" and "Mia Mentor" in html
    html = client.get(url + "?page=2&per_page=100&q=crowd 01").get_data(as_text=True)
    assert pager_count(html) == '21 members matching "crowd 01"'  # clamped to page 1
    assert shown_names(html) == [f"Crowd {i:04d}" for i in range(100, 121)]
    # One CSRF token for the whole page, whatever the number of rows.
    assert len(re.findall(r'name="csrf_token"', html)) <= 5
    assert len(re.findall(r'name="csrf_token"', client.get(url + "?per_page=100")
                          .get_data(as_text=True))) <= 5


def test_members_screen_row_actions_work_through_the_shared_form(client, s):
    ids = crowd(s, s.big.id, 3)
    client.login(s.admin.email)
    url = f"{ADMIN_GROUPS}/{s.big.id}/"
    response = client.post_form(f"{ADMIN_GROUPS}/{s.big.id}/role/{ids[0]}", {"role": "mentor"},
                                token_page=url)
    assert response.status_code == 302
    staff, members = gm.group_people(s.admin, s.account.id, s.big.id)
    assert {p.id for p in staff.items} == {s.mentor.id, ids[0]} and members.total == 2


def test_review_queue_pages_oldest_first_with_the_count(client, s):
    ids = crowd(s, s.big.id, 60)
    first = learning.review_queue(s.admin, s.account.id, PageRequest(1, 25))
    middle = learning.review_queue(s.admin, s.account.id, PageRequest(2, 25))
    last = learning.review_queue(s.admin, s.account.id, PageRequest(3, 25))
    assert first.total == middle.total == last.total == 60
    assert [r.learner for r in first.items + middle.items + last.items] == \
        [f"Crowd {i:04d}" for i in range(1, 61)]  # the oldest first
    assert len(last.items) == 10
    mine = learning.review_queue(s.mentor, s.account.id, PageRequest(1, 100))
    assert mine.total == 60 and len(mine.items) == 60
    stranger = make_member(s.account, "staff")
    assert learning.review_queue(stranger, s.account.id).total == 0
    client.login(s.mentor.email)
    html = client.get("/review/?per_page=25&page=3").get_data(as_text=True)
    assert pager_count(html) == "51-60 of 60 waiting (oldest first)"
    assert shown_names(html) == [f"Crowd {i:04d}" for i in range(51, 61)]
    assert f'href="/review/{learning.pending_reviews_for(s.mentor, s.account.id)[-1].id}"' \
        in html
    assert ids  # the crowd is the mentor's through the group


def test_profile_activity_and_notifications_are_paged(client, s):
    learner = crowd(s, s.small.id, 1, "Solo")[0]
    db.session.add_all(Notification(user_id=s.mentor.id, account_id=s.account.id,
                                    key=f"n-{i}", kind="submission", text=f"Note {i:03d}",
                                    link="/review/",
                                    created_at=utcnow() - timedelta(minutes=i))
                       for i in range(60))
    db.session.commit()
    client.login(s.mentor.email)
    html = client.get("/notifications?per_page=25&page=3").get_data(as_text=True)
    assert pager_count(html) == "51-60 of 60 notifications"
    assert re.findall(r"Note \d{3}", html) == [f"Note {i:03d}" for i in range(50, 60)]
    assert len(re.findall(r'name="csrf_token"', html)) == 2  # the rows' one form, sign-out
    card = mentoring.learner_profile(s.mentor, s.account.id, learner, "activity",
                                     PageRequest(1, 25))
    assert card["activity"].total == 2  # step 1 completed, step 2 submitted
    assert [(a["what"], a["step"]) for a in card["activity"].items] == [
        ("submitted", "Step 2"), ("completed", "Step 1")]



# ---- Previous and Next by key ---------------------------------------------------------------

def _links(html: str, rel: str) -> str | None:
    match = re.search(rf'rel="{rel}" href="([^"]+)"', html)
    return match.group(1).replace("&amp;", "&") if match else None


@pytest.mark.parametrize("screen", ["members screen", "group page"])
def test_next_and_previous_walk_the_list_by_key_each_person_once(client, s, screen):
    """Next names the last person shown (`after`), Previous the first (`before`): walking
    Next from the first page to the last and Previous back shows everybody once, in name
    order, the pager's count following; a page opened by its number still works."""
    ids = crowd(s, s.big.id, 130)
    if screen == "members screen":
        client.login(s.admin.email)
        url = f"{ADMIN_GROUPS}/{s.big.id}/"
    else:
        client.login(s.mentor.email)
        url = f"/people/groups/{s.big.id}"
    link, pages = url + "?per_page=25", []
    while link:
        html = client.get(link).get_data(as_text=True)
        pages.append((link, shown_names(html), pager_count(html)))
        link = _links(html, "next")
    assert [names for _, names, _ in pages] == [
        [f"Crowd {i:04d}" for i in range(start, min(start + 25, 131))]
        for start in range(1, 131, 25)]
    assert [count for _, _, count in pages][-1] == "126-130 of 130 members"
    assert pages[2][0].endswith(f"page=3&after={ids[49]}")
    # Previous from the last page back to the first, by key, the same pages.
    link, back = _links(client.get(pages[-1][0]).get_data(as_text=True), "prev"), []
    while link:
        html = client.get(link).get_data(as_text=True)
        back.append(shown_names(html))
        link = _links(html, "prev")
    assert back == [names for _, names, _ in reversed(pages[:-1])]
    assert f"before={ids[125]}" in _links(client.get(pages[-1][0]).get_data(as_text=True),
                                           "prev")
    # The key, not the number, says where the page starts (read by key, not by OFFSET).
    shifted = client.get(f"{url}?per_page=25&page=2&after={ids[29]}").get_data(as_text=True)
    assert shown_names(shifted) == [f"Crowd {i:04d}" for i in range(31, 56)]
    shifted = client.get(f"{url}?per_page=25&page=3&before={ids[60]}").get_data(as_text=True)
    assert shown_names(shifted) == [f"Crowd {i:04d}" for i in range(36, 61)]
    # The link back to page 1 carries no key; numbered pages none either.
    page2 = client.get(pages[1][0]).get_data(as_text=True)
    assert _links(page2, "prev") == url + "?per_page=25"
    assert f'href="{url}?per_page=25&amp;page=4"' in page2


def test_a_key_from_outside_the_list_reads_the_page_by_its_number(client, s):
    """A key that names nobody of this list (someone of another group, a person removed
    since, an id that does not exist) is not a position: the page is read by its number,
    and nothing about that person shows."""
    ids = crowd(s, s.big.id, 60)
    crowd(s, s.small.id, 3, "Other")
    outsider = db.session.scalar(db.select(User.id).where(User.full_name == "Other 0002"))
    client.login(s.mentor.email)
    url = f"/people/groups/{s.big.id}?per_page=25&page=2"
    expected = [f"Crowd {i:04d}" for i in range(26, 51)]
    for key in (outsider, 999_999, s.admin.id):
        html = client.get(f"{url}&after={key}").get_data(as_text=True)
        assert shown_names(html) == expected and "Other 0002" not in html
        assert shown_names(client.get(f"{url}&before={key}").get_data(as_text=True)) == \
            expected
    gm.remove_members(s.admin, s.account.id, s.big.id, [ids[24]])
    db.session.commit()
    html = client.get(f"{url}&after={ids[24]}").get_data(as_text=True)
    assert shown_names(html) == [f"Crowd {i:04d}" for i in range(27, 52)]  # page 2 now


@pytest.mark.scale
def test_a_page_by_key_costs_the_statements_of_the_first(client, s):
    ids = crowd(s, s.big.id, 500)
    crowd(s, s.small.id, 10, "Few")
    client.login(s.mentor.email)
    few = statements_for(client, f"/people/groups/{s.small.id}")
    assert statements_for(client, f"/people/groups/{s.big.id}?page=9&after={ids[399]}") == few
    assert statements_for(client, f"/people/groups/{s.big.id}?page=8&before={ids[400]}") == few
    client.post_form("/logout", token_page="/people/groups")
    client.login(s.admin.email)
    few = statements_for(client, f"{ADMIN_GROUPS}/{s.small.id}/")
    assert statements_for(client, f"{ADMIN_GROUPS}/{s.big.id}/?page=9&after={ids[399]}") == few


def test_page_request_reads_keys_and_links_drop_them_on_another_page():
    from werkzeug.datastructures import MultiDict

    assert page_request({"page": "3", "after": "42"}) == PageRequest(3, 50, "", after=42)
    assert page_request({"page": "3", "before": "7"}).before == 7
    assert page_request({"page": "3", "after": "4", "before": "7"}).before is None
    for key in ("0", "-3", "x", "", "9" * 12):
        assert page_request({"page": "2", "after": key}).after is None
    assert page_request({"staff_page": "2", "staff_after": "5"}, prefix="staff_").after == 5
    assert not page_request({"after": "42"}).keyset  # the first page is never by key
    args = MultiDict([("q", "ana"), ("page", "3"), ("after", "42")])
    assert page_url("/x", args, page=4, after=50) == "/x?q=ana&page=4&after=50"
    assert page_url("/x", args, page=2, before=43) == "/x?q=ana&page=2&before=43"
    assert page_url("/x", args, page=7) == "/x?q=ana&page=7"
    assert page_url("/x", args, per_page=25, page=None) == "/x?q=ana&per_page=25"
