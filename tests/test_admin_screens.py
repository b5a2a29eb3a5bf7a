"""The back office's screens, driven through HTTP as a school admin: People, Paths with their
steps, Cohorts with their people, and Sent emails."""

from __future__ import annotations

import csv
import io
import re

import pytest
from sqlalchemy import func, select

from mentorgroups.extensions import db
from mentorgroups.models import (
    AccountMembership,
    Cohort,
    CohortMembership,
    Invitation,
    Path,
    SentEmail,
    Step,
    StepCompletion,
    Submission,
    User,
    utcnow,
)
from tests.factories import PASSWORD, make_account, make_member, make_path, make_user, school

# --------------------------------------------------------------------------- helpers


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def membership_of(user, account) -> AccountMembership | None:
    db.session.expire_all()
    return db.session.scalar(select(AccountMembership).where(
        AccountMembership.user_id == user.id, AccountMembership.account_id == account.id))


def text_of(response) -> str:
    return response.get_data(as_text=True)


def follow(client, response) -> str:
    """The page a redirect leads to (where Flask-Admin shows its flashed messages)."""
    assert response.status_code == 302, text_of(response)[:500]
    return text_of(client.get(response.headers["Location"]))


def select_options(page: str, name: str) -> dict[str, str]:
    """value -> label of the options of the <select name=...> on the page."""
    match = re.search(rf'<select[^>]*name="{re.escape(name)}"[^>]*>(.*?)</select>', page, re.S)
    assert match, f"no select {name}"
    return {value: " ".join(label.split()) for value, label in re.findall(
        r'<option[^>]*value="([^"]*)"[^>]*>([^<]*)', match.group(1))}


def export_rows(client, view: str) -> list[list[str]]:
    response = client.get(f"/admin/{view}/export/csv/")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    text = text_of(response)
    assert text.startswith("\ufeff")  # UTF-8 with a byte order mark, for Excel
    return list(csv.reader(io.StringIO(text[1:])))


def add_sent_email(account, subject: str, recipient: str = "someone@example.test",
                   body: str = "Hello", n: list = [0]) -> SentEmail:  # noqa: B006
    n[0] += 1
    email = SentEmail(account_id=account.id, idempotency_key=f"test-{account.id}-{n[0]}",
                      recipient=recipient, subject=subject, body=body, status="logged",
                      sent_at=utcnow())
    db.session.add(email)
    db.session.commit()
    return email


@pytest.fixture
def s(app):
    return school()


@pytest.fixture
def admin_client(client, s):
    client.login(s.admin.email)
    return client


def path_form(title: str, steps: list[dict], description: str = "") -> dict:
    data = {"title": title, "description": description}
    for index, step in enumerate(steps):
        data[f"steps-{index}-title"] = step["title"]
        data[f"steps-{index}-body"] = step.get("body", "")
        data[f"steps-{index}-position"] = str(step.get("position", ""))
        data[f"steps-{index}-points"] = str(step.get("points", ""))
        if step.get("requires_review"):
            data[f"steps-{index}-requires_review"] = "y"
    return data


# --------------------------------------------------------------------------- People


def people_page(client) -> str:
    return text_of(client.get("/admin/people/"))


def test_add_an_existing_person_by_email_invites_them(admin_client, app, s):
    """Someone with a personal account from another school is invited, not enrolled: their
    name and password stay theirs, and they join only by accepting."""
    other_school = make_account(name="Elsewhere")
    existing = make_member(other_school, "member", full_name="Existing Person",
                           email="Existing.Person@Example.test")
    db.session.commit()
    hash_before = existing.password_hash

    response = admin_client.post_form("/admin/people/new/", {
        "email": "  EXISTING.person@example.TEST ", "full_name": "Ignored Name",
        "role": "staff", "password": "planted-pass-1"})
    page = follow(admin_client, response)
    assert ("Invitation sent to existing.person@example.test. They join this school as Staff "
            "when they accept it.") in page
    assert membership_of(existing, s.account) is None
    user = db.session.get(User, existing.id)
    assert (user.full_name, user.password_hash) == ("Existing Person", hash_before)
    assert count(User) == 5  # the school's four and them: nobody new
    assert "existing.person@example.test" in people_page(admin_client)  # listed as invited
    from tests.conftest import Client

    other_browser = Client(app.test_client())
    response = other_browser.login(existing.email, password="planted-pass-1")
    assert "don&#39;t match" in response.get_data(as_text=True)


