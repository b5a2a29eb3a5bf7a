"""People: the school's members and their roles. Adding someone invites them (they join by
accepting); pending invitations are listed with resend and withdraw;
access is revoked or restored, never deleted, so people's work stays."""

from __future__ import annotations

from flask import abort, flash, redirect, request
from flask_admin import expose
from flask_admin.actions import action
from flask_admin.form import FormOpts
from flask_login import current_user
from flask_wtf import FlaskForm
from markupsafe import Markup
from sqlalchemy.orm import joinedload
from wtforms import EmailField, SelectField
from wtforms.fields import SelectChoice
from wtforms.validators import DataRequired, Length

from mentorgroups.admin.base import ScopedModelView, row_ids
from mentorgroups.extensions import db
from mentorgroups.models import ACCOUNT_ROLE_LABELS, AccountMembership
from mentorgroups.services import accounts, invitations
from mentorgroups.services.errors import ServiceError

ROLE_CHOICES = [SelectChoice("member", "Member"), SelectChoice("staff", "Staff"),
                SelectChoice("admin", "Admin")]
STATUS_CHOICES = [SelectChoice("active", "Active"), SelectChoice("revoked", "Revoked")]


class AddPersonForm(FlaskForm):
    """An invitation: an address and a school role. No name and no password: those belong
    to the person, who gives them when they accept."""

    email = EmailField("Email", validators=[DataRequired("Enter an email address."),
                                            Length(max=254)])
    role = SelectField("Role", choices=ROLE_CHOICES, default="member")


class InvitationActionForm(FlaskForm):
    pass


class EditPersonForm(FlaskForm):
    role = SelectField("Role", choices=ROLE_CHOICES)
    status = SelectField("Access", choices=STATUS_CHOICES)


def _status_badge(view, context, model, name):
    css = "success" if model.status == "active" else "secondary"
    return Markup('<span class="badge badge-{}">{}</span>').format(css, model.status.title())


def _group_roles(view, context, model, name):
    """'Mentor of Coaching circle' under the school role: the page's people in one query."""
    from flask import g

    from mentorgroups.services.group_access import group_roles_of

    if "people_group_roles" not in g:
        rows = context.get("data") or [model]
        g.people_group_roles = group_roles_of(view.account_id, [m.user_id for m in rows])
    roles = g.people_group_roles.get(model.user_id)
    if roles is None and model.user_id not in g.people_group_roles:
        roles = group_roles_of(view.account_id, [model.user_id]).get(model.user_id)
    if not roles:
        return ""
    shown = roles[:3] + ([f"and {len(roles) - 3} more"] if len(roles) > 3 else [])
    return Markup("<span class='small'>{}</span>").format(", ".join(shown))


class PeopleView(ScopedModelView):
    can_delete = False
    can_view_details = True
    can_export = False  # people data leaves only through the formula-safe Mentor Group reports
    column_list = ["user.full_name", "user.email", "role", "group_roles", "status",
                   "created_at"]
    column_details_list = column_list
    column_labels = {"user.full_name": "Name", "user.email": "Email", "status": "Access",
                     "created_at": "Joined", "role": "School role",
                     "group_roles": "Group roles"}
    column_searchable_list = ["user.full_name", "user.email"]
    column_sortable_list = ["user.full_name", "user.email",
                            "role", "status", "created_at"]
    column_default_sort = ("created_at", True)
    column_filters = ["role", "status"]
    column_formatters = {"status": _status_badge, "role": lambda v, c, m, n: m.role.title(),
                         "group_roles": _group_roles}
    list_template = "admin/people_list.html"
    edit_template = "admin/people_edit.html"

    def scope(self, query):
        return query.filter(AccountMembership.account_id == self.account_id)

    def get_query(self):
        return super().get_query().options(joinedload(AccountMembership.user))

    def get_create_form(self):
        return AddPersonForm

    def get_edit_form(self):
        return EditPersonForm

    @expose("/new/", methods=("GET", "POST"))
    def create_view(self):
        """People > Add sends an invitation; the answer is the same whether or not the
        address already has a personal account elsewhere."""
        return_url = self.get_url(".index_view")
        form = self.create_form()
        if self.validate_form(form):
            try:
                invitation = accounts.add_person(current_user, self.account_id,
                                                 form.email.data, form.role.data)
                db.session.commit()
            except ServiceError as exc:
                db.session.rollback()
                field = getattr(form, exc.field or "", None)
                if field is not None:
                    field.errors = [*field.errors, exc.message]
                flash(exc.message, "error")
            else:
                flash(f"Invitation sent to {invitation.email}. They join this school as "
                      f"{ACCOUNT_ROLE_LABELS[invitation.account_role]} when they accept it.",
                      "success")
                if "_add_another" in request.form:
                    return redirect(self.get_url(".create_view"))
                return redirect(return_url)
        form_opts = FormOpts(widget_args=self.form_widget_args,
                             form_rules=self._form_create_rules)
        return self.render("admin/people_create.html", form=form, form_opts=form_opts,
                           return_url=return_url)

    @expose("/invitations/<action_name>", methods=("POST",))
    def invitation_action(self, action_name: str):
        """Resend or withdraw a pending invitation into the school."""
        if not InvitationActionForm().validate_on_submit() or \
                action_name not in ("resend", "revoke"):
            abort(400)
        try:
            handler = invitations.resend if action_name == "resend" else invitations.revoke
            invitation = handler(current_user, self.account_id, request.form.get("id"))
            db.session.commit()
        except ServiceError as exc:
            db.session.rollback()
            flash(exc.message, "error")
        else:
            done = "sent again" if action_name == "resend" else "withdrawn"
            flash(f"The invitation to {invitation.email} was {done}.", "success")
        return redirect(self.get_url(".index_view"))

    def render(self, template, **kwargs):
        if template == self.list_template:
            kwargs["pending_invitations"] = invitations.pending_for_school(self.account_id)
            kwargs["invitation_form"] = InvitationActionForm()
        return super().render(template, **kwargs)

    def update_model(self, form, model):
        try:
            if form.role.data != model.role:
                accounts.change_account_role(current_user, model, form.role.data)
            if form.status.data != model.status:
                accounts.set_membership_status(current_user, model, form.status.data)
            db.session.commit()
        except ServiceError as exc:
            db.session.rollback()
            flash(exc.message, "error")
            return False
        return True

    def _bulk_status(self, ids, status: str, done: str):
        changed, refused = 0, []
        for membership in self.get_query().filter(AccountMembership.id.in_(row_ids(ids))).all():
            if membership.status == status:
                continue
            try:
                accounts.set_membership_status(current_user, membership, status)
                changed += 1
            except ServiceError as exc:
                refused.append(f"{membership.user.email}: {exc.message}")
        db.session.commit()
        flash(f"{changed} {'person' if changed == 1 else 'people'} {done}.", "success")
        for message in refused:
            flash(message, "error")

    @action("revoke", "Revoke access",
            "Revoke access for the selected people? Their work is kept.")
    def action_revoke(self, ids):
        self._bulk_status(ids, "revoked", "lost access")

    @action("restore", "Restore access", "Restore access for the selected people?")
    def action_restore(self, ids):
        self._bulk_status(ids, "active", "got their access back")
