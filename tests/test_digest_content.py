"""What the weekly Mentor Digest says, and to whom: exactly who gets one, and exactly the lines
each one holds, in two schools that share people.

Riverside Academy (UTC; digests on Monday 08:00)
  Ada Admin         account admin (follows no group: no digest)
  Meg Mentor        Mentor of "Coaching"; also Mentor at Hillside
  Fay Fellow        Mentor of "Coaching" who also learns "Essay writing" (her work is not a
                    member's: it is in nobody's digest)
  Una Unsubscribed  Mentor of "Coaching" who turned the digest off
  Gus GroupAdmin    Group Admin of "Coaching"; turned on "Juniors" (nested in Coaching)
  Gia Formeradmin   was Group Admin of "Coaching" and turned on "Juniors", then was made its
                    Mentor: she no longer follows "Juniors"
  Olga Chess        Mentor of "Chess club"
  Lia Learner       member of "Coaching"; also a member at Hillside
  Bob Reviewed      member of "Coaching": his work was reviewed weeks ago
  Cid Finished      member of "Coaching": finished the path in early November
  Jo Junior         member of "Juniors": finished the path last week
  Olu Other         member of "Chess club"

Hillside College (one group only, "Hill mentoring")
  Hugo Hill         Mentor of "Hill mentoring" (not at Riverside)
  Meg Mentor        Mentor of "Hill mentoring"
  Lia Learner       member of "Hill mentoring"; learns "Hill maths"
  Hana Hill         member of "Hill mentoring" (not at Riverside)
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, update

from mentorgroups.extensions import db
from mentorgroups.models import Account, MentorGroup, StepCompletion, Submission
from mentorgroups.services import digest_subscriptions, digests, groups
from mentorgroups.services import group_members as gm
from mentorgroups.services.digest_content import build_digests
from mentorgroups.services.digest_weeks import latest_due_week, week_by_key, zone
from mentorgroups.services.errors import ServiceError
from tests.deadline import sql_ends_within
from tests.factories import make_account, make_cohort, make_member, make_path


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


SEND = utc(2026, 11, 30, 8, 0)  # Monday 30 Nov 08:00 UTC: the week of 23-29 Nov
NOW = SEND + timedelta(minutes=5)
CLOCK_START = utc(2026, 11, 1, 9)  # both schools open on 1 November; the tests run at NOW


def _group(admin, account, name, parent=None, **roles):
    group = groups.create_group(admin, account.id, name,
                                parent_id=parent.id if parent is not None else None)
    for role, people in roles.items():
        gm.add_members(admin, account.id, group.id, role, user_ids=[p.id for p in people])
    return group


def _work(account, cohort, person, path, done: dict[int, tuple[datetime, str | None]]):
    """Steps done ({position: (when, None | 'pending' | 'reviewed')}), with the submission
    a step marked for review leaves."""
    for position, (at, status) in done.items():
        step = path.steps[position - 1]
        db.session.add(StepCompletion(user_id=person.id, step_id=step.id, cohort_id=cohort.id,
                                      completed_at=at))
        if status is not None:
            db.session.add(Submission(account_id=account.id, user_id=person.id,
                                      step_id=step.id, cohort_id=cohort.id, content="work",
                                      submitted_at=at, status=status))


@pytest.fixture
def w(app, clock):
    river = make_account(name="Riverside Academy", plan="complete")
    hill = make_account(name="Hillside College", plan="complete")
    p = {}
    p["ada"] = make_member(river, "admin", full_name="Ada Admin")
    for key, name, role in [("meg", "Meg Mentor", "staff"), ("fay", "Fay Fellow", "staff"),
                            ("una", "Una Unsubscribed", "staff"),
                            ("gus", "Gus GroupAdmin", "staff"),
                            ("gia", "Gia Formeradmin", "staff"), ("olga", "Olga Chess", "staff"),
                            ("lia", "Lia Learner", "member"), ("bob", "Bob Reviewed", "member"),
                            ("cid", "Cid Finished", "member"), ("jo", "Jo Junior", "member"),
                            ("olu", "Olu Other", "member")]:
        p[key] = make_member(river, role, full_name=name, email=f"{key}@river.test")
    p["hal"] = make_member(hill, "admin", full_name="Hal Admin")
    p["hugo"] = make_member(hill, "staff", full_name="Hugo Hill", email="hugo@hill.test")
    p["hana"] = make_member(hill, "member", full_name="Hana Hill", email="hana@hill.test")
    make_member(hill, "staff", user=p["meg"])
    make_member(hill, "member", user=p["lia"])

    essay = make_path(river, steps=4, review_at=(2, 3), title="Essay writing")
    spring = make_cohort(essay, name="Spring", learners=[p[k] for k in (
        "lia", "bob", "cid", "jo", "fay", "olu")])
    hill_maths = make_path(hill, steps=3, review_at=(2,), title="Hill maths")
    hill_term = make_cohort(hill_maths, name="Hill term", learners=[p["lia"], p["hana"]])

    coaching = _group(p["ada"], river, "Coaching", member=[p["lia"], p["bob"], p["cid"]],
                      mentor=[p["meg"], p["fay"], p["una"]], group_admin=[p["gus"], p["gia"]])
    juniors = _group(p["ada"], river, "Juniors", parent=coaching, member=[p["jo"]])
    chess = _group(p["ada"], river, "Chess club", member=[p["olu"]], mentor=[p["olga"]])
    hill_group = _group(p["hal"], hill, "Hill mentoring", member=[p["lia"], p["hana"]],
                        mentor=[p["hugo"], p["meg"]])
    digest_subscriptions.set_subscription(p["una"], river.id, coaching.id, False)
    digest_subscriptions.set_subscription(p["gus"], river.id, juniors.id, True)
    digest_subscriptions.set_subscription(p["gia"], river.id, juniors.id, True)
    gm.change_role(p["ada"], river.id, coaching.id, p["gia"].id, "mentor")

    _work(river, spring, p["lia"], essay, {1: (utc(2026, 11, 25, 10), None),
                                           2: (utc(2026, 11, 26, 9), "pending")})
    _work(river, spring, p["bob"], essay, {1: (utc(2026, 11, 9, 10), None),
                                           2: (utc(2026, 11, 10, 10), "reviewed")})
    _work(river, spring, p["cid"], essay, {1: (utc(2026, 11, 2, 10), None),
                                           2: (utc(2026, 11, 3, 10), "reviewed"),
                                           3: (utc(2026, 11, 4, 10), "reviewed"),
                                           4: (utc(2026, 11, 5, 10), None)})
    _work(river, spring, p["jo"], essay, {1: (utc(2026, 11, 24, 10), None),
                                          2: (utc(2026, 11, 25, 10), "pending"),
                                          3: (utc(2026, 11, 26, 10), "reviewed"),
                                          4: (utc(2026, 11, 27, 10), None)})
    _work(river, spring, p["fay"], essay, {1: (utc(2026, 11, 20, 10), None),
                                           2: (utc(2026, 11, 21, 10), "pending")})
    _work(river, spring, p["olu"], essay, {1: (utc(2026, 11, 15, 10), None),
                                           2: (utc(2026, 11, 16, 10), "pending")})
    _work(hill, hill_term, p["lia"], hill_maths, {1: (utc(2026, 11, 24, 12), None),
                                                  2: (utc(2026, 11, 25, 12), "pending")})
    _work(hill, hill_term, p["hana"], hill_maths, {1: (utc(2026, 11, 27, 12), None),
                                                   2: (utc(2026, 11, 28, 12), "pending")})
    db.session.commit()
    clock.move_to(NOW)
    return SimpleNamespace(river=river, hill=hill, essay=essay, spring=spring, coaching=coaching,
                           juniors=juniors, chess=chess, hill_group=hill_group, **p)


def digests_of(account, now=NOW, **kwargs):
    return build_digests(account, latest_due_week(account, now), now, **kwargs)


def lines(digest) -> list[str]:
    """The digest's email text as its reader sees it, without the links."""
    text = digests.render(digest)["text"]
    text = re.sub(r":? ?https?://\S+", "", text)
    return [line.rstrip() for line in text.splitlines() if line.strip()]


