"""Account-level checks: deactivated and revoked people are members of no school."""

import pytest
from sqlalchemy import func, select

from mentorgroups.extensions import db
from mentorgroups.models import StepCompletion, Submission
from mentorgroups.services import accounts, learning
from mentorgroups.services.errors import PermissionDenied
from mentorgroups.services.permissions import (
    active_membership,
    is_account_admin,
    require_account_admin,
    require_active_member,
)
from tests.kept_scenes import kept_scene
from tests.two_schools import membership, two_schools


@pytest.fixture
def w(app, request):
    return kept_scene(request, build_w)


def build_w():
    return two_schools()


def test_a_deactivated_account_is_a_member_of_no_school(w):
    assert active_membership(w.meg, w.river.id).role == "staff"
    assert active_membership(w.dee, w.river.id) is None
    with pytest.raises(PermissionDenied):
        require_active_member(w.dee, w.river.id)
    assert active_membership(None, w.river.id) is None


def test_a_visitor_who_is_not_signed_in_is_a_member_of_no_school(w):
    from flask_login import AnonymousUserMixin

    from mentorgroups.models import User

    assert active_membership(AnonymousUserMixin(), w.river.id) is None
    assert is_account_admin(AnonymousUserMixin(), w.river.id) is False
    assert active_membership(User(email="new@river.test", active=True), w.river.id) is None


def test_revoked_access_counts_in_its_school_only(w):
    assert active_membership(w.rita, w.river.id) is None
    assert active_membership(w.rita, w.hill.id).role == "staff"
    assert require_active_member(w.rita, w.hill.id).account_id == w.hill.id
    with pytest.raises(PermissionDenied):
        require_active_member(w.rita, w.river.id)


def test_account_admins_are_admins_of_their_own_school(w):
    assert is_account_admin(w.ada, w.river.id)
    assert not is_account_admin(w.ada, w.hill.id)
    assert not is_account_admin(w.meg, w.river.id)
    assert require_account_admin(w.hal, w.hill.id).user_id == w.hal.id
    with pytest.raises(PermissionDenied):
        require_account_admin(w.hal, w.river.id)
    with pytest.raises(PermissionDenied):
        require_account_admin(w.meg, w.river.id)


def test_a_learner_whose_access_was_revoked_can_neither_complete_nor_submit(w):
    accounts.set_membership_status(w.ada, membership(w.lia, w.river), "revoked")
    db.session.commit()
    with pytest.raises(PermissionDenied):
        learning.complete_step(w.lia, w.river.id, w.essay.steps[0].id)
    with pytest.raises(PermissionDenied):
        learning.submit_for_review(w.lia, w.river.id, w.essay.steps[1].id, "late work")
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(StepCompletion)) == 0
    assert db.session.scalar(select(func.count()).select_from(Submission)) == 0
    # at Hillside, where her access stands, she still learns
    assert learning.complete_step(w.lia, w.hill.id, w.hill_maths.steps[0].id).user_id == w.lia.id


def test_an_api_token_acts_as_an_admin_of_its_own_school_only(app):
    from mentorgroups.services import api_tokens
    from tests.factories import make_account, make_member

    account, other = make_account(), make_account()
    token, _ = api_tokens.create_token(make_member(account, "admin"), account.id, "Sync", "read")
    actor = api_tokens.TokenActor(token)
    assert require_account_admin(actor, account.id).role == "admin"
    assert is_account_admin(actor, account.id) and not is_account_admin(actor, other.id)
    with pytest.raises(PermissionDenied):
        require_account_admin(actor, other.id)


def test_within_a_request_each_persons_membership_is_their_own(app):
    """Memberships are kept for the request by person and school: a page that looks up a
    learner's after the viewer's gets the learner's."""
    from tests.factories import make_account, make_member

    account, other = make_account(), make_account()
    admin = make_member(account, "admin")
    make_member(other, "member", user=admin)
    gone = make_member(account, "member", status="revoked")
    db.session.commit()
    with app.test_request_context("/"):
        assert active_membership(admin, account.id).role == "admin"
        assert active_membership(gone, account.id) is None
        assert active_membership(admin, other.id).role == "member"
