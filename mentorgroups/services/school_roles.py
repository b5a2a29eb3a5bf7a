"""Which kinds of role a person holds in a school, for what the navigation offers them."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import exists, select

from mentorgroups.extensions import db
from mentorgroups.models import Cohort, CohortMembership, GroupMembership, MentorGroup, Path
from mentorgroups.request_cache import cached


@dataclass(frozen=True)
class SchoolRoles:
    group_staff: bool  # Mentor or Group Admin of some group
    group_admin: bool
    teaches: bool  # teacher or moderator of some cohort
    learns: bool  # enrolled as a learner in some cohort


def role_columns(user_id: int, account_id: int) -> tuple:
    """The four EXISTS, as columns another statement can carry (services.signed_in reads them
    with the person at the start of a request)."""

    def in_groups(*roles):
        return exists().where(GroupMembership.user_id == user_id,
                              GroupMembership.role.in_(roles),
                              MentorGroup.id == GroupMembership.group_id,
                              MentorGroup.account_id == account_id)

    def in_cohorts(*roles):
        return exists().where(CohortMembership.user_id == user_id,
                              CohortMembership.role.in_(roles),
                              Cohort.id == CohortMembership.cohort_id,
                              Path.id == Cohort.path_id, Path.account_id == account_id)

    return (in_groups("mentor", "group_admin"), in_groups("group_admin"),
            in_cohorts("teacher", "moderator"), in_cohorts("learner"))


def roles_key(user_id: int, account_id: int) -> tuple:
    return ("school_roles", user_id, account_id)


def roles_from_row(values) -> SchoolRoles:
    return SchoolRoles(*(bool(value) for value in values))


def roles_in_school(user_id: int, account_id: int) -> SchoolRoles:
    """Four EXISTS in one statement, once per request (or none: the request's first
    statement may have read them already)."""
    return cached(roles_key(user_id, account_id), lambda: roles_from_row(
        db.session.execute(select(*role_columns(user_id, account_id))).one()))
