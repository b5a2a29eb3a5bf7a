"""The floor of each screen: hand-written SQL for the same content (the rows and counts the
page shows, no sign-in or session work), run through psycopg on one connection, rows fetched
and dropped. A screen's time over its floor is what the app adds: Python, templates, HTTP.

Each floor is a function of (cursor, ids) so the same code serves both data set sizes."""

from __future__ import annotations

PAGE = 50


def _all(cur, sql: str, params=()) -> list:
    cur.execute(sql, params)
    return cur.fetchall()


def members_screen(cur, ids):
    """Staff and members of the big group: counts and the first page of each."""
    for roles in (("mentor", "group_admin"), ("member",)):
        _all(cur, "SELECT count(*) FROM group_membership WHERE group_id = %s AND role = ANY(%s)",
             (ids["big_group"], list(roles)))
        _all(cur, "SELECT u.id, u.full_name, u.email, gm.role, gm.created_at "
                  "FROM group_membership gm JOIN user_account u ON u.id = gm.user_id "
                  "WHERE gm.group_id = %s AND gm.role = ANY(%s) "
                  "ORDER BY lower(u.full_name), u.id LIMIT %s",
             (ids["big_group"], list(roles), PAGE))
    _all(cur, "SELECT id, email, role, sent_at FROM invitation WHERE group_id = %s "
              "AND status = 'pending' ORDER BY sent_at DESC", (ids["big_group"],))


def group_page(cur, ids):
    """The mentor's group page: count, a page of members, their progress and waiting work."""
    active = ("FROM group_membership gm JOIN user_account u ON u.id = gm.user_id "
              "JOIN account_membership am ON am.user_id = u.id AND am.account_id = %s "
              "AND am.status = 'active' WHERE gm.group_id = %s AND gm.role = 'member' "
              "AND u.active")
    args = (ids["school"], ids["big_group"])
    _all(cur, "SELECT count(*) " + active, args)
    people = _all(cur, "SELECT u.id, u.full_name, u.email " + active +
                  " ORDER BY lower(u.full_name), u.id LIMIT %s", (*args, PAGE))
    page = [p[0] for p in people]
    _all(cur, "SELECT sc.user_id, p.id, p.title, t.total, count(*), max(sc.completed_at) "
              "FROM step_completion sc JOIN step s ON s.id = sc.step_id "
              "JOIN path p ON p.id = s.path_id JOIN (SELECT path_id, count(*) total FROM step "
              "GROUP BY path_id) t ON t.path_id = p.id WHERE sc.user_id = ANY(%s) "
              "AND p.account_id = %s GROUP BY 1, 2, 3, 4", (page, ids["school"]))
    _all(cur, "SELECT user_id, sum(CASE WHEN status = 'pending' THEN 1 ELSE 0 END), "
              "min(CASE WHEN status = 'pending' THEN submitted_at END), max(submitted_at) "
              "FROM submission WHERE user_id = ANY(%s) AND account_id = %s GROUP BY user_id",
         (page, ids["school"]))


_QUEUE_ROWS = ("SELECT s.id, s.submitted_at, u.full_name, st.title, p.title, c.name "
               "FROM (SELECT id, submitted_at, user_id, step_id, cohort_id FROM submission "
               "WHERE {where} ORDER BY submitted_at, id LIMIT %s) s "
               "JOIN user_account u ON u.id = s.user_id JOIN step st ON st.id = s.step_id "
               "JOIN path p ON p.id = st.path_id JOIN cohort c ON c.id = s.cohort_id "
               "ORDER BY s.submitted_at, s.id")


def review_queue_admin(cur, ids):
    where = "account_id = %s AND status = 'pending' AND user_id <> %s"
    args = (ids["school"], ids["admin"])
    _all(cur, f"SELECT count(*) FROM submission WHERE {where}", args)
    _all(cur, _QUEUE_ROWS.format(where=where), (*args, PAGE))


def review_queue_mentor(cur, ids):
    groups = [g for g, in _all(cur, "SELECT group_id FROM group_membership WHERE user_id = %s "
                                    "AND role IN ('mentor', 'group_admin')", (ids["mentor"],))]
    where = ("account_id = %s AND status = 'pending' AND user_id <> %s AND ("
             "EXISTS (SELECT 1 FROM cohort_membership cm WHERE cm.cohort_id = submission.cohort_id "
             "AND cm.user_id = %s AND cm.role IN ('teacher', 'moderator')) OR "
             "EXISTS (SELECT 1 FROM group_membership gm WHERE gm.user_id = submission.user_id "
             "AND gm.role = 'member' AND gm.group_id = ANY(%s)))")
    args = (ids["school"], ids["mentor"], ids["mentor"], groups)
    _all(cur, f"SELECT count(*) FROM submission WHERE {where}", args)
    _all(cur, _QUEUE_ROWS.format(where=where), (*args, PAGE))


