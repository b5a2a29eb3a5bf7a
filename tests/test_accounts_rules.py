"""What a person types when a school or a person is created: the messages they get back."""

import pytest
from sqlalchemy import func, select

from mentorgroups.extensions import db
from mentorgroups.models import Account, Invitation, User
from mentorgroups.services import accounts
from mentorgroups.services.errors import FormErrors, ServiceError


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
    named = accounts.create_account("Named School", "starter", "hedda@river.test", "Hedda Head")
    unnamed = accounts.create_account("Unnamed School", "starter", "olav.ops@river.test")
    db.session.commit()
    names = dict(db.session.execute(select(User.email, User.full_name)).all())
    assert names == {"hedda@river.test": "Hedda Head", "olav.ops@river.test": "olav.ops"}
    # Both are new personal accounts without a password: each sets one from a link.
    assert (named.user.email, unnamed.user.email) == ("hedda@river.test", "olav.ops@river.test")
    assert named.invitation is None and unnamed.invitation is None
    assert named.user.password_hash is None and unnamed.user.password_hash is None


def test_an_unknown_plan_changes_nothing(app):
    account = accounts.create_account("Plan School", "starter", "p@river.test").account
    db.session.commit()
    with pytest.raises(ServiceError, match="Unknown plan 'gold'"):
        accounts.set_plan(account.slug, "gold")
    db.session.rollback()
    assert db.session.scalar(select(Account.plan)) == "starter"
    assert accounts.set_plan(account.slug, "complete").plan == "complete"


def test_signing_in_with_nothing_typed_finds_nobody(app):
    accounts.create_user("s@river.test", "S", "long-enough-1")
    # The operator's new admin has no password until they follow their link.
    accounts.create_account("Sign School", "starter", "nopass@river.test", "N")
    db.session.commit()
    assert accounts.authenticate(None, None) is None
    assert accounts.authenticate("nobody@river.test", None) is None
    assert accounts.authenticate("s@river.test", None) is None
    assert accounts.authenticate("nopass@river.test", None) is None
    assert accounts.authenticate("nopass@river.test", "") is None
    assert accounts.authenticate("s@river.test", "long-enough-1").email == "s@river.test"


@pytest.fixture
def w(app):
    from tests.two_schools import two_schools

    return two_schools()


def _join(invitation, full_name):
    """The invited person follows their link and makes their personal account."""
    from mentorgroups.services import invitations

    user, _ = invitations.accept_with_new_account(invitations.make_token(invitation.nonce),
                                                  full_name, "long-enough-1")
    return user


def test_a_person_of_another_school_is_invited_never_enrolled(w):
    from tests.two_schools import membership

    hugo_password = w.hugo.password_hash
    invited = accounts.add_person(w.ada, w.river.id, "HUGO@hill.test", "staff")
    db.session.commit()
    assert (invited.email, invited.account_id, invited.group_id, invited.account_role,
            invited.status) == ("hugo@hill.test", w.river.id, None, "staff", "pending")
    assert membership(w.hugo, w.river) is None  # nobody joins but by their own link
    assert membership(w.hugo, w.hill).role == "staff"  # their other school is untouched
    assert w.hugo.full_name == "Hugo Hill"  # their name stays theirs
    assert w.hugo.password_hash == hugo_password  # and so does their password
    # Adding again refreshes that one invitation (new role, new link), not a second one.
    nonce = invited.nonce
    again = accounts.add_person(w.ada, w.river.id, "hugo@hill.test", "member")
    db.session.commit()
    assert (again.id, again.account_role) == (invited.id, "member") and again.nonce != nonce
    assert db.session.scalar(select(func.count()).select_from(Invitation).where(
        Invitation.email == "hugo@hill.test")) == 1
    with pytest.raises(ServiceError, match="already in this school"):
        accounts.add_person(w.ada, w.river.id, "LIA@river.test", "member")
    with pytest.raises(ServiceError, match="had their access revoked"):
        accounts.add_person(w.ada, w.river.id, "rita@river.test", "member")
    assert membership(w.rita, w.river).status == "revoked"


def test_a_new_person_added_is_asked_for_a_name_when_they_join(w):
    invited = accounts.add_person(w.ada, w.river.id, "new@river.test", "member")
    assert accounts.user_by_email("new@river.test") is None  # nobody named for them
    with pytest.raises(FormErrors) as info:
        _join(invited, "  ")
    assert info.value.errors == {"full_name": "Enter a name."}
    # What a screen without per-field errors shows: every message, in words.
    assert (str(info.value), info.value.message) == ("Enter a name.", "Enter a name.")
    assert accounts.user_by_email("new@river.test") is None
    assert _join(invited, "New Person").full_name == "New Person"


def test_the_last_active_admin_of_a_school_stays_admin(w):
    from tests.two_schools import membership

    old = membership(_join(accounts.add_person(w.ada, w.river.id, "old@river.test", "admin"),
                           "Old Admin"), w.river)
    assert (old.role, old.status) == ("admin", "active")
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

    bea = membership(_join(accounts.add_person(w.ada, w.river.id, "bea@river.test", "admin"),
                           "Bea Admin"), w.river)
    ada = membership(w.ada, w.river)
    accounts.set_membership_status(w.ada, ada, "active")  # restoring oneself: a no-op, allowed
    with pytest.raises(ServiceError, match="your own access"):
        accounts.set_membership_status(w.ada, ada, "revoked")
    version = bea.user.session_version
    accounts.set_membership_status(w.ada, bea, "revoked")  # another admin: allowed
    # Out of this school at the next click (the membership), not out of her other schools.
    assert bea.user.session_version == version
    accounts.set_membership_status(w.ada, bea, "revoked")  # twice: still fine
    assert bea.user.session_version == version
    with pytest.raises(ServiceError, match="Unknown status 'paused'"):
        accounts.set_membership_status(w.ada, membership(w.tess, w.river), "paused")
    db.session.commit()
    assert (ada.status, bea.status, membership(w.tess, w.river).status) == (
        "active", "revoked", "active")
    assert ada.user.session_version == 0 and membership(w.tess, w.river).user.session_version == 0
    accounts.set_membership_status(w.ada, bea, "active")
    assert bea.status == "active" and bea.user.session_version == version


def test_only_the_school_s_own_admins_change_a_person_s_role_or_access(w):
    """Gus (Group Admin of a group, staff of the school) and Hal (admin of the other school)
    may not make Meg an admin or revoke her: both are refused and nothing changes."""
    from mentorgroups.services.errors import PermissionDenied
    from tests.two_schools import membership

    meg = membership(w.meg, w.river)
    for actor in (w.gus, w.hal):
        with pytest.raises(PermissionDenied):
            accounts.change_account_role(actor, meg, "admin")
        with pytest.raises(PermissionDenied):
            accounts.set_membership_status(actor, meg, "revoked")
    assert (meg.role, meg.status) == ("staff", "active")
    accounts.change_account_role(w.ada, meg, "admin")  # her school's admin may
    accounts.set_membership_status(w.ada, meg, "revoked")
    assert (meg.role, meg.status) == ("admin", "revoked")