def test_add_a_new_person_invites_them_and_creates_nobody(admin_client, s):
    response = admin_client.post_form("/admin/people/new/", {
        "email": "newbie@example.test", "role": "member"})
    assert "Invitation sent to newbie@example.test." in follow(admin_client, response)
    assert db.session.scalar(select(User).where(User.email == "newbie@example.test")) is None
    invitation = db.session.scalar(select(Invitation).where(
        Invitation.email == "newbie@example.test"))
    assert (invitation.account_id, invitation.account_role, invitation.status) == (
        s.account.id, "member", "pending")


def test_people_add_has_no_password_field(admin_client, s):
    page = admin_client.get("/admin/people/new/").get_data(as_text=True)
    assert 'type="password"' not in page and "Initial password" not in page
    assert "Send invitation" in page


@pytest.mark.parametrize("data,message", [
    ({"email": "not-an-email"}, "is not a valid email address"),
    ({"email": ""}, "Enter an email address."),
])
def test_adding_a_person_with_bad_input_says_why_and_changes_nothing(admin_client, s, data,
                                                                      message):
    users, memberships = count(User), count(AccountMembership)
    response = admin_client.post_form("/admin/people/new/", {"role": "member", **data})
    assert response.status_code == 200  # the form again, with the message
    assert message in text_of(response)
    assert "Invitation sent" not in text_of(response)
    assert (count(User), count(AccountMembership), count(Invitation)) == (users, memberships, 0)


def test_pending_school_invitations_can_be_resent_and_withdrawn(admin_client, s):
    admin_client.post_form("/admin/people/new/", {"email": "ivy@new.test", "role": "staff"})
    invitation = db.session.scalar(select(Invitation))
    first_hash = invitation.token_hash
    response = admin_client.post_form("/admin/people/invitations/resend",
                                      {"id": str(invitation.id)}, token_page="/admin/people/")
    assert "The invitation to ivy@new.test was sent again." in follow(admin_client, response)
    db.session.expire_all()
    assert db.session.get(Invitation, invitation.id).token_hash != first_hash
    response = admin_client.post_form("/admin/people/invitations/revoke",
                                      {"id": str(invitation.id)}, token_page="/admin/people/")
    assert "The invitation to ivy@new.test was withdrawn." in follow(admin_client, response)
    db.session.expire_all()
    assert db.session.get(Invitation, invitation.id).status == "revoked"


def test_adding_someone_already_in_the_school_says_so(admin_client, s):
    memberships = count(AccountMembership)
    response = admin_client.post_form("/admin/people/new/", {
        "email": s.learner.email.upper(), "role": "admin"})
    assert response.status_code == 200
    assert f"{s.learner.email} is already in this school." in text_of(response)
    assert count(AccountMembership) == memberships
    assert membership_of(s.learner, s.account).role == "member"


def test_adding_a_revoked_person_points_to_restore(admin_client, s):
    membership_of(s.learner, s.account).status = "revoked"
    db.session.commit()
    response = admin_client.post_form("/admin/people/new/", {
        "email": s.learner.email, "role": "member"})
    assert "had their access revoked; restore it from the People list." in text_of(response)
    assert membership_of(s.learner, s.account).status == "revoked"


def test_an_unknown_role_is_refused(admin_client, s):
    memberships = count(AccountMembership)
    response = admin_client.post_form("/admin/people/new/", {
        "email": "fresh@example.test", "role": "owner"})
    assert response.status_code == 200
    assert "Not a valid choice" in text_of(response)
    assert count(AccountMembership) == memberships


