from __future__ import annotations

from flask import abort, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm

from mentorgroups.extensions import db
from mentorgroups.models import GROUP_ROLE_LABELS, Notification, utcnow
from mentorgroups.paging import page_request
from mentorgroups.people import bp
from mentorgroups.services import (
    digest_subscriptions,
    discussion,
    group_reach,
    inbox,
    mentor_groups,
    mentoring,
    school_home,
    turnaround,
)
from mentorgroups.services.errors import NotFound
from mentorgroups.services.permissions import is_account_admin
from mentorgroups.tenancy import account_required, current_account

TABS = ("paths", "activity", "review")


class ConfirmForm(FlaskForm):
    pass


@bp.route("/people/groups")
@account_required
def groups():
    """Their own groups first (paged and searched on the server: a Group Admin at the top of
    the tree reaches every group), then their cohorts; for an account admin, also every
    group of the school ("All groups", paged and sorted on the server)."""
    account_id = current_account().id
    mine = mentor_groups.mentor_groups_page(current_user, account_id,
                                            page_request(request.args, prefix="my_"))
    cohort_rows = mentor_groups.mentor_cohorts(current_user, account_id)
    all_groups = None
    if is_account_admin(current_user, account_id):
        all_groups, _ = school_home.groups_page(
            current_user, account_id, page_request(request.args, prefix="all_"),
            sort=request.args.get("all_sort", "name"), direction=request.args.get("all_dir"))
    return render_template("people/groups.html", mine=mine, cohort_rows=cohort_rows,
                           role_labels=GROUP_ROLE_LABELS, all_groups=all_groups, now=utcnow())


@bp.route("/people/groups/<int:group_id>")
@account_required
def group(group_id: int):
    try:
        group, page = mentoring.group_page(current_user, current_account().id, group_id,
                                           page_request(request.args),
                                           show=request.args.get("show", "all"),
                                           sort=request.args.get("sort", "name"))
        waits = turnaround.for_group(current_user, current_account().id, group.id)
    except NotFound:
        abort(404)
    return render_template("people/group.html", group=group, page=page, rows=page.items,
                           now=utcnow(), turnaround=waits,
                           digest_on=digest_subscriptions.is_subscribed(current_user.id,
                                                                        group.id),
                           # The digest is for the group's staff (an account admin opening
                           # any group of the school reads its page only).
                           can_digest=group_reach.mentors(current_user, current_account().id,
                                                          group.id))


@bp.route("/people/<int:user_id>")
@account_required
def profile(user_id: int):
    tab = request.args.get("tab", "paths")
    if tab not in TABS:
        tab = "paths"
    try:
        card = mentoring.learner_profile(current_user, current_account().id, user_id, tab,
                                         page_request(request.args))
    except NotFound:
        abort(404)
    messages = discussion.messages_for(sub.id for sub in card["waiting"]) \
        if tab == "review" else {}
    return render_template("people/profile.html", tab=tab, now=utcnow(), messages=messages,
                           **card)


@bp.route("/notifications")
@account_required
def notifications():
    page = inbox.notifications_page(current_user, current_account().id,
                                    page_request(request.args))
    return render_template("notifications/list.html", page=page, items=page.items,
                           form=ConfirmForm(), now=utcnow())


@bp.route("/notifications/<int:notification_id>/open", methods=["POST"])
@account_required
def open_notification(notification_id: int):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    item = db.session.get(Notification, notification_id)
    if item is None or item.user_id != current_user.id \
            or item.account_id != current_account().id:
        abort(404)
    inbox.mark_read(current_user, current_account().id, item.id)
    db.session.commit()
    local = item.link.startswith("/") and not item.link.startswith("//")
    return redirect(item.link if local else url_for("mentor.notifications"))


@bp.route("/notifications/read", methods=["POST"])
@account_required
def mark_read():
    if not ConfirmForm().validate_on_submit():
        abort(400)
    raw = request.form.get("notification_id")
    account_id = current_account().id
    if raw:
        try:
            inbox.mark_read(current_user, account_id, int(raw))
        except ValueError:
            abort(404)
    else:
        inbox.mark_read(current_user, account_id)
    db.session.commit()
    return redirect(url_for("mentor.notifications"))
