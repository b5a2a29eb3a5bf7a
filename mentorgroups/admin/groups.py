"""Community > Groups: the tree of Mentor Groups, creating and managing groups, and the
members screen (add by search or paste, roles, removal, bulk actions). Thin: every rule is in
services.groups and services.group_members."""

from __future__ import annotations

from flask import abort, flash, jsonify, redirect, request, url_for
from flask_admin import BaseView, expose
from flask_admin.actions import ActionsMixin, action
from flask_admin.helpers import get_redirect_target
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectChoice, SelectField, StringField, TextAreaField

from mentorgroups.admin.base import AdminAccess
from mentorgroups.admin.group_tree import TreeScreen
from mentorgroups.extensions import db
from mentorgroups.models import GROUP_ROLE_LABELS, MentorGroup, utcnow
from mentorgroups.paging import PageRequest, page_request
from mentorgroups.services import (
    group_access,
    group_members,
    group_reach,
    group_search,
    group_trail,
    group_tree,
    groups,
    invitations,
)
from mentorgroups.services.errors import NotFound, ServiceError
from mentorgroups.services.permissions import is_account_admin
from mentorgroups.tenancy import current_membership
from mentorgroups.wording import delete_consequences, deleted_message

PARENT_SELECT_LIMIT = 100  # "Nest under" without scripts; the picker searches them all
ROLE_CHOICES = [SelectChoice(value, label) for value, label in GROUP_ROLE_LABELS.items()]


class GroupForm(FlaskForm):
    name = StringField("Name")
    description = TextAreaField("Description (optional)")
    parent_id = SelectField("Nest under", choices=[], validate_choice=False)


class AddMembersForm(FlaskForm):
    role = SelectField("Role", choices=ROLE_CHOICES, default="member", validate_choice=False)
    addresses = TextAreaField("Or paste email addresses")


class RoleForm(FlaskForm):
    role = SelectField("Role", choices=ROLE_CHOICES, validate_choice=False)


class ConfirmForm(FlaskForm):
    pass


class BulkForm(FlaskForm):
    action = HiddenField()
    url = HiddenField()
    group_id = HiddenField()


def people_list(users) -> str:
    names = [u.full_name for u in users]
    if len(names) <= 5:
        return ", ".join(names)
    return ", ".join(names[:5]) + f" and {len(names) - 5} more"