def test_revoke_and_restore_bulk_actions(admin_client, client, s):
    ids = [str(membership_of(p, s.account).id) for p in (s.learner, s.other)]
    response = admin_client.post_form("/admin/people/action/",
                                      {"action": "revoke", "rowid": ids},
                                      token_page="/admin/people/")
    assert "2 people lost access." in follow(admin_client, response)
    assert membership_of(s.learner, s.account).status == "revoked"
    assert membership_of(s.other, s.account).status == "revoked"

    # Restoring one already-active and one revoked person changes only the revoked one.
    ids = [str(membership_of(p, s.account).id) for p in (s.learner, s.teacher)]
    response = admin_client.post_form("/admin/people/action/",
                                      {"action": "restore", "rowid": ids},
                                      token_page="/admin/people/")
    assert "1 person got their access back." in follow(admin_client, response)
    assert membership_of(s.learner, s.account).status == "active"
    assert membership_of(s.other, s.account).status == "revoked"
    assert membership_of(s.teacher, s.account).status == "active"


def test_edit_a_persons_role_and_access(admin_client, s):
    membership = membership_of(s.teacher, s.account)
    response = admin_client.post_form(f"/admin/people/edit/?id={membership.id}",
                                      {"role": "admin", "status": "active"})
    assert "Record was successfully saved." in follow(admin_client, response)
    assert membership_of(s.teacher, s.account).role == "admin"


def test_the_last_admin_cannot_be_demoted(admin_client, s):
    # A second admin whose access was revoked does not count.
    make_member(s.account, "admin", status="revoked", full_name="Gone Admin")
    db.session.commit()
    membership = membership_of(s.admin, s.account)
    response = admin_client.post_form(f"/admin/people/edit/?id={membership.id}",
                                      {"role": "member", "status": "active"})
    assert "A school needs at least one admin: make someone else admin first." in \
        text_of(response)
    assert "Record was successfully saved." not in text_of(response)
    assert membership_of(s.admin, s.account).role == "admin"


def test_the_last_admin_cannot_be_revoked(admin_client, s):
    membership = membership_of(s.admin, s.account)
    response = admin_client.post_form(f"/admin/people/edit/?id={membership.id}",
                                      {"role": "admin", "status": "revoked"})
    assert "You cannot revoke your own access." in text_of(response)
    assert membership_of(s.admin, s.account).status == "active"

    response = admin_client.post_form("/admin/people/action/",
                                      {"action": "revoke", "rowid": [str(membership.id)]},
                                      token_page="/admin/people/")
    page = follow(admin_client, response)
    assert "0 people lost access." in page
    assert "You cannot revoke your own access." in page
    assert membership_of(s.admin, s.account).status == "active"


def test_an_admin_can_be_demoted_when_another_admin_remains(admin_client, s):
    second = make_member(s.account, "admin", full_name="Second Admin")
    db.session.commit()
    membership = membership_of(second, s.account)
    response = admin_client.post_form(f"/admin/people/edit/?id={membership.id}",
                                      {"role": "staff", "status": "active"})
    assert "Record was successfully saved." in follow(admin_client, response)
    assert membership_of(second, s.account).role == "staff"
    # Now s.admin is the last admin again.
    own = membership_of(s.admin, s.account)
    response = admin_client.post_form(f"/admin/people/edit/?id={own.id}",
                                      {"role": "staff", "status": "active"})
    assert "A school needs at least one admin" in text_of(response)
    assert membership_of(s.admin, s.account).role == "admin"


def test_a_revoked_person_cannot_use_the_school(admin_client, client, s):
    membership = membership_of(s.learner, s.account)
    admin_client.post_form("/admin/people/action/",
                           {"action": "revoke", "rowid": [str(membership.id)]},
                           token_page="/admin/people/")
    admin_client.post_form("/logout", token_page="/accounts")

    response = client.login(s.learner.email)
    assert response.status_code == 302
    response = client.get("/paths")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/accounts")
    page = text_of(client.get(response.headers["Location"]))
    assert "You are not an active member of any school." in page
    assert s.path.title not in page
    assert client.get(f"/paths/{s.path.id}").status_code == 302
    assert client.get("/admin/people/").status_code == 403


def test_a_person_revoked_mid_session_loses_access_at_the_next_click(client, s):
    client.login(s.learner.email)
    assert client.get("/paths").status_code == 200
    membership_of(s.learner, s.account).status = "revoked"
    db.session.commit()
    response = client.get("/paths")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/accounts")


