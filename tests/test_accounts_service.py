import pytest
from sqlalchemy import func, select

from mentorgroups.extensions import db
from mentorgroups.models import Account, AccountMembership, PasswordLink, User
from mentorgroups.services import accounts
from mentorgroups.services.errors import PermissionDenied, ServiceError
from tests.factories import PASSWORD, make_account, make_member, make_user


def count(model):
    return db.session.scalar(select(func.count()).select_from(model))


def test_create_account_with_new_admin_sets_no_password_and_stages_a_setup_link(app):
    result = accounts.create_account("Riverside Academy", "starter", "Head@River.test",
                                     "Hedda Head")
    db.session.commit()
    assert result.account.slug == "riverside-academy"
    admin = accounts.user_by_email("head@river.test")
    assert result.user == admin and admin.password_hash is None
    assert accounts.authenticate("HEAD@river.test", "") is None
    assert db.session.scalar(select(AccountMembership.role).where(
        AccountMembership.user_id == admin.id)) == "admin"
    link = db.session.scalar(select(PasswordLink).where(PasswordLink.user_id == admin.id))
    assert link.purpose == "setup" and link.email == "head@river.test"


def test_create_account_for_an_existing_person_invites_them(app):
    """The operator's command never adopts a personal account: a planted one (made through
    another school) gets an invitation its owner must accept, and keeps its password."""
    planted = make_user(email="head@river.test")
    before = planted.password_hash
    second = accounts.create_account("Riverside Academy", "trial", "head@river.test")
    db.session.commit()
    assert second.user is None and second.invitation.account_role == "admin"
    assert second.account.slug == "riverside-academy"
    assert accounts.active_memberships(planted) == [] and planted.password_hash == before
    assert count(User) == 1


def test_schools_with_the_same_name_get_their_own_slugs(app):
    """Two more "Riverside Academy"s (another town's): each gets its own slug, numbered,
    the first keeps the plain one."""
    slugs = []
    for n in range(3):
        result = accounts.create_account("Riverside Academy", "trial", f"head{n}@river.test")
        db.session.commit()
        slugs.append(result.account.slug)
    assert slugs == ["riverside-academy", "riverside-academy-2", "riverside-academy-3"]


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


def test_add_person_invites_and_never_enrols_or_sets_a_password(app):
    account, other_school = make_account(), make_account()
    admin = make_member(account, "admin")
    staff = make_member(account, "staff")
    outsider_admin = make_member(other_school, "admin")
    existing = make_user(email="known@example.test", full_name="Known Person")
    password_before = existing.password_hash

    with pytest.raises(PermissionDenied):
        accounts.add_person(staff, account.id, "x@example.test", "member")
    with pytest.raises(PermissionDenied):
        accounts.add_person(outsider_admin, account.id, "x@example.test", "member")
    with pytest.raises(ServiceError, match="Unknown role"):
        accounts.add_person(admin, account.id, "new@example.test", "owner")

    invited = accounts.add_person(admin, account.id, "KNOWN@example.test", "staff")
    assert (invited.email, invited.account_role, invited.group_id) == (
        "known@example.test", "staff", None)
    # An existing personal account is invited, not enrolled; its name and password stay.
    assert accounts.active_memberships(existing) == []
    assert existing.password_hash == password_before and existing.full_name == "Known Person"
    fresh = accounts.add_person(admin, account.id, "new@example.test", "member")
    assert fresh.account_role == "member"
    assert accounts.user_by_email("new@example.test") is None  # they name themselves later

    make_member(account, "member", user=existing)
    with pytest.raises(ServiceError, match="already in this school"):
        accounts.add_person(admin, account.id, "known@example.test", "member")


def test_revoked_people_are_not_added_again_silently(app):
    account = make_account()
    admin = make_member(account, "admin")
    gone = make_member(account, "member", status="revoked")
    with pytest.raises(ServiceError, match="revoked"):
        accounts.add_person(admin, account.id, gone.email, "member")


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


def test_every_failed_sign_in_costs_one_password_hash_check(app, monkeypatch):
    """An unknown address, a person who has not set a password yet and a wrong password take
    the same time as a right one (one hash check each), so how fast the answer comes does
    not tell who has an account or who is still to set their password."""
    import mentorgroups.models.accounts as models_accounts

    checks = []

    def counted(original):
        def check(pwhash, password):
            checks.append(pwhash)
            return original(pwhash, password)
        return check

    for module in (accounts, models_accounts):
        monkeypatch.setattr(module, "check_password_hash", counted(module.check_password_hash))
    known = make_user(email="known@school.test")
    pending = make_user(email="pending@school.test")
    pending.password_hash = None
    db.session.commit()
    answers = []
    for email, password in [("nobody@school.test", PASSWORD), ("pending@school.test", ""),
                            ("pending@school.test", PASSWORD), ("known@school.test", "wrong"),
                            ("known@school.test", PASSWORD)]:
        checks.clear()
        answers.append((accounts.authenticate(email, password), len(checks)))
    assert answers == [(None, 1), (None, 1), (None, 1), (None, 1), (known, 1)]
