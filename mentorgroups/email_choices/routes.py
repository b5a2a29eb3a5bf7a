from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import RadioField
from wtforms.fields.choices import SelectChoice

from mentorgroups.email_choices import bp
from mentorgroups.extensions import csrf, db
from mentorgroups.models import CADENCES, EMAIL_KINDS
from mentorgroups.services import email_choices
from mentorgroups.services.errors import NotFound, ServiceError
from mentorgroups.tenancy import account_required, current_account
from mentorgroups.web import secret_in_url


def choices_form(current: dict[str, str]) -> FlaskForm:
    """One radio group per kind of email (a new kind in EMAIL_KINDS appears by itself)."""

    class ChoicesForm(FlaskForm):
        pass

    for kind, label in EMAIL_KINDS.items():
        setattr(ChoicesForm, kind, RadioField(label, choices=[SelectChoice(value, text)
                                                              for value, text in CADENCES.items()],
                                              default=current[kind]))
    return ChoicesForm()


@bp.route("/notifications/email", methods=["GET", "POST"])
@account_required
def edit():
    account = current_account()
    form = choices_form(email_choices.choices_for(current_user, account.id))
    if request.method == "POST":
        if not form.validate_on_submit():
            if "csrf_token" in form.errors:
                abort(400)
            return render_template("email_choices/edit.html", form=form, account=account), 422
        try:
            email_choices.set_choices(current_user, account.id,
                                      {kind: form[kind].data for kind in EMAIL_KINDS})
        except NotFound:
            abort(404)
        except ServiceError as exc:
            flash(exc.message, "error")
            return render_template("email_choices/edit.html", form=form, account=account), 422
        db.session.commit()
        flash(f"Email choices for {account.name} saved.", "success")
        return redirect(url_for("email_choices.edit"))
    return render_template("email_choices/edit.html", form=form, account=account)


@bp.route("/email/unsubscribe/<token>", methods=["GET", "POST"])
@secret_in_url
@csrf.exempt  # the signed token is the authority; mail clients post RFC 8058 one-click
def unsubscribe(token: str):
    """Without signing in: GET asks, POST (the button, or a mail client's one-click
    List-Unsubscribe-Post) turns off the one kind of email, in the one school, it names."""
    try:
        if request.method == "POST":
            person, account, kind = email_choices.unsubscribe(token)
            db.session.commit()
            done = True
        else:
            person, account, kind = email_choices.read_unsubscribe_token(token)
            done = False
    except NotFound as exc:
        return render_template("errors/error.html", title="This link can't be used",
                               message=exc.message), 404
    return render_template("email_choices/unsubscribe.html", person=person, account=account,
                           what=EMAIL_KINDS[kind], done=done)