def test_people_cannot_be_deleted(admin_client, s):
    membership = membership_of(s.learner, s.account)
    response = admin_client.post_form("/admin/people/delete/", {"id": str(membership.id)},
                                      token_page="/admin/people/")
    assert response.status_code == 302
    assert membership_of(s.learner, s.account) is not None
    response = admin_client.post_form("/admin/people/action/",
                                      {"action": "delete", "rowid": [str(membership.id)]},
                                      token_page="/admin/people/")
    assert response.status_code == 302
    assert membership_of(s.learner, s.account) is not None


def test_people_text_is_escaped_and_not_exported_generically(admin_client, s):
    make_member(s.account, "member", full_name='<b id="x">Bold</b> =HYPERLINK("http://evil")',
                email="bold@example.test")
    db.session.commit()
    page = people_page(admin_client)
    assert '<b id="x">' not in page
    assert "&lt;b id=&#34;x&#34;&gt;Bold&lt;/b&gt;" in page or \
        "&lt;b id=&quot;x&quot;&gt;Bold&lt;/b&gt;" in page
    # People leave the back office only through the Mentor Group reports (test_reports.py).
    assert "/admin/people/export/" not in page
    response = admin_client.get("/admin/people/export/csv/")
    assert response.status_code == 302
    assert "bold@example.test" not in text_of(response)


def test_sent_emails_export_prefixes_formulas(admin_client, s):
    subjects = ["=1+2", "+SUM(A1)", "-2+3", "@cmd", "  =HYPERLINK(\"x\")", "\t=1", "Plain"]
    for subject in subjects:
        add_sent_email(s.account, subject, recipient="=evil@example.test")
    rows = export_rows(admin_client, "sent_emails")
    assert rows[0][:3] == ["Queued", "Recipient", "Subject"]
    exported = {row[2] for row in rows[1:]}
    assert exported == {"'=1+2", "'+SUM(A1)", "'-2+3", "'@cmd", "'  =HYPERLINK(\"x\")",
                        "'\t=1", "Plain"}
    assert {row[1] for row in rows[1:]} == {"'=evil@example.test"}


# --------------------------------------------------------------------------- Paths


def test_create_a_path_with_inline_steps(admin_client, s):
    response = admin_client.post_form("/admin/paths/new/", path_form("Pottery basics", [
        {"title": "Wedge the clay", "body": "Knead it.", "position": 2},
        {"title": "Centre it", "position": 1, "points": 5, "requires_review": True},
        {"title": "Throw a cup", "position": 3, "points": 1000},
    ], description="From the ground up"))
    assert "Record was successfully created." in follow(admin_client, response)

    path = db.session.scalar(select(Path).where(Path.title == "Pottery basics"))
    assert path.account_id == s.account.id
    assert path.description == "From the ground up"
    steps = [(st.position, st.title, st.requires_review, st.points) for st in path.steps]
    assert steps == [(1, "Centre it", True, 5), (2, "Wedge the clay", False, None),
                     (3, "Throw a cup", False, 1000)]
    page = text_of(admin_client.get("/admin/paths/"))
    assert "Pottery basics" in page
    assert "3 steps, <span title='marked for review'>1 for review</span>" in page


def test_edit_a_path_adds_changes_and_removes_steps(admin_client, s):
    path = s.path
    step_ids = [step.id for step in path.steps]
    data = {"title": "Renamed", "description": ""}
    for index, step in enumerate(path.steps):
        data.update({f"steps-{index}-id": str(step.id), f"steps-{index}-title": step.title,
                     f"steps-{index}-position": str(step.position),
                     f"steps-{index}-body": "", f"steps-{index}-points": ""})
    data["steps-0-title"] = "First, renamed"
    data["del-steps-3"] = "on"
    data.update({"steps-4-title": "New last step", "steps-4-position": "9",
                 "steps-4-points": "7"})
    response = admin_client.post_form(f"/admin/paths/edit/?id={path.id}", data)
    assert "Record was successfully saved." in follow(admin_client, response)
    db.session.expire_all()
    path = db.session.get(Path, path.id)
    assert path.title == "Renamed"
    assert [st.title for st in path.steps] == ["First, renamed", "Step 2", "Step 3",
                                               "New last step"]
    assert [st.position for st in path.steps] == [1, 2, 3, 4]
    assert path.steps[0].id == step_ids[0]
    assert db.session.get(Step, step_ids[3]) is None


