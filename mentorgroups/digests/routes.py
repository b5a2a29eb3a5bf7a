from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm

from mentorgroups.digests import bp
from mentorgroups.extensions import csrf, db
from mentorgroups.services import digest_subscriptions, digests
from mentorgroups.services.digest_content import MEMBERS_SHOWN
from mentorgroups.services.errors import NotFound
from mentorgroups.tenancy import account_required, current_account
from mentorgroups.web import secret_in_url


class SwitchForm(FlaskForm):
    pass


@bp.route("/people/groups/<int:group_id>/digest", methods=["POST"])
@account_required
def switch(group_id: int):
    """Group options > Weekly digest: on/off, for a group this person mentors or manages."""
    if not SwitchForm().validate_on_submit():
        abort(400)
    on = request.form.get("on") == "1"
    try:
        row = digest_subscriptions.set_subscription(current_user, current_account().id,
                                                    group_id, on)
    except NotFound:
        abort(404)
    db.session.commit()
    flash(f"Weekly digest for {row.group.name}: {'on' if on else 'off'}.", "success")
    return redirect(url_for("mentor.group", group_id=group_id))


@bp.route("/people/digest")
@account_required
def preview():
    digest = digests.preview_for(current_user, current_account())
    return render_template("digests/preview.html", digest=digest, links=_site_links(),
                           members_shown=MEMBERS_SHOWN)


def _site_links() -> dict:
    return {"review_queue": url_for("review.queue"), "groups": url_for("mentor.groups"),
            "review": lambda sid: url_for("review.show", submission_id=sid),
            "group": lambda gid: url_for("mentor.group", group_id=gid)}


@bp.route("/digest/unsubscribe/<token>", methods=["GET", "POST"])
@secret_in_url
@csrf.exempt  # the signed token is the authority; mail clients post RFC 8058 one-click
def unsubscribe(token: str):
    """Without signing in: GET asks, POST (the button, or a mail client's one-click
    List-Unsubscribe-Post) turns the digest off for the groups the token names."""
    try:
        if request.method == "POST":
            person, groups = digest_subscriptions.unsubscribe(token)
            db.session.commit()
            done = True
        else:
            person, groups = digest_subscriptions.read_unsubscribe_token(token)
            done = False
    except NotFound as exc:
        return render_template("errors/error.html", title="This link can't be used",
                               message=exc.message), 404
    return render_template("digests/unsubscribe.html", person=person, groups=groups,
                           done=done, token=token)
