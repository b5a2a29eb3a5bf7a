"""Paths with their steps, and cohorts with their people, for the current school."""

from __future__ import annotations

from flask import g
from flask_admin.model.form import InlineFormAdmin
from markupsafe import Markup
from sqlalchemy import func, select
from sqlalchemy.orm import contains_eager, selectinload
from wtforms import SelectField
from wtforms.fields import SelectChoice
from wtforms.validators import NumberRange, Optional

from mentorgroups.admin.base import SchoolSelectField, ScopedModelView
from mentorgroups.extensions import db
from mentorgroups.models import AccountMembership, Cohort, CohortMembership, Path, Step, User
from mentorgroups.tenancy import current_membership
from mentorgroups.wording import cohort_people

COHORT_ROLE_CHOICES = [SelectChoice("learner", "Learner"), SelectChoice("teacher", "Teacher"),
                       SelectChoice("moderator", "Moderator")]


def school_paths():
    return db.session.scalars(
        select(Path).where(Path.account_id == current_membership().account_id)
        .order_by(Path.title)
    ).all()


def school_people():
    """People of the current school with active access: the only ones a cohort may hold."""
    return db.session.scalars(
        select(User)
        .join(AccountMembership, AccountMembership.user_id == User.id)
        .where(AccountMembership.account_id == current_membership().account_id,
               AccountMembership.status == "active")
        .order_by(User.full_name)
    ).all()


class StepInline(InlineFormAdmin):
    form_columns = ["id", "position", "title", "body", "requires_review", "points"]
    form_label = "Step"
    column_labels = {"requires_review": "Marked for review"}
    form_args = {
        "points": {"validators": [Optional(), NumberRange(min=1, max=1000,
                                  message="Points must be from 1 to 1000, or empty.")]},
        "position": {"validators": [Optional()]},
    }


class CohortMemberInline(InlineFormAdmin):
    form_columns = ["id", "user", "role"]
    form_label = "Person"
    form_overrides = {"user": SchoolSelectField, "role": SelectField}
    form_args = {"user": {"query_factory": school_people, "allow_blank": False},
                 "role": {"choices": COHORT_ROLE_CHOICES}}


def _step_summary(view, context, model, name):
    reviewed = sum(1 for s in model.steps if s.requires_review)
    return Markup("{} steps, <span title='marked for review'>{} for review</span>").format(
        len(model.steps), reviewed
    )


class PathView(ScopedModelView):
    can_view_details = True
    column_list = ["title", "steps", "created_at"]
    column_labels = {"steps": "Steps", "created_at": "Created"}
    column_formatters = {"steps": _step_summary}
    column_formatters_export = {"steps": lambda v, c, m, n: len(m.steps)}
    column_searchable_list = ["title"]
    column_default_sort = ("title", False)
    form_columns = ["title", "description"]
    inline_models = [StepInline(Step)]
    can_export = True
    column_export_list = ["title", "steps", "created_at"]

    def scope(self, query):
        return query.filter(Path.account_id == self.account_id)

    def get_query(self):
        return super().get_query().options(selectinload(Path.steps))

    def build_new_instance(self):
        return Path(account_id=self.account_id)

    def on_model_change(self, form, model, is_created):
        model.account_id = self.account_id
        # Steps removed in this same save are still in the list until the flush.
        kept = [step for step in model.steps if step not in db.session.deleted]
        ordered = sorted(kept, key=lambda s: (s.position is None, s.position or 0))
        for index, step in enumerate(ordered):
            step.position = index + 1


def _cohort_counts(view, context, model, name):
    counts = g.get("cohort_role_counts", {}).get(model.id, {})
    return cohort_people(counts)


class CohortView(ScopedModelView):
    can_view_details = True
    column_list = ["path", "name", "starts_on", "people"]
    column_labels = {"path": "Path", "starts_on": "Starts", "people": "People"}
    column_formatters = {"people": _cohort_counts}
    column_searchable_list = ["name"]
    column_sortable_list = ["name", "starts_on"]
    column_default_sort = ("name", False)
    form_columns = ["path", "name", "starts_on"]
    form_overrides = {"path": SchoolSelectField}
    form_args = {"path": {"query_factory": school_paths, "allow_blank": False}}
    inline_models = [CohortMemberInline(CohortMembership)]

    def scope(self, query):
        return query.join(Path, Cohort.path_id == Path.id).filter(
            Path.account_id == self.account_id
        )

    # The path comes with the scope's join (contains_eager below); Flask-Admin's own
    # joinedload of the listed `path` column would conflict with it.
    column_auto_select_related = False

    def get_query(self):
        return super().get_query().options(contains_eager(Cohort.path))

    def get_list(self, *args, **kwargs):
        """Count each listed cohort's people by role in one query, not one per row."""
        count, rows = super().get_list(*args, **kwargs)
        ids = [cohort.id for cohort in rows]
        counts: dict[int, dict[str, int]] = {}
        if ids:
            for cohort_id, role, n in db.session.execute(
                select(CohortMembership.cohort_id, CohortMembership.role, func.count())
                .where(CohortMembership.cohort_id.in_(ids))
                .group_by(CohortMembership.cohort_id, CohortMembership.role)
            ):
                counts.setdefault(cohort_id, {})[role] = n
        g.cohort_role_counts = counts
        return count, rows

    def on_model_change(self, form, model, is_created):
        from mentorgroups.services.errors import ServiceError

        if model.path is None or model.path.account_id != self.account_id:
            raise ServiceError("Choose one of this school's paths.")
        seen = set()
        for membership in model.memberships:
            if membership in db.session.deleted or membership.user is None:
                continue
            if membership.user.id in seen:
                raise ServiceError(f"{membership.user.full_name} is in this cohort twice: "
                                   "keep one row per person.")
            seen.add(membership.user.id)