@pytest.mark.parametrize("points", ["0", "-5", "1001", "99999"])
def test_step_points_outside_1_to_1000_are_refused_clearly(admin_client, s, points):
    paths, steps = count(Path), count(Step)
    response = admin_client.post_form("/admin/paths/new/", path_form("Scored path", [
        {"title": "Fine", "points": 10}, {"title": "Too many", "points": points}]))
    assert response.status_code == 200
    assert "Points must be from 1 to 1000, or empty." in text_of(response)
    assert "Record was successfully created." not in text_of(response)
    assert (count(Path), count(Step)) == (paths, steps)


def test_step_points_not_a_number_are_refused(admin_client, s):
    paths = count(Path)
    response = admin_client.post_form("/admin/paths/new/", path_form("Scored path", [
        {"title": "Odd", "points": "ten"}]))
    assert response.status_code == 200
    assert "Not a valid integer value." in text_of(response)
    assert count(Path) == paths


def test_editing_a_step_to_bad_points_changes_nothing(admin_client, s):
    step = s.path.steps[2]
    response = admin_client.post_form(f"/admin/paths/edit/?id={s.path.id}", {
        "title": "Changed", "description": "",
        "steps-0-id": str(step.id), "steps-0-title": step.title,
        "steps-0-position": str(step.position), "steps-0-points": "1001"})
    assert "Points must be from 1 to 1000, or empty." in text_of(response)
    db.session.expire_all()
    assert db.session.get(Path, s.path.id).title == s.path.title
    assert db.session.get(Step, step.id).points == 10


def test_a_path_title_with_html_is_escaped_everywhere(admin_client, s):
    title = '<script>alert("path")</script><img src=x onerror=alert(1)>'
    response = admin_client.post_form("/admin/paths/new/", path_form(title, [
        {"title": "<b>bold step</b>"}]))
    assert "Record was successfully created." in follow(admin_client, response)
    path = db.session.scalar(select(Path).where(Path.title == title))
    assert path is not None  # stored as typed

    escaped = "&lt;script&gt;alert(&#34;path&#34;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;"
    for url in ("/admin/paths/", f"/admin/paths/details/?id={path.id}",
                f"/admin/paths/edit/?id={path.id}", "/admin/cohorts/new/"):
        page = text_of(admin_client.get(url))
        assert "<script>alert(" not in page, url
        assert "<img src=x" not in page, url
        assert escaped in page.replace("&quot;", "&#34;"), url
    db.session.add(Cohort(path=path, name="Escaped group"))
    db.session.commit()
    page = text_of(admin_client.get("/admin/cohorts/"))
    assert "<script>alert(" not in page
    assert escaped in page.replace("&quot;", "&#34;")
    edit = text_of(admin_client.get(f"/admin/paths/edit/?id={path.id}"))
    assert "<b>bold step</b>" not in edit
    assert "&lt;b&gt;bold step&lt;/b&gt;" in edit


def test_paths_export_is_formula_safe(admin_client, s):
    make_path(s.account, title="=HYPERLINK(\"http://evil\",\"x\")", steps=2)
    make_path(s.account, title="@SUM(1+1)", steps=1)
    db.session.commit()
    rows = export_rows(admin_client, "paths")
    assert rows[0] == ["Title", "Steps", "Created"]
    titles = {row[0]: row[1] for row in rows[1:]}
    assert titles["'=HYPERLINK(\"http://evil\",\"x\")"] == "2"
    assert titles["'@SUM(1+1)"] == "1"
    assert titles[s.path.title] == "4"


