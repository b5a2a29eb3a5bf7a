"""The plans of the help article (Trial 1 group, Starter 1, Essentials 5, Complete 20,
Enterprise unlimited), how a school's usage is said against them, and changing a school's plan
("You can upgrade to create more Groups anytime"): by the school's own admin from the Plan
screen, or by the operator's `accounts set-plan` command, both through `change_plan`.

Payment is not handled here. A payment provider would hook in at `change_plan`: charge (or
open the provider's checkout and call `change_plan` from its confirmation webhook) before the
plan is written; everything after it (the audit event, the emails) stays as it is."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select

from mentorgroups.extensions import db
from mentorgroups.jobs import stage_job
from mentorgroups.models import PLAN_GROUP_LIMITS, PLANS, Account, AccountMembership, User
from mentorgroups.services import audit
from mentorgroups.services.errors import ServiceError
from mentorgroups.services.groups import _lock_account, group_count
from mentorgroups.services.permissions import require_account_admin

# The operator's command that changes a school's plan (the school's admins use the Plan screen).
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


# ---- changing the plan -------------------------------------------------------------------------

def _check_plan(plan: str) -> None:
    if plan not in PLANS:
        raise ServiceError(f"Choose one of the plans: {', '.join(map(plan_label, PLANS))}.",
                           field="plan")


def change_consequences(current: str, new: str, used: int) -> list[str]:
    """What choosing `new` means for a school on `current` with `used` groups, said before
    the admin confirms: exactly what happens to its groups and to creating new ones."""
    limit = PLAN_GROUP_LIMITS[new]
    name = plan_label(new)
    lines = [f"The {name} plan includes {groups_phrase(limit)}; {_school_has(used)}."]
    if limit is None:
        lines.append("You can create as many groups as you need, from now on.")
    elif used < limit:
        room = limit - used
        lines.append(f"You can create {room} more group{'' if room == 1 else 's'} "
                     "from now on.")
    elif used == limit:
        lines.append("Every group you have stays, and no new group can be created until "
                     "you delete one or choose a larger plan.")
    else:
        over = used - limit
        lines.append(
            f"This is fewer than the groups you have: all {used} of your groups stay, with "
            "their members, mentors and reviews, and keep working. No new group (nested "
            f"groups included) can be created until you have fewer than {limit} \u2014 "
            f"delete {over + 1} or choose a larger plan.")
    lines.append("The change applies at once. This school's admins"
                 + (" and billing" if current_app.config.get("BILLING_EMAIL") else "")
                 + " are told by email.")
    return lines


def _school_has(used: int) -> str:
    return f"this school has {used}" if used else "this school has none yet"


def change_plan(actor: User | None, account_id: int, plan: str) -> tuple[Account, str]:
    """Put the school on `plan` at once. `actor` is the school admin choosing it on the Plan
    screen (refused to anybody else), or None for the operator's command. The school's row is
    locked first, so a change and a group create of the same school run one after the other
    (the limit a create checks is the plan it sees). Logged in the audit log and emailed to
    the school's admins and to BILLING_EMAIL, one email job each, staged in this
    transaction. Returns the school and the plan it was on; choosing the current plan
    changes nothing and sends nothing.

    Payment hook: a payment provider would be called here, before the plan is written."""
    _check_plan(plan)
    if actor is not None:
        require_account_admin(actor, account_id)
    account = _lock_account(account_id)
    before = account.plan
    if before == plan:
        return account, before
    account.plan = plan
    used = group_count(account_id)
    event = audit.record(actor, account_id, "plan.change", before={"plan": before},
                         after={"plan": plan, "groups": used})
    db.session.flush()
    _stage_plan_emails(account, actor, before, plan, used, event.id)
    return account, before


def plan_change_recipients(account_id: int) -> list[str]:
    """The school's active admins, then the billing address (each address once)."""
    admins = db.session.scalars(
        select(User.email).join(AccountMembership, AccountMembership.user_id == User.id)
        .where(AccountMembership.account_id == account_id, AccountMembership.role == "admin",
               AccountMembership.status == "active", User.active.is_(True))
        .order_by(User.email))
    out = list(dict.fromkeys(admins))
    billing = (current_app.config.get("BILLING_EMAIL") or "").strip().lower()
    if billing and billing not in out:
        out.append(billing)
    return out


def _stage_plan_emails(account: Account, actor: User | None, before: str, plan: str,
                       used: int, event_id: int) -> None:
    from mentorgroups.services.notifications import external_url

    who = actor.full_name if actor is not None else "The operator"
    direction = "upgraded" if _rank(plan) > _rank(before) else "changed"
    subject = f"{account.name} is now on the {plan_label(plan)} plan"
    body = (
        f"{who} {direction} {account.name}'s plan from {plan_label(before)} to "
        f"{plan_label(plan)}. It applies now.\n\n"
        f"The {plan_label(plan)} plan includes {groups_phrase(PLAN_GROUP_LIMITS[plan])}; "
        f"{_school_has(used)}.\n"
        + ("Existing groups stay and keep working; no new group can be created while the "
           "school is over the limit.\n" if PLAN_GROUP_LIMITS[plan] is not None
           and used >= PLAN_GROUP_LIMITS[plan] else "")
        + f"\nSee the plans: {external_url('plan.index')}\n"
    )
    for address in plan_change_recipients(account.id):
        stage_job("send_email", key=f"plan-change:{event_id}:{address}", recipient=address,
                  subject=subject, body=body, account_id=account.id)


def _rank(plan: str) -> int:
    limit = PLAN_GROUP_LIMITS[plan]
    return 10**9 if limit is None else limit
