"""The bell: one notification per key, counted and marked read per person and per school."""

import pytest

from mentorgroups.extensions import db
from mentorgroups.paging import PageRequest
from mentorgroups.services import inbox
from tests.kept_scenes import kept_scene
from tests.two_schools import two_schools


@pytest.fixture
def w(app, request):
    return kept_scene(request, build_w)


def build_w():
    w = two_schools()
    # Sam, a learner at Riverside and a mentor at Hillside, hears from both schools.
    for key, school, user in [("r1", w.river, w.sam), ("r2", w.river, w.sam),
                              ("h1", w.hill, w.sam), ("m1", w.river, w.meg)]:
        assert inbox.notify(user.id, school.id, key=key, kind="submission",
                            text=f"note {key}", link=f"/review/{key}")
    db.session.commit()
    return w


def recent(user, account_id, **request):
    return inbox.notifications_page(user, account_id, PageRequest(**request)).items


def keys(notes):
    return [n.key for n in notes]


def test_one_notification_per_key(w):
    assert inbox.notify(w.sam.id, w.river.id, key="r1", kind="submission", text="again",
                        link="/x") is False
    assert inbox.unread_count(w.sam, w.river.id) == 2
    assert inbox.notify(w.sam.id, w.river.id, key="r3", kind="review", text="x" * 600,
                        link="/x")
    db.session.commit()
    assert len(recent(w.sam, w.river.id)[0].text) == 500


def test_each_school_and_person_sees_their_own(w):
    assert keys(recent(w.sam, w.river.id)) == ["r2", "r1"]  # newest first
    assert keys(recent(w.sam, w.hill.id)) == ["h1"]
    assert keys(recent(w.meg, w.river.id)) == ["m1"]
    assert keys(recent(w.lia, w.river.id)) == []
    first = inbox.notifications_page(w.sam, w.river.id, PageRequest(size=1))
    assert (keys(first.items), first.total, first.number) == (["r2"], 2, 1)
    second = inbox.notifications_page(w.sam, w.river.id, PageRequest(number=2, size=1))
    assert (keys(second.items), second.total, second.number) == (["r1"], 2, 2)
    past = inbox.notifications_page(w.sam, w.river.id, PageRequest(number=9, size=1))
    assert (keys(past.items), past.number) == (["r1"], 2)  # past the end: the last page
    assert inbox.notifications_page(w.sam, w.hill.id, PageRequest()).total == 1
    assert (inbox.unread_count(w.sam, w.river.id), inbox.unread_count(w.sam, w.hill.id),
            inbox.unread_count(w.meg, w.river.id), inbox.unread_count(w.lia, w.river.id)) == (
        2, 1, 1, 0)


def test_within_one_request_each_person_and_school_keeps_its_own_count(w, app):
    """The count is kept for the request under the person and the school it is of, so a
    second count asked in the same request is never the first one's."""
    with app.test_request_context():
        assert [inbox.unread_count(who, school.id) for who, school in (
            (w.sam, w.river), (w.sam, w.hill), (w.meg, w.river), (w.lia, w.river))] == [
            2, 1, 1, 0]


def test_marking_read_touches_only_that_person_in_that_school(w):
    r1 = recent(w.sam, w.river.id)[1]
    meg_note = recent(w.meg, w.river.id)[0]
    assert inbox.mark_read(w.sam, w.river.id, meg_note.id) == 0  # not hers to mark
    assert inbox.mark_read(w.sam, w.river.id, r1.id) == 1
    assert inbox.mark_read(w.sam, w.river.id, r1.id) == 0  # already read
    assert inbox.unread_count(w.sam, w.river.id) == 1
    assert inbox.mark_read(w.sam, w.river.id) == 1  # "mark all read": the other one
    assert (inbox.unread_count(w.sam, w.river.id), inbox.unread_count(w.sam, w.hill.id),
            inbox.unread_count(w.meg, w.river.id)) == (0, 1, 1)


def test_a_notification_made_by_a_concurrent_run_meanwhile_is_not_made_twice(w):
    """Two runs of one job both find no row and both insert: the savepoint lets one win and
    the other answer False without breaking the job's transaction."""
    from sqlalchemy import event, func, select

    from mentorgroups.models import Notification, utcnow

    def other_run_first(session, flush_context, instances):
        with db.engine.begin() as conn:
            conn.execute(Notification.__table__.insert().values(
                user_id=w.meg.id, account_id=w.river.id, key="raced", kind="submission",
                text="first", link="/r", created_at=utcnow()))

    event.listen(db.session, "before_flush", other_run_first, once=True)
    assert inbox.notify(w.meg.id, w.river.id, key="raced", kind="submission", text="second",
                        link="/r") is False
    db.session.commit()
    texts = db.session.scalars(select(Notification.text).where(Notification.key == "raced"))
    assert list(texts) == ["first"]
    assert db.session.scalar(select(func.count()).select_from(Notification)) == 5


def test_a_review_settles_every_reviewers_notification_of_that_submission_only(w):
    """Submission 7 told Sam and Meg (Meg had already read hers); submission 17's notification,
    and a review notification that mentions submission 7 in its key, stay as they are."""
    from datetime import timedelta

    from mentorgroups.models import Notification, utcnow

    read_earlier = utcnow() - timedelta(hours=3)
    for user, key, kind in [(w.sam, "submission:7:user:1", "submission"),
                            (w.meg, "submission:7:user:2", "submission"),
                            (w.sam, "submission:17:user:1", "submission"),
                            (w.lia, "submission:7:user:3", "review")]:
        inbox.notify(user.id, w.river.id, key=key, kind=kind, text=f"Work {key}", link="/r")
    db.session.flush()

    def note(key):
        return db.session.query(Notification).filter_by(key=key).one()

    note("submission:7:user:2").read_at = read_earlier
    db.session.flush()

    assert inbox.settle_submission(7, "Rae Reviewer") == 2
    settled = "Work submission:7:user:1 \u00b7 reviewed by Rae Reviewer"
    assert note("submission:7:user:1").text == settled
    assert note("submission:7:user:1").read_at is not None
    assert note("submission:7:user:2").read_at == read_earlier  # read before: keeps its time
    assert note("submission:17:user:1").text == "Work submission:17:user:1"
    assert note("submission:17:user:1").read_at is None
    assert note("submission:7:user:3").text == "Work submission:7:user:3"
    assert note("submission:7:user:3").read_at is None

    # settled again (a retried job): the words are not repeated
    assert inbox.settle_submission(7, "Rae Reviewer") == 2
    assert note("submission:7:user:1").text == settled
