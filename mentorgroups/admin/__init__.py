"""The back office: Flask-Admin, built per app by init_app() so several apps can coexist."""

from __future__ import annotations

from flask_admin import Admin
from flask_admin.theme import Bootstrap4Theme

from mentorgroups.extensions import db


def init_app(app) -> Admin:
    from mentorgroups.admin.api_tokens import ApiTokensView
    from mentorgroups.admin.audit import AuditLogView
    from mentorgroups.admin.base import BackOfficeHome
    from mentorgroups.admin.emails import SentEmailView
    from mentorgroups.admin.groups import GroupsView
    from mentorgroups.admin.learning import CohortView, PathView
    from mentorgroups.admin.people import PeopleView
    from mentorgroups.admin.plan import PlanView
    from mentorgroups.admin.reports import ReportsView
    from mentorgroups.admin.school import SchoolSettingsView
    from mentorgroups.models import AccountMembership, AuditEvent, Cohort, Path, SentEmail

    admin = Admin(
        app,
        name="Mentor Groups",
        theme=Bootstrap4Theme(base_template="admin/mg_base.html", fluid=True),
        index_view=BackOfficeHome(name="Home", url="/admin", endpoint="admin"),
    )
    admin.add_view(PeopleView(AccountMembership, db, name="People", endpoint="people"))
    admin.add_view(PathView(Path, db, name="Paths", endpoint="paths"))
    admin.add_view(CohortView(Cohort, db, name="Cohorts", endpoint="cohorts"))
    admin.add_view(SentEmailView(SentEmail, db, name="Sent emails",
                                 endpoint="sent_emails"))
    # One Community entry, opening the Community screen (tabs: Groups, Audit log), the
    # screen People's Manage button opens too.
    admin.add_view(GroupsView(name="Community", endpoint="groups",
                              url="/admin/community/groups"))
    admin.add_view(AuditLogView(AuditEvent, db, name="Audit log", endpoint="audit_log",
                                url="/admin/community/audit"))
    admin.add_view(ReportsView(name="Reports", endpoint="reports",
                               url="/admin/community/reports"))
    admin.add_view(PlanView(name="Plan", endpoint="plan", url="/admin/plan"))
    admin.add_view(SchoolSettingsView(name="School settings", endpoint="school_settings",
                                      url="/admin/school"))
    admin.add_view(ApiTokensView(name="API tokens", endpoint="api_tokens",
                                 url="/admin/api-tokens"))
    return admin
