"""The audit log of group changes, written in the same transaction as the change. An API
token's changes name the token (services.api_tokens.TokenActor), not a person."""

from __future__ import annotations

from mentorgroups.extensions import db
from mentorgroups.models import AuditEvent, MentorGroup, User


def record(actor: User | None, account_id: int, action: str, group: MentorGroup | None = None,
           subject: User | None = None, before: dict | None = None,
           after: dict | None = None) -> AuditEvent:
    event = AuditEvent(
        account_id=account_id,
        actor_id=actor.id if actor is not None else None,
        api_token_id=getattr(actor, "api_token_id", None),
        action=action,
        group_id=group.id if group is not None else None,
        group_name=group.name if group is not None else "",
        subject_user_id=subject.id if subject is not None else None,
        subject_email=subject.email if subject is not None else "",
        before=before,
        after=after,
    )
    db.session.add(event)
    return event
