"""The audit log row: who, what, which group and person, kept by id and by name."""

from sqlalchemy import select

from mentorgroups.extensions import db
from mentorgroups.models import AuditEvent
from mentorgroups.services import audit
from tests.factories import make_account, make_member


def test_a_change_is_recorded_with_names_that_outlive_the_rows(app):
    from mentorgroups.services import groups

    school = make_account(name="Log School")
    admin = make_member(school, "admin", full_name="Ada Admin", email="ada@log.test")
    learner = make_member(school, "member", email="lia@log.test")
    group = groups.create_group(admin, school.id, "Coaching")
    event = audit.record(admin, school.id, "member.add", group, subject=learner,
                         after={"role": "member"})
    db.session.commit()
    assert db.session.get(AuditEvent, event.id) is event
    assert (event.actor_id, event.group_id, event.group_name, event.subject_user_id,
            event.subject_email, event.before, event.after) == (
        admin.id, group.id, "Coaching", learner.id, "lia@log.test", None, {"role": "member"})


def test_a_change_by_the_system_about_no_group_or_person(app):
    school = make_account()
    event = audit.record(None, school.id, "system.note")
    db.session.commit()
    row = db.session.scalar(select(AuditEvent))
    assert row is event
    assert (row.actor_id, row.group_id, row.group_name, row.subject_user_id,
            row.subject_email) == (None, None, "", None, "")
