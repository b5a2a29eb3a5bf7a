"""No request can make the server fail: every URL rule of the app (read from `app.url_map`, so
a new route is fuzzed without editing this file), for every role, GET and POST with hostile
values in its path arguments, query arguments and form fields, answers below 500 and never
shows database or exception text.

Form fields and query arguments are discovered the way a person finds them: each role opens
every page it can reach and the fuzzer reads the forms (their fields and current values) and
the links (their query arguments). A fixed list of common names, Flask-Admin's list arguments
and every filter of every Flask-Admin list are added. CSRF is off in this app: a hostile
person has a valid token anyway, and the requests should reach the views."""

from __future__ import annotations

import re
import time
from collections import defaultdict
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

import pytest
from flask_admin.model import BaseModelView
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect

from mentorgroups.extensions import db
from mentorgroups.models import Notification
from mentorgroups.services import group_members, groups, learning
from mentorgroups.services.invitations import make_token, pending_for_group
from tests.factories import PASSWORD, make_member, school

INT_EDGES = ["2147483648", "-2147483649", "99999999999999999999", "-1", "0"]
# Every value once where a route is reached; the sharpest ones for each field on its own.
HOSTILE = ["2147483648", "-2147483649", "99999999999999999999", "-1", "a\x00b", "tab\there\x01\x1f",
           "x" * 10_000, "\u00fc\u540d\U0001f642\u202e", "", "<script>alert(1)</script>"]
SHARP = ["2147483648", "-99999999999999999999", "a\x00b", "x" * 10_000,
         "<b>\u00fc\u540d\U0001f642</b>", ""]
# Each field on its own (the others as the page had them): the values that broke something.
SINGLE = ["-99999999999999999999", "a\x00b", "x" * 10_000, "<b>\u00fc\u540d\U0001f642</b>"]
# Where the role is turned away: enough to show nothing breaks before the refusal.
FEW = ["99999999999999999999", "a\x00b", "x" * 10_000]
COMMON_FIELDS = [
    "id", "q", "query", "name", "search", "page", "page_size", "sort", "desc", "next", "url",
    "tab", "parent_id", "group_id", "user_id", "rowid", "account_id", "notification_id",
    "email", "full_name", "password", "description", "role", "status", "grade", "feedback",
    "content", "addresses", "action", "title", "limit", "offset", "flt0_0", "export_type",
]
FLASK_ADMIN_LIST_ARGS = ["search", "page", "page_size", "sort", "desc", "id", "url"]
LEAKS = re.compile(r"sqlalchemy|psycopg|sqlite3\.|Traceback \(most|INSERT INTO|\[SQL: |"
                   r"\(Background on this error|IntegrityError|DataError|OperationalError|"
                   r"OverflowError|integer out of range|cannot contain NUL")
ROLES = ("anonymous", "learner", "mentor", "group_admin", "admin")


