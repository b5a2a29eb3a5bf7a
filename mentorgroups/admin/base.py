"""What every back-office screen shares: access for the current school's admins only, rows
scoped to that school everywhere Flask-Admin reads them, CSRF, and CSV that never runs as a
formula."""

from __future__ import annotations

import logging
from datetime import date, datetime

from flask import Response, abort, redirect, request, stream_with_context, url_for
from flask_admin import AdminIndexView, expose
from flask_admin._compat import csv_encode
from flask_admin.actions import action
from flask_admin.babel import lazy_gettext
from flask_admin.contrib.sqla import ModelView
from flask_admin.contrib.sqla.fields import QuerySelectField
from flask_admin.model import typefmt
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from werkzeug.utils import secure_filename
from wtforms.fields import Choice

from mentorgroups.csvfile import csv_chunks
from mentorgroups.extensions import db
from mentorgroups.input_guard import parse_id
from mentorgroups.models import AccountMembership, Cohort, Path, Submission
from mentorgroups.services.accounts import active_memberships
from mentorgroups.tenancy import current_membership

MAX_PAGE = 100_000  # pages beyond this (or below the first) are clamped, never sent to SQL
log = logging.getLogger(__name__)


row_id = parse_id  # a row id sent by the browser, or None when it can name no row


def row_ids(values) -> list[int]:
    return [pk for pk in map(row_id, values) if pk is not None]


class SchoolSelectField(QuerySelectField):
    """Flask-Admin's relation select, yielding WTForms' Choice rather than the plain tuples
    WTForms 3.3 deprecates (a DeprecationWarning on every form that shows one)."""

    def iter_choices(self):
        for choice in super().iter_choices():
            yield choice if isinstance(choice, Choice) else Choice(*choice)


class AdminAccess:
    """Current school's admins only: anonymous -> sign in, anybody else -> 403."""

    def is_accessible(self) -> bool:
        membership = current_membership() if current_user.is_authenticated else None
        return membership is not None and membership.role == "admin"

    def inaccessible_callback(self, name, **kwargs):
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        if current_membership() is None and active_memberships(current_user):
            # Several schools and none chosen yet: choose one. Somebody with no school left
            # (a revoked admin) has nothing to choose and is refused like anybody else.
            return redirect(url_for("auth.choose_account", next=request.full_path.rstrip("?")))
        abort(403)

    @property
    def account_id(self) -> int:
        return current_membership().account_id


class BackOfficeHome(AdminAccess, AdminIndexView):
    """Home: the school home (services.school_home). An account admin's landing page after
    sign-in; Group Admins see the same for their part of the tree."""

    def is_accessible(self) -> bool:
        from mentorgroups.services.groups import can_use_groups_back_office

        membership = current_membership() if current_user.is_authenticated else None
        return membership is not None and (
            membership.role == "admin"
            or can_use_groups_back_office(current_user, membership.account_id))

    @expose("/")
    def index(self):
        from mentorgroups.models import utcnow
        from mentorgroups.paging import page_request
        from mentorgroups.services.plans import usage_text
        from mentorgroups.services.school_home import school_home

        membership = current_membership()
        account_id = membership.account_id
        home = school_home(current_user, account_id, page_request(request.args),
                           sort=request.args.get("sort", "name"),
                           direction=request.args.get("dir"),
                           show=request.args.get("show", "all"))
        counts = None
        if home.whole_school:
            counts = dict(zip(("people", "paths", "cohorts", "pending"), db.session.execute(
                select(
                    select(func.count()).select_from(AccountMembership).where(
                        AccountMembership.account_id == account_id,
                        AccountMembership.status == "active").scalar_subquery(),
                    select(func.count()).select_from(Path)
                    .where(Path.account_id == account_id).scalar_subquery(),
                    select(func.count()).select_from(Cohort).join(Path)
                    .where(Path.account_id == account_id).scalar_subquery(),
                    select(func.count()).select_from(Submission).where(
                        Submission.account_id == account_id,
                        Submission.status == "pending").scalar_subquery(),
                )).one(), strict=True))
        account = membership.account
        return self.render("admin/mg_home.html", counts=counts, account=account, home=home,
                           page=home.groups, now=utcnow(),
                           usage=usage_text(account.plan, home.used)
                           if home.used is not None else None)


def _datetime(view, value, name) -> str:
    """In the school's time zone, as people write times ("28 Nov 2026, 19:54 JST")."""
    from mentorgroups.localtime import as_written

    membership = current_membership()
    return as_written(value, membership.account if membership is not None else None)


