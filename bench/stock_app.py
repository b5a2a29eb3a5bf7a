"""The yardstick: stock Flask-Admin `ModelView` lists of the same tables and rows the app's
screens show, at Flask-Admin's default page size, in a small app of their own (no sign-in,
no scoping beyond a fixed filter), served the same way as the app (gunicorn, one worker).

    MG_BENCH_DB=... gunicorn --workers 1 --bind 127.0.0.1:PORT bench.stock_app:app
"""

from __future__ import annotations

import os

from flask import Flask, g
from flask_admin import Admin
from flask_admin.contrib.sqla import ModelView
from flask_admin.theme import Bootstrap4Theme
from sqlalchemy import event, select

from mentorgroups.extensions import db
from mentorgroups.models import (
    AccountMembership,
    AuditEvent,
    GroupMembership,
    MentorGroup,
    Notification,
    StepCompletion,
    Submission,
)

BIG_GROUP, MENTOR, LEARNER, SCHOOL = 1, 3, 2002, 1


def filtered(model, condition, **options):
    """A stock ModelView whose list (and count) keeps only `condition`'s rows."""

    class View(ModelView):
        can_create = can_edit = can_delete = False
        column_list = options.pop("column_list")
        column_default_sort = options.pop("column_default_sort", None)

        def get_query(self):
            return super().get_query().filter(condition())

        def get_count_query(self):
            return super().get_count_query().filter(condition())

    View.__name__ = f"Stock{model.__name__}View"
    return View


def mentor_groups():
    return select(GroupMembership.group_id).where(GroupMembership.user_id == MENTOR,
                                                  GroupMembership.role == "mentor")


def create_stock_app() -> Flask:
    app = Flask(__name__)
    app.config.update(SECRET_KEY="bench", SQLALCHEMY_DATABASE_URI=os.environ["MG_BENCH_DB"])
    db.init_app(app)
    admin = Admin(app, name="Stock", theme=Bootstrap4Theme())
    views = {
        "members": (GroupMembership, lambda: GroupMembership.group_id == BIG_GROUP,
                    ["user.full_name", "user.email", "role", "created_at"]),
        "submissions": (Submission, lambda: (Submission.account_id == SCHOOL)
                        & (Submission.status == "pending"),
                        ["user.full_name", "step.title", "cohort.name", "submitted_at"]),
        "mentor_queue": (Submission, lambda: (Submission.account_id == SCHOOL)
                         & (Submission.status == "pending")
                         & Submission.user_id.in_(select(GroupMembership.user_id).where(
                             GroupMembership.group_id.in_(mentor_groups()),
                             GroupMembership.role == "member")),
                         ["user.full_name", "step.title", "cohort.name", "submitted_at"]),
        "completions": (StepCompletion, lambda: StepCompletion.user_id == LEARNER,
                        ["step.title", "cohort.name", "completed_at"]),
        "groups": (MentorGroup, lambda: MentorGroup.account_id == SCHOOL,
                   ["name", "parent.name", "created_at"]),
        "people": (AccountMembership, lambda: AccountMembership.account_id == SCHOOL,
                   ["user.full_name", "user.email", "role", "status", "created_at"]),
        "notifications": (Notification, lambda: (Notification.user_id == MENTOR)
                          & (Notification.account_id == SCHOOL),
                          ["text", "created_at", "read_at"]),
        "audit": (AuditEvent, lambda: AuditEvent.account_id == SCHOOL,
                  ["created_at", "actor.full_name", "action", "group_name", "subject_email"]),
    }
    for endpoint, (model, condition, columns) in views.items():
        view = filtered(model, condition, column_list=columns)
        admin.add_view(view(model, db.session, name=endpoint, endpoint=endpoint,
                            url=f"/admin/{endpoint}"))

    with app.app_context():
        @event.listens_for(db.engine, "before_cursor_execute")
        def _count(conn, cursor, statement, parameters, context, executemany):
            try:
                g.bench_statements = g.get("bench_statements", 0) + 1
            except RuntimeError:
                pass

    @app.after_request
    def _statements_header(response):
        response.headers["X-Bench-Statements"] = str(g.get("bench_statements", 0))
        return response

    return app


app = create_stock_app()