def section_lines(digest) -> list[str]:
    """The lines of its groups: from the first group heading to the footer."""
    shown = lines(digest)
    return shown[shown.index(next(x for x in shown if x.startswith("== "))):shown.index("--")]


COACHING_MEMBERS = [
    "Progress last week: 1 progressed, 2 no progress, 0 not started; "
    "2 drifting (no progress for 14 days or more)",
    "Progressed",
    "- Lia Learner: 2 steps (Essay writing 2); now 2/4; last 26 Nov",
    "No progress last week",
    "- Bob Reviewed: now 2/4; last 10 Nov; drifting: no progress for 20 days",
    "- Cid Finished: now 4/4; last 5 Nov; drifting: no progress for 25 days",
    "Every member on the group page",
]
LIA_WAITS = "- Lia Learner: Step 2 in Essay writing, waiting 3 days"
JO_WAITS = "- Jo Junior: Step 2 in Essay writing, waiting 4 days"
JO_FINISHED = ("- Jo Junior: 4 steps (Essay writing 4); finished Essay writing; now 4/4; "
               "last 27 Nov")


# ---------------------------------------------------------------- who gets one


def test_only_subscribed_followers_active_in_the_school_get_a_digest(w):
    """Not Una (turned it off), not Hugo (not at Riverside), not the admin or the members;
    each person once, however many groups they follow."""
    names = [d.name for d in digests_of(w.river)]
    assert names == ["Fay Fellow", "Gia Formeradmin", "Gus GroupAdmin", "Meg Mentor",
                     "Olga Chess"]
    assert [d.name for d in digests_of(w.hill)] == ["Hugo Hill", "Meg Mentor"]


