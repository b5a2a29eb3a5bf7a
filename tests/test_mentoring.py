"""Mentors at work: who is notified, who may review, what a mentor sees."""

import pytest
from sqlalchemy import func, select, update

from mentorgroups.extensions import db
from mentorgroups.jobs.runner import run_outbox_job
from mentorgroups.models import (
    AccountMembership,
    Notification,
    OutboxJob,
    SentEmail,
    StepCompletion,
)
from mentorgroups.services import group_members as gm
from mentorgroups.services import group_reach, groups, learning, mentoring
from mentorgroups.services.errors import NotFound
from tests.conftest import statements_for
from tests.factories import make_account, make_cohort, make_member, make_path, school


def count(model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def group_with(s, name, **roles):
    group = groups.create_group(s.admin, s.account.id, name)
    for role, people in roles.items():
        gm.add_members(s.admin, s.account.id, group.id, role, user_ids=[p.id for p in people])
    db.session.commit()
    return group


def submit(s, learner=None, step=1):
    submission = learning.submit_for_review(learner or s.learner, s.account.id,
                                            s.path.steps[step].id, "work")
    db.session.commit()
    return submission


def notified(submission_id=None):
    """(user id, notifications, emails) for everyone told about submissions."""
    rows = {}
    for user_id, in db.session.execute(select(Notification.user_id).where(
            Notification.kind == "submission")):
        rows.setdefault(user_id, [0, 0])[0] += 1
    for email, in db.session.execute(select(SentEmail.recipient).where(
            SentEmail.idempotency_key.like("submission:%"))):
        from mentorgroups.models import User

        uid = db.session.scalar(select(User.id).where(User.email == email))
        rows.setdefault(uid, [0, 0])[1] += 1
    return {uid: tuple(v) for uid, v in rows.items()}


def test_recipient_rules(app):
    s = school(plan="complete")
    mentor_one = make_member(s.account, "staff", full_name="One Group")
    mentor_two = make_member(s.account, "staff", full_name="Two Groups")
    group_admin = make_member(s.account, "staff", full_name="Only Group Admin")
    mentee = make_member(s.account, "member", full_name="Mentee")
    group_with(s, "A", member=[s.learner], mentor=[mentor_one, mentor_two, s.teacher],
               group_admin=[group_admin])
    group_with(s, "B", member=[s.learner], mentor=[mentor_two])
    # the learner mentors someone else: that does not make them hear of their own work
    group_with(s, "C", member=[mentee], mentor=[s.learner])
    # a mentor in another school, of a group the same person belongs to there
    other = make_account(plan="complete")
    foreign_admin = make_member(other, "admin")
    make_member(other, "member", user=s.learner)
    foreign_mentor = make_member(other, "staff", full_name="Foreign Mentor")
    foreign_group = groups.create_group(foreign_admin, other.id, "Elsewhere")
    gm.add_members(foreign_admin, other.id, foreign_group.id, "member", user_ids=[s.learner.id])
    gm.add_members(foreign_admin, other.id, foreign_group.id, "mentor",
                   user_ids=[foreign_mentor.id])
    db.session.commit()

    submit(s)
    expected = {mentor_one.id: (1, 1), mentor_two.id: (1, 1), s.teacher.id: (1, 1)}
    assert notified() == expected  # not: group admin, learner, foreign mentor
    # (revoked and deactivated mentors: test_mentoring_two_schools.py)

    # a second submission by the mentee reaches the learner, who mentors them
    make_cohort(s.path, name="Other cohort", learners=[mentee])
    db.session.commit()
    learning.submit_for_review(mentee, s.account.id, s.path.steps[1].id, "mentee work")
    db.session.commit()
    assert notified()[s.learner.id] == (1, 1)


def test_fan_out_twice_notifies_once(app):
    s = school(plan="complete")
    mentor = make_member(s.account, "staff")
    group_with(s, "A", member=[s.learner], mentor=[mentor])
    submit(s)
    job_id = db.session.scalar(select(OutboxJob.id).where(OutboxJob.name == "notify_submission"))
    db.session.execute(update(OutboxJob).values(status="enqueued"))
    db.session.commit()
    run_outbox_job(job_id)
    assert notified() == {mentor.id: (1, 1), s.teacher.id: (1, 1)}


def test_review_notifies_the_learner_in_app(app):
    s = school(plan="complete")
    mentor = make_member(s.account, "staff")
    group_with(s, "A", member=[s.learner], mentor=[mentor])
    submission = submit(s, step=2)
    learning.review_submission(mentor, submission.id, "7", "Good")
    db.session.commit()
    note = db.session.scalar(select(Notification).where(Notification.user_id == s.learner.id))
    assert note.kind == "review" and note.link.startswith(f"/paths/{s.path.id}")
    assert count(SentEmail, SentEmail.recipient == s.learner.email) == 1


def test_who_may_review_through_groups(app):
    s = school(plan="complete")
    mentor, stranger, ga = (make_member(s.account, "staff") for _ in range(3))
    top = group_with(s, "Top", group_admin=[ga])
    child = groups.create_group(s.admin, s.account.id, "Child", "", top.id)
    gm.add_members(s.admin, s.account.id, child.id, "member", user_ids=[s.learner.id])
    gm.add_members(s.admin, s.account.id, child.id, "mentor", user_ids=[mentor.id])
    group_with(s, "Elsewhere", mentor=[stranger], member=[s.other])
    submission = submit(s, step=2)
    assert learning.can_review(mentor, submission)
    assert learning.can_review(ga, submission)  # rights flow down the tree
    assert not learning.can_review(stranger, submission)
    with pytest.raises(NotFound):
        learning.review_submission(stranger, submission.id, "5", "")
    assert [x.id for x in learning.pending_reviews_for(mentor, s.account.id)] == [submission.id]
    assert learning.pending_reviews_for(stranger, s.account.id) == []
    db.session.execute(update(AccountMembership).where(AccountMembership.user_id == mentor.id)
                       .values(status="revoked"))
    assert not learning.can_review(mentor, submission)
    # Without access to the school nobody reaches a group, whatever their rows in it.
    db.session.execute(update(AccountMembership).where(AccountMembership.user_id == ga.id)
                       .values(status="revoked"))
    assert group_reach.mentored_select(mentor, s.account.id) is None
    assert mentoring.mentored_group_ids(ga, s.account.id) == set()
    for person, group in ((mentor, child), (ga, child), (ga, top)):
        assert not group_reach.mentors(person, s.account.id, group.id)
        assert not group_reach.manages(person, s.account.id, group.id)


def test_mentor_pages_and_scope(client):
    s = school(plan="complete")
    mentor = make_member(s.account, "staff", full_name="Mia Mentor")
    group = group_with(s, "Coaching", member=[s.learner], mentor=[mentor])
    other_group = group_with(s, "Not mine", member=[s.other])
    learning.complete_step(s.learner, s.account.id, s.path.steps[0].id)
    submit(s)
    client.login(mentor.email)
    home = client.get("/people/groups").get_data(as_text=True)
    assert "Coaching" in home and "Not mine" not in home and "1 waiting for review" in home
    page = client.get(f"/people/groups/{group.id}").get_data(as_text=True)
    assert s.learner.full_name in page and s.other.full_name not in page
    assert f"/people/{s.learner.id}?tab=review" in page and "2/4" in page
    assert client.get(f"/people/groups/{other_group.id}").status_code == 404
    card = client.get(f"/people/{s.learner.id}?tab=review").get_data(as_text=True)
    assert "Step 2" in card and "/review/" in card
    assert "Completed <strong>Step 1</strong>" in client.get(
        f"/people/{s.learner.id}?tab=activity").get_data(as_text=True)
    assert client.get(f"/people/{s.other.id}").status_code == 404
    foreign = make_member(make_account(), "member")
    db.session.commit()
    assert client.get(f"/people/{foreign.id}").status_code == 404


def test_group_page_query_count_does_not_grow_with_members(client):
    s = school(plan="complete")
    mentor = make_member(s.account, "staff")
    group = group_with(s, "G", member=[s.learner], mentor=[mentor])
    submit(s)
    client.login(mentor.email)

    few = statements_for(client, f"/people/groups/{group.id}")
    more = [make_member(s.account, "member") for _ in range(25)]
    make_cohort(make_path(s.account), learners=more)
    gm.add_members(s.admin, s.account.id, group.id, "member", user_ids=[p.id for p in more])
    db.session.commit()
    for person in more[:10]:
        db.session.add(StepCompletion(user_id=person.id, step_id=s.path.steps[0].id,
                                      cohort_id=s.cohort.id))
    db.session.commit()
    assert statements_for(client, f"/people/groups/{group.id}") == few


def test_notification_list_and_marking_read(client):
    s = school(plan="complete")
    mentor = make_member(s.account, "staff")
    group_with(s, "G", member=[s.learner, s.other], mentor=[mentor])
    submit(s)
    submit(s, learner=s.other)
    client.login(mentor.email)
    page = client.get("/notifications").get_data(as_text=True)
    assert page.count('data-testid="notification"') == 2
    assert 'aria-label="Notifications: 2 unread"' in page
    first = db.session.scalar(select(Notification).where(Notification.user_id == mentor.id))
    response = client.post_form(f"/notifications/{first.id}/open", token_page="/notifications")
    assert response.headers["Location"] == first.link
    assert 'Notifications: 1 unread' in client.get("/notifications").get_data(as_text=True)
    client.post_form("/notifications/read", token_page="/notifications")
    assert 'Notifications: 0 unread' in client.get("/notifications").get_data(as_text=True)
    theirs = db.session.scalar(select(Notification).where(Notification.user_id != mentor.id))
    assert client.post_form(f"/notifications/{theirs.id}/open",
                            token_page="/notifications").status_code == 404


def test_mentor_home_lists_groups_then_cohorts(app):
    s = school(plan="complete")
    group_with(s, "Coaching", mentor=[s.teacher], member=[s.learner])
    group_rows, cohort_rows = mentoring.mentor_home(s.teacher, s.account.id)
    assert [r["group"].name for r in group_rows] == ["Coaching"]
    assert [r["cohort"].id for r in cohort_rows] == [s.cohort.id]


def test_after_a_review_the_mentor_returns_where_they_came_from(client):
    s = school(plan="complete")
    mentor = make_member(s.account, "staff")
    group_with(s, "G", member=[s.learner, s.other], mentor=[mentor])
    first, second = submit(s, step=2), submit(s, learner=s.other, step=2)
    client.login(mentor.email)
    back = f"/people/{s.learner.id}?tab=review"
    card = client.get(back).get_data(as_text=True)
    assert f"/review/{first.id}?next=" in card
    response = client.post_form(f"/review/{first.id}", {"grade": "5", "feedback": "ok",
                                                        "next": back})
    assert response.headers["Location"] == back
    response = client.post_form(f"/review/{second.id}", {"grade": "5", "feedback": "ok",
                                                         "next": "https://evil.test/"})
    assert response.headers["Location"] == "/review/"
