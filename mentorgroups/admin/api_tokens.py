"""Back office > API tokens: account admins create a school API token (name, read or read
and write), copy its secret from the one page that ever shows it, see every token's last
use, and revoke one after a confirmation. The rules are services.api_tokens."""

from __future__ import annotations

from flask import abort, current_app, flash, make_response, redirect, request
from flask_admin import BaseView, expose
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import RadioField, StringField
from wtforms.fields import SelectChoice

from mentorgroups.admin.base import AdminAccess
from mentorgroups.extensions import db
from mentorgroups.models import TOKEN_SCOPE_LABELS
from mentorgroups.services import api_tokens
from mentorgroups.services.errors import FormErrors, NotFound
from mentorgroups.tenancy import current_membership


class CreateTokenForm(FlaskForm):
    name = StringField("Name", description="What uses it, e.g. \u201cHR sync\u201d or "
                                           "\u201cOkta\u201d. It names the token in the audit "
                                           "log.")
    scope = RadioField("Access", default="read", choices=[
        SelectChoice("read", "Read only: list groups, people, progress"),
        SelectChoice("write", "Read and write: also create, change and delete groups and "
                              "memberships, and invite people")])


class RevokeTokenForm(FlaskForm):
    pass


class ApiTokensView(AdminAccess, BaseView):
    def _page(self, form: CreateTokenForm, secret: str | None = None, created=None):
        account_id = current_membership().account_id
        response = make_response(self.render(
            "admin/api_tokens.html", form=form, secret=secret, created=created,
            tokens=api_tokens.list_tokens(current_user, account_id),
            revoke_form=RevokeTokenForm(), scope_labels=TOKEN_SCOPE_LABELS,
            api_base=current_app.config["BASE_URL"].rstrip("/") + "/api/v1"))
        # The one page showing a secret is never kept by the browser or a proxy.
        response.headers["Cache-Control"] = "no-store"
        return response

    @expose("/", methods=("GET", "POST"))
    def index(self):
        form = CreateTokenForm()
        if request.method == "POST":
            if not form.validate_on_submit():  # only the CSRF token can fail here
                abort(400)
            account_id = current_membership().account_id
            try:
                token, secret = api_tokens.create_token(current_user, account_id,
                                                        form.name.data, form.scope.data)
                db.session.commit()
            except FormErrors as exc:
                db.session.rollback()
                for name, message in exc.errors.items():
                    getattr(form, name).errors = [message]
                return self._page(form)
            return self._page(CreateTokenForm(formdata=None), secret=secret, created=token)
        return self._page(form)

    @expose("/<int:token_id>/revoke", methods=("GET", "POST"))
    def revoke(self, token_id: int):
        """GET: what revoking means, and a Revoke button. POST: revoke."""
        account_id = current_membership().account_id
        try:
            token = api_tokens.token_of_school(current_user, account_id, token_id)
        except NotFound:
            abort(404)
        form = RevokeTokenForm()
        if request.method == "POST":
            if not form.validate_on_submit():
                abort(400)
            api_tokens.revoke_token(current_user, account_id, token.id)
            db.session.commit()
            flash(f"The token \u201c{token.name}\u201d is revoked: requests with it are now "
                  "refused.", "success")
            return redirect(self.get_url(".index"))
        if token.revoked_at is not None:
            return redirect(self.get_url(".index"))
        return self.render("admin/api_token_revoke.html", token=token, form=form,
                           scope_label=TOKEN_SCOPE_LABELS[token.scope])
