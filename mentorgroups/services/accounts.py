"""Schools and people: creating accounts and users, inviting people into a school, roles,
revoking and restoring access, signing in."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from mentorgroups.extensions import db
from mentorgroups.models import (
    ACCOUNT_ROLES,
    PLANS,
    Account,
    AccountMembership,
    Invitation,
    User,
    normalize_email,
)
from mentorgroups.models.accounts import password_hash_options
from mentorgroups.services.errors import NotFound, ServiceError
from mentorgroups.services.permissions import require_account_admin

MIN_PASSWORD_LENGTH = 8

# A hash of a throwaway password, checked when the email is unknown so that a wrong email
# and a wrong password take the same time as well as getting the same message.
_TIMING_PASSWORD = "timing-equaliser-not-a-real-password"
_TIMING_HASHES = {"": generate_password_hash(_TIMING_PASSWORD)}


def _timing_hash() -> str:
    """A hash made the way this app hashes passwords, checked when there is no real one, so
    an unknown email costs what a wrong password does."""
    method = password_hash_options().get("method", "")
    if method not in _TIMING_HASHES:
        _TIMING_HASHES[method] = generate_password_hash(_TIMING_PASSWORD, method=method)
    return _TIMING_HASHES[method]


def clean_email(raw: str | None) -> str:
    raw = (raw or "").strip()
    if not raw:
        raise ServiceError("Enter an email address.", field="email")
    try:
        # test_environment admits the reserved .test domain the demo school uses.
        result = validate_email(raw, check_deliverability=False, test_environment=True)
    except EmailNotValidError as exc:
        raise ServiceError(f"{raw!r} is not a valid email address.", field="email") from exc
    return normalize_email(result.normalized)


def clean_name(raw: str | None, *, field: str = "full_name", max_length: int = 120) -> str:
    name = " ".join((raw or "").split())
    if not name:
        raise ServiceError("Enter a name.", field=field)
    if len(name) > max_length:
        raise ServiceError(f"Names can be at most {max_length} characters.", field=field)
    return name


def check_password_rules(password: str | None) -> str:
    if not password or len(password) < MIN_PASSWORD_LENGTH:
        raise ServiceError(
            f"Passwords need at least {MIN_PASSWORD_LENGTH} characters.", field="password"
        )
    return password


def slugify(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    return slug[:60] or "school"


def unique_slug(name: str) -> str:
    base = slugify(name)
    slug, n = base, 2
    while db.session.scalar(select(Account.id).where(Account.slug == slug)) is not None:
        slug, n = f"{base}-{n}", n + 1
    return slug


def user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == normalize_email(email)))


def create_user(email: str, full_name: str, password: str | None = None) -> User:
    """A new personal account. Only its owner passes a password (joining through an
    invitation); the operator's command creates it without one and emails a set-up link."""
    email = clean_email(email)
    if user_by_email(email) is not None:
        raise ServiceError(f"A person with the email {email} already exists.", field="email")
    user = User(email=email, full_name=clean_name(full_name))
    if password is not None:
        user.set_password(check_password_rules(password))
    db.session.add(user)
    db.session.flush()
    return user


@dataclass
class NewSchool:
    """What `create_account` did about the first admin: made a new personal account
    (`user`, who sets their password from a link) or invited an existing one (`invitation`,
    which they accept by signing in)."""

    account: Account
    user: User | None = None
    invitation: Invitation | None = None


def create_account(name: str, plan: str, admin_email: str, admin_name: str | None = None,
                   time_zone: str = "UTC", send: bool = True) -> NewSchool:
    """Operator command: a new school and its first admin. A new address gets a personal
    account with no password, and a set-your-password email; an address that already has a
    personal account is invited (it joins only if its owner accepts). `send=False` stages no
    email: the operator prints the link instead."""
    from mentorgroups.services.invitations import invite_to_school
    from mentorgroups.services.passwords import send_setup_link

    if plan not in PLANS:
        raise ServiceError(f"Unknown plan {plan!r}; choose one of {', '.join(PLANS)}.")
    email = clean_email(admin_email)
    account = Account(name=clean_name(name, field="name"), plan=plan, time_zone=time_zone)
    account.slug = unique_slug(account.name)
    db.session.add(account)
    db.session.flush()
    user = user_by_email(email)
    if user is not None:
        return NewSchool(account, invitation=invite_to_school(None, account.id, email, "admin",
                                                              send=send))
    user = create_user(email, admin_name or email.split("@")[0])
    db.session.add(AccountMembership(account=account, user=user, role="admin"))
    db.session.flush()
    if send:
        send_setup_link(user)
    return NewSchool(account, user=user)


