from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import HiddenField, TextAreaField

from mentorgroups.auth.routes import safe_next
from mentorgroups.discussion import bp
from mentorgroups.discussion.text import linkify
from mentorgroups.extensions import db
from mentorgroups.services import discussion
from mentorgroups.services.errors import NotFound, PermissionDenied, ServiceError
from mentorgroups.tenancy import account_required, current_account


class ReplyForm(FlaskForm):
    body = TextAreaField("Reply")
    next = HiddenField()


bp.add_app_template_filter(linkify, "linkify")
bp.add_app_template_global(discussion.MAX_REPLY_LENGTH, "MAX_REPLY_LENGTH")


def default_back(submission) -> str:
    if submission.user_id == current_user.id:
        return url_for("learner.path", path_id=submission.step.path_id,
                       _anchor=f"discussion-{submission.id}")
    return url_for("review.show", submission_id=submission.id,
                   _anchor=f"discussion-{submission.id}")


@bp.route("/<int:submission_id>/discussion", methods=["GET", "POST"])
@account_required
def show(submission_id: int):
    """The discussion on its own (where a refused reply comes back, text kept); a reply
    that is accepted goes back to the page it was written on (`next`, same site only)."""
    account_id = current_account().id
    try:
        submission = discussion.submission_for_discussion(current_user, account_id,
                                                          submission_id)
    except NotFound:
        abort(404)
    except PermissionDenied:
        abort(403)
    form = ReplyForm()
    back = safe_next(form.next.data or request.args.get("next")) or default_back(submission)
    status = 200
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        try:
            discussion.add_reply(current_user, account_id, submission.id, form.body.data)
        except ServiceError as exc:
            db.session.rollback()
            form.body.errors = [exc.message]
            status = 422
            submission = discussion.submission_for_discussion(current_user, account_id,
                                                              submission_id)
        else:
            db.session.commit()
            flash("Reply sent.", "success")
            return redirect(back)
    messages = discussion.messages_for([submission.id])[submission.id]
    return render_template("discussion/show.html", submission=submission, messages=messages,
                           form=form, back=back), status
