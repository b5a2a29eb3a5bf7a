"""An admin puts people of the school in cohorts: only their own school's people and cohorts,
each person once per cohort."""

import pytest
from sqlalchemy import select

from mentorgroups.extensions import db
from mentorgroups.models import CohortMembership
from mentorgroups.services import learning
from mentorgroups.services.errors import NotFound, PermissionDenied, ServiceError
from tests.kept_scenes import kept_scene
from tests.two_schools import two_schools


@pytest.fixture
def w(app, request):
    return kept_scene(request, build_w)


def build_w():
    return two_schools()


def roles(cohort):
    return dict(db.session.execute(select(CohortMembership.user_id, CohortMembership.role)
                                   .where(CohortMembership.cohort_id == cohort.id)).all())


def test_enrolling_is_idempotent_and_changes_the_role_in_that_cohort_only(w):
    before_spring = roles(w.spring)
    first = learning.enroll(w.ada, w.autumn.id, w.lia.id)
    again = learning.enroll(w.ada, w.autumn.id, w.lia.id, role="moderator")
    db.session.commit()
    assert again is first and (first.cohort_id, first.role) == (w.autumn.id, "moderator")
    assert roles(w.autumn)[w.lia.id] == "moderator"
    assert roles(w.spring) == before_spring  # Lia is still a learner in Spring
    teacher = learning.enroll(w.ada, w.autumn.id, w.eve.id, role="teacher")
    assert (teacher.user_id, teacher.role) == (w.eve.id, "teacher")
    assert roles(w.autumn)[w.olu.id] == "learner"


def test_only_this_school_s_active_people_are_enrolled(w):
    for person in (w.hugo, w.rita, w.dee):  # other school; revoked; deactivated
        with pytest.raises(NotFound, match="not an active member"):
            learning.enroll(w.ada, w.autumn.id, person.id)
    with pytest.raises(NotFound, match="not an active member"):
        learning.enroll(w.ada, w.autumn.id, 10_000_000)
    with pytest.raises(NotFound, match="cohort does not exist"):
        learning.enroll(w.ada, 10_000_000, w.lia.id)
    with pytest.raises(PermissionDenied):  # Hal admins Hillside, not Riverside
        learning.enroll(w.hal, w.autumn.id, w.lia.id)
    with pytest.raises(ServiceError, match="Unknown cohort role 'observer'"):
        learning.enroll(w.ada, w.autumn.id, w.lia.id, role="observer")
    db.session.rollback()
    assert w.lia.id not in roles(w.autumn)


def test_a_learner_s_paths_are_this_school_s_paths_they_take(w):
    assert [p.title for p, _ in learning.learner_paths(w.lia, w.river.id)] == ["Essay writing"]
    assert [p.title for p, _ in learning.learner_paths(w.lia, w.hill.id)] == ["Hill maths"]
    assert [p.title for p, _ in learning.learner_paths(w.eve, w.river.id)] == ["Debating"]
    assert learning.learner_paths(w.tess, w.river.id) == []  # teaches, does not learn
    for path in (w.hill_maths, w.debating):
        with pytest.raises(NotFound):
            learning.path_for_learner(w.lia, w.river.id, path.id)
    with pytest.raises(NotFound):
        learning.complete_step(w.lia, w.river.id, w.hill_maths.steps[0].id)
    with pytest.raises(NotFound):
        learning.complete_step(w.lia, w.river.id, w.debating.steps[0].id)
