"""School API tokens: created and revoked by the school's account admins, used by the school's
systems as bearer tokens (mentorgroups.api_auth).

A token acts with account-admin rights in its own school only. It acts through `TokenActor`,
which every service accepts where it takes the acting person: permission checks see an admin
membership of the token's school (permissions.active_membership), rows it creates name no
person, and the audit log names the token."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update

from mentorgroups.extensions import db
from mentorgroups.models import TOKEN_SCOPE_LABELS, TOKEN_SCOPES, ApiToken, User, utcnow
from mentorgroups.services import audit
from mentorgroups.services.errors import FormErrors, NotFound
from mentorgroups.services.permissions import require_account_admin

SECRET_PREFIX = "mgt_"  # says what the secret is when it turns up in a log or a paste
PREFIX_SHOWN = 12  # "mgt_" and 8 characters of the secret, to tell tokens apart
MAX_NAME = 80
MAX_TOKENS_PER_SCHOOL = 50  # active ones; revoked tokens stay listed for the record
# Last use is written at most once a minute per token, not on every request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass
class TokenActor:
    """The acting "person" of a request made with an API token. Services treat it as an
    account admin of the token's school (and of no other); `id` is None, so the rows it
    creates name no person as their author, and audit.record() names the token instead."""

    token: ApiToken
    id: None = None
    active: bool = True
    email: str = ""

    @property
    def api_token_id(self) -> int:
        return self.token.id

    @property
    def full_name(self) -> str:
        return f"API token \u201c{self.token.name}\u201d"

    @property
    def limit_key(self) -> str:
        """What per-actor rate limits (invitations per inviter) count under."""
        return f"token-{self.token.id}"


@dataclass(frozen=True)
class TokenMembership:
    """The admin membership a token has in its own school: what permission checks see."""

    account_id: int
    role: str = "admin"
    status: str = "active"
    user_id: None = None


def token_membership(actor: TokenActor, account_id: int) -> TokenMembership | None:
    token = actor.token
    if token.revoked_at is not None or token.account_id != account_id:
        return None
    return TokenMembership(account_id=account_id)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _clean(name: str | None, scope: str | None) -> tuple[str, str]:
    errors = {}
    name = " ".join((name or "").split())
    if not name:
        errors["name"] = "Give the token a name that says what uses it (e.g. \u201cHR sync\u201d)."
    elif len(name) > MAX_NAME:
        errors["name"] = f"Token names can be at most {MAX_NAME} characters."
    if scope not in TOKEN_SCOPES:
        errors["scope"] = "Choose what the token may do: read only, or read and write."
    if errors:
        raise FormErrors(errors)
    return name, scope


def create_token(actor: User, account_id: int, name: str, scope: str) -> tuple[ApiToken, str]:
    """A new token of the school, and its secret: the only time the secret exists outside
    the caller; the database keeps its hash."""
    require_account_admin(actor, account_id)
    name, scope = _clean(name, scope)
    active = db.session.scalar(select(func.count()).select_from(ApiToken).where(
        ApiToken.account_id == account_id, ApiToken.revoked_at.is_(None)))
    if active >= MAX_TOKENS_PER_SCHOOL:
        raise FormErrors({"name": f"A school can have at most {MAX_TOKENS_PER_SCHOOL} active "
                                  "tokens. Revoke one that is no longer used first."})
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(account_id=account_id, name=name, scope=scope,
                     secret_hash=hash_secret(secret), prefix=secret[:PREFIX_SHOWN],
                     created_by_id=actor.id)
    db.session.add(token)
    db.session.flush()
    audit.record(actor, account_id, "api_token.create", None,
                 after={"token": name, "scope": TOKEN_SCOPE_LABELS[scope],
                        "prefix": token.prefix})
    return token, secret


def token_of_school(actor: User, account_id: int, token_id) -> ApiToken:
    from mentorgroups.input_guard import parse_id

    require_account_admin(actor, account_id)
    tid = parse_id(token_id)
    token = db.session.get(ApiToken, tid) if tid is not None else None
    if token is None or token.account_id != account_id:
        raise NotFound("That token does not exist.")
    return token


def revoke_token(actor: User, account_id: int, token_id) -> ApiToken:
    """Revoke the token: its next request is refused (401). Revoking twice changes nothing
    and records nothing the second time."""
    token = token_of_school(actor, account_id, token_id)
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit.record(actor, account_id, "api_token.revoke", None,
                     before={"token": token.name, "scope": TOKEN_SCOPE_LABELS[token.scope],
                             "prefix": token.prefix})
        db.session.flush()
    return token


def list_tokens(actor: User, account_id: int) -> list[ApiToken]:
    """The school's tokens, active ones first, newest first (bounded by the active limit and
    what a school ever revokes: a short list, with their creators in the same statement)."""
    from sqlalchemy.orm import joinedload

    require_account_admin(actor, account_id)
    return list(db.session.scalars(
        select(ApiToken).options(joinedload(ApiToken.created_by))
        .where(ApiToken.account_id == account_id)
        .order_by(ApiToken.revoked_at.is_not(None), ApiToken.created_at.desc(),
                  ApiToken.id.desc())))


def parse_bearer(header: str | None) -> str | None:
    """The secret of an `Authorization: Bearer <secret>` header, or None."""
    scheme, _, secret = (header or "").strip().partition(" ")
    secret = secret.strip()
    if scheme.lower() != "bearer" or not secret or len(secret) > 200:
        return None
    return secret


def authenticate(header: str | None) -> ApiToken | None:
    """The active token the header names, or None (missing, malformed, unknown, revoked).
    Found by the hash's unique index, then compared in constant time."""
    secret = parse_bearer(header)
    if secret is None:
        return None
    digest = hash_secret(secret)
    token = db.session.scalar(select(ApiToken).where(ApiToken.secret_hash == digest))
    if token is None or not hmac.compare_digest(token.secret_hash, digest):
        return None
    if token.revoked_at is not None:
        return None
    return token


def record_use(token: ApiToken, now: datetime | None = None) -> bool:
    """Note that the token was used, at most once per LAST_USED_RESOLUTION: one conditional
    UPDATE (so two processes at the same moment write once), none at all while the last
    write is recent. Returns whether it wrote. The caller commits."""
    now = now or utcnow()
    if token.last_used_at is not None and now - token.last_used_at < LAST_USED_RESOLUTION:
        return False
    result = db.session.execute(
        update(ApiToken).where(
            ApiToken.id == token.id,
            or_(ApiToken.last_used_at.is_(None),
                ApiToken.last_used_at < now - LAST_USED_RESOLUTION))
        .values(last_used_at=now).execution_options(synchronize_session=False))
    if result.rowcount:
        from sqlalchemy.orm.attributes import set_committed_value

        set_committed_value(token, "last_used_at", now)
    return bool(result.rowcount)