def _enrolled(uid_param: str = "%s") -> str:
    return ("EXISTS (SELECT 1 FROM cohort c JOIN cohort_membership cm ON cm.cohort_id = c.id "
            f"WHERE c.path_id = p.id AND cm.user_id = {uid_param} AND cm.role = 'learner')")


def profile_card(cur, ids):
    """The card's Paths tab: access, the learner, waiting work, paths with their steps,
    completions and submissions."""
    learner, school = ids["learner"], ids["school"]
    _all(cur, "SELECT EXISTS (SELECT 1 FROM group_membership WHERE user_id = %s AND "
              "role = 'member' AND group_id IN (SELECT group_id FROM group_membership WHERE "
              "user_id = %s AND role = 'mentor'))", (learner, ids["mentor"]))
    _all(cur, "SELECT id, full_name, email FROM user_account WHERE id = %s", (learner,))
    _all(cur, "SELECT s.id, s.submitted_at, st.title, p.title FROM submission s JOIN step st "
              "ON st.id = s.step_id JOIN path p ON p.id = st.path_id WHERE s.user_id = %s AND "
              f"s.account_id = %s AND s.status = 'pending' AND {_enrolled()} "
              "ORDER BY s.submitted_at", (learner, school, learner))
    paths = _all(cur, f"SELECT p.id, p.title FROM path p WHERE p.account_id = %s AND {_enrolled()} "
                      "ORDER BY p.title", (school, learner))
    _all(cur, "SELECT id, path_id, position, title, points FROM step WHERE path_id = ANY(%s)",
         ([p[0] for p in paths],))
    _all(cur, "SELECT step_id, completed_at FROM step_completion WHERE user_id = %s", (learner,))
    _all(cur, "SELECT s.step_id, s.status, r.grade FROM submission s LEFT JOIN review r ON "
              "r.submission_id = s.id WHERE s.user_id = %s AND s.account_id = %s",
         (learner, school))


def profile_activity(cur, ids):
    learner, school = ids["learner"], ids["school"]
    both = ("SELECT sc.completed_at AS at, 'completed' AS what, st.title, p.title FROM "
            "step_completion sc JOIN step st ON st.id = sc.step_id JOIN path p ON p.id = "
            "st.path_id WHERE sc.user_id = %(u)s AND p.account_id = %(a)s AND "
            f"{_enrolled('%(u)s')} "
            "AND NOT EXISTS (SELECT 1 FROM submission s WHERE s.user_id = %(u)s AND "
            "s.step_id = st.id) UNION ALL SELECT s.submitted_at, 'submitted', st.title, p.title "
            "FROM submission s JOIN step st ON st.id = s.step_id JOIN path p ON p.id = "
            f"st.path_id WHERE s.user_id = %(u)s AND s.account_id = %(a)s AND {_enrolled('%(u)s')}")
    args = {"u": learner, "a": school}
    _all(cur, f"SELECT count(*) FROM ({both}) x", args)
    _all(cur, f"SELECT * FROM ({both}) x ORDER BY 1 DESC LIMIT {PAGE}", args)
    _all(cur, "SELECT count(*) FROM submission WHERE user_id = %s AND status = 'pending'",
         (learner,))


def groups_tab(cur, ids):
    _all(cur, "SELECT id, parent_id, name, description, created_at FROM mentor_group WHERE "
              "account_id = %s ORDER BY created_at DESC, id DESC", (ids["school"],))
    _all(cur, "SELECT gm.group_id, gm.role, count(*) FROM group_membership gm JOIN mentor_group "
              "g ON g.id = gm.group_id WHERE g.account_id = %s GROUP BY 1, 2", (ids["school"],))


def people(cur, ids):
    _all(cur, "SELECT count(*) FROM account_membership WHERE account_id = %s", (ids["school"],))
    _all(cur, "SELECT am.id, u.full_name, u.email, am.role, am.status, am.created_at FROM "
              "(SELECT * FROM account_membership WHERE account_id = %s ORDER BY created_at DESC "
              f"LIMIT {PAGE}) am JOIN user_account u ON u.id = am.user_id "
              "ORDER BY am.created_at DESC", (ids["school"],))
    _all(cur, "SELECT id, email, account_role, sent_at FROM invitation WHERE account_id = %s "
              "AND group_id IS NULL AND status = 'pending'", (ids["school"],))


