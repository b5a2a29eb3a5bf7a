"""Counts, plan usage, consequences and times in the words people use (issue 13)."""

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from mentorgroups.localtime import as_written
from mentorgroups.services.plans import usage_text
from mentorgroups.wording import cohort_people, delete_consequences, deleted_message, plural


@pytest.mark.parametrize("n, text", [(0, "0 teachers"), (1, "1 teacher"), (2, "2 teachers")])
def test_plural(n, text):
    assert plural(n, "teacher") == text


def test_cohort_people_says_1_teacher():
    assert cohort_people({"learner": 1, "teacher": 1}) == "1 learner, 1 teacher, 0 moderators"
    assert cohort_people({"learner": 12, "teacher": 2, "moderator": 1}) == \
        "12 learners, 2 teachers, 1 moderator"


def test_delete_consequences_say_nothing_about_what_is_not_there():
    lines = delete_consequences(0, 0, None)
    assert lines == ["deletes nothing else: paths, progress and submitted work are kept."]
    assert not any("0 nested" in line or "nested" in line for line in lines)
    assert delete_consequences(1, 1, "Year 7")[:2] == [
        "its nested group moves up to \u201cYear 7\u201d;",
        "ends its 1 membership (people stay in the school);"]
    assert delete_consequences(3, 2, None)[0] == "its 3 nested groups move up to the top level;"


def test_deleted_message_names_only_what_happened():
    assert deleted_message("A", 0, 0, 0) == "Group \u201cA\u201d deleted."
    assert deleted_message("A", 1, 2, 0) == \
        "Group \u201cA\u201d deleted: 1 nested group moved up; 2 memberships ended."
    assert deleted_message("A", 0, 1, 1) == \
        "Group \u201cA\u201d deleted: 1 membership and 1 pending invitation ended."


@pytest.mark.parametrize("plan, used, text", [
    ("essentials", 2, "2 of 5 groups on the Essentials plan"),
    ("trial", 1, "1 of 1 group on the Trial plan"),
    ("trial", 0, "0 of 1 group on the Trial plan"),
    ("trial", 5, "5 groups; the Trial plan includes 1 group"),
    ("complete", 21, "21 groups; the Complete plan includes 20 groups"),
    ("enterprise", 1, "1 group \u00b7 unlimited on the Enterprise plan"),
])
def test_plan_usage_over_the_limit_is_never_5_of_1(plan, used, text):
    assert usage_text(plan, used) == text


@pytest.mark.parametrize("zone, text", [
    ("Asia/Tokyo", "28 Nov 2026, 19:54 JST"),
    ("UTC", "28 Nov 2026, 10:54 UTC"),
    ("America/Sao_Paulo", "28 Nov 2026, 07:54 UTC-03"),
    ("Asia/Kathmandu", "28 Nov 2026, 16:39 UTC+05:45"),
    ("Not/AZone", "28 Nov 2026, 10:54 UTC"),
])
def test_times_as_people_write_them_in_the_school_zone(zone, text):
    moment = datetime(2026, 11, 28, 10, 54, 3, 123456, tzinfo=UTC)
    assert as_written(moment, SimpleNamespace(time_zone=zone)) == text
