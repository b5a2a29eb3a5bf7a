import time, pytest
from tests.test_browser_groups import *  # noqa
from tests.test_browser_groups import seed, school_with_admin, GROUPS

def test_speed(live_server, page):
    email = seed(live_server.app, lambda: school_with_admin()["admin_email"])
    t=time.perf_counter()
    def lap(msg):
        nonlocal t
        now=time.perf_counter(); print(f"{now-t:6.3f} {msg}"); t=now
    page.on("requestfinished", lambda r: None)
    page.goto("/login"); lap("goto login")
    page.get_by_label("Email").fill(email); page.get_by_label("Password").fill(PASSWORD); lap("fill")
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()
    lap("sign in nav")
    page.wait_for_load_state("load"); lap("load")
    page.goto(GROUPS); lap("goto groups")
    page.goto(GROUPS); lap("goto groups again")
    page.goto(GROUPS, wait_until="domcontentloaded"); lap("goto groups dcl")
    page.goto("/login"); lap("login page when signed in")
