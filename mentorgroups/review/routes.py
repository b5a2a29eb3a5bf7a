from __future__ import annotations

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField

from mentorgroups.auth.routes import safe_next
from mentorgroups.extensions import db
from mentorgroups.input_guard import parse_id
from mentorgroups.models import utcnow
from mentorgroups.paging import page_request
from mentorgroups.review import bp
from mentorgroups.services import discussion, learning, review_next
from mentorgroups.services.errors import NotFound, ServiceError
from mentorgroups.tenancy import account_required, current_account


class ReviewForm(FlaskForm):
    grade = StringField("Grade")
    feedback = TextAreaField("Feedback")


def _filters() -> review_next.QueueFilter:
    """The queue's filters from the query arguments `group` and `learner`; 404 for ids that
    name nothing this person may filter by."""
    try:
        return review_next.queue_filter(current_user, current_account().id,
                                        request.args.get("group"), request.args.get("learner"))
    except NotFound:
        abort(404)


@bp.route("/")
@account_required
def queue():
    filters = _filters()
    account_id = current_account().id
    page = learning.review_queue(current_user, account_id, page_request(request.args), filters)
    choices = review_next.filter_choices(current_user, account_id, request.args.get("group_q"))
    return render_template("review/queue.html", page=page, items=page.items, now=utcnow(),
                           filters=filters, choices=choices,
                           listed={gid for gid, _, _ in choices.groups})


@bp.route("/groups.json")
@account_required
def groups_json():
    """The queue's group filter as one types (mg-review.js): at most 20 groups this person
    may review whose name contains `q`, each with its path, and whether more match. Nothing
    of a group outside the person's reach or school is ever named."""
    return jsonify(review_next.filter_choices(current_user, current_account().id,
                                              request.args.get("q")).as_json())


def _submission_or_404(submission_id: int | None):
    if submission_id is None:
        abort(404)
    try:
        submission = learning.submission_for_reviewer(current_user, submission_id)
    except NotFound:
        abort(404)
    if submission.account_id != current_account().id:
        abort(404)
    return submission


def _move_on(after, filters: review_next.QueueFilter, nothing_left: str | None = None):
    """To the next waiting item of this queue after `after`, filters kept; to the queue
    (saying `nothing_left`, if given) when nothing else waits."""
    next_id = review_next.next_waiting(current_user, current_account().id, filters, after)
    if next_id is None:
        if nothing_left:
            flash(nothing_left, "info")
        return redirect(url_for("review.queue", **filters.args))
    return redirect(url_for("review.show", submission_id=next_id, **filters.args))


@bp.route("/next")
@account_required
def next_item():
    """Skip, or Next after someone else reviewed the item: the next waiting item after
    `after`, worked out now (not when the page was drawn), so work reviewed meanwhile by
    someone else is passed over."""
    filters = _filters()
    after = _submission_or_404(parse_id(request.args.get("after")))
    return _move_on(after, filters, nothing_left="Nothing else is waiting in this queue.")


@bp.route("/<int:submission_id>", methods=["GET", "POST"])
@account_required
def show(submission_id: int):
    submission = _submission_or_404(submission_id)
    form = ReviewForm()
    filters = _filters()
    # Back where the reviewer came from (a learner's profile card); else on through the queue.
    came_from = safe_next(request.values.get("next"))
    back = came_from or url_for("review.queue", **filters.args)
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
            return redirect(came_from) if came_from else _move_on(submission, filters)
    left = None
    if not came_from:
        left = review_next.waiting_count(current_user, current_account().id, filters)
    return render_template("review/show.html", submission=submission, form=form,
                           now=utcnow(), back=back, came_from=came_from, unsaved=unsaved,
                           filters=filters, left=left,
                           messages=discussion.messages_for([submission.id])[submission.id]
                           ), status
