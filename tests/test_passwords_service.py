"""The password rules at the service, one person at a time: how long each kind of link lives,
which addresses a reset is asked for, who gets a link, which link a token finds, and what a
new password ends (the screens are tested in tests/test_identity.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from mentorgroups.extensions import db
from mentorgroups.models import OutboxJob, PasswordLink, User, utcnow
from mentorgroups.services import passwords
from mentorgroups.services.errors import ServiceError
from tests.factories import PASSWORD, make_user


def links(**where) -> list[PasswordLink]:
    db.session.expire_all()
    query = select(PasswordLink).filter_by(**where).order_by(PasswordLink.id)
    return list(db.session.scalars(query))


def staged_password_jobs() -> int:
    return db.session.scalar(select(func.count()).select_from(OutboxJob).where(
        OutboxJob.name == "send_password_link"))


@pytest.fixture
def lia(app):
    person = make_user(email="lia@x.example", full_name="Lia Stone")
    db.session.commit()
    return person


# ---------------------------------------------------------------- how long a link lives


def test_a_setup_link_lives_hours_and_a_reset_link_minutes(app, lia):
    setup, _ = passwords.new_link(lia, "setup")
    reset, _ = passwords.new_link(lia, "reset")
    assert setup.expires_at - setup.created_at == timedelta(
        hours=app.config["PASSWORD_SETUP_TTL_HOURS"])
    assert reset.expires_at - reset.created_at == timedelta(
        minutes=app.config["PASSWORD_RESET_TTL_MINUTES"])


def test_a_link_keeps_the_request_key_it_was_made_for(lia):
    link, _ = passwords.new_link(lia, "reset", "request-17")
    assert link.request_key == "request-17"
    other, _ = passwords.new_link(lia, "reset")
    assert other.request_key and other.request_key != "request-17"


# ---------------------------------------------------------------- asking for a reset


@pytest.mark.parametrize("address", [None, "", "   ", "lia-at-x.example",
                                     "l" * 250 + "@x.example"])
def test_a_reset_is_only_asked_for_something_that_can_be_an_address(lia, address):
    with pytest.raises(ServiceError) as refused:
        passwords.request_reset(address, "10.0.0.1")
    assert refused.value.field == "email"
    assert str(refused.value) == "Enter the email address you sign in with."
    assert staged_password_jobs() == 0


def test_a_reset_for_an_address_stages_one_job(lia):
    passwords.request_reset("  LIA@x.example ", "10.0.0.1")
    assert staged_password_jobs() == 1
    # The address as typed is tidied first: the job (and the per-address limit) go by the
    # address the person signs in with, however it was spelt.
    payload = db.session.scalar(select(OutboxJob.payload).where(
        OutboxJob.name == "send_password_link"))
    assert (payload["email"], payload["purpose"]) == ("lia@x.example", "reset")


# ---------------------------------------------------------------- who gets a link


def test_the_job_sends_a_link_to_an_active_person_once(lia, mail_outbox):
    assert passwords.send_password_link("lia@x.example", "req-1", "reset") is True
    assert [m.recipients for m in mail_outbox] == [["lia@x.example"]]
    assert len(links(user_id=lia.id)) == 1
    # run twice (a retried job): the same link, found by its request key
    assert passwords.send_password_link("lia@x.example", "req-1", "reset") is True
    assert len(links(user_id=lia.id)) == 1


def test_no_link_for_an_unknown_address_or_a_deactivated_person(app, mail_outbox):
    make_user(email="gone@x.example", active=False)
    db.session.commit()
    assert passwords.send_password_link("nobody@x.example", "req-2", "reset") is False
    assert passwords.send_password_link("gone@x.example", "req-3", "reset") is False
    assert mail_outbox == []
    assert links() == []


def test_a_retried_job_sends_nothing_for_a_used_or_expired_link(lia, mail_outbox):
    used, _ = passwords.new_link(lia, "reset", "req-used")
    used.used_at = utcnow()
    expired, _ = passwords.new_link(lia, "reset", "req-expired")
    expired.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert passwords.send_password_link("lia@x.example", "req-used", "reset") is False
    assert passwords.send_password_link("lia@x.example", "req-expired", "reset") is False
    assert mail_outbox == []


# ---------------------------------------------------------------- which link a token finds


@pytest.mark.parametrize("token", [None, "", "x" * 101])
def test_a_missing_or_oversized_token_is_refused_before_any_lookup(lia, token):
    passwords.new_link(lia, "reset")
    with pytest.raises(passwords.LinkUnusable) as refused:
        passwords.find(token)
    assert str(refused.value) == "This password link is not valid."


def test_a_token_finds_its_own_link_and_a_forged_one_none(lia):
    ben = make_user(email="ben@x.example")
    db.session.flush()
    passwords.new_link(lia, "reset")
    bens_link, bens_token = passwords.new_link(ben, "reset")
    assert passwords.find(bens_token).id == bens_link.id
    with pytest.raises(passwords.LinkUnusable) as refused:
        passwords.find("forged-" + "a" * 40)
    assert str(refused.value) == "This password link is not valid. Ask for a new one."


def test_a_deactivated_persons_link_stops_working(lia):
    _, token = passwords.new_link(lia, "reset")
    lia.active = False
    db.session.flush()
    with pytest.raises(passwords.LinkUnusable, match="not valid any more"):
        passwords.find(token)


# ---------------------------------------------------------------- what a new password ends


def test_a_new_password_ends_only_that_persons_unused_links(lia):
    ben = make_user(email="ben@x.example")
    db.session.flush()
    _, bens_token = passwords.new_link(ben, "reset")
    used, _ = passwords.new_link(lia, "reset")
    used_at = utcnow() - timedelta(minutes=5)
    used.used_at = used_at
    pending, pending_token = passwords.new_link(lia, "reset")
    db.session.flush()

    passwords.set_own_password(lia, "brand-new-1")
    db.session.flush()

    assert passwords.find(bens_token).user_id == ben.id  # Ben's link still works
    with pytest.raises(passwords.LinkUnusable, match="used already"):
        passwords.find(pending_token)
    db.session.refresh(used)
    assert used.used_at == used_at  # a used link keeps the time it was used


def test_changing_a_password_needs_the_current_one_and_two_equal_new_ones(lia):
    with pytest.raises(ServiceError) as wrong:
        passwords.change_password(lia, None, "brand-new-1", "brand-new-1")
    assert wrong.value.field == "current"
    with pytest.raises(ServiceError) as mismatch:
        passwords.change_password(lia, PASSWORD, "brand-new-1", "brand-new-2")
    assert mismatch.value.field == "confirm"
    assert str(mismatch.value) == "The two passwords are not the same."
    db.session.expire_all()
    assert db.session.get(User, lia.id).check_password(PASSWORD)

    passwords.change_password(lia, PASSWORD, "brand-new-1", "brand-new-1")
    db.session.expire_all()
    assert db.session.get(User, lia.id).check_password("brand-new-1")


def test_using_one_persons_link_leaves_everybody_elses_usable(lia):
    ben = make_user(email="ben@x.example", full_name="Ben Stone")
    _, lias = passwords.new_link(lia, "reset")
    _, bens = passwords.new_link(ben, "reset")
    db.session.commit()
    passwords.reset_with_link(lias, "lias-new-1", "lias-new-1")
    db.session.commit()
    assert passwords.find(bens).used_at is None
    passwords.reset_with_link(bens, "bens-new-1", "bens-new-1")
    db.session.commit()
    assert all(link.used_at is not None for link in links())
