"""Next in queue: the review queue's filters (a group's members, one learner), "N left", and
what opens after a review is saved, skipped or lost to someone quicker, in the two schools of
tests/two_schools.py.

The scene: an "Essays" path whose five steps are all marked for review, taught by Tess, learnt
by Lia (a member of Coaching) and Olu (a member of Chess club). Their work waits interleaved,
oldest first: Lia 1, Olu 1, Lia 2, Olu 2, ... Ada (admin) and Tess see all ten; Meg (mentor of
Coaching) Lia's five; Una (mentor of Chess club) Olu's five."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from mentorgroups.extensions import db
from mentorgroups.models import MentorGroup, Path, Review, Step
from mentorgroups.paging import PageRequest
from mentorgroups.services import groups, learning, review_next
from mentorgroups.services.errors import NotFound
from mentorgroups.services.review_next import NO_FILTER, QueueFilter
from tests.conftest import BACKEND, Client, statements_for
from tests.deadline import ends_within
from tests.factories import make_account, make_cohort, make_member
from tests.kept_scenes import kept_scene
from tests.two_schools import two_schools

T0 = datetime(2024, 3, 4, 9, 0, tzinfo=UTC)


@pytest.fixture
def w(app, request):
    return kept_scene(request, build_w)


def build_w():
    w = two_schools()
    essays = Path(account=w.river, title="Essays", steps=[
        Step(position=i, title=f"Essay {i}", requires_review=True, points=10)
        for i in range(1, 6)])
    db.session.add(essays)
    db.session.flush()
    make_cohort(essays, name="Writers", teachers=[w.tess], learners=[w.lia, w.olu])
    db.session.commit()
    w.lia_work, w.olu_work = [], []
    for i, step in enumerate(essays.steps):
        for n, (who, out) in enumerate(((w.lia, w.lia_work), (w.olu, w.olu_work))):
            submission = learning.submit_for_review(who, w.river.id, step.id, f"essay {i + 1}")
            db.session.flush()
            submission.submitted_at = T0 + timedelta(hours=2 * i + n)
            out.append(submission)
    # Hillside's waiting work, by Lia too: never in a Riverside queue.
    w.hill_work = learning.submit_for_review(w.lia, w.hill.id, w.hill_maths.steps[1].id, "x")
    db.session.commit()
    w.ids = lambda work: [s.id for s in work]
    return w


def coaching(w) -> QueueFilter:
    return review_next.queue_filter(w.ada, w.river.id, group=str(w.coaching.id))


def reviews() -> int:
    return db.session.scalar(select(func.count()).select_from(Review))


# ---- filters -------------------------------------------------------------------------------

def test_a_group_filter_keeps_the_queue_to_that_group_s_members_oldest_first(w):
    page = learning.review_queue(w.ada, w.river.id, PageRequest(), coaching(w))
    assert [r.id for r in page.items] == w.ids(w.lia_work) and page.total == 5
    everything = learning.review_queue(w.ada, w.river.id, PageRequest(), NO_FILTER)
    assert everything.total == 10
    chess = review_next.queue_filter(w.ada, w.river.id, group=w.chess.id)
    assert [r.id for r in learning.review_queue(w.ada, w.river.id, None, chess).items] == \
        w.ids(w.olu_work)
    assert (chess.group_name, chess.args) == ("Chess club", {"group": w.chess.id})


def test_a_group_filter_leaves_out_the_group_s_staff_own_work(w):
    """Meg mentors Coaching and is learning too: her own submission waits in Ada's queue, but
    not among Coaching's members' work (the filter is the group's members, not its staff)."""
    drafts = Path(account=w.river, title="Drafts", steps=[
        Step(position=1, title="Draft", requires_review=True, points=10)])
    db.session.add(drafts)
    db.session.flush()
    make_cohort(drafts, name="Staff drafts", learners=[w.meg])
    db.session.commit()
    megs = learning.submit_for_review(w.meg, w.river.id, drafts.steps[0].id, "my draft")
    db.session.commit()
    assert learning.review_queue(w.ada, w.river.id, None, NO_FILTER).total == 11
    page = learning.review_queue(w.ada, w.river.id, PageRequest(), coaching(w))
    assert megs.id not in [r.id for r in page.items] and page.total == 5


def test_a_learner_filter_and_both_together(w):
    olu = review_next.queue_filter(w.tess, w.river.id, learner=w.olu.id)
    assert (olu.learner_name, olu.args) == ("Olu Other", {"learner": w.olu.id})
    assert olu == QueueFilter(None, "", w.olu.id, "Olu Other")  # no group: its name is ""
    assert [r.id for r in learning.review_queue(w.tess, w.river.id, None, olu).items] == \
        w.ids(w.olu_work)
    both = review_next.queue_filter(w.ada, w.river.id, group=w.coaching.id, learner=w.olu.id)
    assert learning.review_queue(w.ada, w.river.id, None, both).total == 0  # Olu is not in it
    assert review_next.queue_filter(w.ada, w.river.id, group="", learner=" ") == NO_FILTER


def offered(who, w, query=None) -> list[tuple[int, str, str]]:
    return review_next.filter_choices(who, w.river.id, query).groups


def test_the_groups_offered_are_the_ones_a_person_may_filter_by(w):
    assert offered(w.ada, w) == [(w.chess.id, "Chess club", "Chess club"),
                                 (w.coaching.id, "Coaching", "Coaching")]
    assert offered(w.meg, w) == [(w.coaching.id, "Coaching", "Coaching")]
    assert offered(w.gus, w) == [(w.coaching.id, "Coaching", "Coaching")]
    assert offered(w.tess, w) == []  # teaches, mentors no group
    assert offered(w.rita, w) == []  # revoked
    assert offered(w.hal, w) == []  # Hillside's admin
    assert offered(w.ada, w, "  CHESS ") == [(w.chess.id, "Chess club", "Chess club")]
    assert offered(w.ada, w, "%") == [] and offered(w.ada, w, "_") == []  # taken literally
    assert offered(w.meg, w, "chess") == []  # not hers, however it is asked for


def test_a_few_groups_at_a_time_each_with_its_path_as_far_as_one_may_see(w):
    """25 groups nested in Coaching: Ada sees the first 20 by name (and that there are
    more) with the whole path; Gus, Group Admin of Coaching, the same from Coaching down;
    Meg, who mentors Coaching only, is offered Coaching alone."""
    w.river.plan = "enterprise"
    nested = [groups.create_group(w.ada, w.river.id, f"Form {i:02d}",
                                   parent_id=w.coaching.id)
              for i in range(25)]
    db.session.commit()
    first = review_next.filter_choices(w.ada, w.river.id)
    assert first.more and len(first.groups) == review_next.FILTER_CHOICES == 20
    assert [name for _, name, _ in first.groups][:3] == ["Chess club", "Coaching", "Form 00"]
    assert first.groups[2] == (nested[0].id, "Form 00", "Coaching \u203a Form 00")
    gus = review_next.filter_choices(w.gus, w.river.id, "form 2")
    assert gus.groups == [(g.id, g.name, f"Coaching \u203a {g.name}") for g in nested[20:]]
    assert not gus.more and gus.query == "form 2"
    assert review_next.filter_choices(w.meg, w.river.id).groups == [
        (w.coaching.id, "Coaching", "Coaching")]
    form = review_next.queue_filter(w.gus, w.river.id, group=nested[3].id)
    assert (form.group_name, form.group_path) == ("Form 03", "Coaching \u203a Form 03")
    with pytest.raises(NotFound):
        review_next.queue_filter(w.meg, w.river.id, group=nested[3].id)


def test_a_groups_path_starts_at_the_highest_group_one_may_see(w):
    """Coaching moved under Sports, which only the account admin sees: Ada's path names
    Sports; Gus (Group Admin of Coaching) and Meg (its mentor) start at Coaching, both in
    the choices offered and in the filter chosen."""
    sports = groups.create_group(w.ada, w.river.id, "Sports")
    groups.update_group(w.ada, w.river.id, w.coaching.id, "Coaching", None, sports.id)
    db.session.commit()
    paths = {who.id: {name: path for _, name, path in
                      review_next.filter_choices(who, w.river.id, "coaching").groups}
             for who in (w.ada, w.gus, w.meg)}
    assert paths == {w.ada.id: {"Coaching": "Sports \u203a Coaching"},
                     w.gus.id: {"Coaching": "Coaching"}, w.meg.id: {"Coaching": "Coaching"}}
    for who, path in ((w.ada, "Sports \u203a Coaching"), (w.gus, "Coaching"),
                      (w.meg, "Coaching")):
        chosen = review_next.queue_filter(who, w.river.id, group=w.coaching.id)
        assert (chosen.group_name, chosen.group_path) == ("Coaching", path)


def test_the_group_filter_ends_on_a_broken_tree(w):
    """Coaching put below one of its own nested groups (a loop a move race could leave):
    the walk up from a group inside the loop ends, Gus still reaches the groups of his
    part of the tree and Meg, who mentors Coaching only, still none below it."""
    w.river.plan = "enterprise"
    form = groups.create_group(w.ada, w.river.id, "Form A", parent_id=w.coaching.id)
    below = groups.create_group(w.ada, w.river.id, "Form B", parent_id=form.id)
    db.session.commit()
    db.session.execute(update(MentorGroup).where(MentorGroup.id == w.coaching.id)
                       .values(parent_id=form.id))
    db.session.commit()
    with ends_within(30, "the review filter's walks of a looped tree"):
        assert review_next.filter_group(w.gus, w.river.id, below.id)[0] == "Form B"
        assert review_next.filter_group(w.meg, w.river.id, below.id) is None
        assert review_next.filter_group(w.meg, w.river.id, w.coaching.id)[0] == "Coaching"
        assert review_next.filter_group(w.ada, w.river.id, below.id)[0] == "Form B"
        assert {name for _, name, _ in review_next.filter_choices(w.gus, w.river.id).groups} \
            == {"Coaching", "Form A", "Form B"}


def test_a_filter_naming_what_one_may_not_review_is_not_found(w):
    forged = [
        ("meg", {"group": w.chess.id}),        # a group she does not mentor
        ("ada", {"group": w.hill_group.id}),   # another school's group
        ("ada", {"group": "abc"}), ("ada", {"group": "0"}), ("ada", {"group": "99999999999"}),
        ("ada", {"learner": "abc"}), ("ada", {"learner": "0"}),
        ("meg", {"learner": w.olu.id}),        # not hers to review
        ("meg", {"learner": w.eve.id}),        # of the school, in no group of hers
        ("ada", {"learner": w.hugo.id}),       # of Hillside only
        ("ada", {"learner": w.ada.id}),        # her own work is never in her queue
        ("aut", {"learner": w.lia.id}),        # teaches Autumn, not Lia's cohorts
        ("sam", {"learner": w.lia.id}),        # learns in Spring beside her, teaches nothing
        ("tess", {"learner": w.mo.id}),        # moderates Spring: staff there, not a learner
        ("rita", {"learner": w.lia.id}),       # revoked
        ("hal", {"learner": w.lia.id}),        # Lia's other school's admin
    ]
    for who, args in forged:
        with pytest.raises(NotFound):
            review_next.queue_filter(getattr(w, who), w.river.id, **args)
    # The group asked for names nothing to somebody without access here: Rita (revoked,
    # still Coaching's mentor in its rows) and Hillside's admin.
    for who in (w.rita, w.hal):
        assert review_next.filter_group(who, w.river.id, w.coaching.id) is None


def test_who_may_filter_by_a_learner(w):
    for who in ("ada", "tess", "mo", "meg", "fay", "gus"):
        assert review_next.queue_filter(getattr(w, who), w.river.id,
                                        learner=w.lia.id).learner_name == "Lia Learner"
    assert review_next.queue_filter(w.una, w.river.id, learner=w.olu.id).learner_id == w.olu.id


# ---- next and left -------------------------------------------------------------------------

def test_next_goes_on_in_queue_order_and_what_was_skipped_comes_round_again(w):
    lia = w.lia_work
    f = coaching(w)
    assert review_next.next_waiting(w.ada, w.river.id, f, lia[0]) == lia[1].id
    assert review_next.next_waiting(w.ada, w.river.id, f, lia[3]) == lia[4].id
    assert review_next.next_waiting(w.ada, w.river.id, f, lia[4]) == lia[0].id  # round again
    # Unfiltered, Olu's work is next in line; filtered by Coaching it never is.
    assert review_next.next_waiting(w.ada, w.river.id, NO_FILTER, lia[0]) == w.olu_work[0].id
    assert review_next.waiting_count(w.ada, w.river.id, f) == 5
    assert review_next.waiting_count(w.ada, w.river.id) == 10
    assert review_next.waiting_count(w.meg, w.river.id) == 5
    assert review_next.waiting_count(w.hal, w.river.id) == 0


def test_two_items_submitted_at_the_same_instant_go_in_id_order(w):
    """Lia's fifth essay is stamped at the very instant of her second: the queue's order is
    1, 2, 5, 3, 4 (the tie broken by id) and Next follows it, each item once."""
    lia, f = w.lia_work, coaching(w)
    lia[4].submitted_at = lia[1].submitted_at
    db.session.commit()
    order = [lia[0], lia[1], lia[4], lia[2], lia[3]]
    assert [r.id for r in learning.review_queue(w.ada, w.river.id, None, f).items] == \
        w.ids(order)
    for current, following in zip(order, order[1:] + order[:1], strict=True):
        assert review_next.next_waiting(w.ada, w.river.id, f, current) == following.id


def test_work_reviewed_by_someone_else_meanwhile_is_passed_over(w):
    lia = w.lia_work
    learning.review_submission(w.meg, lia[1].id, "7", "")
    db.session.commit()
    assert review_next.next_waiting(w.ada, w.river.id, coaching(w), lia[0]) == lia[2].id
    assert review_next.waiting_count(w.ada, w.river.id, coaching(w)) == 4
    for s in lia[2:]:
        learning.review_submission(w.meg, s.id, "7", "")
    db.session.commit()
    # Only lia[0] waits: nothing comes after it, and after anything else it is next.
    assert review_next.next_waiting(w.ada, w.river.id, coaching(w), lia[0]) is None
    assert review_next.next_waiting(w.ada, w.river.id, coaching(w), lia[3]) == lia[0].id


# ---- the screens ---------------------------------------------------------------------------

def test_saving_five_in_a_row_opens_the_next_of_the_same_filtered_queue(client, w):
    lia, g = w.lia_work, w.coaching.id
    client.login(w.ada.email)
    queue = client.get(f"/review/?group={g}").get_data(as_text=True)
    assert "Waiting for review: Coaching" in queue and "Olu Other" not in queue
    assert f'href="/review/{lia[0].id}?group={g}"' in queue
    url = f"/review/{lia[0].id}?group={g}"
    for n, submission in enumerate(lia):
        assert url == f"/review/{submission.id}?group={g}"
        page = client.get(url).get_data(as_text=True)
        assert f'data-testid="queue-left">{5 - n} left<' in page
        response = client.post_form(url, {"grade": "8", "feedback": f"Good {n}"})
        assert response.status_code == 302
        url = response.headers["Location"]
    assert url == f"/review/?group={g}"
    done = client.get(url).get_data(as_text=True)
    assert "Nothing left to review" in done and "Review saved. Lia Learner has been told." in done
    assert reviews() == 5
    assert {r.submission.user_id for r in db.session.scalars(select(Review))} == {w.lia.id}
    # Olu's work still waits, untouched.
    assert review_next.waiting_count(w.ada, w.river.id) == 5


def test_skip_moves_on_without_saving_and_keeps_the_filter(client, w):
    lia, g = w.lia_work, w.coaching.id
    client.login(w.meg.email)
    page = client.get(f"/review/{lia[0].id}?group={g}").get_data(as_text=True)
    skip = f'href="/review/next?after={lia[0].id}&amp;group={g}"'
    assert skip in page and ">Skip</a>" in page
    response = client.get(f"/review/next?after={lia[0].id}&group={g}")
    assert response.headers["Location"] == f"/review/{lia[1].id}?group={g}"
    response = client.get(f"/review/next?after={lia[4].id}&group={g}")
    assert response.headers["Location"] == f"/review/{lia[0].id}?group={g}"
    assert reviews() == 0


def test_when_nothing_else_waits_skip_lands_on_the_queue_and_says_so(client, w):
    for s in w.lia_work[1:]:
        learning.review_submission(w.tess, s.id, "5", "")
    db.session.commit()
    client.login(w.meg.email)
    response = client.get(f"/review/next?after={w.lia_work[0].id}")
    assert response.headers["Location"] == "/review/"
    page = client.get("/review/").get_data(as_text=True)
    assert "Nothing else is waiting in this queue." in page and "Essay 1" in page


def test_saving_passes_over_the_next_item_someone_else_reviewed_meanwhile(client, w):
    lia, g = w.lia_work, w.coaching.id
    client.login(w.ada.email)
    token = client.csrf(f"/review/{lia[0].id}?group={g}")
    learning.review_submission(w.meg, lia[1].id, "6", "Meg was quicker")
    db.session.commit()
    response = client.raw.post(f"/review/{lia[0].id}?group={g}",
                               data={"csrf_token": token, "grade": "9", "feedback": ""})
    assert response.headers["Location"] == f"/review/{lia[2].id}?group={g}"


def test_a_conflict_keeps_the_text_names_the_reviewer_and_offers_next(client, w):
    lia, g = w.lia_work, w.coaching.id
    client.login(w.ada.email)
    url = f"/review/{lia[0].id}?group={g}"
    token = client.csrf(url)
    learning.review_submission(w.meg, lia[0].id, "6", "Meg was quicker")
    db.session.commit()
    response = client.raw.post(url, data={"csrf_token": token, "grade": "9",
                                          "feedback": "Mine <b>too</b>\nline two"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Meg Mentor already reviewed this on" in page
    assert "Meg Mentor reviewed this first" in page
    assert "Mine &lt;b&gt;too&lt;/b&gt;\nline two" in page and "Your grade: 9" in page
    assert f'href="/review/next?after={lia[0].id}&amp;group={g}">Next</a>' in page
    assert 'data-testid="queue-left">4 left<' in page and "Save review" not in page
    assert client.get(f"/review/next?after={lia[0].id}&group={g}").headers["Location"] == \
        f"/review/{lia[1].id}?group={g}"
    review = db.session.scalar(select(Review).where(Review.submission_id == lia[0].id))
    assert (review.reviewer_id, review.grade) == (w.meg.id, 6) and reviews() == 1


def test_coming_from_a_profile_card_saving_returns_there_without_skip(client, w):
    lia = w.lia_work
    client.login(w.meg.email)
    back = f"/people/{w.lia.id}?tab=review"
    page = client.get(f"/review/{lia[0].id}?next={back}").get_data(as_text=True)
    assert ">Skip</a>" not in page and 'data-testid="queue-left"' not in page
    response = client.post_form(f"/review/{lia[0].id}", {"grade": "5", "feedback": "",
                                                         "next": back})
    assert response.headers["Location"] == back


def test_the_group_screens_link_to_the_filtered_queue(client, w):
    client.login(w.meg.email)
    home = client.get("/people/groups").get_data(as_text=True)
    assert f'href="/review/?group={w.coaching.id}"' in home and "5 waiting for review" in home
    card = client.get(f"/people/{w.lia.id}?tab=review").get_data(as_text=True)
    assert f'href="/review/?learner={w.lia.id}"' in card
    assert "Review Lia Learner's work one after another" in card
    html = client.get(f"/review/?learner={w.lia.id}").get_data(as_text=True)
    assert "Waiting for review: Lia Learner<" in html and "5 waiting" in html
    html = client.get(f"/review/?group={w.coaching.id}&learner={w.lia.id}").get_data(as_text=True)
    assert "Waiting for review: Lia Learner in Coaching" in html
    assert "Only Lia Learner's work" in html and "5 waiting" in html
    # Olu has one item waiting: no "one after another" on his card (Una mentors him).
    learning.review_submission(w.una, w.olu_work[0].id, "5", "")
    for s in w.olu_work[2:]:
        learning.review_submission(w.una, s.id, "5", "")
    db.session.commit()
    client.post_form("/logout", token_page="/review/")
    client.login(w.una.email)
    card = client.get(f"/people/{w.olu.id}?tab=review").get_data(as_text=True)
    assert "Review (1)" in card and "one after another" not in card


def test_forged_ids_are_not_found_for_a_mentor(client, w):
    lia, olu = w.lia_work[0].id, w.olu_work[0].id
    client.login(w.meg.email)
    for url in (f"/review/?group={w.chess.id}", f"/review/?group={w.hill_group.id}",
                f"/review/?learner={w.olu.id}", "/review/?group=abc",
                f"/review/next?after={olu}", f"/review/next?after={w.hill_work.id}",
                "/review/next?after=abc", "/review/next",
                f"/review/next?after={lia}&group={w.chess.id}",
                f"/review/{lia}?group={w.chess.id}", f"/review/{lia}?learner={w.eve.id}"):
        assert client.get(url).status_code == 404, url


def test_a_forged_filter_on_a_save_is_not_found_and_writes_nothing(client, w):
    client.login(w.meg.email)
    token = client.csrf(f"/review/{w.lia_work[0].id}")
    response = client.raw.post(f"/review/{w.lia_work[0].id}?group={w.chess.id}",
                               data={"csrf_token": token, "grade": "9", "feedback": "x"})
    assert response.status_code == 404 and reviews() == 0


def test_another_school_s_admin_gets_not_found(client, w):
    client.login(w.hal.email, account_id=w.hill.id)
    for url in (f"/review/next?after={w.lia_work[0].id}", f"/review/?group={w.coaching.id}",
                f"/review/?learner={w.olu.id}"):
        assert client.get(url).status_code == 404
    assert client.get(f"/review/next?after={w.hill_work.id}").headers["Location"] == "/review/"


@pytest.mark.skipif(BACKEND != "postgresql",
                    reason="row locks are a PostgreSQL matter; SQLite has one writer")
def test_two_reviewers_saving_at_once_one_wins_the_other_keeps_their_text_and_moves_on(app, w):
    """Ada and Meg press Save on the same item at the same moment, each from their own
    browser: the row lock lets one save; the other gets their text back, who reviewed it, and
    Next to the item after it."""
    lia, g = w.lia_work, w.coaching.id
    url = f"/review/{lia[0].id}?group={g}"
    clients = {}
    for who in ("ada", "meg"):
        clients[who] = Client(app.test_client())
        clients[who].login(getattr(w, who).email)
        clients[who].token = clients[who].csrf(url)
    names = {"ada": "Ada Admin", "meg": "Meg Mentor"}
    db.session.commit()
    barrier = threading.Barrier(2)
    outcomes = {}

    def save(who):
        barrier.wait()
        outcomes[who] = clients[who].raw.post(url, data={
            "csrf_token": clients[who].token, "grade": "7", "feedback": f"From {who}, by hand"})

    threads = [threading.Thread(target=save, args=(who,)) for who in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    statuses = sorted(r.status_code for r in outcomes.values())
    assert statuses == [302, 422], statuses
    winner = next(who for who, r in outcomes.items() if r.status_code == 302)
    loser = next(who for who in outcomes if who != winner)
    assert outcomes[winner].headers["Location"] == f"/review/{lia[1].id}?group={g}"
    page = outcomes[loser].get_data(as_text=True)
    assert f"{names[winner]} reviewed this first" in page
    assert f"From {loser}, by hand" in page
    assert f'href="/review/next?after={lia[0].id}&amp;group={g}">Next</a>' in page
    db.session.expire_all()
    saved = db.session.scalars(select(Review)).all()
    assert [(r.submission_id, r.reviewer_id, r.feedback) for r in saved] == [
        (lia[0].id, getattr(w, winner).id, f"From {winner}, by hand")]


# ---- the group filter in a big school ------------------------------------------------------

def _big_school():
    from tests.test_groups_tree import one_root, school

    account, admin, gina, lia = school()
    root = one_root(account, admin, gina, lia, 10)
    return account, admin, gina, root


@pytest.mark.parametrize("who", ["admin", "gina"])
@pytest.mark.scale
def test_the_queue_and_its_group_search_cost_the_same_statements_over_10_and_500_groups(
        client, who):
    """An account admin and a Group Admin at the root: the queue, the queue narrowed by a
    group, the no-script search and the search as one types run the same statements at 10
    and at 500 groups, and the page never lists more than 20 of them."""
    from tests.test_groups_tree import more_below

    account, admin, gina, root = _big_school()
    client.login((admin if who == "admin" else gina).email)
    urls = ["/review/", f"/review/?group={root}", "/review/?group_q=group",
            "/review/groups.json?q=group", "/review/groups.json"]
    few = [statements_for(client, url) for url in urls]
    small = client.get("/review/").get_data(as_text=True)
    assert "Find a group" not in small and small.count("<option") == 11  # 10 and "Every group"
    more_below(account, root, 490)
    assert [statements_for(client, url) for url in urls] == few
    page = client.get("/review/").get_data(as_text=True)
    assert page.count("<option") == 21 and 'id="queue-group-q"' in page
    assert "The first 20 groups by name are listed: find others by name." in page
    found = client.get("/review/groups.json?q=more 48").get_json()
    assert [g["name"] for g in found["groups"]] == \
        ["More 48"] + [f"More {i}" for i in range(480, 490)]
    assert found["more"] is False
    assert len(client.get("/review/groups.json?q=more").get_json()["groups"]) == 20


def test_without_scripts_find_narrows_the_select_and_the_choice_is_kept_in_the_url(client):
    from tests.test_groups_tree import more_below

    account, admin, gina, root = _big_school()
    more_below(account, root, 40)
    client.login(gina.email)
    page = client.get("/review/?group_q=more+3").get_data(as_text=True)
    assert 'value="more 3"' in page
    assert "11 groups match &ldquo;more 3&rdquo;." in page  # More 3, More 30 ... More 39
    assert page.count("<option") == 12
    chosen = db.session.scalar(select(MentorGroup).where(MentorGroup.name == "More 37"))
    assert f'<option value="{chosen.id}" >Top 0 \u203a More 0 \u203a More 6 \u203a More 37<' \
        in page
    page = client.get(f"/review/?group={chosen.id}&group_q=").get_data(as_text=True)
    assert "Waiting for review: More 37" in page
    # Not among the first 20 by name, it is offered all the same, chosen.
    assert f'<option value="{chosen.id}" selected>Top 0 \u203a More 0 \u203a More 6' in page
    assert page.count(" selected>") == 1
    none = client.get("/review/?group_q=%3Cb%3Ex").get_data(as_text=True)
    assert "called anything like &ldquo;&lt;b&gt;x&rdquo;" in none and "<b>x" not in none


def test_a_forged_group_gives_no_items_and_no_name(client):
    """A Group Admin asks for a group of the school outside her part of the tree, and for
    another school's group, by id and by name: 404 with neither name, and no search names
    them."""
    from tests.test_groups_tree import more_below

    account, admin, gina, root = _big_school()
    more_below(account, root, 30)
    outside = groups.create_group(admin, account.id, "Staffroom secrets")
    other = make_account(name="Other School", plan="enterprise")
    other_admin = make_member(other, "admin", full_name="Oz Admin")
    theirs = groups.create_group(other_admin, other.id, "Staffroom elsewhere")
    db.session.commit()
    client.login(gina.email)
    for group in (outside, theirs):
        response = client.get(f"/review/?group={group.id}")
        assert response.status_code == 404
        assert "Staffroom" not in response.get_data(as_text=True)
        assert client.get(f"/review/groups.json?q={group.name}").get_json()["groups"] == []
        page = client.get("/review/?group_q=staffroom").get_data(as_text=True)
        assert "Staffroom" not in page.replace("&ldquo;staffroom&rdquo;", "")
    client.post_form("/logout", token_page="/review/")
    client.login(admin.email)
    assert client.get(f"/review/?group={theirs.id}").status_code == 404
    assert [g["name"] for g in client.get("/review/groups.json?q=staff").get_json()["groups"]] \
        == ["Staffroom secrets"]