def account_by_slug(slug: str) -> Account:
    account = db.session.scalar(select(Account).where(Account.slug == slug))
    if account is None:
        raise NotFound(f"No school with the slug {slug!r}.")
    return account


def set_plan(slug: str, plan: str) -> Account:
    """The operator's change (`accounts set-plan`): the same rule as the school admin's on
    the Plan screen (services.plans.change_plan: audited, emailed), with nobody as actor."""
    from mentorgroups.services.plans import change_plan

    if plan not in PLANS:
        raise ServiceError(f"Unknown plan {plan!r}; choose one of {', '.join(PLANS)}.")
    account, _ = change_plan(None, account_by_slug(slug).id, plan)
    return account


def authenticate(email: str | None, password: str | None) -> User | None:
    """The user for these credentials, or None. Unknown email, wrong password and inactive
    person are indistinguishable to the caller."""
    user = user_by_email(email or "") if email else None
    if user is None:
        check_password_hash(_timing_hash(), password or "")
        return None
    if not user.password_hash:  # set-up link not used yet: same time as a wrong password
        check_password_hash(_timing_hash(), password or "")
        return None
    if not user.check_password(password or "") or not user.active:
        return None
    return user


def active_memberships(user: User) -> list[AccountMembership]:
    return list(
        db.session.scalars(
            select(AccountMembership)
            .join(Account)
            .where(AccountMembership.user_id == user.id, AccountMembership.status == "active")
            .order_by(Account.name)
        )
    )


def add_person(actor: User, account_id: int, email: str, role: str) -> Invitation:
    """People > Add: the address is invited into the school in `role`. Whether it already
    has a personal account (through another school) changes nothing here: nobody joins a
    school, or gets a password, except by following the link themselves, and the admin's
    answer is the same either way."""
    from mentorgroups.services.invitations import invite_to_school

    require_account_admin(actor, account_id)
    if role not in ACCOUNT_ROLES:
        raise ServiceError(f"Unknown role {role!r}.", field="role")
    email = clean_email(email)
    existing = db.session.scalar(
        select(AccountMembership).join(User).where(
            AccountMembership.account_id == account_id, User.email == email)
    )
    if existing is not None:
        if existing.status == "revoked":
            raise ServiceError(
                f"{email} had their access revoked; restore it from the People list.",
                field="email",
            )
        raise ServiceError(f"{email} is already in this school.", field="email")
    return invite_to_school(actor, account_id, email, role)


def _active_admin_count(account_id: int) -> int:
    return db.session.scalar(
        select(func.count()).select_from(AccountMembership).where(
            AccountMembership.account_id == account_id,
            AccountMembership.role == "admin",
            AccountMembership.status == "active",
        )
    )


def change_account_role(actor: User, membership: AccountMembership, role: str) -> None:
    require_account_admin(actor, membership.account_id)
    if role not in ACCOUNT_ROLES:
        raise ServiceError(f"Unknown role {role!r}.", field="role")
    if membership.role == "admin" and role != "admin" and membership.status == "active" \
            and _active_admin_count(membership.account_id) <= 1:
        raise ServiceError("A school needs at least one admin: make someone else admin first.")
    membership.role = role


def set_membership_status(actor: User, membership: AccountMembership, status: str) -> None:
    """Revoke or restore a person's access to this school. Their data stays either way.

    Revoking ends their access to this school only: every request checks the membership of
    the school the session works in (`tenancy.current_membership`), so a session working here
    loses it at its next click, while the person's sessions in their other schools go on. The
    personal account's session version is not touched: it belongs to the person (sign-out,
    password), and one school's admin raising it would sign them out of every school, as
    often as they liked."""
    require_account_admin(actor, membership.account_id)
    if status not in ("active", "revoked"):
        raise ServiceError(f"Unknown status {status!r}.")
    if status == "revoked" and membership.user_id == actor.id:
        # The actor is an active admin and may not revoke themselves, so the school keeps one.
        raise ServiceError("You cannot revoke your own access.")
    membership.status = status
