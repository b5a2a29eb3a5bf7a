"""What a person types when a school or a person is created: the messages they get back."""

import pytest
from sqlalchemy import select

from mentorgroups.extensions import db
from mentorgroups.models import Account, User
from mentorgroups.services import accounts
from mentorgroups.services.errors import ServiceError


@pytest.mark.parametrize("raw", [None, "", "   "])
def test_a_missing_address_is_asked_for(raw):
    with pytest.raises(ServiceError, match="^Enter an email address.$") as info:
        accounts.clean_email(raw)
    assert info.value.field == "email"


@pytest.mark.parametrize("raw", [None, "", "  \t "])
def test_a_missing_name_is_asked_for(raw):
    with pytest.raises(ServiceError, match="^Enter a name.$"):
        accounts.clean_name(raw)


def test_names_are_tidied_and_limited():
    assert accounts.clean_name("  Ana   Bell ") == "Ana Bell"
    assert accounts.clean_name("x" * 120) == "x" * 120
    with pytest.raises(ServiceError, match="at most 120 characters") as info:
        accounts.clean_name("x" * 121, field="name")
    assert info.value.field == "name"
    with pytest.raises(ServiceError, match="at most 5 characters"):
        accounts.clean_name("Ana Bell", max_length=5)


@pytest.mark.parametrize("password", [None, "", "short-7"])
def test_short_or_missing_passwords_are_refused(password):
    with pytest.raises(ServiceError, match="at least 8 characters"):
        accounts.check_password_rules(password)
    assert accounts.check_password_rules("eight-ch") == "eight-ch"


def test_a_school_named_without_letters_still_gets_a_slug():
    assert accounts.slugify("École d'été: 2026!") == "ecole-d-ete-2026"
    assert accounts.slugify("!!! ???") == "school"
    assert accounts.slugify("Æ Ø") == "school"  # nothing left after ASCII folding


def test_the_first_admin_is_named_as_given_else_after_their_address(app):
    accounts.create_account("Named School", "starter", "hedda@river.test", "Hedda Head",
                            "long-enough-1")
    accounts.create_account("Unnamed School", "starter", "olav.ops@river.test")
    db.session.commit()
    names = dict(db.session.execute(select(User.email, User.full_name)).all())
    assert names == {"hedda@river.test": "Hedda Head", "olav.ops@river.test": "olav.ops"}


def test_an_unknown_plan_changes_nothing(app):
    account = accounts.create_account("Plan School", "starter", "p@river.test")
    db.session.commit()
    with pytest.raises(ServiceError, match="Unknown plan 'gold'"):
        accounts.set_plan(account.slug, "gold")
    db.session.rollback()
    assert db.session.scalar(select(Account.plan)) == "starter"
    assert accounts.set_plan(account.slug, "complete").plan == "complete"


def test_signing_in_with_nothing_typed_finds_nobody(app):
    accounts.create_account("Sign School", "starter", "s@river.test", "S", "long-enough-1")
    db.session.commit()
    assert accounts.authenticate(None, None) is None
    assert accounts.authenticate("nobody@river.test", None) is None
    assert accounts.authenticate("s@river.test", None) is None
    assert accounts.authenticate("s@river.test", "long-enough-1").email == "s@river.test"


@pytest.fixture
def w(app):
    from tests.two_schools import two_schools

    return two_schools()


def test_a_person_of_another_school_is_added_with_their_own_account(w):
    added = accounts.add_person(w.ada, w.river.id, "HUGO@hill.test", None, "staff")
    db.session.commit()
    assert (added.user_id, added.role, added.status) == (w.hugo.id, "staff", "active")
    assert w.hugo.full_name == "Hugo Hill"  # their name stays theirs
    with pytest.raises(ServiceError, match="already in this school"):
        accounts.add_person(w.ada, w.river.id, "hugo@hill.test", None, "member")
    with pytest.raises(ServiceError, match="had their access revoked"):
        accounts.add_person(w.ada, w.river.id, "rita@river.test", None, "member")


def test_a_new_person_added_without_a_name_is_asked_for_one(w):
    with pytest.raises(ServiceError, match="Enter a name"):
        accounts.add_person(w.ada, w.river.id, "new@river.test", None, "member", "long-enough-1")


def test_the_last_active_admin_of_a_school_stays_admin(w):
    from tests.two_schools import membership

    old = accounts.add_person(w.ada, w.river.id, "old@river.test", "Old Admin", "admin",
                              "long-enough-1")
    accounts.set_membership_status(w.ada, old, "revoked")
    db.session.commit()
    ada = membership(w.ada, w.river)
    # Hal admins Hillside, Old Admin's access is revoked, Tess is staff: none of them count.
    with pytest.raises(ServiceError, match="at least one admin"):
        accounts.change_account_role(w.ada, ada, "staff")
    accounts.change_account_role(w.ada, ada, "admin")  # no change: allowed
    accounts.change_account_role(w.ada, old, "staff")  # a revoked admin: allowed
    accounts.change_account_role(w.ada, membership(w.tess, w.river), "member")
    db.session.commit()
    assert (ada.role, old.role, membership(w.tess, w.river).role) == ("admin", "staff", "member")
    with pytest.raises(ServiceError, match="Unknown role 'owner'"):
        accounts.change_account_role(w.ada, membership(w.tess, w.river), "owner")
    assert membership(w.tess, w.river).role == "member"


def test_access_is_revoked_and_restored_by_another_admin_never_by_oneself(w):
    from tests.two_schools import membership

    bea = accounts.add_person(w.ada, w.river.id, "bea@river.test", "Bea Admin", "admin",
                              "long-enough-1")
    ada = membership(w.ada, w.river)
    accounts.set_membership_status(w.ada, ada, "active")  # restoring oneself: a no-op, allowed
    with pytest.raises(ServiceError, match="your own access"):
        accounts.set_membership_status(w.ada, ada, "revoked")
    accounts.set_membership_status(w.ada, bea, "revoked")  # another admin: allowed
    accounts.set_membership_status(w.ada, bea, "revoked")  # twice: still fine
    with pytest.raises(ServiceError, match="Unknown status 'paused'"):
        accounts.set_membership_status(w.ada, membership(w.tess, w.river), "paused")
    db.session.commit()
    assert (ada.status, bea.status, membership(w.tess, w.river).status) == (
        "active", "revoked", "active")
    accounts.set_membership_status(w.ada, bea, "active")
    assert bea.status == "active"
