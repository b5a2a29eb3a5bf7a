"""School settings: the school's time zone and when its weekly Mentor Digest goes out."""

from __future__ import annotations

from zoneinfo import available_timezones

from flask import flash, redirect
from flask_admin import BaseView, expose
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectField
from wtforms.fields import SelectChoice
from wtforms.validators import InputRequired, NumberRange

from mentorgroups.admin.base import AdminAccess
from mentorgroups.extensions import db
from mentorgroups.services import school_settings
from mentorgroups.services.digest_weeks import WEEKDAYS
from mentorgroups.services.errors import ServiceError
from mentorgroups.tenancy import current_membership

_ZONES = sorted(available_timezones() - {"localtime"})


class SchoolSettingsForm(FlaskForm):
    time_zone = SelectField("Time zone", choices=[SelectChoice(z, z) for z in _ZONES],
                            description="Dates in reports and the digest's week follow it.")
    digest_weekday = SelectField("Weekly digest goes out on", coerce=int,
                                 choices=[SelectChoice(i, d) for i, d in enumerate(WEEKDAYS)])
    digest_hour = SelectField("at", coerce=int,
                              choices=[SelectChoice(h, f"{h:02d}:00") for h in range(24)])
    drift_days = IntegerField(
        "A member is drifting after this many days without progress",
        validators=[InputRequired("Give a number of days."),
                    NumberRange(1, 365, "Give a number of days from 1 to 365.")],
        description="Flagged on the mentors' group pages and in the weekly digest.")


class SchoolSettingsView(AdminAccess, BaseView):
    @expose("/", methods=("GET", "POST"))
    def index(self):
        account = current_membership().account
        form = SchoolSettingsForm(obj=account)
        if form.validate_on_submit():
            try:
                school_settings.update(current_user, account.id, form.time_zone.data,
                                       form.digest_weekday.data, form.digest_hour.data,
                                       form.drift_days.data)
                db.session.commit()
            except ServiceError as exc:
                db.session.rollback()
                flash(exc.message, "error")
            else:
                flash("School settings saved.", "success")
                return redirect(self.get_url(".index"))
        return self.render("admin/school_settings.html", form=form, account=account)
