"""Home > People > Groups at the service (services.mentor_groups): each listed group's
members and waiting work counted for that group alone, the person's own role in it, the page
clamped to the list, and the cohorts the person teaches in this school only. (Paging and
statement counts over 10 and 500 groups: tests/test_groups_tree.py.)"""

from __future__ import annotations

import pytest

from mentorgroups.extensions import db
from mentorgroups.paging import PageRequest
from mentorgroups.services import group_members as gm
from mentorgroups.services import groups, learning
from mentorgroups.services.mentor_groups import mentor_cohorts, mentor_groups_page
from tests.factories import make_account, make_cohort, make_member, make_path, school


@pytest.fixture
def s(app):
    s = school(plan="complete")
    s.mia = make_member(s.account, "staff", full_name="Mia Mentor")
    s.hal = make_member(s.account, "staff", full_name="Hal Head")
    make_cohort(s.path, "Mentors learning", learners=[s.mia])
    add = gm.add_members
    s.alpha = groups.create_group(s.admin, s.account.id, "Alpha")
    s.beta = groups.create_group(s.admin, s.account.id, "Beta")
    s.top = groups.create_group(s.admin, s.account.id, "Top")
    s.child = groups.create_group(s.admin, s.account.id, "Child", parent_id=s.top.id)
    add(s.admin, s.account.id, s.alpha.id, "mentor", user_ids=[s.mia.id])
    add(s.admin, s.account.id, s.alpha.id, "group_admin", user_ids=[s.hal.id])
    add(s.admin, s.account.id, s.alpha.id, "member", user_ids=[s.learner.id, s.other.id])
    add(s.admin, s.account.id, s.beta.id, "member", user_ids=[s.learner.id])  # not Mia's
    add(s.admin, s.account.id, s.top.id, "group_admin", user_ids=[s.mia.id])
    add(s.admin, s.account.id, s.child.id, "member", user_ids=[s.other.id])
    db.session.commit()
    review_step = s.path.steps[1].id
    learning.submit_for_review(s.learner, s.account.id, review_step, "Lia's work")
    done = learning.submit_for_review(s.other, s.account.id, review_step, "Olu's work")
    done.status = "reviewed"  # nothing waiting
    learning.submit_for_review(s.mia, s.account.id, review_step, "Mia's own work")
    # Lia also learns in another school, where her work waits too.
    elsewhere = make_account(name="Hillside", plan="complete")
    make_member(elsewhere, "member", user=s.learner)
    there = make_path(elsewhere, steps=3, review_at=(2,))
    make_cohort(there, "Hill cohort", learners=[s.learner], teachers=[s.mia])
    db.session.commit()
    learning.submit_for_review(s.learner, elsewhere.id, there.steps[1].id, "Lia elsewhere")
    db.session.commit()
    return s


def rows(page) -> dict[str, tuple[int, int, str]]:
    return {row["group"].name: (row["members"], row["waiting"], row["role"])
            for row in page.items}


def test_each_group_counts_its_own_members_and_their_waiting_work(s):
    page = mentor_groups_page(s.mia, s.account.id)
    # Alpha: Lia and Olu (Mia mentors, Hal administers: neither counted), one piece
    # waiting (Lia's here; Olu's is reviewed, Mia's own and Lia's other school's don't count).
    # Top: no members; Child, below the group Mia administers: Olu, nothing waiting.
    assert rows(page) == {"Alpha": (2, 1, "mentor"), "Child": (1, 0, "group_admin"),
                          "Top": (0, 0, "group_admin")}
    assert page.total == 3


def test_the_role_shown_is_the_persons_own(s):
    assert rows(mentor_groups_page(s.hal, s.account.id)) == {"Alpha": (2, 1, "group_admin")}


def test_nobody_to_follow_is_an_empty_page(s):
    page = mentor_groups_page(s.learner, s.account.id)
    assert (page.items, page.total) == ([], 0)
    outsider = make_member(make_account(name="Elsewhere"), "staff", full_name="Out Sider")
    db.session.commit()
    page = mentor_groups_page(outsider, s.account.id)  # no access to this school at all
    assert (page.items, page.total, page.number) == ([], 0, 1)
    nothing = mentor_groups_page(s.mia, s.account.id, PageRequest(search="no such group"))
    assert (nothing.items, nothing.total) == ([], 0)


def test_a_page_past_the_end_shows_the_last_page(s):
    page = mentor_groups_page(s.mia, s.account.id, PageRequest(number=9, size=2))
    assert page.number == 2 and [row["group"].name for row in page.items] == ["Top"]


def test_the_cohorts_listed_are_the_ones_the_person_teaches_here(s):
    other_teacher = make_member(s.account, "staff", full_name="Ola Other")
    make_cohort(s.path, "Ola's cohort", teachers=[other_teacher])
    make_cohort(s.path, "Moderated", moderators=[s.mia])
    db.session.commit()
    listed = [(row["cohort"].name, row["role"]) for row in mentor_cohorts(s.mia, s.account.id)]
    assert listed == [("Moderated", "moderator")]  # not where she learns, nor Hillside's
    assert [row["cohort"].name for row in mentor_cohorts(s.teacher, s.account.id)] == [
        "Cohort A"]