def _date(view, value, name) -> str:
    return value.strftime("%d %b %Y")


class ScopedModelView(AdminAccess, ModelView):
    """A ModelView whose every read goes through `scope()`: list, count, details, edit,
    delete, actions and export. A forged id of another school's row is a 404."""

    form_base_class = FlaskForm
    # Dates read as people write them, in the school's time zone ("28 Nov 2026, 19:54 JST"),
    # on the list and the details page alike, not as Python prints them.
    column_type_formatters = {**typefmt.BASE_FORMATTERS, datetime: _datetime, date: _date}
    column_type_formatters_detail = {**typefmt.DETAIL_FORMATTERS, datetime: _datetime,
                                     date: _date}
    can_set_page_size = True
    page_size = 50
    # Cells labelled with their column, stacked into one card per row on a phone.
    list_template = "admin/mg_list.html"

    def scope(self, query):
        raise NotImplementedError

    def get_query(self):
        return self.scope(super().get_query())

    def get_count_query(self):
        return self.scope(super().get_count_query())

    def get_one(self, id):
        pk = row_id(id)
        if pk is None:
            abort(404)
        obj = self.get_query().filter(self.model.id == pk).one_or_none()
        if obj is None:
            abort(404)
        return obj

    @expose("/")
    def index_view(self):
        """Flask-Admin's export link repeats the list's query arguments beside its own
        `export_type`: a list opened with one more would fail to render. Drop it."""
        if "export_type" in request.args:
            args = request.args.copy()
            args.poplist("export_type")
            return redirect(self.get_url(".index_view", **args.to_dict(flat=False)))
        return super().index_view()

    def _get_list_extra_args(self):
        """Flask-Admin reads page, sort and the other list arguments as given: a negative or
        huge page becomes a negative or overflowing OFFSET. Clamp them, and keep arguments
        that name a route's own (export_type) out of the links built from the rest."""
        args = super()._get_list_extra_args()
        args.page = min(max(args.page or 0, 0), MAX_PAGE)
        if args.sort is not None and not 0 <= args.sort < 1000:
            args.sort = None
        if args.sort_desc is not None:
            args.sort_desc = 1 if args.sort_desc else 0
        args.extra_args = {k: v for k, v in args.extra_args.items() if k != "export_type"}
        return args

    @action("delete", lazy_gettext("Delete"),
            lazy_gettext("Are you sure you want to delete selected records?"))
    def action_delete(self, ids):
        """Flask-Admin's own compares the posted ids as strings (PostgreSQL refuses that for
        an integer key) and flashes the text of any error; integers only, through the scoped
        get_query(), and each failure reported by delete_model()."""
        from flask import flash

        deleted = sum(1 for model in self.get_query().filter(self.model.id.in_(row_ids(ids)))
                      if self.delete_model(model))
        if deleted:
            flash(f"{deleted} record{'' if deleted == 1 else 's'} deleted.", "success")

    def _export_csv(self, return_url):
        """Flask-Admin's CSV export (offered only for rows that are not people or group
        data: Paths, Sent emails), written by csvfile instead of a bare csv.writer: every
        cell formula-safe, UTF-8 with a byte order mark, streamed in chunks."""
        _, data = self._export_data()
        columns = [name for name, _ in self._export_columns]
        rows = ([csv_encode(self.get_export_value(row, name)) for name in columns]
                for row in data)
        response = Response(stream_with_context(csv_chunks(
            [title for _, title in self._export_columns], rows)), mimetype="text/csv")
        filename = secure_filename(self.get_export_name(export_type="csv"))
        response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response

    def handle_view_exception(self, exc):
        """Rule refusals show their own message; a database constraint shows a plain one
        (Flask-Admin's default would print the SQL and its parameters)."""
        from flask import flash
        from sqlalchemy.exc import IntegrityError
        from wtforms.validators import ValidationError

        from mentorgroups.services.errors import ServiceError

        if isinstance(exc, ServiceError):
            flash(exc.message, "error")
            return True
        if isinstance(exc, IntegrityError):
            flash("That would duplicate or break a record that already exists; nothing was "
                  "saved. Check for a repeated entry and try again.", "error")
            return True
        if isinstance(exc, ValidationError):
            return super().handle_view_exception(exc)  # a form's own message, meant for people
        # Anything else: the details go to the log, never to the page (Flask-Admin's default
        # flashes str(exc): the SQL statement and its parameters).
        log.exception("%s: saving failed", type(self).__name__)
        flash("That could not be saved: a value is out of range or not allowed here. Check "
              "the values and try again.", "error")
        return True
