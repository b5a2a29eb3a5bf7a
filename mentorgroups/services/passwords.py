"""Passwords belong to their owners: set-up and reset links sent to the address, changing
one's own password, and the sessions that end when a password changes.

A "Forgot your password?" request stages one job whatever the address: the job, not the
request, looks the person up, so the answer (and the work the web process does) is the same
for an address with an account and one without. Links are single-use, bound to the address,
expire (1 hour for a reset, longer for the operator's set-up link) and only a hash of the token
is stored (the token is an HMAC of a nonce under the app's secret, as for invitations)."""

from __future__ import annotations

import secrets
from datetime import timedelta

from flask import current_app
from sqlalchemy import select, update

from mentorgroups import ratelimits
from mentorgroups.extensions import db
from mentorgroups.jobs import job, stage_job
from mentorgroups.models import PasswordLink, User, normalize_email, utcnow
from mentorgroups.services.accounts import check_password_rules, user_by_email
from mentorgroups.services.email import deliver_email
from mentorgroups.services.errors import ServiceError
from mentorgroups.tokens import hash_token, signed_token


class LinkUnusable(ServiceError):
    """The link can't be used: forged, used or expired (the message says which)."""


class TooManyRequests(ServiceError):
    pass


USED = "This password link has been used already. Ask for a new one if you need to."


def make_token(nonce: str) -> str:
    return signed_token("password", nonce)


def _ttl(purpose: str) -> timedelta:
    if purpose == "setup":
        return timedelta(hours=current_app.config["PASSWORD_SETUP_TTL_HOURS"])
    return timedelta(minutes=current_app.config["PASSWORD_RESET_TTL_MINUTES"])


def new_link(user: User, purpose: str, request_key: str | None = None) -> tuple[PasswordLink, str]:
    """A fresh link for `user`; returns the row and its token (never stored)."""
    nonce = secrets.token_hex(16)
    token = make_token(nonce)
    now = utcnow()
    link = PasswordLink(user_id=user.id, email=user.email, purpose=purpose,
                        request_key=request_key or secrets.token_hex(16), nonce=nonce,
                        token_hash=hash_token(token), created_at=now,
                        expires_at=now + _ttl(purpose))
    db.session.add(link)
    db.session.flush()
    return link, token


def link_url(token: str) -> str:
    from mentorgroups.services.notifications import external_url

    return external_url("auth.reset_password", token=token)


def _check_rate(email: str, client: str) -> None:
    """Per address (whether or not it has an account, so the limit tells nothing) and per
    client."""
    checks = [(current_app.config["PASSWORD_RESETS_PER_ADDRESS"], "address", email),
              (current_app.config["PASSWORD_RESETS_PER_CLIENT"], "client", client)]
    if ratelimits.exceeded("password-reset", checks) is not None:
        raise TooManyRequests("Too many reset requests. Wait a while, check your inbox "
                              "(and spam folder) for the last link, then try again.")


def request_reset(email: str, client: str) -> None:
    """"Forgot your password?": stage the job that emails a link if the address has an
    account. Nothing here depends on whether it has one."""
    email = normalize_email(email or "")
    if not email or "@" not in email or len(email) > 254:
        raise ServiceError("Enter the email address you sign in with.", field="email")
    _check_rate(email, client)
    stage_job("send_password_link", email=email, request_key=secrets.token_hex(16),
              purpose="reset")


def send_setup_link(user: User) -> None:
    """Stage a set-your-password email for a person the operator created."""
    stage_job("send_password_link", email=user.email, request_key=secrets.token_hex(16),
              purpose="setup")


@job("send_password_link", queue="emails")
def send_password_link(email: str, request_key: str, purpose: str) -> bool:
    """Make (once per request) and email a password link. Safe to run twice: the link is found
    again by its request key and the email's idempotency key is the request's."""
    link = db.session.scalar(select(PasswordLink).where(PasswordLink.request_key == request_key))
    if link is None:
        user = user_by_email(email)
        if user is None or not user.active:
            return False
        link, token = new_link(user, purpose, request_key)
        db.session.commit()
    else:
        token = make_token(link.nonce)
    if link.used_at is not None or link.expires_at <= utcnow():
        return False
    url = link_url(token)
    if purpose == "setup":
        subject = "Set your Mentor Groups password"
        intro = ("A personal account was made for you on Mentor Groups. Choose your password "
                 "here to sign in:")
        lifetime = f"{current_app.config['PASSWORD_SETUP_TTL_HOURS']} hours"
    else:
        subject = "Reset your Mentor Groups password"
        intro = "Somebody (we hope you) asked to reset your password. Choose a new one here:"
        lifetime = f"{current_app.config['PASSWORD_RESET_TTL_MINUTES']} minutes"
    deliver_email(
        key=f"password:{request_key}",
        recipient=link.email,
        subject=subject,
        body=(f"Hello {link.user.full_name},\n\n{intro}\n{url}\n\n"
              f"The link works once, for {lifetime}. If you didn't ask for it, ignore this "
              f"email: your password stays as it is.\n"),
        secrets=[url],
    )
    return True


def find(token: str | None) -> PasswordLink:
    """The link a token names, if it can still be used. Whether it is used now is decided by
    `_use`'s conditional UPDATE, not by a lock here."""
    if not token or len(token) > 100:
        raise LinkUnusable("This password link is not valid.")
    link = db.session.scalar(
        select(PasswordLink).where(PasswordLink.token_hash == hash_token(token)))
    if link is None:
        raise LinkUnusable("This password link is not valid. Ask for a new one.")
    if link.used_at is not None:
        raise LinkUnusable(USED)
    if link.expires_at <= utcnow():
        raise LinkUnusable("This password link has expired. Ask for a new one.")
    if normalize_email(link.user.email) != link.email or not link.user.active:
        raise LinkUnusable("This password link is not valid any more. Ask for a new one.")
    return link


def set_own_password(user: User, password: str) -> None:
    """The one way a password changes: by its owner. Every session of theirs ends and every
    unused password link dies."""
    user.set_password(check_password_rules(password))
    user.end_sessions()
    db.session.execute(update(PasswordLink).where(
        PasswordLink.user_id == user.id, PasswordLink.used_at.is_(None)).values(used_at=utcnow()))


def _use(link: PasswordLink) -> None:
    """The one step that uses a link, atomic whatever the reads before it saw: a conditional
    UPDATE that only one transaction can make (a second waits for the first's row lock, then
    finds `used_at` set and changes nothing)."""
    used = db.session.execute(
        update(PasswordLink).where(PasswordLink.id == link.id, PasswordLink.used_at.is_(None))
        .values(used_at=utcnow()).execution_options(synchronize_session=False))
    if used.rowcount != 1:
        raise LinkUnusable(USED)


def reset_with_link(token: str, password: str, confirm: str) -> User:
    link = find(token)
    if password != confirm:
        raise ServiceError("The two passwords are not the same.", field="confirm")
    _use(link)
    user = link.user
    set_own_password(user, password)
    db.session.flush()
    return user


def change_password(user: User, current: str, password: str, confirm: str) -> None:
    if not user.check_password(current or ""):
        raise ServiceError("That is not your current password.", field="current")
    if password != confirm:
        raise ServiceError("The two passwords are not the same.", field="confirm")
    set_own_password(user, password)
    db.session.flush()
