from __future__ import annotations

from flask import flash, redirect, render_template, session, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField

from mentorgroups.auth.routes import home_for, start_session
from mentorgroups.extensions import db
from mentorgroups.invitations import bp
from mentorgroups.services import invitations
from mentorgroups.services.errors import FormErrors, ServiceError
from mentorgroups.services.invitations import InvitationUnusable
from mentorgroups.tenancy import SESSION_KEY, current_membership, switch_account
from mentorgroups.web import secret_in_url


class AcceptForm(FlaskForm):
    pass


class JoinForm(FlaskForm):
    full_name = StringField("Your full name")
    password = PasswordField("Choose a password")


def _unusable(exc: InvitationUnusable):
    return render_template("invitations/unusable.html", message=exc.message,
                           reason=exc.reason), 404 if exc.reason == "forged" else 410


def _landing(invitation) -> str:
    """Mentors and group admins land on their groups page, members on their paths; someone
    invited into the school itself on the home their school role gives them."""
    if invitation.to_school:
        return home_for(current_membership())
    if invitation.role in ("mentor", "group_admin"):
        return url_for("mentor.groups")
    return url_for("learner.paths")


def _welcome(invitation) -> str:
    """What the page they land on confirms. Members are told the school only: the help
    article's rule is that members "won't see any indication that they belong to a
    particular group"; staff are told their group and role."""
    school = invitation.account.name
    if invitation.to_school:
        return (f"Welcome to {school}: you have joined the school as "
                f"{invitations.role_label(invitation)}.")
    if invitation.role == "member" or invitation.group is None:
        return (f"Welcome to {school}: you have joined the school. The paths you are enrolled "
                "in appear here.")
    return (f"Welcome to {school}: you are now {invitations.role_label(invitation)} of "
            f"\u201c{invitation.group.name}\u201d.")


def _done(invitation):
    db.session.commit()
    session[SESSION_KEY] = invitation.account_id
    switch_account(invitation.account_id)
    flash(_welcome(invitation), "success")
    return redirect(_landing(invitation))


def _signed_in_as_other(invitation) -> bool:
    return current_user.is_authenticated and current_user.email != invitation.email


def _page(invitation, token: str, join_form=None, error=None, status=None):
    """The invitation page. Signed in as somebody else, it only offers to sign out first:
    nothing is accepted, and no session is swapped, on another person's behalf."""
    wrong_person = _signed_in_as_other(invitation)
    return render_template(
        "invitations/show.html", invitation=invitation, token=token,
        role=invitations.role_label(invitation), wrong_person=wrong_person,
        has_account=invitations.has_personal_account(invitation),
        accept_form=AcceptForm(), join_form=join_form or JoinForm(), error=error,
    ), status or (403 if wrong_person else 200)


@bp.route("/<token>", methods=["GET"])
@secret_in_url
def show(token: str):
    try:
        invitation = invitations.find(token)
    except InvitationUnusable as exc:
        return _unusable(exc)
    return _page(invitation, token)


@bp.route("/<token>/accept", methods=["POST"])
@secret_in_url
def accept(token: str):
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login", next=url_for("invitations.show", token=token)))
    if not AcceptForm().validate_on_submit():
        return redirect(url_for("invitations.show", token=token))
    try:
        invitation = invitations.find(token)
        if _signed_in_as_other(invitation):
            return _page(invitation, token)
        invitation = invitations.accept(current_user, token)
    except InvitationUnusable as exc:
        db.session.rollback()
        return _unusable(exc)
    except ServiceError as exc:
        db.session.rollback()
        return render_template("invitations/unusable.html", message=exc.message,
                               reason="refused"), 403
    return _done(invitation)


@bp.route("/<token>/join", methods=["POST"])
@secret_in_url
def join(token: str):
    form = JoinForm()
    if not form.validate_on_submit():
        return redirect(url_for("invitations.show", token=token))
    if current_user.is_authenticated:
        # Creating an account here would swap this browser's session to a new person.
        try:
            invitation = invitations.find(token)
        except InvitationUnusable as exc:
            return _unusable(exc)
        return _page(invitation, token, status=403)
    try:
        user, invitation = invitations.accept_with_new_account(token, form.full_name.data,
                                                               form.password.data)
    except InvitationUnusable as exc:
        db.session.rollback()
        return _unusable(exc)
    except ServiceError as exc:
        db.session.rollback()
        try:
            invitation = invitations.find(token)
        except InvitationUnusable as unusable:  # used or withdrawn meanwhile
            return _unusable(unusable)
        # Every field's message at once (FormErrors), or the one a rule gave.
        messages = exc.errors if isinstance(exc, FormErrors) else {exc.field: exc.message}
        error = None
        for name, message in messages.items():
            field = getattr(form, name or "", None)
            if field is not None:
                field.errors = [message]
            else:
                error = message
        return _page(invitation, token, join_form=form, error=error, status=422)
    start_session(user)
    return _done(invitation)