def test_deleting_a_path_removes_its_steps_and_cohorts(admin_client, s):
    step = s.path.steps[1]
    db.session.add(StepCompletion(user_id=s.learner.id, step_id=s.path.steps[0].id,
                                  cohort_id=s.cohort.id))
    db.session.add(Submission(account_id=s.account.id, user_id=s.learner.id, step_id=step.id,
                              cohort_id=s.cohort.id, content="My work"))
    db.session.commit()
    response = admin_client.post_form("/admin/paths/delete/", {"id": str(s.path.id)},
                                      token_page="/admin/paths/")
    assert "Record was successfully deleted." in follow(admin_client, response)
    assert (count(Path), count(Step), count(Cohort), count(CohortMembership)) == (0, 0, 0, 0)
    assert (count(Submission), count(StepCompletion)) == (0, 0)


# --------------------------------------------------------------------------- Cohorts


def cohort_form(path_id, name: str, people: list[tuple] = ()) -> dict:
    data = {"path": str(path_id), "name": name, "starts_on": ""}
    for index, (user_id, role) in enumerate(people):
        data[f"memberships-{index}-user"] = str(user_id)
        data[f"memberships-{index}-role"] = role
    return data


@pytest.fixture
def other(app):
    """Another school, with a path and a person of its own."""
    account = make_account(name="Other School")
    person = make_member(account, "member", full_name="Outsider Person",
                         email="outsider@example.test")
    path = make_path(account, title="Outsider path", steps=1)
    db.session.commit()
    return type("Other", (), dict(account=account, person=person, path=path))


def test_create_a_cohort_with_people(admin_client, s):
    response = admin_client.post_form("/admin/cohorts/new/", cohort_form(
        s.path.id, "Spring group", [(s.learner.id, "learner"), (s.teacher.id, "teacher")]))
    assert "Record was successfully created." in follow(admin_client, response)
    cohort = db.session.scalar(select(Cohort).where(Cohort.name == "Spring group"))
    assert cohort.path_id == s.path.id
    assert sorted((m.user_id, m.role) for m in cohort.memberships) == sorted(
        [(s.learner.id, "learner"), (s.teacher.id, "teacher")])
    page = text_of(admin_client.get("/admin/cohorts/"))
    assert "Spring group" in page
    assert "1 learner, 1 teacher, 0 moderators" in page


def test_a_cohort_with_a_forged_path_of_another_school_is_refused(admin_client, s, other):
    cohorts = count(Cohort)
    response = admin_client.post_form("/admin/cohorts/new/", cohort_form(
        other.path.id, "Sneaky group", [(s.learner.id, "learner")]))
    assert response.status_code == 200
    assert "Not a valid choice" in text_of(response)
    assert "Outsider path" not in text_of(response)
    assert count(Cohort) == cohorts
    assert db.session.scalar(select(Cohort).where(Cohort.name == "Sneaky group")) is None


def test_moving_a_cohort_to_a_forged_path_is_refused(admin_client, s, other):
    response = admin_client.post_form(f"/admin/cohorts/edit/?id={s.cohort.id}",
                                      cohort_form(other.path.id, "Moved"))
    assert "Not a valid choice" in text_of(response)
    db.session.expire_all()
    cohort = db.session.get(Cohort, s.cohort.id)
    assert (cohort.path_id, cohort.name) == (s.path.id, "Cohort A")


def test_path_dropdown_lists_only_this_schools_paths(admin_client, s, other):
    page = text_of(admin_client.get("/admin/cohorts/new/"))
    options = select_options(page, "path")
    assert options == {str(s.path.id): s.path.title}


def test_people_dropdown_lists_only_this_schools_active_people(admin_client, s, other):
    revoked = make_member(s.account, "member", status="revoked", full_name="Revoked Rita")
    db.session.commit()
    page = text_of(admin_client.get(f"/admin/cohorts/edit/?id={s.cohort.id}"))
    options = select_options(page, "memberships-0-user")
    expected = {s.admin, s.teacher, s.learner, s.other}
    assert set(options) == {str(u.id) for u in expected}
    assert all(str(u.id) != str(revoked.id) for u in expected)
    assert "Outsider" not in page
    assert "Revoked Rita" not in page
    for user in expected:
        assert options[str(user.id)] == f"{user.full_name} &lt;{user.email}&gt;"