class PageReader(HTMLParser):
    """The forms (action, method, fields with their current values) and links of a page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[tuple[str, str, list[tuple[str, str]]]] = []
        self.links: list[str] = []
        self._form = None
        self._select: str | None = None
        self._select_value: str | None = None
        self._textarea: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = {k: (v or "") for k, v in attrs}
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        elif tag == "form":
            self._form = (a.get("action", ""), a.get("method", "get").lower(), [])
            self.forms.append(self._form)
        elif self._form is None or not a.get("name") and tag != "option":
            return
        elif tag == "input":
            kind = a.get("type", "text").lower()
            if kind in ("checkbox", "radio") and "checked" not in a and a["name"] != "rowid":
                return
            self._form[2].append((a["name"], a.get("value", "")))
        elif tag == "select":
            self._select, self._select_value = a["name"], None
        elif tag == "option" and self._select is not None:
            if self._select_value is None or "selected" in a:
                self._select_value = a.get("value", "")
        elif tag == "textarea":
            self._textarea, self._text = a["name"], []

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select" and self._select is not None and self._form is not None:
            self._form[2].append((self._select, self._select_value or ""))
            self._select = None
        elif tag == "textarea" and self._textarea is not None and self._form is not None:
            self._form[2].append((self._textarea, "".join(self._text)))
            self._textarea = None

    def handle_data(self, data):
        if self._textarea is not None:
            self._text.append(data)


@dataclass
class Seen:
    """What one role found: an example URL per endpoint, and the forms posting to it."""
    status: dict[str, int] = field(default_factory=dict)
    example: dict[str, str] = field(default_factory=dict)
    forms: dict[tuple[str, str], list[tuple[str, str]]] = field(default_factory=dict)
    form_urls: dict[tuple[str, str], str] = field(default_factory=dict)
    query_names: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))


@dataclass
class Fuzzer:
    app: object
    failures: list[str] = field(default_factory=list)
    requests: int = 0

    def __post_init__(self):
        self.adapter = self.app.url_map.bind("localhost")
        self.model_views = {}
        for view in self.app.extensions["admin"][0]._views:
            if isinstance(view, BaseModelView):
                self.model_views[view.endpoint] = view

    # ---- requests -------------------------------------------------------------------------

    def send(self, client, method: str, url: str, data=None) -> tuple[int, str]:
        self.requests += 1
        try:
            response = client.open(url, method=method,
                                   data=MultiDict(data.items() if isinstance(data, dict)
                                                  else data) if data is not None else None)
        except Exception as exc:  # the test client re-raises what a view raised
            self.failures.append(f"{method} {url[:160]!r} raised {type(exc).__name__}: "
                                 f"{str(exc)[:160]}")
            return 500, ""
        body = response.get_data().decode("utf-8", "replace")  # the icon is not text
        response.close()
        if response.status_code >= 500:
            self.failures.append(f"{method} {url[:160]!r} -> {response.status_code}")
        elif leak := LEAKS.search(body):
            self.failures.append(f"{method} {url[:160]!r} shows {leak.group(0)!r}")
        return response.status_code, body

    def endpoint_of(self, url: str, method: str = "GET") -> str | None:
        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost"):
            return None
        try:
            endpoint, _ = self.adapter.match(parts.path, method=method)
        except (HTTPException, RequestRedirect):
            return None
        return endpoint

    # ---- discovery ------------------------------------------------------------------------

    def read(self, seen: Seen, url: str, body: str) -> None:
        reader = PageReader()
        reader.feed(body)
        for link in reader.links:
            endpoint = self.endpoint_of(link)
            if endpoint is None:
                continue
            query = urlsplit(link).query
            seen.query_names[endpoint].update(k for k, _ in parse_qsl(query))
            if query and endpoint not in seen.example or endpoint not in seen.example:
                seen.example[endpoint] = link
        for action, method, fields in reader.forms:
            action = action or url
            verb = "POST" if method == "post" else "GET"
            endpoint = self.endpoint_of(action, verb)
            if endpoint is None:
                continue
            if verb == "GET":
                seen.query_names[endpoint].update(name for name, _ in fields)
            key = (endpoint, verb)
            if len(fields) > len(seen.forms.get(key, ())):
                seen.forms[key], seen.form_urls[key] = fields, action

    def crawl(self, client, valid: dict[str, str]) -> Seen:
        seen = Seen()
        for rule in self.app.url_map.iter_rules():
            if "GET" not in rule.methods:
                continue
            url = self.build(rule, valid)
            status, body = self.send(client, "GET", url)
            seen.status[rule.endpoint] = status
            if status == 200:
                self.read(seen, url, body)
        for endpoint, url in list(seen.example.items()):  # e.g. edit and details with ?id=
            if urlsplit(url).query:
                status, body = self.send(client, "GET", url)
                if status == 200:
                    seen.status[endpoint] = 200
                    self.read(seen, url, body)
        return seen

    @staticmethod
    def build(rule, values: dict[str, str], query: dict | None = None) -> str:
        def arg(match):
            return quote(values.get(match.group(2), "1"), safe="/" if match.group(1) else "")

        path = re.sub(r"<(?:(path):|\w+:)?(\w+)>", arg, rule.rule)
        return path + ("?" + urlencode(query, doseq=True) if query else "")

    def query_names(self, seen: Seen, endpoint: str) -> set[str]:
        names = set(seen.query_names.get(endpoint, ()))
        blueprint, _, view_name = endpoint.partition(".")
        view = self.model_views.get(blueprint)
        if view is not None and view_name in ("index_view", "export"):
            names.update(FLASK_ADMIN_LIST_ARGS)
            names.update(f"flt{n}_{key}" for n, key in enumerate(view._filter_args or {}))
        elif view is not None:
            names.update(("id", "url"))
        return names

    # ---- fuzzing one rule for one role ----------------------------------------------------

    def fuzz(self, client, seen: Seen, rule, valid: dict[str, str]) -> None:
        endpoint, methods = rule.endpoint, rule.methods & {"GET", "POST"}
        example = seen.example.get(endpoint)
        base_query = parse_qsl(urlsplit(example).query) if example else []
        base_form = seen.forms.get((endpoint, "POST"), [])
        can_get = "GET" in methods and seen.status.get(endpoint) == 200
        can_post = "POST" in methods and bool(base_form)
        reached = can_get or can_post
        qnames = self.query_names(seen, endpoint)
        # Inline rows (steps-0-title, steps-1-title, ...) are alike: the first row stands
        # for them all.
        fnames = {name for name, _ in base_form
                  if name != "csrf_token" and not re.search(r"-[1-9]\d*-", name)}

        def request(path_values, query, form=None):
            url = self.build(rule, path_values, query)
            if "GET" in methods:
                self.send(client, "GET", url)
            if "POST" in methods:
                self.send(client, "POST", url, data=form if form is not None else base_form)

        def is_int(name):
            return type(rule._converters[name]).__name__ == "IntegerConverter"

        def everything(value, names):
            # Forty 10,000-character values would make a 400 kB URL (servers refuse a few
            # kB); a long value goes whole into one field at a time (SHARP, SINGLE).
            return {name: value[:500] for name in names}

        if not reached:
            # Turned away: show nothing breaks before the refusal, every input at once.
            for value in FEW:
                path = {**valid, **{n: value for n in rule.arguments
                                    if value.isdigit() or not is_int(n)}}
                fields = everything(value, {*COMMON_FIELDS, *qnames, *fnames})
                request(path, fields, form=fields)
            return
        # Path arguments, each on its own.
        for name in rule.arguments:
            for value in INT_EDGES if is_int(name) else SHARP:
                request({**valid, name: value}, base_query)
        # Every argument and field the route might read, all carrying the same value.
        for value in HOSTILE:
            query = everything(value, {*COMMON_FIELDS, *qnames})
            form = {**query, **{n: value for n in fnames}}
            if "GET" in methods:
                self.send(client, "GET", self.build(rule, valid, query))
            if "POST" in methods:
                self.send(client, "POST", self.build(rule, valid, base_query), data=form)
        # Each query argument and each form field on its own, the others as the page had them.
        if can_get and not endpoint.endswith(".export"):  # export reads the list's arguments
            filters = sorted(n for n in qnames if n.startswith("flt"))
            singles = [[n] for n in sorted(qnames - set(filters))] + ([filters] if filters else [])
            for names in singles:
                for value in SINGLE:
                    query = [(k, v) for k, v in base_query if k not in names]
                    request(valid, query + [(n, value) for n in names])
        if can_post:
            for name in sorted(fnames):
                for value in SINGLE:
                    form = [(k, v) for k, v in base_form if k != name] + [(name, value)]
                    self.send(client, "POST", self.build(rule, valid, base_query), data=form)


def seed_school():
    """A school with every role, a small tree, a pending submission, a notification and a
    pending invitation: enough for every screen to show its forms."""
    s = school()
    admin, account_id = s.admin, s.account.id
    top = groups.create_group(admin, account_id, "Top")
    child = groups.create_group(admin, account_id, "Child", parent_id=top.id)
    groups.create_group(admin, account_id, "Grandchild", parent_id=child.id)
    group_admin = make_member(s.account, "staff", full_name="Gail Group-Admin")
    group_members.add_members(admin, account_id, child.id, "group_admin", user_ids=[group_admin.id])
    group_members.add_members(admin, account_id, child.id, "mentor", user_ids=[s.teacher.id])
    group_members.add_members(admin, account_id, child.id, "member",
                              user_ids=[s.learner.id, s.other.id],
                              addresses="newcomer@example.test")
    steps = sorted(s.path.steps, key=lambda step: step.position)
    learning.complete_step(s.learner, account_id, steps[0].id)
    submission = learning.submit_for_review(s.learner, account_id, steps[1].id, "My work")
    db.session.commit()  # runs the notification job in-process
    invitation = pending_for_group(child.id)[0]
    notification = db.session.scalars(
        db.select(Notification).where(Notification.user_id == s.teacher.id)).first()
    valid = {"group_id": child.id, "user_id": s.learner.id, "submission_id": submission.id,
             "path_id": s.path.id, "step_id": steps[2].id, "invitation_id": invitation.id,
             "notification_id": notification.id if notification else 1,
             "token": make_token(invitation.nonce), "export_type": "csv",
             "filename": "missing.css"}
    people = {"learner": s.learner, "mentor": s.teacher, "group_admin": group_admin,
              "admin": admin}
    return {k: str(v) for k, v in valid.items()}, {k: u.email for k, u in people.items()}


@pytest.mark.parametrize("role", ROLES)
def test_no_hostile_request_makes_the_server_fail(make_app, role):
    app = make_app(WTF_CSRF_ENABLED=False)
    fuzzer = Fuzzer(app)
    started = time.monotonic()
    with app.app_context():
        valid, emails = seed_school()
    with app.test_client() as client:
        if role != "anonymous":
            response = client.post("/login", data={"email": emails[role], "password": PASSWORD})
            assert response.status_code == 302
        cookie = client.get_cookie("session")
        seen = fuzzer.crawl(client, valid)
        assert role == "anonymous" or seen.status["learner.paths"] == 200
        # Destructive endpoints last, so the rest still find what they work on.
        rules = sorted(app.url_map.iter_rules(), key=lambda r: (
            any(word in r.endpoint for word in ("delete", "remove", "revoke", "action",
                                                "logout", "role")), r.rule))
        for rule in rules:
            # A fuzzed /logout, /accounts or invitation join must not change who is fuzzing.
            if cookie is None:
                client.delete_cookie("session")
            else:
                client.set_cookie("session", cookie.value, domain=cookie.domain)
            fuzzer.fuzz(client, seen, rule, valid)
    elapsed = time.monotonic() - started
    print(f"{role}: {fuzzer.requests} requests in {elapsed:.1f} s, "
          f"{len(fuzzer.failures)} failures")
    assert not fuzzer.failures, (f"{len(fuzzer.failures)} of {fuzzer.requests} requests "
                                 "failed:\n" + "\n".join(fuzzer.failures[:60]))