def test_asking_for_some_people_builds_only_their_digests(w):
    assert [d.user_id for d in digests_of(w.river, user_ids=[w.meg.id])] == [w.meg.id]
    assert [d.user_id for d in digests_of(w.river, user_ids=[w.olga.id, w.una.id])] == [
        w.olga.id]
    assert digests_of(w.river, user_ids=[w.hugo.id]) == []


# ---------------------------------------------------------------- what it says


def test_a_mentors_digest_lists_pending_work_and_each_members_week(w):
    """Only Lia's work waits: Bob's was reviewed, Fay is a fellow mentor (not a member), Jo
    is in the nested group, Olu in another group, Lia's Hillside work is Hillside's."""
    meg = digests_of(w.river, user_ids=[w.meg.id])[0]
    assert lines(meg)[:5] == [
        "Your Mentor Digest: Riverside Academy, 23 Nov \u2013 29 Nov 2026",
        "Hi Meg Mentor,",
        "1 waiting for review \u00b7 1 member active last week",
        # Bob's review was weeks ago: said so, never "0 days".
        "Your groups' median wait for a first review, last 4 weeks: no reviews in the last "
        "4 weeks",
        "== Coaching ==",
    ]
    assert section_lines(meg) == [
        "== Coaching ==", "Pending review (1)", LIA_WAITS, *COACHING_MEMBERS,
        "Stop the digest for Coaching",
    ]
    assert meg.is_empty is False
    # A fellow mentor's digest of the same group says the same about its members.
    fay = digests_of(w.river, user_ids=[w.fay.id])[0]
    assert section_lines(fay) == section_lines(meg)


def test_finished_is_said_only_of_a_path_finished_last_week(w):
    gus = digests_of(w.river, user_ids=[w.gus.id])[0]
    progress = {m.name: [(p.path, p.completed, p.total, p.finished_last_week) for p in m.paths]
                for section in gus.sections for m in section.members}
    assert progress == {
        "Bob Reviewed": [("Essay writing", 2, 4, False)],
        "Cid Finished": [("Essay writing", 4, 4, False)],  # finished, but weeks ago
        "Lia Learner": [("Essay writing", 2, 4, False)],  # moved last week, not finished
        "Jo Junior": [("Essay writing", 4, 4, True)],
    }


def test_a_member_s_paths_are_listed_by_name(w):
    """Lia takes a second path, Algebra, made after Essay writing: her lines list the paths
    by name, as every list of paths does, not in the order they were made."""
    algebra = make_path(w.river, steps=2, review_at=(), title="Algebra")
    club = make_cohort(algebra, name="Algebra club", learners=[w.lia])
    _work(w.river, club, w.lia, algebra, {1: (utc(2026, 11, 27, 10), None)})
    db.session.commit()
    meg = digests_of(w.river, user_ids=[w.meg.id])[0]
    lia = next(m for s in meg.sections for m in s.members if m.name == "Lia Learner")
    assert [(p.path, p.completed, p.total) for p in lia.paths] == [("Algebra", 1, 2),
                                                                   ("Essay writing", 2, 4)]


def test_a_group_admin_sees_the_nested_groups_members_in_their_group(w):
    gus = digests_of(w.river, user_ids=[w.gus.id])[0]
    assert [s.group_name for s in gus.sections] == ["Coaching", "Juniors"]
    assert (gus.waiting, gus.stale, gus.active_members) == (2, 0, 2)
    assert section_lines(gus) == [
        "== Coaching ==", "Pending review (2)", JO_WAITS, LIA_WAITS,
        "Progress last week: 2 progressed, 2 no progress, 0 not started; "
        "2 drifting (no progress for 14 days or more)",
        "Progressed", JO_FINISHED, *COACHING_MEMBERS[2:],
        "Stop the digest for Coaching",
        "== Juniors ==", "Pending review (1)", JO_WAITS,
        "Progress last week: 1 progressed, 0 no progress, 0 not started",
        "Progressed", JO_FINISHED, "Every member on the group page",
        "Stop the digest for Juniors",
    ]


