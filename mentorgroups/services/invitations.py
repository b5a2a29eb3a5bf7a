"""Invitations into Mentor Groups for addresses that have no membership in the school yet.

The link's token is HMAC(SECRET_KEY, nonce); the database keeps the nonce and a SHA-256 hash
of the token, never the token. Accepting uses the link with one conditional UPDATE (pending
to accepted), so one link makes one membership and one audit event however many times it is
clicked at once; the others are told it was used."""

from __future__ import annotations

import secrets
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value

from mentorgroups import ratelimits
from mentorgroups.extensions import db
from mentorgroups.jobs import stage_job
from mentorgroups.models import (
    ACCOUNT_ROLE_LABELS,
    GROUP_ROLE_LABELS,
    AccountMembership,
    GroupMembership,
    Invitation,
    MentorGroup,
    User,
    normalize_email,
    utcnow,
)
from mentorgroups.services import audit, digest_subscriptions
from mentorgroups.services.accounts import check_password_rules, clean_name, create_user
from mentorgroups.services.errors import FormErrors, NotFound, ServiceError
from mentorgroups.services.groups import group_for_manager
from mentorgroups.services.permissions import require_account_admin
from mentorgroups.tokens import hash_token, signed_token


class InvitationUnusable(ServiceError):
    """The link can't be used; `reason` is forged, expired, revoked or used."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


class RateLimited(ServiceError):
    pass


USED = "This invitation has already been used."


def make_token(nonce: str) -> str:
    return signed_token("invitation", nonce)


def _new_link(invitation: Invitation) -> None:
    invitation.nonce = secrets.token_hex(16)
    invitation.token_hash = hash_token(make_token(invitation.nonce))
    invitation.sent_at = utcnow()
    invitation.expires_at = invitation.sent_at + timedelta(
        days=current_app.config["INVITATION_TTL_DAYS"])


def _check_rate(actor: User | None, account_id: int) -> None:
    """Per school and per inviter (the operator's command has no inviter)."""
    checks = [(current_app.config["INVITES_PER_ACCOUNT"], "account", str(account_id))]
    if actor is not None:
        checks.append((current_app.config["INVITES_PER_INVITER"], "inviter",
                       str(getattr(actor, "limit_key", actor.id))))
    scope = ratelimits.exceeded("invitations", checks)
    if scope is not None:
        limit = dict((s, lim) for lim, s, _ in checks)[scope]
        who = "this school" if scope == "account" else "you"
        raise RateLimited(f"Too many invitations: {who} can send {limit.replace('/', ' per ')}."
                          " Try again later.")


def _stage_email(invitation: Invitation) -> None:
    stage_job("send_invitation", invitation_id=invitation.id, nonce=invitation.nonce)


def invite_to_school(actor: User | None, account_id: int, email: str, account_role: str,
                     send: bool = True) -> Invitation:
    """Ask an address into the school itself (People > Add, the operator's first admin). The
    person joins only by following the link: a personal account is never enrolled, and its
    password never set, by anybody else. Inviting again refreshes the pending invitation.
    `actor` is None for the operator's command; `send=False` leaves the emailing to the caller
    (the operator prints the link)."""
    email = normalize_email(email)
    _check_rate(actor, account_id)
    invitation = db.session.scalar(select(Invitation).where(
        Invitation.account_id == account_id, Invitation.group_id.is_(None),
        Invitation.account_role.is_not(None), Invitation.email == email,
        Invitation.status == "pending").with_for_update())
    action = "invitation.resend"
    if invitation is None:
        invitation = Invitation(account_id=account_id, email=email, role="member")
        db.session.add(invitation)
        action = "invitation.send"
    invitation.account_role = account_role
    invitation.invited_by_id = actor.id if actor is not None else None
    invitation.invited_by_token_id = getattr(actor, "api_token_id", None)
    _new_link(invitation)
    db.session.flush()
    audit.record(actor, account_id, action, None,
                 after={"email": email, "school role": account_role})
    if send:
        _stage_email(invitation)
    return invitation


def pending_for_school(account_id: int) -> list[Invitation]:
    """Pending invitations into the school itself, newest first (People list)."""
    return list(db.session.scalars(
        select(Invitation).where(Invitation.account_id == account_id,
                                 Invitation.group_id.is_(None),
                                 Invitation.account_role.is_not(None),
                                 Invitation.status == "pending")
        .order_by(Invitation.sent_at.desc())))


def invite(actor: User, account_id: int, group: MentorGroup, email: str, role: str) -> Invitation:
    """Invite an address (already validated, with no membership in the school) into a group.
    Inviting it again refreshes the pending invitation: a new link, the old one dead."""
    email = normalize_email(email)
    _check_rate(actor, account_id)
    invitation = db.session.scalar(select(Invitation).where(
        Invitation.group_id == group.id, Invitation.email == email,
        Invitation.status == "pending").with_for_update())
    action = "invitation.resend"
    if invitation is None:
        invitation = Invitation(account_id=account_id, group_id=group.id, email=email)
        db.session.add(invitation)
        action = "invitation.send"
    invitation.role, invitation.invited_by_id = role, actor.id
    invitation.invited_by_token_id = getattr(actor, "api_token_id", None)
    _new_link(invitation)
    db.session.flush()
    audit.record(actor, account_id, action, group, after={"email": email, "role": role})
    _stage_email(invitation)
    return invitation


def _pending(actor: User, account_id: int, invitation_id) -> Invitation:
    try:
        iid = int(invitation_id)
    except (TypeError, ValueError):
        raise NotFound("That invitation does not exist.") from None
    invitation = db.session.get(Invitation, iid)
    if invitation is None or invitation.account_id != account_id \
            or (invitation.group_id is None and not invitation.to_school):
        raise NotFound("That invitation does not exist.")
    if invitation.to_school:
        require_account_admin(actor, account_id)
    else:
        group_for_manager(actor, account_id, invitation.group_id)
    if invitation.status != "pending":
        raise ServiceError(f"The invitation to {invitation.email} was already "
                           f"{invitation.status}.")
    return invitation


def resend(actor: User, account_id: int, invitation_id) -> Invitation:
    invitation = _pending(actor, account_id, invitation_id)
    if invitation.to_school:
        return invite_to_school(actor, account_id, invitation.email, invitation.account_role)
    return invite(actor, account_id, invitation.group, invitation.email, invitation.role)


def revoke(actor: User, account_id: int, invitation_id) -> Invitation:
    invitation = _pending(actor, account_id, invitation_id)
    invitation.status = "revoked"
    role = ({"school role": invitation.account_role} if invitation.to_school
            else {"role": invitation.role})
    audit.record(actor, account_id, "invitation.revoke", invitation.group,
                 before={"email": invitation.email, **role})
    db.session.flush()
    return invitation


def end_for_group(group_id: int) -> int:
    """A deleted group's pending invitations end with it; returns how many."""
    result = db.session.execute(
        update(Invitation).where(Invitation.group_id == group_id, Invitation.status == "pending")
        .values(status="revoked"))
    return result.rowcount or 0


def pending_count(group_id: int) -> int:
    """The group's pending invitations: what deleting it would end (end_for_group)."""
    return db.session.scalar(select(func.count()).select_from(Invitation).where(
        Invitation.group_id == group_id, Invitation.status == "pending"))


def pending_for_group(group_id: int) -> list[Invitation]:
    """The group's pending invitations, newest first, with whoever sent them (a person or an
    API token) in the same statement."""
    from sqlalchemy.orm import joinedload

    return list(db.session.scalars(
        select(Invitation).options(joinedload(Invitation.invited_by),
                                   joinedload(Invitation.invited_by_token))
        .where(Invitation.group_id == group_id, Invitation.status == "pending")
        .order_by(Invitation.sent_at.desc())))


# ---- the link ---------------------------------------------------------------------------------

def find(token: str | None, lock: bool = False) -> Invitation:
    """The invitation behind a link, or InvitationUnusable saying why not."""
    if not token or len(token) > 100:
        raise InvitationUnusable("forged", "This invitation link is not valid.")
    query = select(Invitation).where(Invitation.token_hash == hash_token(token))
    if lock:
        # populate_existing: the route read the row before (unlocked) and that copy stays in
        # the session; without it the locked read would hand back the stale one.
        query = query.with_for_update().execution_options(populate_existing=True)
    invitation = db.session.scalar(query)
    if invitation is None:
        raise InvitationUnusable("forged", "This invitation link is not valid. It may have been "
                                           "replaced by a newer invitation.")
    if invitation.status == "accepted":
        raise InvitationUnusable("used", USED)
    if invitation.status == "revoked" or (invitation.group_id is None
                                          and not invitation.to_school):
        raise InvitationUnusable("revoked", "This invitation was withdrawn.")
    if invitation.expires_at <= utcnow():
        raise InvitationUnusable("expired", "This invitation has expired. Ask whoever invited "
                                            "you to send a new one.")
    return invitation


def has_personal_account(invitation: Invitation) -> bool:
    return db.session.scalar(select(User.id).where(User.email == invitation.email)) is not None


def _use(invitation: Invitation, user: User) -> None:
    """The one step that uses the link, atomic whatever the reads before it saw: a
    conditional UPDATE that only one transaction can make (a second waits for the first's
    row lock, then finds the invitation accepted and changes nothing)."""
    now = utcnow()
    used = db.session.execute(
        update(Invitation).where(Invitation.id == invitation.id,
                                 Invitation.status == "pending")
        .values(status="accepted", accepted_at=now, accepted_by_id=user.id)
        .execution_options(synchronize_session=False))
    if used.rowcount != 1:
        raise InvitationUnusable("used", USED)
    for name, value in (("status", "accepted"), ("accepted_at", now),
                        ("accepted_by_id", user.id)):
        set_committed_value(invitation, name, value)  # what the UPDATE wrote; not dirty


def accept(user: User, token: str) -> Invitation:
    """A signed-in person accepts: in one transaction they get a membership of the school (in
    the invited school role, or as member for a group invitation, unless they have one) and,
    for a group invitation, the invited role in the group. This is the only way anybody who
    is not yet in a school becomes a member of it."""
    invitation = find(token, lock=True)
    if normalize_email(user.email) != invitation.email:
        raise ServiceError(f"This invitation is for {invitation.email}. Sign out and sign in "
                           "with that address to accept it.")
    membership = db.session.scalar(select(AccountMembership).where(
        AccountMembership.account_id == invitation.account_id,
        AccountMembership.user_id == user.id))
    if membership is not None and membership.status != "active":
        raise ServiceError("Your access to this school was revoked, so this invitation can't "
                           "be accepted. Contact the school's admins.")
    _use(invitation, user)  # before anything is written: a second click stops here
    if membership is None:
        db.session.add(AccountMembership(account_id=invitation.account_id, user_id=user.id,
                                         role=invitation.account_role or "member"))
    if invitation.to_school:
        audit.record(user, invitation.account_id, "invitation.accept", None, subject=user,
                     after={"school role": invitation.account_role})
        db.session.flush()
        return invitation
    in_group = db.session.scalar(select(GroupMembership).where(
        GroupMembership.group_id == invitation.group_id, GroupMembership.user_id == user.id))
    if in_group is None:
        db.session.add(GroupMembership(group_id=invitation.group_id, user_id=user.id,
                                       role=invitation.role,
                                       added_by_id=invitation.invited_by_id))
        digest_subscriptions.follow_role_change(user.id, invitation.group_id, None,
                                                invitation.role)
    audit.record(user, invitation.account_id, "invitation.accept", invitation.group,
                 subject=user, after={"role": invitation.role})
    db.session.flush()
    return invitation


def accept_with_new_account(token: str, full_name: str, password: str) -> tuple[User, Invitation]:
    """Someone with no personal account: name and password make one, then accept."""
    invitation = find(token, lock=True)
    errors = {}
    for check, value in ((clean_name, full_name), (check_password_rules, password)):
        try:
            check(value)
        except ServiceError as exc:
            errors[exc.field] = exc.message
    if errors:
        raise FormErrors(errors)
    name = clean_name(full_name)
    if has_personal_account(invitation):
        raise ServiceError("You already have a personal account: sign in to accept.")
    try:
        user = create_user(invitation.email, name, password)
    except IntegrityError:
        db.session.rollback()
        find(token)  # made by a join with this link at the same moment: "already used"
        raise ServiceError("You already have a personal account: sign in to accept.") from None
    return user, accept(user, token)


def role_label(invitation: Invitation) -> str:
    if invitation.to_school:
        return ACCOUNT_ROLE_LABELS[invitation.account_role]
    return GROUP_ROLE_LABELS[invitation.role]
