"""The Plan screen's facts at the service: which plan is the school's and which plans its
groups fit in (the screen itself is in tests/test_article_ways.py)."""

from mentorgroups.extensions import db
from mentorgroups.services import groups
from mentorgroups.services.plans import plan_summary, usage_text
from tests.factories import make_account, make_member


def test_the_schools_plan_is_marked_and_each_plan_says_whether_its_groups_fit(app):
    school = make_account(name="Riverside Academy", plan="essentials")
    other = make_account(name="Hillside College", plan="complete")
    admin = make_member(school, "admin")
    for n in range(5):  # exactly the Essentials limit
        groups.create_group(admin, school.id, f"Group {n}")
    groups.create_group(make_member(other, "admin"), other.id, "Theirs")
    db.session.commit()

    summary = plan_summary(school)
    assert summary.used == 5
    assert summary.usage == "5 of 5 groups on the Essentials plan"
    assert [(r.plan, r.groups, r.current, r.fits) for r in summary.rows] == [
        ("trial", "1 group", False, False),
        ("starter", "1 group", False, False),
        ("essentials", "5 groups", True, True),
        ("complete", "20 groups", False, True),
        ("enterprise", "Unlimited groups", False, True),
    ]
    assert summary.command == "flask --app app accounts set-plan " + school.slug + " <plan>"
    assert [r.current for r in plan_summary(other).rows] == [False, False, False, True, False]


def test_usage_is_said_against_the_plan_even_over_its_limit():
    assert usage_text("trial", 0) == "0 of 1 group on the Trial plan"
    assert usage_text("trial", 5) == "5 groups; the Trial plan includes 1 group"
    assert usage_text("enterprise", 1) == "1 group \u00b7 unlimited on the Enterprise plan"
