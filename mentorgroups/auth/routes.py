from __future__ import annotations

from urllib.parse import urlsplit

from flask import (
    current_app,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField
from wtforms.validators import DataRequired, Length

from mentorgroups.auth import bp
from mentorgroups.extensions import db, limiter
from mentorgroups.services import sign_in
from mentorgroups.services.accounts import active_memberships, authenticate
from mentorgroups.tenancy import current_membership, switch_account

BAD_CREDENTIALS = "That email and password don't match an account. Check both and try again."


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired("Enter your email."), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired("Enter your password.")])
    next = HiddenField()


class ChooseAccountForm(FlaskForm):
    account_id = HiddenField(validators=[DataRequired()])
    next = HiddenField()


def safe_next(target: str | None) -> str | None:
    """Only same-site relative paths: an open redirect would let a link send people away."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def home_for(membership) -> str:
    """Where a person starts: account admins and Group Admins on the school home (Home in
    the back office: their school, or their part of its tree), everybody else on their
    paths."""
    from mentorgroups.services.groups import is_group_admin_anywhere

    if membership is not None and (
            membership.role == "admin"
            or is_group_admin_anywhere(membership.user, membership.account_id)):
        return url_for("admin.index")
    return url_for("learner.paths")


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"],
               error_message="Too many sign-in attempts from here. Wait a minute and try again.")
def login():
    if current_user.is_authenticated:
        return redirect(home_for(current_membership()))
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    if form.validate_on_submit():
        email = form.email.data
        known = sign_in.is_known_browser(request.cookies.get(sign_in.KNOWN_BROWSER_COOKIE),
                                         email)
        if not known:
            try:
                sign_in.count_attempt(email)
                db.session.commit()  # counted whatever the check finds, seen by every worker
            except sign_in.SignInWait as exc:
                db.session.rollback()
                flash(exc.message, "error")
                response = make_response(render_template("auth/login.html", form=form), 429)
                response.headers["Retry-After"] = str(exc.seconds)
                return response
        user = authenticate(email, form.password.data)
        if user is None:
            flash(BAD_CREDENTIALS, "error")
        else:
            sign_in.succeeded(email)
            db.session.commit()
            start_session(user)
            target = safe_next(form.next.data)
            memberships = active_memberships(user)
            if len(memberships) > 1:
                response = redirect(url_for("auth.choose_account", next=target or ""))
            else:
                response = redirect(target or home_for(current_membership()))
            remember_browser(response, email)
            return response
    return render_template("auth/login.html", form=form)


def remember_browser(response, email: str) -> None:
    """This browser signed in as `email`: the per-address wait no longer holds it back."""
    value = sign_in.known_browser_cookie(request.cookies.get(sign_in.KNOWN_BROWSER_COOKIE),
                                         email)
    response.set_cookie(sign_in.KNOWN_BROWSER_COOKIE, value,
                        max_age=current_app.config["KNOWN_BROWSER_DAYS"] * 86400,
                        secure=current_app.config["SESSION_COOKIE_SECURE"], httponly=True,
                        samesite="Lax", path=url_for("auth.login"))


def start_session(user) -> None:
    """A new session for `user`: nothing from before sign-in survives (no school, no CSRF
    token: a token seen before sign-in must not work after it)."""
    session.clear()
    g.pop("csrf_token", None)  # Flask-WTF's per-request copy of the old token
    login_user(user)


class LogoutForm(FlaskForm):
    next = HiddenField()


@bp.route("/logout", methods=["POST"])
def logout():
    """Signing out ends every session of this person, not only this cookie: a copy of it
    taken before stops working too."""
    form = LogoutForm()
    target = safe_next(form.next.data) if form.validate_on_submit() else None
    if current_user.is_authenticated:
        current_user.end_sessions()
        db.session.commit()
    logout_user()
    session.clear()
    g.pop("csrf_token", None)
    flash("You are signed out.", "info")
    if target:
        return redirect(target)
    return redirect(url_for("auth.login"))


@bp.route("/accounts", methods=["GET", "POST"])
@login_required
def choose_account():
    form = ChooseAccountForm()
    memberships = active_memberships(current_user)
    if form.validate_on_submit():
        try:
            account_id = int(form.account_id.data)
        except ValueError:
            account_id = -1
        if switch_account(account_id):
            return redirect(safe_next(form.next.data) or home_for(current_membership()))
        flash("You are not a member of that school.", "error")
    else:
        form.next.data = request.args.get("next", "")
    return render_template("auth/choose_account.html", form=form, memberships=memberships)