def mentor_home(cur, ids):
    groups = [g for g, in _all(cur, "SELECT group_id FROM group_membership WHERE user_id = %s "
                                    "AND role IN ('mentor', 'group_admin')", (ids["mentor"],))]
    _all(cur, "SELECT group_id, count(*) FROM group_membership WHERE group_id = ANY(%s) AND "
              "role = 'member' GROUP BY 1", (groups,))
    _all(cur, "SELECT gm.group_id, count(s.id) FROM group_membership gm JOIN submission s ON "
              "s.user_id = gm.user_id WHERE gm.group_id = ANY(%s) AND gm.role = 'member' AND "
              "s.account_id = %s AND s.status = 'pending' GROUP BY 1", (groups, ids["school"]))
    _all(cur, "SELECT id, name, description FROM mentor_group WHERE id = ANY(%s) "
              "ORDER BY lower(name)", (groups,))
    _all(cur, "SELECT c.id, c.name, p.title, cm.role FROM cohort c JOIN cohort_membership cm ON "
              "cm.cohort_id = c.id JOIN path p ON p.id = c.path_id WHERE cm.user_id = %s AND "
              "p.account_id = %s AND cm.role IN ('teacher', 'moderator')",
         (ids["mentor"], ids["school"]))


def notifications(cur, ids):
    args = (ids["mentor"], ids["school"])
    _all(cur, "SELECT count(*) FROM notification WHERE user_id = %s AND account_id = %s", args)
    _all(cur, "SELECT id, text, link, created_at, read_at FROM notification WHERE user_id = %s "
              f"AND account_id = %s ORDER BY created_at DESC, id DESC LIMIT {PAGE}", args)
    _all(cur, "SELECT count(*) FROM notification WHERE user_id = %s AND account_id = %s AND "
              "read_at IS NULL", args)


def learner_paths(cur, ids):
    args = (ids["school"], ids["learner"])
    paths = _all(cur, "SELECT p.id, p.title, c.id, c.name FROM path p JOIN cohort c ON "
                      "c.path_id = p.id JOIN cohort_membership cm ON cm.cohort_id = c.id WHERE "
                      "p.account_id = %s AND cm.user_id = %s AND cm.role = 'learner' "
                      "ORDER BY p.title", args)
    path_ids = [p[0] for p in paths]
    _all(cur, "SELECT path_id, count(*) FROM step WHERE path_id = ANY(%s) GROUP BY 1",
         (path_ids,))
    _all(cur, "SELECT s.path_id, count(sc.id) FROM step s JOIN step_completion sc ON "
              "sc.step_id = s.id WHERE s.path_id = ANY(%s) AND sc.user_id = %s GROUP BY 1",
         (path_ids, ids["learner"]))


def audit_log(cur, ids):
    _all(cur, "SELECT count(*) FROM audit_event WHERE account_id = %s", (ids["school"],))
    _all(cur, "SELECT e.created_at, u.full_name, e.action, e.group_name, e.subject_email, "
              "e.before, e.after FROM (SELECT * FROM audit_event WHERE account_id = %s ORDER BY "
              f"created_at DESC LIMIT {PAGE}) e LEFT JOIN user_account u ON u.id = e.actor_id "
              "ORDER BY e.created_at DESC", (ids["school"],))


# ---- issue 24: a Group Admin at the root, a mentor of 50 groups, a tree of 20,000 groups ----

_REACH = ("WITH RECURSIVE reach(id) AS (SELECT gm.group_id FROM group_membership gm "
          "WHERE gm.user_id = %s AND gm.role = 'group_admin' UNION SELECT g.id FROM "
          "mentor_group g JOIN reach r ON g.parent_id = r.id) ")


def review_queue_group_admin(cur, ids):
    """The queue of a Group Admin of every top-level group: waiting work of the members of
    every group in their reach (a recursive CTE), count and the first page."""
    where = ("account_id = %s AND status = 'pending' AND user_id <> %s AND EXISTS (SELECT 1 "
             "FROM group_membership gm WHERE gm.user_id = submission.user_id AND "
             "gm.role = 'member' AND gm.group_id IN (SELECT id FROM reach))")
    args = (ids["group_admin"], ids["school"], ids["group_admin"])
    _all(cur, _REACH + f"SELECT count(*) FROM submission WHERE {where}", args)
    _all(cur, _REACH + _QUEUE_ROWS.format(where=where), (*args, PAGE))