def test_a_mentor_of_the_parent_group_does_not_follow_the_nested_one(w):
    """Gia turned Juniors on as Group Admin of Coaching; now only its Mentor, she gets
    Coaching's own members and no Juniors."""
    gia = digests_of(w.river, user_ids=[w.gia.id])[0]
    assert [s.group_name for s in gia.sections] == ["Coaching"]
    assert section_lines(gia) == [
        "== Coaching ==", "Pending review (1)", LIA_WAITS, *COACHING_MEMBERS,
        "Stop the digest for Coaching",
    ]
    assert digest_subscriptions.is_subscribed(w.gia.id, w.juniors.id)  # the switch stays


def test_another_groups_mentor_sees_only_that_group(w):
    olga = digests_of(w.river, user_ids=[w.olga.id])[0]
    assert (olga.waiting, olga.stale, olga.active_members) == (1, 1, 0)
    assert section_lines(olga) == [
        "== Chess club ==", "Pending review (1)",
        "- Olu Other: Step 2 in Essay writing, waiting 13 days [STALE]",
        "Progress last week: 0 progressed, 1 no progress, 0 not started",
        "No progress last week",
        "- Olu Other: now 2/4; last 16 Nov",  # 13 days and 23 hours: not drifting yet
        "Every member on the group page",
        "Stop the digest for Chess club",
    ]


def test_a_school_with_one_group_sees_only_its_own_work(w):
    """Hillside: Lia's and Hana's Hill maths; none of Lia's Riverside work, and Meg's
    Hillside digest holds no Riverside group."""
    expected = [
        "== Hill mentoring ==", "Pending review (2)",
        "- Lia Learner: Step 2 in Hill maths, waiting 4 days",
        "- Hana Hill: Step 2 in Hill maths, waiting 1 day",
        "Progress last week: 2 progressed, 0 no progress, 0 not started",
        "Progressed",
        "- Hana Hill: 2 steps (Hill maths 2); now 2/3; last 28 Nov",
        "- Lia Learner: 2 steps (Hill maths 2); now 2/3; last 25 Nov",
        "Every member on the group page",
        "Stop the digest for Hill mentoring",
    ]
    hugo, meg = digests_of(w.hill)
    assert lines(hugo)[0] == "Your Mentor Digest: Hillside College, 23 Nov \u2013 29 Nov 2026"
    assert section_lines(hugo) == expected and section_lines(meg) == expected
    assert (meg.waiting, meg.active_members) == (2, 2)


def test_the_digest_counts_only_what_was_done_before_it_was_built(w):
    """Built at 08:05, it does not count the step Lia finishes at 08:30; built again at
    09:00 it does (after the week: 0 more last week, 3 of 4 now)."""
    db.session.add(StepCompletion(user_id=w.lia.id, step_id=w.essay.steps[3].id,
                                  cohort_id=w.spring.id, completed_at=SEND
                                  + timedelta(minutes=30)))
    db.session.commit()
    week = latest_due_week(w.river, NOW)

    def lia(now):
        meg = build_digests(w.river, week, now, user_ids=[w.meg.id])[0]
        row = next(m for m in meg.sections[0].members if m.name == "Lia Learner")
        return [(p.done_last_week, p.completed) for p in row.paths]

    assert lia(NOW) == [(2, 2)]
    assert lia(SEND + timedelta(hours=1)) == [(2, 3)]


def test_a_week_of_progress_with_nothing_waiting_is_still_sent(w):
    db.session.execute(update(Submission).values(status="reviewed"))
    db.session.commit()
    meg = digests_of(w.river, user_ids=[w.meg.id])[0]
    assert meg.sections[0].pending_total == 0
    assert meg.is_empty is False
    assert section_lines(meg)[:3] == ["== Coaching ==", "Pending review (0)",
                                      "Nothing is waiting for review."]


def test_a_broken_group_tree_still_gets_its_digests(w):
    """A cycle left by moves that raced (Coaching under Juniors under Coaching) must not
    hang the weekly run: everyone still gets their digest."""
    db.session.execute(update(MentorGroup).where(MentorGroup.id == w.coaching.id)
                       .values(parent_id=w.juniors.id))
    db.session.commit()
    with sql_ends_within(10, "building the week's digests of a school with a loop in its tree"):
        found = {d.name: [s.group_name for s in d.sections] for d in digests_of(w.river)}
    assert found == {"Fay Fellow": ["Coaching"], "Gia Formeradmin": ["Coaching"],
                     "Gus GroupAdmin": ["Coaching", "Juniors"], "Meg Mentor": ["Coaching"],
                     "Olga Chess": ["Chess club"]}



