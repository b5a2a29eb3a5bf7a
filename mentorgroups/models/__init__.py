"""All models, imported here so Alembic and the app see the whole metadata."""

from mentorgroups.models.accounts import (
    ACCOUNT_ROLE_LABELS,
    ACCOUNT_ROLES,
    PLANS,
    Account,
    AccountMembership,
    User,
    normalize_email,
)
from mentorgroups.models.api_tokens import TOKEN_SCOPE_LABELS, TOKEN_SCOPES, ApiToken
from mentorgroups.models.base import Base, utcnow
from mentorgroups.models.digests import DigestDelivery, DigestRun, DigestSubscription
from mentorgroups.models.discussion import SubmissionMessage
from mentorgroups.models.email_choices import (
    CADENCES,
    EMAIL_KINDS,
    EmailChoice,
    EmailSummary,
    EmailSummaryItem,
)
from mentorgroups.models.groups import (
    GROUP_ROLE_LABELS,
    GROUP_ROLES,
    PLAN_GROUP_LIMITS,
    STAFF_ROLES,
    AuditEvent,
    GroupMembership,
    MentorGroup,
)
from mentorgroups.models.invitations import Invitation
from mentorgroups.models.jobs import OutboxJob, SentEmail
from mentorgroups.models.learning import (
    COHORT_ROLES,
    Cohort,
    CohortMembership,
    Path,
    Review,
    Step,
    StepCompletion,
    Submission,
    SubmissionVersion,
)
from mentorgroups.models.notifications import Notification
from mentorgroups.models.passwords import PASSWORD_LINK_PURPOSES, PasswordLink
from mentorgroups.models.sign_in import SignInThrottle

__all__ = [
    "ACCOUNT_ROLE_LABELS",
    "ACCOUNT_ROLES",
    "GROUP_ROLES",
    "GROUP_ROLE_LABELS",
    "PLAN_GROUP_LIMITS",
    "STAFF_ROLES",
    "ApiToken",
    "AuditEvent",
    "TOKEN_SCOPES",
    "TOKEN_SCOPE_LABELS",
    "DigestDelivery",
    "DigestRun",
    "DigestSubscription",
    "CADENCES",
    "EMAIL_KINDS",
    "EmailChoice",
    "EmailSummary",
    "EmailSummaryItem",
    "GroupMembership",
    "Invitation",
    "Notification",
    "PASSWORD_LINK_PURPOSES",
    "PasswordLink",
    "SignInThrottle",
    "MentorGroup",
    "COHORT_ROLES",
    "PLANS",
    "Account",
    "AccountMembership",
    "Base",
    "Cohort",
    "CohortMembership",
    "OutboxJob",
    "Path",
    "Review",
    "SentEmail",
    "Step",
    "StepCompletion",
    "Submission",
    "SubmissionVersion",
    "SubmissionMessage",
    "User",
    "normalize_email",
    "utcnow",
]
