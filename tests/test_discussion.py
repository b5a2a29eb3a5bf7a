"""The discussion on a submission, at the service: who may reply, what a reply may say, and
who is told of it (in-app and by email, once per person) and who is not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from mentorgroups.discussion.text import linkify
from mentorgroups.extensions import db
from mentorgroups.jobs.runner import run_outbox_job
from mentorgroups.models import (
    AccountMembership,
    Notification,
    OutboxJob,
    SentEmail,
    SubmissionMessage,
    User,
)
from mentorgroups.services import discussion, groups, learning
from mentorgroups.services import group_members as gm
from mentorgroups.services.errors import NotFound, PermissionDenied, ServiceError
from tests.conftest import statements_of
from tests.factories import make_account, make_member, school
from tests.kept_scenes import kept_scene

CLOCK_START = datetime(2026, 3, 2, 15, 30, tzinfo=UTC)


def group_with(s, name, **roles):
    group = groups.create_group(s.admin, s.account.id, name)
    for role, people in roles.items():
        gm.add_members(s.admin, s.account.id, group.id, role, user_ids=[p.id for p in people])
    db.session.commit()
    return group


def revoke(person, account):
    db.session.execute(update(AccountMembership).where(
        AccountMembership.user_id == person.id, AccountMembership.account_id == account.id)
        .values(status="revoked"))
    db.session.commit()


def reply(actor, s, submission, body="A reply"):
    message = discussion.add_reply(actor, s.account.id, submission.id, body)
    db.session.commit()
    return message


def told(message=None) -> dict[int, tuple[int, int]]:
    """user id -> (reply notifications, reply emails sent to them): of every reply, or of
    this one message."""
    key = f"reply:{message.id}:user:%" if message else "reply:%"
    rows: dict[int, list[int]] = {}
    for uid, in db.session.execute(select(Notification.user_id).where(
            Notification.kind == "reply", Notification.key.like(key))):
        rows.setdefault(uid, [0, 0])[0] += 1
    for uid, in db.session.execute(
            select(User.id).join(SentEmail, SentEmail.recipient == User.email)
            .where(SentEmail.idempotency_key.like(key),
                   SentEmail.status.in_(("sent", "logged")))):
        rows.setdefault(uid, [0, 0])[1] += 1
    return {uid: tuple(v) for uid, v in rows.items()}


def nothing_written():
    return (db.session.scalar(select(func.count()).select_from(SubmissionMessage)) == 0
            and db.session.scalar(select(func.count()).select_from(OutboxJob).where(
                OutboxJob.name == "notify_reply")) == 0)


@pytest.fixture
def scene(app, clock, request):
    return kept_scene(request, build_scene)


def build_scene():
    """Lia's submission in a school where Mia and Max mentor her group, Tom teaches her
    cohort, Gil is a Group Admin of her group (may review, not told of submissions), Rita
    mentored her group until her access was revoked, Sol mentors another group only; Lia is
    also a member of a group at another school, mentored by Fay."""
    s = school(plan="complete")
    s.mia = make_member(s.account, "staff", full_name="Mia Mentor")
    s.max = make_member(s.account, "staff", full_name="Max Mentor")
    s.gil = make_member(s.account, "staff", full_name="Gil Groupadmin")
    s.rita = make_member(s.account, "staff", full_name="Rita Revoked")
    s.sol = make_member(s.account, "staff", full_name="Sol Stranger")
    group_with(s, "Coaching", member=[s.learner], mentor=[s.mia, s.max, s.rita],
               group_admin=[s.gil])
    group_with(s, "Elsewhere", member=[s.other], mentor=[s.sol])
    revoke(s.rita, s.account)
    other = make_account(plan="complete")
    foreign_admin = make_member(other, "admin")
    make_member(other, "member", user=s.learner)
    s.fay = make_member(other, "staff", full_name="Fay Foreign")
    foreign = groups.create_group(foreign_admin, other.id, "Abroad")
    gm.add_members(foreign_admin, other.id, foreign.id, "member", user_ids=[s.learner.id])
    gm.add_members(foreign_admin, other.id, foreign.id, "mentor", user_ids=[s.fay.id])
    s.other_school, s.foreign_admin = other, foreign_admin
    db.session.commit()
    s.submission = learning.submit_for_review(s.learner, s.account.id, s.path.steps[2].id,
                                              "My work")
    db.session.commit()
    return s


def test_a_reviewer_writes_and_only_the_learner_is_told(scene):
    s = scene
    reply(s.mia, s, s.submission, "Can you say how you tested it?")
    assert told() == {s.learner.id: (1, 1)}  # not Mia, Max, Tom, Gil, Rita, Sol, Fay
    note = db.session.scalar(select(Notification).where(Notification.kind == "reply"))
    assert note.account_id == s.account.id
    assert note.link == f"/paths/{s.path.id}#discussion-{s.submission.id}"
    assert note.text == f"Mia Mentor replied about your work on \u201c{s.path.steps[2].title}\u201d"
    email = db.session.scalar(select(SentEmail).where(SentEmail.idempotency_key.like("reply:%")))
    assert "Can you say how you tested it?" in email.body
    assert "02 Mar 2026, 15:30 UTC" in email.body  # the school's zone (UTC here)
    assert f"/paths/{s.path.id}#discussion-{s.submission.id}" in email.body


def test_the_learner_writes_first_and_every_current_recipient_is_told(scene):
    s = scene
    reply(s.learner, s, s.submission, "Is the second part needed?")
    # Mentors of her groups in this school and her cohort's teacher; not Gil (a Group Admin is
    # not told of submissions), not Rita (revoked), not Sol (not hers), not Fay (another
    # school), not Lia herself.
    assert told() == {s.mia.id: (1, 1), s.max.id: (1, 1), s.teacher.id: (1, 1)}
    links = set(db.session.scalars(select(Notification.link).where(Notification.kind == "reply")))
    assert links == {f"/review/{s.submission.id}#discussion-{s.submission.id}"}


def test_once_someone_took_part_only_they_are_told(scene, clock):
    s = scene
    learning.review_submission(s.max, s.submission.id, "7", "Good start")
    db.session.commit()
    clock.shift(timedelta(minutes=1))
    reply(s.gil, s, s.submission, "Nice work on the sensors.")  # a Group Admin may review
    assert told() == {s.learner.id: (1, 1)}
    clock.shift(timedelta(minutes=1))
    reply(s.learner, s, s.submission, "Thanks! What would make it a 10?")
    # Max reviewed, Gil replied: they are told; Mia and Tom, who did neither, are not.
    assert told() == {s.learner.id: (1, 1), s.max.id: (1, 1), s.gil.id: (1, 1)}


def test_who_took_part_in_another_discussion_is_not_told_of_this_one(scene, clock):
    """Mia reviewed and answered Lia's earlier step, Tom reviewed and answered Olu's work: both
    may review this submission too, but took no part in it; only Max, its reviewer, is."""
    s = scene
    earlier = learning.submit_for_review(s.learner, s.account.id, s.path.steps[1].id, "Draft")
    olus = learning.submit_for_review(s.other, s.account.id, s.path.steps[2].id, "Olu's work")
    db.session.commit()
    learning.review_submission(s.mia, earlier.id, None, "Fine")
    learning.review_submission(s.teacher, olus.id, "6", "Close")
    learning.review_submission(s.max, s.submission.id, "8", "Good")
    db.session.commit()
    clock.shift(timedelta(minutes=1))
    reply(s.mia, s, earlier, "One more thing about the draft")
    reply(s.teacher, s, olus, "See me about the wiring")
    clock.shift(timedelta(minutes=1))
    message = reply(s.learner, s, s.submission, "Thanks, what would make it a 10?")
    assert told(message) == {s.max.id: (1, 1)}


def test_a_participant_whose_access_is_revoked_is_not_told(scene, clock):
    s = scene
    reply(s.mia, s, s.submission, "First question")
    revoke(s.mia, s.account)
    clock.shift(timedelta(minutes=1))
    reply(s.learner, s, s.submission, "Answer")
    # Mia was the only one who took part and is gone: everyone who may review now is told.
    assert told() == {s.learner.id: (1, 1), s.max.id: (1, 1), s.teacher.id: (1, 1)}


def test_a_revoked_learner_is_not_told_and_cannot_reply(scene):
    s = scene
    revoke(s.learner, s.account)
    reply(s.mia, s, s.submission, "Still there?")
    assert told() == {}
    db.session.execute(SubmissionMessage.__table__.delete())
    db.session.execute(OutboxJob.__table__.delete())
    db.session.commit()
    with pytest.raises(PermissionDenied):
        discussion.add_reply(s.learner, s.account.id, s.submission.id, "Let me in")
    db.session.rollback()
    assert nothing_written()


def test_a_deactivated_learner_is_not_told(scene):
    s = scene
    db.session.execute(update(User).where(User.id == s.learner.id).values(active=False))
    db.session.commit()
    reply(s.mia, s, s.submission, "Still there?")
    assert told() == {}


def test_a_learner_in_two_groups_with_shared_mentors_is_told_and_tells_once(scene, clock):
    s = scene
    group_with(s, "Second circle", member=[s.learner], mentor=[s.mia, s.max])
    reply(s.learner, s, s.submission, "Hello both")
    assert told() == {s.mia.id: (1, 1), s.max.id: (1, 1), s.teacher.id: (1, 1)}
    clock.shift(timedelta(minutes=1))
    reply(s.mia, s, s.submission, "Hello")
    clock.shift(timedelta(minutes=1))
    reply(s.learner, s, s.submission, "Thanks, Mia")
    assert told() == {s.mia.id: (2, 2), s.max.id: (1, 1), s.teacher.id: (1, 1),
                      s.learner.id: (1, 1)}


@pytest.mark.parametrize("who", ["sol", "other", "rita"])
def test_someone_who_may_not_review_is_refused_and_nothing_is_written(scene, who):
    s = scene
    with pytest.raises(PermissionDenied):
        discussion.add_reply(getattr(s, who), s.account.id, s.submission.id, "Me too")
    db.session.rollback()
    assert nothing_written()


def test_another_schools_submission_or_an_unknown_id_is_not_found(scene):
    s = scene
    for bad_id in (s.submission.id, s.submission.id + 1000, "x"):
        with pytest.raises(NotFound):
            discussion.add_reply(s.foreign_admin, s.other_school.id, bad_id, "Hi")
        db.session.rollback()
    with pytest.raises(NotFound):
        discussion.add_reply(s.mia, s.account.id, s.submission.id + 1000, "Hi")
    db.session.rollback()
    assert nothing_written()


def test_what_a_reply_may_say(scene):
    s = scene
    for blank in ("", "   \n\t ", None):
        with pytest.raises(ServiceError, match="Write something before sending your reply."):
            discussion.add_reply(s.learner, s.account.id, s.submission.id, blank)
    with pytest.raises(ServiceError) as refused:
        discussion.add_reply(s.learner, s.account.id, s.submission.id, "a" * 5_001)
    assert refused.value.message == ("A reply can be at most 5,000 characters "
                                     "(this one has 5,001).")
    assert refused.value.field == "body"
    db.session.rollback()
    assert nothing_written()
    message = reply(s.learner, s, s.submission, "  line one\r\nline two\r\n" + "b" * 4_980)
    assert message.body.startswith("line one\nline two\nbbb") and len(message.body) == 4_998
    assert len(reply(s.learner, s, s.submission, "c" * 5_000).body) == 5_000


def test_messages_come_back_in_the_order_written(scene, clock):
    s = scene
    first = reply(s.learner, s, s.submission, "one")
    clock.shift(timedelta(seconds=1))
    second = reply(s.mia, s, s.submission, "two")
    third = reply(s.learner, s, s.submission, "three")  # the same instant: by id
    threads = discussion.messages_for([s.submission.id, s.submission.id + 1000])
    assert [m.id for m in threads[s.submission.id]] == [first.id, second.id, third.id]
    assert threads[s.submission.id + 1000] == []
    assert [m.author.full_name for m in threads[s.submission.id]] == [
        "Lia Learner", "Mia Mentor", "Lia Learner"]


def test_each_submission_gets_only_its_own_messages_in_one_statement(scene):
    s = scene
    olus = learning.submit_for_review(s.other, s.account.id, s.path.steps[2].id, "Olu's work")
    db.session.commit()
    reply(s.learner, s, s.submission, "Mine")
    reply(s.other, s, olus, "Olu's question")
    reply(s.teacher, s, olus, "Tom's answer")
    mine, theirs = s.submission.id, olus.id
    db.session.expire_all()
    threads = {}

    def read(ids):
        threads.clear()
        for sid, messages in discussion.messages_for(ids).items():
            threads[sid] = [(m.author.full_name, m.body) for m in messages]

    assert statements_of(lambda: read([mine])) == 1  # authors loaded with them
    assert threads == {mine: [("Lia Learner", "Mine")]}
    assert statements_of(lambda: read([theirs, mine, theirs])) == 1
    assert threads == {mine: [("Lia Learner", "Mine")],
                       theirs: [("Olu Other", "Olu's question"), ("Tom Teacher", "Tom's answer")]}
    assert statements_of(lambda: read([])) == 0  # a page without submissions asks nothing
    assert discussion.messages_for([]) == {}


def test_a_fan_out_run_twice_tells_each_person_once(scene):
    s = scene
    emails = select(func.count()).select_from(OutboxJob).where(OutboxJob.name == "send_email")
    before = db.session.scalar(emails)  # the submission's own
    reply(s.learner, s, s.submission, "Once only")
    job_id = db.session.scalar(select(OutboxJob.id).where(OutboxJob.name == "notify_reply"))
    assert told() == {s.mia.id: (1, 1), s.max.id: (1, 1), s.teacher.id: (1, 1)}
    db.session.execute(update(OutboxJob).where(OutboxJob.id == job_id)
                       .values(status="staged"))  # as a retry after a lost lease finds it
    db.session.commit()
    assert run_outbox_job(job_id) == "done"
    assert told() == {s.mia.id: (1, 1), s.max.id: (1, 1), s.teacher.id: (1, 1)}
    assert db.session.scalar(emails) == before + 3


def test_the_reply_job_counts_the_people_it_tells(scene):
    s = scene
    message = discussion.add_reply(s.learner, s.account.id, s.submission.id, "Counted")
    db.session.flush()
    assert discussion.notify_reply(message.id) == 3  # Mia, Max, Tom
    assert discussion.notify_reply(message.id) == 0  # told already: nothing staged again
    db.session.commit()  # the staged job runs now (in-process) and finds them told
    assert told() == {s.mia.id: (1, 1), s.max.id: (1, 1), s.teacher.id: (1, 1)}


def test_a_reply_job_for_a_message_deleted_since_does_nothing(scene):
    s = scene
    message = reply(s.learner, s, s.submission, "Wrong thread, sorry")
    message_id = message.id
    job_id = db.session.scalar(select(OutboxJob.id).where(OutboxJob.name == "notify_reply"))
    db.session.execute(SubmissionMessage.__table__.delete())
    db.session.execute(Notification.__table__.delete())
    db.session.execute(update(OutboxJob).where(OutboxJob.id == job_id)
                       .values(status="staged"))  # its retry, after the message went
    db.session.commit()
    assert run_outbox_job(job_id) == "done"
    assert discussion.notify_reply(message_id) == 0
    assert db.session.scalar(select(func.count()).select_from(Notification)) == 0


# ---- how a reply is shown ------------------------------------------------------------------

def test_text_is_escaped_and_only_http_links_are_made():
    html = str(linkify('<script>alert("x")</script> & see https://ex.example/a?b=1&c=2.'))
    assert "<script>" not in html and "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert ('<a href="https://ex.example/a?b=1&amp;c=2" rel="nofollow noopener">'
            'https://ex.example/a?b=1&amp;c=2</a>.') in html
    assert str(linkify("http://plain.example")) == (
        '<a href="http://plain.example" rel="nofollow noopener">http://plain.example</a>')
    for not_a_link in ("javascript:alert(1)", "data:text/html,<b>x</b>", "ftp://files.example",
                       "www.example.org", "http://", "JavaScript:alert(1)//http"):
        assert "<a " not in str(linkify(not_a_link)), not_a_link
    smuggled = str(linkify("javascript://https://x.example"))
    assert 'href="https://x.example"' in smuggled and 'href="javascript' not in smuggled
    sneaky = str(linkify('https://x.example/"onmouseover="alert(1)'))
    assert 'href="https://x.example/"' in sneaky and "onmouseover=&#34;" in sneaky
    wiki = str(linkify("(see https://en.example/wiki/Foo_(bar)) and (https://x.example)"))
    assert 'href="https://en.example/wiki/Foo_(bar)"' in wiki
    assert 'href="https://x.example"' in wiki
    assert str(linkify("line one\nline two")) == "line one\nline two"
