"""Community > Groups: the tab itself (the tree one level at a time, its search, the "Nest
under" picker's options). A mixin of GroupsView (admin/groups.py), which holds the group
forms and the members screen; thin over services.group_tree and services.group_search."""

from __future__ import annotations

from flask import abort, jsonify, request
from flask_admin import expose
from flask_login import current_user

from mentorgroups.models import MentorGroup
from mentorgroups.paging import page_request
from mentorgroups.services import group_search, group_tree, groups, plans
from mentorgroups.services.errors import NotFound
from mentorgroups.services.permissions import is_account_admin
from mentorgroups.tenancy import current_membership


class TreeScreen:
    """The tab's routes; `self.render`, `self.get_url` and `self.account_id` are the view's."""

    @expose("/search.json")
    def search_json(self):
        """The tree's search: groups this person manages whose name contains `q`, each with
        its path, at most 20 (and how many more)."""
        found = group_search.search_groups(current_user, self.account_id, request.args.get("q"))
        base = self.get_url(".index")
        return jsonify({**found.as_json(),
                        "groups": [{**g.as_json(), "url": f"{base}{g.id}/"}
                                   for g in found.groups]})

    @expose("/parents.json")
    def parents_json(self):
        """The "Nest under" picker's options for `group_id` (empty: a new group) matching
        `q`: never the group or a group below it, never a group this person doesn't manage
        (another school's or someone else's group_id is a 404)."""
        try:
            found = group_search.parent_options(current_user, self.account_id,
                                                request.args.get("group_id") or None,
                                                request.args.get("q"))
        except NotFound:
            abort(404)
        return jsonify(found.as_json())

    def _render_index(self, status: int = 200, parent: MentorGroup | None = None,
                      level=None):
        """The tab: the top of the person's part of the tree (or, without scripts, the
        groups nested in `parent`), one page of one level; deeper levels are fetched when a
        group is opened (nested_view)."""
        account = current_membership().account
        used = groups.group_count(account.id)
        if level is None:
            level = group_tree.top_level(current_user, account.id,
                                         page_request(request.args,
                                                      default_size=group_tree.LEVEL_SIZE))
        search = " ".join(request.args.get("q", "").split())
        return self.render(
            "admin/groups/index.html", level=level, parent=parent, account=account, used=used,
            trail=group_tree.trail(current_user, account.id, parent) if parent else [],
            limit=groups.group_limit(account.plan),
            limit_message=groups.limit_message(account, used),
            is_admin=is_account_admin(current_user, account.id),
            usage_text=plans.usage_text(account.plan, used),
            search=search, found=group_search.search_groups(current_user, account.id, search)
            if search else None,
        ), status

    # ---- the tree ---------------------------------------------------------------------------

    @expose("/")
    def index(self):
        """The tab; with `fragment=1`, one more page of the top level for the tree's script."""
        if request.args.get("fragment") == "1":
            account = current_membership().account
            level = group_tree.top_level(current_user, account.id, page_request(
                request.args, default_size=group_tree.LEVEL_SIZE))
            return self.render("admin/groups/_level.html", level=level, parent=None,
                               limit_message=groups.limit_message(
                                   account, groups.group_count(account.id)))
        return self._render_index()

    @expose("/<int:group_id>/nested")
    def nested_view(self, group_id: int):
        """The groups nested in one group, one page (`page`): an HTML fragment of tree rows
        for the tree's script (`fragment=1`), else the tab showing that level (what the
        caret opens without scripts). A group this person doesn't manage is a 404."""
        try:
            group, level = group_tree.nested_level(
                current_user, self.account_id, group_id,
                page_request(request.args, default_size=group_tree.LEVEL_SIZE))
        except NotFound:
            abort(404)
        if request.args.get("fragment") == "1":
            limit_message = groups.limit_message(current_membership().account,
                                                 groups.group_count(self.account_id))
            return self.render("admin/groups/_level.html", level=level, parent=group,
                               limit_message=limit_message)
        return self._render_index(parent=group, level=level)