def test_a_group_nested_below_a_loop_in_the_tree_still_gets_its_digests(w):
    """The same loop (Coaching under Juniors under Coaching) with "Debate" nested below it:
    working out whether Gus follows Debate as a Group Admin walks up from Debate into the
    loop, and must come out of it. The weekly run and Meg's preview both end, and say the
    same as before the damage."""
    debate = _group(w.ada, w.river, "Debate", parent=w.juniors, member=[w.bob],
                    mentor=[w.meg])
    digest_subscriptions.set_subscription(w.gus, w.river.id, debate.id, True)
    db.session.commit()
    db.session.execute(update(MentorGroup).where(MentorGroup.id == w.coaching.id)
                       .values(parent_id=w.juniors.id))
    db.session.commit()
    with sql_ends_within(10, "building the week's digests of a school with a loop in its tree"):
        found = {d.name: [s.group_name for s in d.sections] for d in digests_of(w.river)}
    assert found == {"Fay Fellow": ["Coaching"], "Gia Formeradmin": ["Coaching"],
                     "Gus GroupAdmin": ["Coaching", "Debate", "Juniors"],
                     "Meg Mentor": ["Coaching", "Debate"], "Olga Chess": ["Chess club"]}
    with sql_ends_within(10, "Meg's digest preview in a school with a loop in its tree"):
        preview = digests.preview_for(w.meg, w.river, now=NOW)
    assert [s.group_name for s in preview.sections] == ["Coaching", "Debate"]


# ---------------------------------------------------------------- weeks


def test_a_school_without_a_usable_time_zone_uses_utc(w):
    w.river.time_zone = "Mars/Olympus"  # a name the zone database no longer has
    assert zone(w.river) == ZoneInfo("UTC")
    week = latest_due_week(w.river, NOW)
    assert (week.start, week.end, week.send_at) == (utc(2026, 11, 23), utc(2026, 11, 30), SEND)
    assert zone(Account(name="Not saved yet")) == ZoneInfo("UTC")  # no time zone at all
    w.river.time_zone = ""
    assert zone(w.river) == ZoneInfo("UTC")


def test_a_week_key_that_is_no_week_is_refused_clearly(w):
    with pytest.raises(ServiceError, match=r"^There is no week 2026-W54\.$"):
        week_by_key(w.river, "2026-W54")
    with pytest.raises(ServiceError, match=r"^There is no week 2026-W00\.$"):
        week_by_key(w.river, "2026-W00")
    with pytest.raises(ServiceError, match=r"Give the week as YYYY-Www.*\(not None\)"):
        week_by_key(w.river, None)
    with pytest.raises(ServiceError, match=r"\(not '2026-W4'\)"):
        week_by_key(w.river, "2026-W4")
    assert week_by_key(w.river, "2026-W53").send_at == utc(2026, 12, 28, 8)
    assert date(2026, 12, 28).isocalendar()[:2] == (2026, 53)


def test_pending_work_whose_completions_are_gone_still_gets_its_mentor_a_digest(w):
    """Olu's completions went with a deleted cohort (the database cascades them) while his
    submission, made in his new cohort, still waits: Olga is still told."""
    db.session.execute(delete(StepCompletion).where(StepCompletion.user_id == w.olu.id))
    db.session.commit()
    olga = digests_of(w.river, user_ids=[w.olga.id])[0]
    section = olga.sections[0]
    assert (section.pending_total, section.anyone_started) == (1, False)
    assert olga.is_empty is False
    assert section_lines(olga)[:3] == [
        "== Chess club ==", "Pending review (1)",
        "- Olu Other: Step 2 in Essay writing, waiting 13 days [STALE]"]


def test_a_group_admin_role_in_another_school_never_widens_a_digest(w):
    """Damage `flask groups check` repairs: Coaching left under Hillside's group, where Meg
    is a Group Admin. At Riverside Meg is still only Coaching's mentor: Juniors (Jo) stays
    out of her digest."""
    gm.change_role(w.hal, w.hill.id, w.hill_group.id, w.meg.id, "group_admin")
    db.session.execute(update(MentorGroup).where(MentorGroup.id == w.coaching.id)
                       .values(parent_id=w.hill_group.id))
    db.session.commit()
    meg = digests_of(w.river, user_ids=[w.meg.id])[0]
    assert section_lines(meg) == [
        "== Coaching ==", "Pending review (1)", LIA_WAITS, *COACHING_MEMBERS,
        "Stop the digest for Coaching",
    ]