class GroupsView(TreeScreen, AdminAccess, BaseView, ActionsMixin):
    """Account admins see every group; Group Admins the groups they manage and below."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.init_actions()

    def is_accessible(self) -> bool:
        membership = current_membership() if current_user.is_authenticated else None
        return membership is not None and groups.can_use_groups_back_office(
            current_user, membership.account_id)

    # ---- helpers ----------------------------------------------------------------------------

    def _group(self, group_id) -> MentorGroup:
        try:
            return groups.group_for_manager(current_user, self.account_id, group_id)
        except NotFound:
            abort(404)

    def _gone(self, exc: ServiceError):
        """A POST about a group that is not (or no longer) there: say so, change nothing."""
        db.session.rollback()
        flash(exc.message, "error")
        return self._render_index(status=404)

    def _parent_choices(self, group: MentorGroup | None, chosen: str | None):
        """The "Nest under" select: what the server-searched picker stands on, and the whole
        control without scripts. At most PARENT_SELECT_LIMIT groups in natural order of
        their path (services.group_search), plus the chosen one wherever it sorts; never
        the group itself or a group below it. Returns (choices, how many more exist)."""
        found = group_search.parent_options(current_user, self.account_id,
                                            group.id if group is not None else None, "",
                                            limit=PARENT_SELECT_LIMIT)
        choices = [SelectChoice("", "No parent (top level)")] if found.top_level else []
        choices.extend(SelectChoice(str(g.id), g.path) for g in found.groups)
        values = {choice.value for choice in choices}
        if chosen and chosen not in values and chosen.isdigit():
            label = group_search.parent_label(current_user, self.account_id, group, int(chosen))
            if label is not None:
                choices.append(SelectChoice(chosen, label))
                values.add(chosen)
        # A Group Admin may edit a group whose current place is outside their part of the
        # tree: keeping it there is always allowed, so it is always offered.
        if group is not None:
            current = str(group.parent_id) if group.parent_id else ""
            if current not in values:
                text = "Where it is now (under a group outside the ones you manage)" \
                    if group.parent_id else "No parent (top level, where it is now)"
                choices.insert(0, SelectChoice(current, text))
        return choices, found.more

    # ---- create, manage, delete -------------------------------------------------------------

    @expose("/new", methods=("GET", "POST"))
    def create_view(self):
        account = current_membership().account
        form = GroupForm()
        if request.method == "GET":
            form.parent_id.data = request.args.get("parent_id", "")
        form.parent_id.choices, parent_more = self._parent_choices(None, form.parent_id.data)
        status = 200
        if form.validate_on_submit():
            try:
                group = groups.create_group(current_user, account.id, form.name.data,
                                            form.description.data, form.parent_id.data)
                db.session.commit()
            except ServiceError as exc:
                db.session.rollback()
                # The plan limit is said once, by the page's own limit message below.
                if exc.message != groups.limit_message(account, groups.group_count(account.id)):
                    flash(exc.message, "error")
                status = 422
            else:
                flash(f"Group \u201c{group.name}\u201d created. Now you're ready to add members.",
                      "success")
                return redirect(self.get_url(".members_view", group_id=group.id))
        used = groups.group_count(account.id)
        return self.render("admin/groups/form.html", form=form, group=None, account=account,
                           limit_message=groups.limit_message(account, used),
                           is_admin=is_account_admin(current_user, account.id),
                           used=used, limit=groups.group_limit(account.plan),
                           parent_more=parent_more), status

    @expose("/<int:group_id>/manage", methods=("GET", "POST"))
    def manage_view(self, group_id: int):
        group = self._group(group_id)
        form = GroupForm(obj=group)
        if request.method == "GET":
            form.parent_id.data = str(group.parent_id) if group.parent_id else ""
        form.parent_id.choices, parent_more = self._parent_choices(group, form.parent_id.data)
        status = 200
        if form.validate_on_submit():
            try:
                groups.update_group(current_user, self.account_id, group.id, form.name.data,
                                    form.description.data, form.parent_id.data)
                db.session.commit()
            except NotFound as exc:
                return self._gone(exc)
            except ServiceError as exc:
                db.session.rollback()
                flash(exc.message, "error")
                status = 422
                group = self._group(group_id)
            else:
                flash("Group saved.", "success")
                return redirect(self.get_url(".members_view", group_id=group.id))
        child_count = group_tree.nested_count(self.account_id, group.id)
        return self.render("admin/groups/form.html", form=form, group=group,
                           delete_form=ConfirmForm(),
                           delete_lines=delete_consequences(
                               child_count, group_members.member_count(group.id),
                               group.parent.name if group.parent else None,
                               invitations.pending_count(group.id)),
                           can_delete=is_account_admin(current_user, self.account_id),
                           parent_more=parent_more), status

    @expose("/<int:group_id>/delete", methods=("POST",))
    def delete_view(self, group_id: int):
        if not ConfirmForm().validate_on_submit():
            abort(400)
        try:
            result = groups.delete_group(current_user, self.account_id, group_id)
            db.session.commit()
        except NotFound as exc:
            return self._gone(exc)
        except ServiceError as exc:
            db.session.rollback()
            flash(exc.message, "error")
            return redirect(self.get_url(".manage_view", group_id=group_id))
        flash(deleted_message(result["name"], result["children_moved"],
                              result["memberships_ended"], result["invitations_ended"]),
              "success")
        return redirect(self.get_url(".index"))

    # ---- members ----------------------------------------------------------------------------

    @expose("/<int:group_id>/")
    def members_view(self, group_id: int):
        group = self._group(group_id)
        members_request = page_request(request.args)
        staff_request = page_request(request.args, prefix="staff_")
        staff, members = group_members.group_people(
            current_user, self.account_id, group.id,
            PageRequest(staff_request.number, staff_request.size, members_request.search),
            members_request)
        actions, confirmations = self.get_actions_list()
        return self.render(
            "admin/groups/members.html", group=group, staff=staff, members=members,
            add_form=AddMembersForm(), role_form=RoleForm(), confirm_form=ConfirmForm(),
            action_form=BulkForm(), actions=actions, actions_confirmation=confirmations,
            role_labels=GROUP_ROLE_LABELS, trail=self._trail(group),
            pending=invitations.pending_for_group(group.id), now=utcnow(),
            above=group_access.managers_above(self.account_id, [group.id])[group.id],
            self_keeps_access=group_access.keeps_access_without_role(
                current_user, self.account_id, group.id),
        )

    def _trail(self, group: MentorGroup) -> list[MentorGroup]:
        """The group's ancestors this person may see, top first, for the breadcrumb."""
        return group_trail.visible_ancestors(current_user, self.account_id, group)

    @expose("/<int:group_id>/search")
    def search_view(self, group_id: int):
        try:
            found = group_members.search_for_adding(current_user, self.account_id, group_id,
                                                    request.args.get("q", ""))
        except NotFound:
            abort(404)
        for person in found["people"]:
            person["role_label"] = GROUP_ROLE_LABELS.get(person["role"], "")
        return jsonify(found)

    @expose("/<int:group_id>/add", methods=("POST",))
    def add_view(self, group_id: int):
        form = AddMembersForm()
        if not form.validate_on_submit():
            abort(400)
        try:
            report = group_members.add_members(
                current_user, self.account_id, group_id, form.role.data,
                user_ids=request.form.getlist("user_id"),
                # Addresses picked from the search bar ("Invite ...") join the pasted ones.
                addresses="\n".join([form.addresses.data or "",
                                     *request.form.getlist("invite")]))
            db.session.commit()
        except NotFound as exc:
            return self._gone(exc)
        except ServiceError as exc:
            db.session.rollback()
            flash(exc.message, "error")
            return redirect(self.get_url(".members_view", group_id=group_id) + "#add")
        self._flash_report(report, form.role.data)
        return redirect(self.get_url(".members_view", group_id=group_id))

    @staticmethod
    def _flash_report(report: group_members.AddReport, role: str):
        label = GROUP_ROLE_LABELS[role]
        if report.added:
            n = len(report.added)
            flash(f"Added {n} {'person' if n == 1 else 'people'} as {label}: "
                  f"{people_list(report.added)}.", "success")
        if report.already:
            flash("Already in the group (nothing changed): " + ", ".join(
                f"{u.full_name} ({GROUP_ROLE_LABELS[r]})" for u, r in report.already) + ".",
                "info")
        if report.invited:
            flash(f"Invited as {label} (an email is on its way): "
                  + ", ".join(report.invited) + ".", "success")
        for message in report.refused:
            flash(message, "error")
        if report.not_in_account:
            flash(f"{len(report.not_in_account)} of the people picked from the search left "
                  "this school meanwhile, so they were not added.", "warning")
        if report.revoked:
            flash("Their access to this school was revoked, so they can't be added: "
                  + ", ".join(report.revoked) + ".", "warning")
        if report.invalid:
            flash("Not valid email addresses: " + ", ".join(report.invalid) + ".", "error")

    @expose("/<int:group_id>/role/<int:user_id>", methods=("POST",))
    def role_view(self, group_id: int, user_id: int):
        form = RoleForm()
        if not form.validate_on_submit():
            abort(400)
        try:
            membership = group_members.change_role(current_user, self.account_id, group_id,
                                                   user_id, form.role.data)
            db.session.commit()
        except NotFound as exc:
            return self._not_found(group_id, exc)
        except ServiceError as exc:
            return self._back(group_id, exc)
        flash(f"{membership.user.full_name} is now a {GROUP_ROLE_LABELS[membership.role]}.",
              "success")
        if membership.user_id == current_user.id and not group_reach.manages(
                current_user, self.account_id, group_id):
            return self._after_losing(membership)
        return redirect(self.get_url(".members_view", group_id=group_id))

    def _after_losing(self, membership):
        """A Group Admin who gave up their own role: land where they can still go (their
        other groups, else their People page), never on a 403."""
        flash(f"You no longer manage \u201c{membership.group.name}\u201d; its Group Admins "
              "and the school's admins can give the role back.", "info")
        if groups.can_use_groups_back_office(current_user, self.account_id):
            return redirect(self.get_url(".index"))
        return redirect(url_for("mentor.groups"))

    @expose("/<int:group_id>/remove/<int:user_id>", methods=("GET", "POST"))
    def remove_view(self, group_id: int, user_id: int):
        """GET: the confirmation, naming the person's role (the page the members screen's
        in-page dialog stands in for, and what it is without scripts). POST: remove them,
        whatever their role."""
        if request.method == "GET":
            try:
                membership = group_members.membership_for_removal(
                    current_user, self.account_id, group_id, user_id)
            except NotFound:
                abort(404)
            return self.render(
                "admin/groups/remove.html", group=membership.group, person=membership.user,
                role_label=GROUP_ROLE_LABELS[membership.role], confirm_form=ConfirmForm(),
                loses_access=membership.user_id == current_user.id
                and membership.role == "group_admin"
                and not group_access.keeps_access_without_role(current_user, self.account_id,
                                                               group_id))
        if not ConfirmForm().validate_on_submit():
            abort(400)
        try:
            removed, refused = group_members.remove_members(current_user, self.account_id,
                                                            group_id, [user_id])
            db.session.commit()
        except NotFound as exc:
            return self._gone(exc)
        self._flash_removal(removed, refused)
        if any(user.id == current_user.id for user in removed) and not \
                group_reach.manages(current_user, self.account_id, group_id):
            return self._after_leaving()
        return redirect(self.get_url(".members_view", group_id=group_id))

    def _after_leaving(self):
        """A Group Admin who removed themselves: land where they can still go."""
        if groups.can_use_groups_back_office(current_user, self.account_id):
            return redirect(self.get_url(".index"))
        return redirect(url_for("mentor.groups"))

    def _not_found(self, group_id: int, exc: NotFound):
        """The group is gone (404 on the index) or only the person is (back to the group)."""
        try:
            groups.group_for_manager(current_user, self.account_id, group_id)
        except NotFound as gone:
            return self._gone(gone)
        return self._back(group_id, exc)

    def _back(self, group_id: int, exc: ServiceError):
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(self.get_url(".members_view", group_id=group_id))

    @staticmethod
    def _flash_removal(removed, refused):
        if removed:
            flash(f"Removed from the group: {people_list(removed)}.", "success")
        for message in refused:
            flash(message, "error")
        if not removed and not refused:
            flash("Nobody was removed: they were no longer in the group.", "info")

    # ---- invitations ------------------------------------------------------------------------

    @expose("/<int:group_id>/invitations/<int:invitation_id>/resend", methods=("POST",))
    def resend_view(self, group_id: int, invitation_id: int):
        return self._invitation_change(group_id, invitation_id, invitations.resend,
                                       "A new invitation was sent to {email}; the old link "
                                       "no longer works.")

    @expose("/<int:group_id>/invitations/<int:invitation_id>/revoke", methods=("POST",))
    def revoke_view(self, group_id: int, invitation_id: int):
        return self._invitation_change(group_id, invitation_id, invitations.revoke,
                                       "The invitation to {email} was withdrawn.")

    def _invitation_change(self, group_id, invitation_id, change, done: str):
        if not ConfirmForm().validate_on_submit():
            abort(400)
        self._group(group_id)
        try:
            invitation = change(current_user, self.account_id, invitation_id)
            if invitation.group_id != group_id:
                raise NotFound("That invitation does not exist.")
            db.session.commit()
        except NotFound as exc:
            return self._gone(exc)
        except ServiceError as exc:
            return self._back(group_id, exc)
        flash(done.format(email=invitation.email), "success")
        return redirect(self.get_url(".members_view", group_id=group_id))

    # ---- bulk actions (Flask-Admin actions over the members table) -----------------------

    def action_form(self):
        return BulkForm()

    def validate_form(self, form) -> bool:
        return form.validate_on_submit()

    @expose("/action/", methods=("POST",))
    def action_view(self):
        return self.handle_action(return_view=None if get_redirect_target() else "index")

    def _bulk_group_id(self):
        return request.form.get("group_id", "")

    def _bulk_done(self, group_id):
        return redirect(self.get_url(".members_view", group_id=group_id))

    @action("make_mentor", "Make mentor", "Make the selected members mentors?")
    def action_make_mentor(self, ids):
        group_id = self._bulk_group_id()
        try:
            changed = group_members.make_mentors(current_user, self.account_id, group_id, ids)
            db.session.commit()
        except NotFound as exc:
            return self._gone(exc)
        if changed:
            flash(f"Now mentors: {people_list(changed)}.", "success")
        else:
            flash("Nobody changed: only members can be made mentors.", "info")
        return self._bulk_done(group_id)

    @action("remove", "Remove from group", "Remove the selected members from the group?")
    def action_remove(self, ids):
        group_id = self._bulk_group_id()
        try:
            removed, refused = group_members.remove_members(current_user, self.account_id,
                                                            group_id, ids)
            db.session.commit()
        except NotFound as exc:
            return self._gone(exc)
        self._flash_removal(removed, refused)
        return self._bulk_done(group_id)
