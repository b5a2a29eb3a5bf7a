"""The signed-in person and the school they are working in.

The current account is kept in the session and re-checked against an active membership on
every request, so revoking someone takes effect at their next click."""

from __future__ import annotations

from functools import wraps

from flask import abort, g, redirect, request, session, url_for
from flask_login import current_user

from mentorgroups.models import Account, AccountMembership, User
from mentorgroups.services.accounts import active_memberships
from mentorgroups.services.permissions import active_membership
from mentorgroups.services.signed_in import load_signed_in

SESSION_KEY = "account_id"


def init_app(app, login_manager) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to continue."
    login_manager.login_message_category = "info"

    @login_manager.user_loader
    def load_user(session_id: str) -> User | None:
        """The session holds "id.version" (User.get_id): a session from before the person
        signed out, changed their password or lost access carries an old version and loads
        nobody."""
        user_id, _, version = (session_id or "").partition(".")
        try:
            user_id, version_number = int(user_id), int(version)
            user = load_signed_in(user_id, _session_account_id())
        except (ValueError, OverflowError):
            return None
        if user is None or (user.session_version or 0) != version_number:
            return None
        return user

    @app.before_request
    def forget_cached_identity():
        """Per-request caches live on `g`, which belongs to the app context. A request
        normally gets a fresh one; when it shares an outer context (the test client inside
        a test's app context) these would leak from one request to the next."""
        g.pop("mg_membership", None)
        g.pop("mg_nav", None)
        g.pop("_login_user", None)
        g.pop("csrf_token", None)

    @app.context_processor
    def inject_tenancy():
        return {"current_account": current_account, "current_membership": current_membership,
                "manages_groups": manages_groups, "unread_notifications": unread_notifications,
                "nav_places": nav_places}


def _session_account_id() -> int | None:
    """The school the session says this person works in (anything but a whole number in
    range is none)."""
    raw = session.get(SESSION_KEY)
    if isinstance(raw, bool) or not isinstance(raw, int) or not 0 < raw < 2**63:
        return None
    return raw


def current_membership() -> AccountMembership | None:
    """The active membership of the signed-in person in the school they work in, or None."""
    if "mg_membership" in g:
        return g.mg_membership
    membership = None
    if current_user.is_authenticated:
        account_id = _session_account_id()
        if account_id is not None:
            membership = active_membership(current_user, account_id)
        if membership is None:
            memberships = active_memberships(current_user)
            if len(memberships) == 1:
                membership = memberships[0]
                session[SESSION_KEY] = membership.account_id
    g.mg_membership = membership
    return membership


def manages_groups() -> bool:
    """Whether the navigation shows the Groups part of the back office to a non-admin."""
    from mentorgroups.services.school_roles import roles_in_school

    membership = current_membership()
    return membership is not None and roles_in_school(current_user.id,
                                                      membership.account_id).group_admin


def nav_places() -> dict[str, bool]:
    """The header's places this person's roles give them in the school they work in: People
    and Review for those who mentor, administer a group, teach or moderate a cohort, or are
    the school's admins; the back office for account admins and Group Admins; My paths for
    anyone enrolled as a learner, and for everyone with no staff role (it is their home).
    One statement, once per request."""
    if "mg_nav" in g:
        return g.mg_nav
    membership = current_membership()
    places = {"paths": False, "people": False, "review": False, "back_office": False}
    if membership is not None:
        from mentorgroups.services.school_roles import roles_in_school

        roles = roles_in_school(current_user.id, membership.account_id)
        admin = membership.role == "admin"
        staff = admin or roles.group_staff or roles.teaches
        places = {"paths": roles.learns or not staff, "people": staff, "review": staff,
                  "back_office": admin or roles.group_admin}
    g.mg_nav = places
    return places


def unread_notifications() -> int:
    from mentorgroups.services.inbox import unread_count

    membership = current_membership()
    return unread_count(current_user, membership.account_id) if membership else 0


def current_account() -> Account | None:
    membership = current_membership()
    return membership.account if membership else None


def switch_account(account_id: int) -> bool:
    """Work in another school; False when the person has no active membership there."""
    if active_membership(current_user, account_id) is None:
        return False
    session[SESSION_KEY] = account_id
    g.pop("mg_membership", None)
    g.pop("mg_nav", None)
    return True


def account_required(view):
    """Signed in and working in a school; otherwise sign in, or choose a school."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        if current_membership() is None:
            return redirect(url_for("auth.choose_account", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)

    return wrapped


def admin_required(view):
    @wraps(view)
    @account_required
    def wrapped(*args, **kwargs):
        if current_membership().role != "admin":
            abort(403)
        return view(*args, **kwargs)

    return wrapped
