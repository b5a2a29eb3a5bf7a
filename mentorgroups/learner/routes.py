from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from wtforms import TextAreaField

from mentorgroups.extensions import db
from mentorgroups.learner import bp
from mentorgroups.models import Review, Step, StepCompletion, Submission
from mentorgroups.services import discussion, learning
from mentorgroups.services.errors import NotFound, ServiceError
from mentorgroups.tenancy import account_required, current_account


class CompleteForm(FlaskForm):
    pass


class SubmitForm(FlaskForm):
    content = TextAreaField("Your work")


@bp.route("/")
@account_required
def home():
    """The site's root (and the brand link): each person's own start page, the school home
    for admins, their paths for learners."""
    from mentorgroups.auth.routes import home_for
    from mentorgroups.tenancy import current_membership

    return redirect(home_for(current_membership()))


@bp.route("/paths")
@account_required
def paths():
    account = current_account()
    rows = learning.learner_paths(current_user, account.id)
    progress = learning.progress_for(current_user.id, [path.id for path, _ in rows])
    return render_template("learner/paths.html", rows=rows, progress=progress)


@bp.route("/paths/<int:path_id>")
@account_required
def path(path_id: int):
    return render_path(path_id)


def render_path(path_id: int, drafts: dict[int, str] | None = None, status: int = 200):
    """The path page; `drafts` re-fills a refused submission so the learner loses nothing."""
    account = current_account()
    try:
        path, cohort = learning.path_for_learner(current_user, account.id, path_id)
    except NotFound:
        abort(404)
    step_ids = [step.id for step in path.steps]
    completed = set(
        db.session.scalars(
            select(StepCompletion.step_id).where(
                StepCompletion.user_id == current_user.id, StepCompletion.step_id.in_(step_ids)
            )
        )
    )
    submissions = {
        sub.step_id: sub
        for sub in db.session.scalars(
            select(Submission)
            .options(selectinload(Submission.reviews).selectinload(Review.reviewer),
                     selectinload(Submission.versions))
            .where(Submission.user_id == current_user.id, Submission.step_id.in_(step_ids))
        )
    }
    progress = learning.progress_for(current_user.id, [path.id])[path.id]
    return render_template(
        "learner/path.html", path=path, cohort=cohort, completed=completed,
        submissions=submissions, progress=progress, drafts=drafts or {},
        complete_form=CompleteForm(),
        messages=discussion.messages_for(sub.id for sub in submissions.values()),
    ), status


@bp.route("/steps/<int:step_id>/complete", methods=["POST"])
@account_required
def complete(step_id: int):
    form = CompleteForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        completion = learning.complete_step(current_user, current_account().id, step_id)
    except NotFound:
        abort(404)
    except ServiceError as exc:
        flash(exc.message, "error")
        return redirect(url_for("learner.paths"))
    path_id = completion.step.path_id
    db.session.commit()
    flash("Step completed.", "success")
    return redirect(url_for("learner.path", path_id=path_id, _anchor=f"step-{step_id}"))


@bp.route("/steps/<int:step_id>/submit", methods=["POST"])
@account_required
def submit(step_id: int):
    form = SubmitForm()
    if not form.validate_on_submit():
        abort(400)
    account_id = current_account().id
    try:
        submission = learning.submit_for_review(current_user, account_id, step_id,
                                                form.content.data)
    except NotFound:
        abort(404)
    except ServiceError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        step = db.session.get(Step, step_id)
        return render_path(step.path_id, drafts={step_id: form.content.data or ""}, status=422)
    path_id = submission.step.path_id
    db.session.commit()
    if submission.updated_at is not None:
        flash("Submission updated. It keeps its place in the review queue, and your "
              "reviewers can see every version.", "success")
    else:
        flash("Submitted for review. You'll be told when it has been reviewed.", "success")
    return redirect(url_for("learner.path", path_id=path_id, _anchor=f"step-{step_id}"))
