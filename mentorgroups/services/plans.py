"""The plans of the help article (Trial 1 group, Starter 1, Essentials 5, Complete 20,
Enterprise unlimited) and how a school's usage is said against them."""

from __future__ import annotations

from dataclasses import dataclass

from mentorgroups.models import PLAN_GROUP_LIMITS, PLANS, Account
from mentorgroups.services.groups import group_count

# The operator's command that changes a school's plan (nobody changes it from a screen).
SET_PLAN_COMMAND = "flask --app app accounts set-plan {slug} <plan>"


def groups_phrase(n: int | None) -> str:
    return "unlimited groups" if n is None else f"{n} group{'' if n == 1 else 's'}"


def plan_label(plan: str) -> str:
    return plan.title()


def usage_text(plan: str, used: int) -> str:
    """The meter's words: '2 of 5 groups on the Essentials plan'; over the limit (after a
    downgrade) '5 groups; the Trial plan includes 1 group', never '5 of 1 group'."""
    limit = PLAN_GROUP_LIMITS[plan]
    name = plan_label(plan)
    if limit is None:
        return f"{groups_phrase(used)} \u00b7 unlimited on the {name} plan"
    if used > limit:
        return f"{groups_phrase(used)}; the {name} plan includes {groups_phrase(limit)}"
    return f"{used} of {groups_phrase(limit)} on the {name} plan"


@dataclass
class PlanRow:
    plan: str
    label: str
    groups: str
    current: bool
    fits: bool  # the school's groups fit in this plan


@dataclass
class PlanSummary:
    account: Account
    used: int
    usage: str
    rows: list[PlanRow]
    command: str


def plan_summary(account: Account) -> PlanSummary:
    """What the Plan screen shows: every plan, the school's one marked, its usage, and the
    command its operator runs to change it."""
    used = group_count(account.id)
    rows = [PlanRow(plan=plan, label=plan_label(plan),
                    groups=groups_phrase(PLAN_GROUP_LIMITS[plan]).capitalize(),
                    current=plan == account.plan,
                    fits=PLAN_GROUP_LIMITS[plan] is None or used <= PLAN_GROUP_LIMITS[plan])
            for plan in PLANS]
    return PlanSummary(account=account, used=used, usage=usage_text(account.plan, used),
                       rows=rows, command=SET_PLAN_COMMAND.format(slug=account.slug))
