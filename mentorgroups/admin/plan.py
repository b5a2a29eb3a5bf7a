"""The Plan screen: the help article's table of plans, the school's usage, and who changes
the plan (the operator, with a command). Account admins only."""

from __future__ import annotations

from flask_admin import BaseView, expose

from mentorgroups.admin.base import AdminAccess
from mentorgroups.services.plans import plan_summary
from mentorgroups.tenancy import current_membership


class PlanView(AdminAccess, BaseView):
    @expose("/")
    def index(self):
        return self.render("admin/plan.html", summary=plan_summary(current_membership().account))
