"""Fixtures: an app per test on the database chosen by MG_TEST_DB (sqlite | postgresql),
tables emptied after each test, a CSRF-aware client, a real SMTP server and Redis."""

from __future__ import annotations

import functools
import os
import re
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from sqlalchemy import create_engine, event, exists, literal, select, text, union_all
from sqlalchemy.engine import Engine

from mentorgroups import create_app
from mentorgroups.extensions import db

# Never the development file `make run` leaves in instance/ (here or in the processes the
# drills start): the tests set every setting they need.
os.environ["MENTORGROUPS_ENV_FILE"] = ""
ROOT = Path(__file__).resolve().parent.parent
BACKEND = os.environ.get("MG_TEST_DB", "sqlite")
PG_ADMIN_URL = os.environ.get("MG_TEST_PG_ADMIN", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
# One database per test run, so runs side by side (and a killed run) never collide.
PG_TEST_DB = f"mentorgroups_test_{os.getpid()}"
# CI runs the modules that deal in dates again with the clock moved a year ahead and a year
# back (MG_TEST_CLOCK_SHIFT_DAYS=365 / -365): a test that only passes near the day it was
# written fails there, not on some later morning.
CLOCK_SHIFT_DAYS = int(os.environ.get("MG_TEST_CLOCK_SHIFT_DAYS") or 0)
# `make test` runs its runs side by side; each flushes a Redis database of its own.
_REDIS_DB = {("sqlite", 0): 1, ("postgresql", 0): 2, ("sqlite", 1): 3, ("sqlite", -1): 4,
             ("postgresql", 1): 5, ("postgresql", -1): 6}.get(
    (BACKEND, (CLOCK_SHIFT_DAYS > 0) - (CLOCK_SHIFT_DAYS < 0)), 1)
TEST_REDIS_URL = os.environ.get("MG_TEST_REDIS_URL", f"redis://127.0.0.1:6379/{_REDIS_DB}")


@event.listens_for(Engine, "connect")
def _sqlite_without_fsync(dbapi_connection, connection_record):
    """SQLite in the test process writes without waiting for the disk (synchronous=OFF):
    the test database is thrown away, and with WAL's default (FULL) every commit is an
    fsync, two fifths of the SQLite runs' time. Locking and visibility between connections,
    threads and the worker processes (which keep the app's own settings) are unchanged."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA synchronous=OFF")
        cursor.close()


@pytest.fixture(scope="session", autouse=True)
def shifted_clock():
    """With MG_TEST_CLOCK_SHIFT_DAYS=N every test of the run sees today + N days, ticking (this
    process only: the app, its threads and live servers; not worker subprocesses, so the
    shifted runs leave out the drills and browser tests)."""
    if not CLOCK_SHIFT_DAYS:
        yield None
        return
    moved = datetime.now(UTC) + timedelta(days=CLOCK_SHIFT_DAYS)
    with time_machine.travel(moved, tick=True) as traveller:
        yield traveller


@pytest.fixture
def clock(request):
    """A frozen clock for the whole test (time_machine): every timestamp the test or the app
    writes, creation times included, is the clock's, whatever the real date. It starts at the
    module's CLOCK_START (a moment, or a function of nothing); `clock.move_to(moment)` moves
    it, `clock.shift(timedelta)` moves it on. Fixtures that build a scene take `clock` first,
    so the scene is built at CLOCK_START."""
    start = getattr(request.module, "CLOCK_START", None)
    if start is None:
        raise RuntimeError(f"{request.module.__name__} uses `clock` without CLOCK_START")
    with time_machine.travel(start() if callable(start) else start, tick=False) as traveller:
        yield traveller


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def drop_pg_database(name: str) -> None:
    engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def recreate_pg_database(name: str) -> str:
    """A fresh database whose commits do not wait for the WAL to reach the disk
    (synchronous_commit=off, for every connection to it: the test process and the workers
    and servers the drills start). A crash of PostgreSQL could lose the last commits, never
    corrupt anything; the database is thrown away at the end of the run anyway."""
    engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
        conn.execute(text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
    engine.dispose()
    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    if BACKEND == "postgresql":
        url = recreate_pg_database(PG_TEST_DB)
    elif BACKEND == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
    else:
        raise RuntimeError(f"MG_TEST_DB must be sqlite or postgresql, not {BACKEND!r}")
    app = create_app(base_config(url))
    with app.app_context():
        db.create_all()
        db.engine.dispose()
    yield url
    if BACKEND == "postgresql":
        drop_pg_database(PG_TEST_DB)


def base_config(url: str, **extra) -> dict:
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": url,
        "REDIS_URL": None,
        "MAIL_SERVER": None,
        "BASE_URL": "http://127.0.0.1:5000",
        "SESSION_COOKIE_SECURE": False,
        "OUTBOX_STALE_SECONDS": 0,
        "RATELIMIT_STORAGE_URI": "memory://",
        # Tests sign in thousands of times from one address; test_invitations checks limits.
        "LOGIN_RATE_LIMIT": "100000/minute",
        # Passwords set through the app (invitations, resets) hashed as cheaply as the
        # factories' (production: scrypt, a tenth of a second each); no test checks the cost.
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
    }
    config.update(extra)
    return config


@functools.cache
def _filled_tables_probe():
    tables = list(reversed(db.metadata.sorted_tables))
    return tables, union_all(*(
        select(literal(index).label("i")).where(exists().select_from(table))
        for index, table in enumerate(tables)))


def empty_tables() -> None:
    """DELETE is much faster than TRUNCATE on the few rows a test leaves. One statement first
    asks which tables have any row (whoever wrote them: this process, a live server or a
    worker), then only those are emptied, children before parents: most tests touch a few of
    the tables, and a DELETE per table per test was 27 statements."""
    tables, probe = _filled_tables_probe()
    filled = set(db.session.scalars(probe))
    for index, table in enumerate(tables):
        if index in filled:
            db.session.execute(table.delete())
    db.session.commit()


@pytest.fixture(scope="session")
def shared_app(database_url):
    """One app with the default test config for the whole run: building an app (Flask-Admin
    scaffolds every view's forms) costs a third of a second, and most tests need no other."""
    app = create_app(base_config(database_url))
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def make_app(database_url, shared_app):
    """Build an app with extra config; every app built is cleaned up after the test, and the
    tables are emptied."""
    apps = []

    def factory(**extra):
        app = create_app(base_config(database_url, **extra))
        apps.append(app)
        return app

    yield factory
    for app in apps:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        redis = app.extensions.get("mentorgroups.redis")
        if redis is not None:
            redis.close()
    if apps:
        reset_limiter_storage()
    with shared_app.app_context():
        empty_tables()
        db.session.remove()


def reset_limiter_storage() -> None:
    """The limiter is one object shared by every app of the run, holding the storage of the
    app built last: after an app on a private Redis (stopped at the end of its test), give it
    back the shared app's in-memory storage, or the next invitation's rate check would call
    a Redis that is gone."""
    from limits.storage import MemoryStorage

    from mentorgroups.extensions import limiter

    limiter._storage = MemoryStorage()
    limiter._limiter = type(limiter._limiter)(limiter._storage)
    limiter._storage_dead = False


@pytest.fixture
def app(make_app, shared_app):
    with shared_app.app_context():
        yield shared_app
        db.session.remove()


class Client:
    """The Flask test client plus form helpers that carry the page's CSRF token."""

    TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|'
                       r'name="csrf_token" value="([^"]+)"|'
                       r'value="([^"]+)" name="csrf_token"')

    def __init__(self, flask_client):
        self.raw = flask_client

    def __getattr__(self, name):
        return getattr(self.raw, name)

    def csrf(self, page: str = "/login") -> str:
        html = self.raw.get(page).get_data(as_text=True)
        match = self.TOKEN.search(html)
        if match is None:
            raise AssertionError(f"no CSRF token on {page}")
        return next(group for group in match.groups() if group)

    def post_form(self, url: str, data: dict | None = None, token_page: str | None = None,
                  **kwargs):
        data = dict(data or {})
        data.setdefault("csrf_token", self.csrf(token_page or url))
        return self.raw.post(url, data=data, **kwargs)

    def login(self, email: str, password: str = "pass-word-1", account_id: int | None = None):
        response = self.post_form("/login", {"email": email, "password": password})
        if account_id is not None:
            self.post_form("/accounts", {"account_id": str(account_id)}, token_page="/accounts")
        return response


@pytest.fixture
def client(app):
    with app.test_client() as flask_client:
        yield Client(flask_client)


@pytest.fixture
def mail_outbox(app):
    """Every email the app hands to Flask-Mail during the test (sent or, without an SMTP
    server, suppressed), as flask_mail.Message objects: the links the stored copy hides."""
    from flask_mail import email_dispatched

    sent = []

    def record(sender, message, **extra):
        sent.append(message)

    email_dispatched.connect(record)
    yield sent
    email_dispatched.disconnect(record)


@pytest.fixture
def smtp_server():
    """A real SMTP server (aiosmtpd) on a free 127.0.0.1 port; .messages collects mail (parsed,
    and the bytes as received under "raw")."""
    from aiosmtpd.controller import Controller

    class Collector:
        def __init__(self):
            self.messages = []
            self.refuse_next = 0  # answer this many DATA commands with a temporary failure
            self.refuse_until = 0.0  # time.monotonic() until which every DATA gets a 451
            self.stall_next_rcpt = 0.0  # seconds the next RCPT TO waits before answering
            self.rcpt_arrived = threading.Event()  # set when any RCPT TO arrives
            # called with the count so far when a message is accepted, before the sender
            # hears the "250" (a drill cuts the database there)
            self.on_accept = None

        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
            import asyncio

            self.rcpt_arrived.set()
            if self.stall_next_rcpt:
                stall, self.stall_next_rcpt = self.stall_next_rcpt, 0.0
                await asyncio.sleep(stall)
            envelope.rcpt_tos.append(address)
            return "250 OK"

        async def handle_DATA(self, server, session, envelope):
            import time
            from email import message_from_bytes, policy

            if self.refuse_next > 0 or time.monotonic() < self.refuse_until:
                self.refuse_next = max(self.refuse_next - 1, 0)
                return "451 Try again later"
            msg = message_from_bytes(envelope.content, policy=policy.default)
            self.messages.append({"to": envelope.rcpt_tos, "subject": str(msg["subject"]),
                                  "body": msg.get_body(("plain",)).get_content(),
                                  "message": msg, "raw": envelope.content})
            if self.on_accept is not None:
                self.on_accept(len(self.messages))
            return "250 OK"

    handler = Collector()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    handler.port = controller.port
    try:
        yield handler
    finally:
        controller.stop()


@pytest.fixture
def redis_url():
    from redis import Redis
    from redis.exceptions import ConnectionError as RedisConnectionError

    conn = Redis.from_url(TEST_REDIS_URL)
    try:
        conn.ping()
    except RedisConnectionError:
        pytest.fail(f"Redis is not answering at {TEST_REDIS_URL}; start it (see README)")
    conn.flushdb()
    yield TEST_REDIS_URL
    conn.flushdb()
    conn.close()


@pytest.fixture
def private_redis():
    """A Redis server of this test's own (127.0.0.1, a free port, no persistence), so it can
    be stopped and started again; the machine's Redis is never touched."""
    import subprocess
    import time

    from redis import Redis

    port = free_port()

    def start():
        return subprocess.Popen(
            ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no"], stdout=subprocess.DEVNULL)

    def wait_up():
        conn = Redis(port=port)
        for _ in range(100):
            try:
                if conn.ping():
                    return
            except Exception:
                time.sleep(0.05)
        raise RuntimeError("private redis did not start")

    server = {"proc": start()}
    wait_up()

    class Control:
        url = f"redis://127.0.0.1:{port}/0"

        def stop(self):
            server["proc"].terminate()
            server["proc"].wait(10)

        def start(self):
            server["proc"] = start()
            wait_up()

    yield Control()
    server["proc"].terminate()
    server["proc"].wait(10)


CHROMIUM = os.environ.get("MG_TEST_CHROMIUM", "/usr/bin/chromium")
BROWSER_DEADLINE_MS = 30_000
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic"] + os.environ.get("MG_TEST_CHROMIUM_EXTRA", "").split()


# What the browser refused under the app's Content-Security-Policy during the current test:
# every context the `browser` fixture opens reports here, and a test with any fails.
CSP_VIOLATIONS: list[str] = []
# Runs in every page before the page's own scripts (init scripts are not subject to the policy).
CSP_LISTENER = """
document.addEventListener('securitypolicyviolation', function (event) {
  window.mgCspViolation(event.violatedDirective + ' refused ' + (event.blockedURI || 'inline')
    + ' at ' + event.sourceFile + ':' + event.lineNumber + ' ' + (event.sample || ''));
});
"""


def watch_csp(context) -> None:
    """Record every Content-Security-Policy violation in the context's pages: the
    `securitypolicyviolation` event, and Chromium's console message for it."""
    def report(text):
        CSP_VIOLATIONS.append(text)

    context.expose_function("mgCspViolation", report)
    context.add_init_script(CSP_LISTENER)

    def on_console(message):
        if "Content Security Policy" in message.text:
            CSP_VIOLATIONS.append(message.text)

    context.on("console", on_console)


class CspWatchedBrowser:
    """The Playwright browser, whose every new context is watched for CSP violations."""

    def __init__(self, browser):
        self._browser = browser

    def __getattr__(self, name):
        return getattr(self._browser, name)

    def new_context(self, **kwargs):
        context = self._browser.new_context(**kwargs)
        watch_csp(context)
        return context


@pytest.fixture(autouse=True)
def no_csp_violations():
    """The policy is on in every browser test: a script, inline handler or javascript: link
    it refuses is a control that does not work, so it fails the test."""
    CSP_VIOLATIONS.clear()
    yield
    violations, CSP_VIOLATIONS[:] = list(CSP_VIOLATIONS), []
    assert not violations, "Content-Security-Policy violations:\n" + "\n".join(violations)


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium (the machine's) for the whole run, shared by every browser test
    module: Playwright's sync API allows one running instance per process. Every context it
    opens reports Content-Security-Policy violations (`no_csp_violations`)."""
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=BROWSER_DEADLINE_MS)
    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                              args=CHROMIUM_ARGS)
    except Exception:
        playwright.stop()
        raise
    try:
        yield CspWatchedBrowser(chromium)
    finally:
        chromium.close()
        playwright.stop()


AXE_FAILING_IMPACTS = ("serious", "critical")


def assert_accessible(page, what: str = "") -> None:
    """An axe-core audit (the copy axe-playwright-python ships: WCAG 2.0/2.1 A and AA rules and
    best practices) of what `page` shows now, open menus included. Fails on any serious or
    critical violation, naming the rule, the elements and axe's advice; moderate and minor
    ones are left to people to judge. Pages from `new_page` must also have loaded every style,
    script and icon they asked for. Call it wherever a browser test shows a screen."""
    from axe_playwright_python.base import AXE_SCRIPT

    page.wait_for_load_state()
    # No colour is caught half-way through a transition (Bootstrap stops them for this).
    page.emulate_media(reduced_motion="reduce")
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE_SCRIPT)
    results = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    assert not getattr(page, "missing_assets", []), f"not found: {page.missing_assets}"
    assert not CSP_VIOLATIONS, f"Content-Security-Policy violations: {CSP_VIOLATIONS}"
    failing = [v for v in results["violations"] if v["impact"] in AXE_FAILING_IMPACTS]
    if failing:
        lines = [f"axe-core: {len(failing)} serious or critical violation(s) on {page.url}"
                 + (f" ({what})" if what else "")]
        for violation in failing:
            lines.append(f"- {violation['id']} ({violation['impact']}): {violation['help']}")
            for node in violation["nodes"][:5]:
                lines.append(f"    {', '.join(map(str, node['target']))}: {node['html'][:160]}")
                lines.append(f"      {node['failureSummary'].splitlines()[-1].strip()}")
        raise AssertionError("\n".join(lines))


def assert_fits_width(page) -> None:
    """Nothing is wider than the window: no sideways scrolling (checked at 390 px, a phone)."""
    widths = page.evaluate(
        "() => [document.scrollingElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], f"{page.url} is {widths[0]} px wide in a {widths[1]} px window"


def statements_of(fn) -> int:
    """SQL statements `fn()` runs. Tests compare these counts; they never time anything."""
    from sqlalchemy import event

    statements = []

    def record(*args):
        statements.append(args[2])

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        fn()
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    return len(statements)


def statements_for(client, url: str) -> int:
    """SQL statements one GET of `url` runs, with nothing cached from before (as in a real
    request)."""
    db.session.expire_all()

    def get():
        assert client.get(url).status_code == 200

    return statements_of(get)


def quick_sign_in(page, email: str, then: str = "/paths", password: str | None = None):
    """The request the sign-in form sends, from the page's own context (its cookie jar),
    without rendering the form (test_browser.py covers the form). Returns the response of
    opening `then`."""
    from tests.factories import PASSWORD

    html = page.context.request.get("/login").text()
    token = re.search(r'name="csrf_token"[^>]* value="([^"]+)"', html)
    assert token is not None, "no CSRF token on /login"
    response = page.context.request.post("/login", max_redirects=0, form={
        "csrf_token": token.group(1), "email": email, "password": password or PASSWORD,
        "next": then})
    assert response.status == 302, response.status
    return page.goto(then)


@dataclass
class LiveServer:
    app: object
    url: str

    def __call__(self, path: str = "/") -> str:
        return self.url + path


def _closing_responses(app):
    """The app, each response's body closed by the app's side once it is read or dropped.

    werkzeug's server (3.1) drains the socket after a response and only then closes the
    body; when the browser has already dropped the connection (a page navigated away while
    its icon loaded) the drain raises and the close is skipped, so the file behind a static
    response is left to the garbage collector, whose ResourceWarning then fails whatever test
    is running. Closing from a generator's `finally` happens when the body is exhausted, and
    otherwise when the abandoned generator is collected: the body is always closed."""

    def body(iterable):
        try:
            # Not `yield from`: it would close the body too, and the `finally` again.
            for chunk in iterable:  # noqa: UP028
                yield chunk
        finally:
            close = getattr(iterable, "close", None)
            if close is not None:
                close()

    def wsgi(environ, start_response):
        return body(app(environ, start_response))

    return wsgi


@pytest.fixture
def live_server(make_app):
    """The app on a free 127.0.0.1 port, served from a daemon thread for this one test."""
    from werkzeug.serving import make_server

    app = make_app()
    server = make_server("127.0.0.1", free_port(), _closing_responses(app), threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              name="live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(app=app, url=f"http://127.0.0.1:{server.server_port}")
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def new_page(browser, live_server):
    """Factory of pages, each in its own browser context (its own cookies: its own person).
    Every JavaScript dialog is recorded in `page.dialogs` and accepted (OK on a confirm), so
    a test can both confirm actions and check that no script ever raised an alert."""
    contexts = []

    def factory():
        context = browser.new_context(base_url=live_server.url,
                                      viewport={"width": 1280, "height": 800})
        # A generous deadline (it is waited out only when a test fails): four runs side by
        # side on two cores once took over 5 s to answer a search in the browser.
        context.set_default_timeout(BROWSER_DEADLINE_MS)
        contexts.append(context)
        page = context.new_page()
        page.dialogs = []
        # What a page loads besides itself (styles, scripts, the icon) must all be there.
        page.missing_assets = []

        def on_response(response, page=page):
            if response.status >= 400 and response.request.resource_type not in (
                    "document", "fetch", "xhr"):
                page.missing_assets.append(f"{response.status} {response.url}")

        page.on("response", on_response)

        def on_dialog(dialog):
            page.dialogs.append(dialog.message)
            dialog.accept()

        page.on("dialog", on_dialog)
        return page

    yield factory
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page):
    return new_page()


@pytest.fixture
def unique():
    return lambda prefix="x": f"{prefix}-{uuid.uuid4().hex[:8]}"


def pytest_collection_modifyitems(config, items):
    """Tests marked one_backend run their own processes on a database of their own (the
    newcomer's SQLite file, a closed port): the test database plays no part, so the
    PostgreSQL runs leave them to the SQLite runs rather than repeat them."""
    if BACKEND != "postgresql":
        return
    left = [item for item in items if item.get_closest_marker("one_backend")]
    if left:
        config.hook.pytest_deselected(items=left)
        items[:] = [item for item in items if not item.get_closest_marker("one_backend")]


# MG_TEST_CPU_REPORT=path writes each test's CPU seconds (this process, its threads, and the
# child processes it waited for: workers, CLI runs) as "seconds<TAB>test id" lines, to find
# where the suite's time goes: on a shared 2-core machine wall-clock durations mostly measure
# the neighbours.
_CPU_REPORT = os.environ.get("MG_TEST_CPU_REPORT")


# MG_TEST_CPU_CGROUP=/sys/fs/cgroup/cpuacct/NAME (a cgroup v1 the run was started in) counts
# every process of the run instead, those no parent waited for included (a browser's helpers,
# a killed worker's work horse).
_CPU_CGROUP = os.environ.get("MG_TEST_CPU_CGROUP")


def _cpu_now() -> float:
    import resource

    if _CPU_CGROUP:
        with open(os.path.join(_CPU_CGROUP, "cpuacct.usage")) as usage:
            return int(usage.read()) / 1e9
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


if _CPU_REPORT:
    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(item, nextitem):
        start = _cpu_now()
        yield
        with open(_CPU_REPORT, "a") as report:
            report.write(f"{_cpu_now() - start:.3f}\t{item.nodeid}\n")
