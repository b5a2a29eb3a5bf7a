"""Forgot, reset and change password: only the owner of a personal account sets its
password."""

from __future__ import annotations

from flask import flash, redirect, render_template, request
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length

from mentorgroups.auth import bp
from mentorgroups.auth.routes import home_for, remember_browser, start_session
from mentorgroups.extensions import db, limiter
from mentorgroups.services import passwords, sign_in
from mentorgroups.services.errors import ServiceError
from mentorgroups.tenancy import current_membership
from mentorgroups.web import secret_in_url

SENT = ("If {email} has a Mentor Groups account, we've sent it a link to choose a new "
        "password. It works once, for an hour. Check your spam folder if it doesn't arrive.")


class ForgotForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired("Enter the email address you sign "
                                                         "in with."), Length(max=254)])


class NewPasswordForm(FlaskForm):
    password = PasswordField("New password", validators=[DataRequired("Choose a password.")])
    confirm = PasswordField("New password again",
                            validators=[DataRequired("Type the new password again.")])


class ChangePasswordForm(NewPasswordForm):
    current = PasswordField("Current password",
                            validators=[DataRequired("Enter your current password.")])


def _field_error(form, exc: ServiceError) -> None:
    field = getattr(form, exc.field or "", None)
    if field is not None:
        field.errors = [*field.errors, exc.message]
    else:
        flash(exc.message, "error")


def _signed_in_anew(user, message: str):
    """After a password is set: a fresh session (the old ones ended), and home. Whoever set
    it proved they own the address: its failed sign-ins are forgotten and this browser is
    known from now on."""
    sign_in.succeeded(user.email)
    db.session.commit()
    start_session(user)
    flash(message, "success")
    response = redirect(home_for(current_membership()))
    remember_browser(response, user.email)
    return response


@bp.route("/password/forgot", methods=["GET", "POST"])
@secret_in_url
@limiter.limit(lambda: "30/minute", methods=["POST"],
               error_message="Too many requests from here. Wait a minute and try again.")
def forgot_password():
    form = ForgotForm()
    if request.method == "GET" and request.args.get("email"):
        form.email.data = request.args["email"][:254]
    if form.validate_on_submit():
        try:
            passwords.request_reset(form.email.data, request.remote_addr or "unknown")
            db.session.commit()
        except passwords.TooManyRequests as exc:
            db.session.rollback()
            flash(exc.message, "error")
            return render_template("auth/forgot.html", form=form), 429
        except ServiceError as exc:
            db.session.rollback()
            _field_error(form, exc)
        else:
            return render_template("auth/forgot_sent.html",
                                   message=SENT.format(email=form.email.data.strip()))
    status = 422 if form.errors else 200
    return render_template("auth/forgot.html", form=form), status


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
@secret_in_url
def reset_password(token: str):
    try:
        link = passwords.find(token)
    except passwords.LinkUnusable as exc:
        return render_template("auth/reset_unusable.html", message=exc.message), 410
    form = NewPasswordForm()
    if form.validate_on_submit():
        try:
            user = passwords.reset_with_link(token, form.password.data, form.confirm.data)
            db.session.commit()
        except passwords.LinkUnusable as exc:
            db.session.rollback()
            return render_template("auth/reset_unusable.html", message=exc.message), 410
        except ServiceError as exc:
            db.session.rollback()
            _field_error(form, exc)
        else:
            return _signed_in_anew(user, "Your password is set. Any other sessions of yours "
                                         "have been signed out.")
    status = 422 if form.errors else 200
    return render_template("auth/reset.html", form=form, email=link.email,
                           setup=link.purpose == "setup"), status


@bp.route("/password/change", methods=["GET", "POST"])
@secret_in_url
@login_required
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()
        try:
            passwords.change_password(user, form.current.data, form.password.data,
                                      form.confirm.data)
            db.session.commit()
        except ServiceError as exc:
            db.session.rollback()
            _field_error(form, exc)
        else:
            return _signed_in_anew(user, "Your password is changed. Your other sessions have "
                                         "been signed out.")
    status = 422 if form.errors else 200
    return render_template("auth/change_password.html", form=form), status
