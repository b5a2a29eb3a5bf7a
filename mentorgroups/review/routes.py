from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField

from mentorgroups.auth.routes import safe_next
from mentorgroups.extensions import db
from mentorgroups.models import utcnow
from mentorgroups.paging import page_request
from mentorgroups.review import bp
from mentorgroups.services import discussion, learning
from mentorgroups.services.errors import NotFound, ServiceError
from mentorgroups.tenancy import account_required, current_account


class ReviewForm(FlaskForm):
    grade = StringField("Grade")
    feedback = TextAreaField("Feedback")


@bp.route("/")
@account_required
def queue():
    page = learning.review_queue(current_user, current_account().id, page_request(request.args))
    return render_template("review/queue.html", page=page, items=page.items, now=utcnow())


def _submission_or_404(submission_id: int):
    try:
        submission = learning.submission_for_reviewer(current_user, submission_id)
    except NotFound:
        abort(404)
    if submission.account_id != current_account().id:
        abort(404)
    return submission


@bp.route("/<int:submission_id>", methods=["GET", "POST"])
@account_required
def show(submission_id: int):
    submission = _submission_or_404(submission_id)
    form = ReviewForm()
    # Back where the reviewer came from (a learner's profile card), else to the queue.
    back = safe_next(request.values.get("next")) or url_for("review.queue")
    status, unsaved = 200, None
    if form.validate_on_submit():
        try:
            learning.review_submission(current_user, submission.id, form.grade.data,
                                       form.feedback.data)
        except NotFound:
            abort(404)
        except ServiceError as exc:
            db.session.rollback()
            field = getattr(form, exc.field or "", None)
            if field is not None:
                field.errors = [exc.message]  # shown under the field the message is about
            else:
                flash(exc.message, "error")
            status = 422
            submission = _submission_or_404(submission_id)
            if submission.status == "reviewed":
                # Someone else was first: keep what this reviewer typed on the page, to copy.
                unsaved = {"grade": form.grade.data or "", "feedback": form.feedback.data or ""}
        else:
            db.session.commit()
            flash(f"Review saved. {submission.user.full_name} has been told.", "success")
            return redirect(back)
    return render_template("review/show.html", submission=submission, form=form,
                           now=utcnow(), back=back, unsaved=unsaved,
                           messages=discussion.messages_for([submission.id])[submission.id]
                           ), status