def test_the_new_person_template_lists_only_this_schools_active_people(admin_client, s,
                                                                        other):
    make_member(s.account, "member", status="revoked", full_name="Revoked Rita")
    db.session.commit()
    page = text_of(admin_client.get("/admin/cohorts/new/"))
    assert "Outsider" not in page
    assert "Revoked Rita" not in page


@pytest.mark.parametrize("who", ["outsider", "revoked", "unknown", "nonsense"])
def test_a_forged_person_in_the_inline_form_is_refused(admin_client, s, other, who):
    revoked = make_member(s.account, "member", status="revoked", full_name="Revoked Rita")
    loner = make_user(full_name="Loner")  # in no school at all
    db.session.commit()
    user_id = {"outsider": other.person.id, "revoked": revoked.id, "unknown": loner.id,
               "nonsense": "abc"}[who]
    before = count(CohortMembership), count(Cohort)

    response = admin_client.post_form("/admin/cohorts/new/", cohort_form(
        s.path.id, "Forged group", [(s.learner.id, "learner"), (user_id, "learner")]))
    assert response.status_code == 200
    assert "Not a valid choice" in text_of(response)
    assert (count(CohortMembership), count(Cohort)) == before

    # The same person forged into an existing cohort's new row.
    data = cohort_form(s.path.id, "Cohort A")
    for index, m in enumerate(s.cohort.memberships):
        data.update({f"memberships-{index}-id": str(m.id),
                     f"memberships-{index}-user": str(m.user_id),
                     f"memberships-{index}-role": m.role})
    data.update({"memberships-9-user": str(user_id), "memberships-9-role": "teacher"})
    response = admin_client.post_form(f"/admin/cohorts/edit/?id={s.cohort.id}", data)
    assert "Not a valid choice" in text_of(response)
    assert (count(CohortMembership), count(Cohort)) == before
    assert "Outsider" not in text_of(response)


def test_a_forged_inline_row_id_of_another_cohort_does_not_take_it_over(admin_client, s,
                                                                        other):
    """Posting another school's cohort membership id as an inline row's id adds a new row
    to this cohort; the other school's row is left alone."""
    outsider_cohort = Cohort(path=other.path, name="Outsider cohort")
    outsider_cohort.memberships.append(CohortMembership(user=other.person, role="learner"))
    db.session.add(outsider_cohort)
    db.session.commit()
    foreign = outsider_cohort.memberships[0]

    data = cohort_form(s.path.id, "Cohort A")
    data.update({"memberships-0-id": str(foreign.id),
                 "memberships-0-user": str(s.admin.id), "memberships-0-role": "moderator"})
    response = admin_client.post_form(f"/admin/cohorts/edit/?id={s.cohort.id}", data)
    assert response.status_code == 302
    db.session.expire_all()
    foreign = db.session.get(CohortMembership, foreign.id)
    assert (foreign.cohort_id, foreign.user_id, foreign.role) == (
        outsider_cohort.id, other.person.id, "learner")


def test_the_same_person_twice_in_a_cohort_is_refused(admin_client, s):
    before = count(CohortMembership), count(Cohort)
    response = admin_client.post_form("/admin/cohorts/new/", cohort_form(
        s.path.id, "Twice group", [(s.learner.id, "learner"), (s.learner.id, "teacher")]))
    assert response.status_code == 200
    assert "Record was successfully created." not in text_of(response)
    assert f"{s.learner.full_name} is in this cohort twice: keep one row per person." in \
        text_of(response)
    assert "INSERT" not in text_of(response)
    assert (count(CohortMembership), count(Cohort)) == before
    # The page still works after the refused save (the session was rolled back).
    assert admin_client.get("/admin/cohorts/").status_code == 200


def test_a_cohort_name_with_html_is_escaped(admin_client, s):
    s.cohort.name = "<i>Fancy</i> & co"
    db.session.commit()
    for url in ("/admin/cohorts/", f"/admin/cohorts/details/?id={s.cohort.id}"):
        page = text_of(admin_client.get(url))
        assert "<i>Fancy</i>" not in page
        assert "&lt;i&gt;Fancy&lt;/i&gt; &amp; co" in page