def groups_of_group_admin(cur, ids):
    """/people/groups of that Group Admin: the groups in reach, a page by name, with
    member and waiting counts for that page's groups."""
    _all(cur, _REACH + "SELECT count(*) FROM reach", (ids["group_admin"],))
    page = [g for g, *_ in _all(cur, _REACH + "SELECT g.id, g.name FROM mentor_group g "
                                "JOIN reach r ON r.id = g.id ORDER BY lower(g.name), g.id "
                                f"LIMIT {PAGE}", (ids["group_admin"],))]
    _all(cur, "SELECT group_id, count(*) FROM group_membership WHERE group_id = ANY(%s) AND "
              "role = 'member' GROUP BY 1", (page,))
    _all(cur, "SELECT gm.group_id, count(s.id) FROM group_membership gm JOIN submission s ON "
              "s.user_id = gm.user_id WHERE gm.group_id = ANY(%s) AND gm.role = 'member' AND "
              "s.account_id = %s AND s.status = 'pending' GROUP BY 1", (page, ids["school"]))


def digest_preview(cur, ids):
    """Preview my digest for a mentor of 50 groups: the same content as the page. Per group
    the mentor has the digest on for: its members (names, when they joined), each member's
    progress by path (steps done, done last week, the last step) with the paths' titles and
    step counts, the work waiting (oldest first, with its step and path), and the median and
    90th percentile of the first-review waits of the members' work over four weeks.

    Until 7 December 2026 this floor read only each group's member count, drifting count and
    waiting work: not the per-member lines that are most of the page (1,700 of them, about
    250 KB), so the app's ratio to it measured content as much as speed."""
    # Without parallel workers: PostgreSQL estimates the 50 groups' members well and would
    # read all 2,000,000 completions with two workers instead (about 120 ms against 60 on
    # the 2-core machine).
    cur.execute("SET max_parallel_workers_per_gather = 0")
    groups = [g for g, in _all(cur, "SELECT ds.group_id FROM digest_subscription ds JOIN "
                                    "group_membership gm ON gm.group_id = ds.group_id AND "
                                    "gm.user_id = ds.user_id AND gm.role = 'mentor' WHERE "
                                    "ds.user_id = %s AND ds.subscribed", (ids["mentor"],))]
    _all(cur, "SELECT g.id, g.name FROM mentor_group g WHERE g.id = ANY(%s)", (groups,))
    _all(cur, "SELECT gm.group_id, u.id, u.full_name, gm.created_at FROM group_membership gm "
              "JOIN user_account u ON u.id = gm.user_id JOIN account_membership am ON "
              "am.user_id = u.id AND am.account_id = %s AND am.status = 'active' WHERE "
              "gm.group_id = ANY(%s) AND gm.role = 'member' AND u.active",
         (ids["school"], groups))
    _all(cur, "SELECT p.id, p.title, count(s.id) FROM path p JOIN step s ON s.path_id = p.id "
              "WHERE p.account_id = %s GROUP BY p.id", (ids["school"],))
    # Each member's completions from the (user_id, step_id) index: the app's statement gets
    # that plan because its tree walk is estimated small.
    _all(cur, "SELECT sc.user_id, s.path_id, count(*), count(*) FILTER (WHERE "
              "sc.completed_at >= now() - interval '7 days'), max(sc.completed_at) FROM "
              "step_completion sc JOIN step s ON s.id = sc.step_id WHERE sc.user_id IN (SELECT "
              "user_id FROM group_membership WHERE group_id = ANY(%s) AND role = 'member') "
              "GROUP BY 1, 2", (groups,))
    cur.execute("RESET max_parallel_workers_per_gather")
    _all(cur, "SELECT gm.group_id, s.id, s.submitted_at, u.full_name, st.title, p.title FROM "
              "group_membership gm JOIN submission s ON s.user_id = gm.user_id JOIN "
              "user_account u ON u.id = s.user_id JOIN step st ON st.id = s.step_id JOIN path p "
              "ON p.id = st.path_id WHERE gm.group_id = ANY(%s) AND gm.role = 'member' AND "
              "s.account_id = %s AND s.status = 'pending' ORDER BY s.submitted_at",
         (groups, ids["school"]))
    _all(cur, "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY w), percentile_cont(0.9) "
              "WITHIN GROUP (ORDER BY w), count(*) FROM (SELECT DISTINCT r.id, extract(epoch "
              "FROM r.created_at - s.submitted_at) w FROM review r JOIN submission s ON s.id = "
              "r.submission_id JOIN group_membership gm ON gm.user_id = s.user_id AND "
              "gm.role = 'member' WHERE gm.group_id = ANY(%s) AND s.account_id = %s AND "
              "r.created_at > now() - interval '28 days') waits", (groups, ids["school"]))
