"""The Plan screen: the help article's table of plans, the school's usage, and changing the
plan ("You can upgrade to create more Groups anytime"): choose a plan, read what it means for
the school's groups, confirm. Account admins only; the rule is services.plans.change_plan."""

from __future__ import annotations

from flask import abort, flash, redirect, request
from flask_admin import BaseView, expose
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import HiddenField

from mentorgroups.admin.base import AdminAccess
from mentorgroups.extensions import db
from mentorgroups.models import PLANS
from mentorgroups.services import groups
from mentorgroups.services.errors import ServiceError
from mentorgroups.services.plans import (
    change_consequences,
    change_plan,
    plan_label,
    plan_summary,
)
from mentorgroups.tenancy import current_membership


class ChangePlanForm(FlaskForm):
    plan = HiddenField()


class PlanView(AdminAccess, BaseView):
    @expose("/")
    def index(self):
        account = current_membership().account
        summary = plan_summary(account)
        # Opened from New group at the limit (?reason=limit): say why, where it is read.
        reason = groups.limit_message(account, summary.used) \
            if request.args.get("reason") == "limit" else None
        return self.render("admin/plan.html", summary=summary, reason=reason)

    @expose("/change", methods=("GET", "POST"))
    def change(self):
        """GET: what choosing the plan means, and a Confirm button. POST: apply it."""
        account = current_membership().account
        form = ChangePlanForm()
        plan = (form.plan.data if request.method == "POST" else request.args.get("plan")) or ""
        if plan not in PLANS:
            abort(404)
        if request.method == "POST":
            if not form.validate_on_submit():
                abort(400)
            try:
                _, before = change_plan(current_user, account.id, plan)
                db.session.commit()
            except ServiceError as exc:
                db.session.rollback()
                flash(exc.message, "error")
                return redirect(self.get_url(".index"))
            if before == plan:
                flash(f"{account.name} is already on the {plan_label(plan)} plan.", "info")
            else:
                flash(f"{account.name} is now on the {plan_label(plan)} plan (was "
                      f"{plan_label(before)}).", "success")
            return redirect(self.get_url(".index"))
        form.plan.data = plan
        summary = plan_summary(account)
        return self.render("admin/plan_change.html", form=form, summary=summary, plan=plan,
                           label=plan_label(plan),
                           lines=change_consequences(account.plan, plan, summary.used))