def test_cohorts_list_counts_people_by_role(admin_client, s):
    page = text_of(admin_client.get("/admin/cohorts/"))
    assert "2 learners, 1 teacher, 0 moderators" in page


# --------------------------------------------------------------------------- Sent emails


def test_sent_emails_are_read_only(admin_client, s):
    email = add_sent_email(s.account, "Welcome")
    page = text_of(admin_client.get("/admin/sent_emails/"))
    assert "Welcome" in page
    assert "/admin/sent_emails/new/" not in page
    assert "/admin/sent_emails/edit/" not in page
    assert "/admin/sent_emails/delete/" not in page

    response = admin_client.get("/admin/sent_emails/new/")
    assert response.status_code == 302
    token = admin_client.csrf("/admin/sent_emails/")
    response = admin_client.post("/admin/sent_emails/new/", data={
        "csrf_token": token, "recipient": "x@example.test", "subject": "Forged", "body": "x",
        "status": "sent", "idempotency_key": "forged"})
    assert response.status_code == 302
    assert admin_client.get(f"/admin/sent_emails/edit/?id={email.id}").status_code == 302
    response = admin_client.post(f"/admin/sent_emails/edit/?id={email.id}", data={
        "csrf_token": token, "subject": "Changed"})
    assert response.status_code == 302
    response = admin_client.post("/admin/sent_emails/delete/",
                                 data={"csrf_token": token, "id": str(email.id)})
    assert response.status_code == 302
    response = admin_client.post("/admin/sent_emails/action/", data={
        "csrf_token": token, "action": "delete", "rowid": str(email.id)})
    assert response.status_code == 302

    db.session.expire_all()
    assert count(SentEmail) == 1
    assert db.session.get(SentEmail, email.id).subject == "Welcome"


def test_sent_email_details_escape_the_body(admin_client, s):
    email = add_sent_email(s.account, "<b>Subject</b>", body="<script>alert('body')</script>")
    page = text_of(admin_client.get(f"/admin/sent_emails/details/?id={email.id}"))
    assert "<script>alert('body')</script>" not in page
    assert "&lt;script&gt;alert(&#39;body&#39;)&lt;/script&gt;" in page
    assert "&lt;b&gt;Subject&lt;/b&gt;" in page


@pytest.mark.parametrize("subject", [
    '=HYPERLINK("http://evil.example","click")', "+1+2", "-1+2", "@SUM(A1:A2)",
    "=cmd|' /C calc'!A0",
])
def test_sent_emails_export_neutralises_formulas(admin_client, s, subject):
    add_sent_email(s.account, subject, recipient="=evil@example.test")
    add_sent_email(s.account, "Plain subject", recipient="plain@example.test")
    rows = export_rows(admin_client, "sent_emails")
    assert rows[0] == ["Queued", "Recipient", "Subject", "Status", "Tries", "Reason", "Sent"]
    by_subject = {row[2]: row for row in rows[1:]}
    assert "'" + subject in by_subject
    assert subject not in by_subject
    assert by_subject["'" + subject][1] == "'=evil@example.test"
    assert by_subject["Plain subject"][1] == "plain@example.test"
    for row in rows[1:]:
        for cell in row:
            assert cell[:1] not in ("=", "+", "-", "@"), row


def test_sent_emails_list_shows_only_this_school(admin_client, s, other):
    add_sent_email(s.account, "Ours")
    add_sent_email(other.account, "Theirs")
    email_without_school = add_sent_email(s.account, "Nobody's")
    email_without_school.account_id = None
    db.session.commit()
    page = text_of(admin_client.get("/admin/sent_emails/"))
    assert "Ours" in page
    assert "Theirs" not in page
    assert "Nobody&#39;s" not in page and "Nobody's" not in page
    rows = export_rows(admin_client, "sent_emails")
    assert [row[2] for row in rows[1:]] == ["Ours"]


# --------------------------------------------------------------------------- home


def test_back_office_home_and_navigation(admin_client, s):
    page = text_of(admin_client.get("/admin/"))
    for label in ("People", "Paths", "Cohorts", "Sent emails"):
        assert label in page
    assert s.account.name in page
    assert PASSWORD not in page
