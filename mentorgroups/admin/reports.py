"""Community > "..." > the two Mentor Group CSV reports: account admins only (AdminAccess:
signed out -> sign in, anybody else -> 403), always of the school they work in. The file is
streamed as the rows come from the database."""

from __future__ import annotations

from flask import Response, redirect, stream_with_context, url_for
from flask_admin import BaseView, expose
from flask_login import current_user

from mentorgroups.admin.base import AdminAccess
from mentorgroups.csvfile import csv_chunks
from mentorgroups.services import reports


def csv_response(report: reports.Report) -> Response:
    response = Response(stream_with_context(csv_chunks(report.header, report.rows())),
                        mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{report.filename}"'
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Accel-Buffering"] = "no"  # let a proxy pass the first bytes on
    return response


class ReportsView(AdminAccess, BaseView):
    def is_visible(self) -> bool:  # reached from the "..." menu of the Community screens
        return False

    @expose("/")
    def index(self):
        return redirect(url_for("groups.index"))

    @expose("/members.csv")
    def members(self):
        return csv_response(reports.members_report(current_user, self.account_id))

    @expose("/learner-progress.csv")
    def progress(self):
        return csv_response(reports.progress_report(current_user, self.account_id))
