import pytest
from sqlalchemy import func, select

from mentorgroups.extensions import db
from mentorgroups.models import Account, AccountMembership, User
from mentorgroups.services import accounts
from mentorgroups.services.errors import PermissionDenied, ServiceError
from tests.factories import PASSWORD, make_account, make_member, make_user


def count(model):
    return db.session.scalar(select(func.count()).select_from(model))


def test_create_account_with_new_admin(app):
    account = accounts.create_account("Riverside Academy", "starter", "Head@River.test",
                                      "Hedda Head", "long-enough-1")
    db.session.commit()
    assert account.slug == "riverside-academy"
    admin = accounts.user_by_email("head@river.test")
    assert admin.email == "head@river.test"
    assert accounts.authenticate("HEAD@river.test", "long-enough-1") == admin
    second = accounts.create_account("Riverside Academy", "trial", "head@river.test")
    assert second.slug == "riverside-academy-2"
    assert count(User) == 1  # the same person admins both schools


def test_create_account_rejects_unknown_plan(app):
    with pytest.raises(ServiceError, match="Unknown plan 'gold'"):
        accounts.create_account("X", "gold", "a@b.test")
    assert count(Account) == 0


@pytest.mark.parametrize("email", ["", "   ", "not-an-email", "a@", "@b.test"])
def test_bad_emails_are_refused(app, email):
    with pytest.raises(ServiceError):
        accounts.create_user(email, "Someone", "long-enough-1")
    assert count(User) == 0


def test_email_is_unique_ignoring_case(app):
    accounts.create_user("Sam@Example.test", "Sam", "long-enough-1")
    with pytest.raises(ServiceError, match="already exists"):
        accounts.create_user("sam@EXAMPLE.test", "Sam Again", "long-enough-1")


def test_short_password_refused(app):
    with pytest.raises(ServiceError, match="at least 8"):
        accounts.create_user("s@example.test", "Sam", "short")


def test_authenticate_gives_the_same_answer_for_every_failure(app):
    user = make_user(email="who@example.test")
    make_user(email="gone@example.test", active=False)
    db.session.commit()
    assert accounts.authenticate("who@example.test", PASSWORD) == user
    assert accounts.authenticate("who@example.test", "wrong-password") is None
    assert accounts.authenticate("nobody@example.test", PASSWORD) is None
    assert accounts.authenticate("gone@example.test", PASSWORD) is None
    assert accounts.authenticate("", "") is None


def test_set_plan(app):
    account = make_account(plan="trial")
    accounts.set_plan(account.slug, "complete")
    assert account.plan == "complete"
    with pytest.raises(ServiceError, match="No school with the slug"):
        accounts.set_plan("missing", "complete")


def test_add_person_rules(app):
    account, other_school = make_account(), make_account()
    admin = make_member(account, "admin")
    staff = make_member(account, "staff")
    outsider_admin = make_member(other_school, "admin")
    existing = make_user(email="known@example.test", full_name="Known Person")

    with pytest.raises(PermissionDenied):
        accounts.add_person(staff, account.id, "x@example.test", "X", "member", "long-enough-1")
    with pytest.raises(PermissionDenied):
        accounts.add_person(outsider_admin, account.id, "x@example.test", "X", "member",
                            "long-enough-1")

    membership = accounts.add_person(admin, account.id, "KNOWN@example.test", "Ignored",
                                     "staff")
    assert membership.user == existing and existing.full_name == "Known Person"
    with pytest.raises(ServiceError, match="already in this school"):
        accounts.add_person(admin, account.id, "known@example.test", None, "member")
    with pytest.raises(ServiceError, match="initial password"):
        accounts.add_person(admin, account.id, "new@example.test", "New", "member")
    with pytest.raises(ServiceError, match="Unknown role"):
        accounts.add_person(admin, account.id, "new@example.test", "New", "owner", "pw-long-1")
    created = accounts.add_person(admin, account.id, "new@example.test", "New Person",
                                  "member", "long-enough-1")
    assert created.user.check_password("long-enough-1")


def test_revoked_people_are_not_added_again_silently(app):
    account = make_account()
    admin = make_member(account, "admin")
    gone = make_member(account, "member", status="revoked")
    with pytest.raises(ServiceError, match="revoked"):
        accounts.add_person(admin, account.id, gone.email, None, "member")


def test_school_keeps_an_admin(app):
    account = make_account()
    admin = make_member(account, "admin")
    membership = db.session.scalar(select(AccountMembership).where(
        AccountMembership.user_id == admin.id))
    with pytest.raises(ServiceError, match="at least one admin"):
        accounts.change_account_role(admin, membership, "staff")
    with pytest.raises(ServiceError, match="your own access"):
        accounts.set_membership_status(admin, membership, "revoked")
    second = make_member(account, "admin")
    accounts.change_account_role(second, membership, "staff")
    assert membership.role == "staff"


def test_revoke_and_restore(app):
    account = make_account()
    admin = make_member(account, "admin")
    learner = make_member(account, "member")
    membership = db.session.scalar(select(AccountMembership).where(
        AccountMembership.user_id == learner.id))
    accounts.set_membership_status(admin, membership, "revoked")
    assert accounts.active_memberships(learner) == []
    accounts.set_membership_status(admin, membership, "active")
    assert len(accounts.active_memberships(learner)) == 1
