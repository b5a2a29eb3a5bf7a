"""Sign-in throttling per address: guessing one person's password slows down from any client,
the owner's own browser is never held back by it, and the count lives in the database
(every web process shares it; attempts at the same moment are counted one after the other).
The clock is frozen: waits pass by moving it, never by sleeping."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from mentorgroups.extensions import db
from mentorgroups.models import SignInThrottle
from mentorgroups.scheduler import TASKS
from mentorgroups.services import sign_in
from tests.conftest import BACKEND, Client
from tests.factories import PASSWORD, make_account, make_member

CLOCK_START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
BAD = "That email and password don&#39;t match an account."
WAIT = "Too many sign-in attempts for this email address."
NOT_CHECKED = "The password you typed was not checked."


@pytest.fixture
def lia(clock, app):
    account = make_account()
    make_member(account, "member", email="lia@throttle.test", full_name="Lia Learner")
    make_member(account, "member", email="ben@throttle.test", full_name="Ben Learner")
    db.session.commit()
    return "lia@throttle.test"


@pytest.fixture
def browser(app):
    """A browser of its own (its own cookies) on the shared app."""
    clients = []

    def factory():
        client = Client(app.test_client())
        clients.append(client)
        return client

    yield factory


def attempt(client, email, password="wrong-password"):
    return client.post_form("/login", {"email": email, "password": password},
                            token_page="/login")


def text(response) -> str:
    return response.get_data(as_text=True)


def row(email: str) -> SignInThrottle | None:
    db.session.expire_all()
    return db.session.get(SignInThrottle, email)


def test_after_five_failures_the_next_attempt_waits_and_is_not_checked(lia, clock, browser):
    stranger, owner_elsewhere = browser(), browser()
    for _ in range(5):
        response = attempt(stranger, lia)
        assert response.status_code == 200 and BAD in text(response)
    # From any client, even with the right password: the wait holds, nothing is checked.
    for client, password in ((stranger, "wrong-password"), (owner_elsewhere, PASSWORD)):
        response = attempt(client, lia, password)
        assert response.status_code == 429
        assert response.headers["Retry-After"] == "2"
        assert "Wait 2 seconds, then try again." in text(response)
        assert NOT_CHECKED in text(response) and BAD not in text(response)
    assert owner_elsewhere.get("/paths").status_code == 302  # not signed in
    # Another address is not held back by Lia's.
    assert BAD in text(attempt(stranger, "ben@throttle.test"))
    clock.shift(timedelta(seconds=2))
    response = attempt(owner_elsewhere, lia, PASSWORD)
    assert response.status_code == 302 and owner_elsewhere.get("/paths").status_code == 200
    assert row(lia) is None  # a success starts the address afresh
    assert row("ben@throttle.test").failures == 1


def test_the_wait_doubles_with_each_failure_up_to_the_cap(lia, clock, browser):
    stranger = browser()
    for _ in range(5):
        attempt(stranger, lia)
    waits = []
    for _ in range(12):
        refused = attempt(stranger, lia)
        assert refused.status_code == 429
        seconds = int(refused.headers["Retry-After"])
        waits.append(seconds)
        clock.shift(timedelta(seconds=seconds))
        assert BAD in text(attempt(stranger, lia))  # checked once the wait is over
    assert waits == [2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900, 900]
    assert "Wait 15 minutes, then try again." in text(attempt(stranger, lia))
    clock.shift(timedelta(seconds=899))
    assert "Wait 1 second, then try again." in text(attempt(stranger, lia))


def test_the_owners_known_browser_is_never_held_back(lia, clock, browser):
    """Lia signed in on her laptop before: a stranger's guessing makes everybody else wait,
    but not her laptop, where a wrong password is still checked and answered as such."""
    laptop, stranger, bens = browser(), browser(), browser()
    assert attempt(laptop, lia, PASSWORD).status_code == 302
    laptop.post_form("/logout", token_page="/paths")
    assert attempt(bens, "ben@throttle.test", PASSWORD).status_code == 302
    bens.post_form("/logout", token_page="/paths")
    for _ in range(8):
        attempt(stranger, lia)
        clock.shift(timedelta(seconds=1))
    assert attempt(stranger, lia, PASSWORD).status_code == 429
    assert attempt(bens, lia, PASSWORD).status_code == 429  # known for Ben, not for Lia
    mistyped = attempt(laptop, lia)
    assert mistyped.status_code == 200 and BAD in text(mistyped)
    assert attempt(laptop, lia, PASSWORD).status_code == 302
    assert row(lia) is None  # her success starts the count afresh for everybody


def test_a_forged_or_expired_known_browser_cookie_counts_for_nothing(lia, clock, browser,
                                                                     app):
    laptop, forger = browser(), browser()
    assert attempt(laptop, lia, PASSWORD).status_code == 302
    cookie = laptop.raw.get_cookie(sign_in.KNOWN_BROWSER_COOKIE, path="/login")
    assert cookie is not None and "lia" not in cookie.value  # names nobody in clear
    forger.raw.set_cookie(sign_in.KNOWN_BROWSER_COOKIE, cookie.value[:-4] + "AAAA",
                          path="/login")
    for _ in range(5):
        attempt(forger, lia)
    assert attempt(forger, lia, PASSWORD).status_code == 429
    laptop.post_form("/logout", token_page="/paths")
    clock.shift(timedelta(days=app.config["KNOWN_BROWSER_DAYS"], seconds=1))
    for _ in range(5):
        attempt(forger, lia)
    assert attempt(laptop, lia, PASSWORD).status_code == 429  # the laptop was forgotten


def test_setting_a_new_password_from_a_link_clears_the_wait_and_knows_the_browser(
        lia, clock, browser):
    from mentorgroups.models import User
    from mentorgroups.services import passwords

    stranger, phone = browser(), browser()
    for _ in range(6):
        attempt(stranger, lia)
    assert attempt(phone, lia, PASSWORD).status_code == 429
    _, token = passwords.new_link(db.session.scalar(select(User).where(User.email == lia)),
                                  "reset")
    db.session.commit()
    done = phone.post_form(f"/password/reset/{token}",
                           {"password": "brand-new-1", "confirm": "brand-new-1"})
    assert done.status_code == 302 and row(lia) is None
    phone.post_form("/logout", token_page="/paths")
    for _ in range(6):
        attempt(stranger, lia)
    assert attempt(stranger, lia, "brand-new-1").status_code == 429
    assert attempt(phone, lia, "brand-new-1").status_code == 302  # known since the reset


def test_a_day_without_attempts_forgets_the_address_and_pruning_deletes_it(lia, clock,
                                                                          browser):
    stranger = browser()
    for _ in range(7):
        attempt(stranger, lia)
        clock.shift(timedelta(seconds=10))
    attempt(stranger, "ben@throttle.test")
    assert row(lia).failures == 7
    clock.shift(timedelta(hours=23))
    attempt(stranger, "ben@throttle.test")  # Ben: a fresh attempt, kept
    clock.shift(timedelta(hours=1))
    assert BAD in text(attempt(browser(), lia))  # after a day: checked, counted from 1
    assert row(lia).failures == 1
    clock.shift(timedelta(days=1, seconds=1))
    attempt(stranger, "ben@throttle.test")
    assert any(task.name == "prune-sign-in-throttle" for task in TASKS)
    assert sign_in.prune() == 1  # Lia's row, a day old; Ben's is from just now
    assert row(lia) is None and row("ben@throttle.test") is not None


@pytest.mark.skipif(BACKEND != "postgresql",
                    reason="SQLite takes its one write lock at the attempt's first statement "
                           "(the INSERT), so attempts never overlap there: no race to show")
def test_ten_attempts_at_once_at_the_threshold_check_one_password(clock, make_app):
    """Four failures so far; ten guesses arrive together (each its own connection, as from
    ten gunicorn workers): one is checked, nine wait, none slips through uncounted. Eight
    addresses, one after the other: without the compare-and-set, some round lets two or
    three guesses through (one round in three did, measured)."""
    app = make_app(SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 14, "max_overflow": 0})
    addresses = [f"kim{n}@throttle.test" for n in range(8)]
    with app.app_context():
        account = make_account()
        for address in addresses:
            make_member(account, "member", email=address)
        db.session.commit()
    warm = Client(app.test_client())
    outcomes = {}
    for address in addresses:
        for _ in range(4):
            assert BAD in text(attempt(warm, address))
        outcomes[address] = sorted(r.status_code for r in _together(app, address, 10))
    assert outcomes == {address: [200] + [429] * 9 for address in addresses}
    with app.app_context():
        for address in addresses:
            counted = db.session.get(SignInThrottle, address)
            assert (counted.failures, counted.attempts) == (5, 5)


def _together(app, address: str, n: int) -> list:
    barrier = threading.Barrier(n, timeout=60)
    responses: list = [None] * n
    errors: list = []

    def guess(k: int):
        try:
            with app.test_client() as raw:
                client = Client(raw)
                token = client.csrf("/login")
                barrier.wait()
                responses[k] = client.post("/login", data={
                    "csrf_token": token, "email": address, "password": f"guess-{k}"})
        except BaseException as exc:
            errors.append((k, exc))
            barrier.abort()

    threads = [threading.Thread(target=guess, args=(k,)) for k in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors, errors
    return responses


# ---- the service's own edges (each found by a mutant the screens above left alive) -----------

def test_an_address_is_counted_however_it_is_typed(lia, clock):
    sign_in.count_attempt("  LIA@Throttle.test ")
    sign_in.count_attempt("lia@throttle.test")
    db.session.commit()
    assert row(lia).failures == 2 and row(lia).attempts == 2


def test_counting_one_address_never_touches_another_with_the_same_tally(lia, clock):
    sign_in.count_attempt(lia)
    sign_in.count_attempt("ben@throttle.test")
    sign_in.count_attempt(lia)  # both rows had attempts == 1 before this one
    db.session.commit()
    assert row(lia).attempts == 2 and row("ben@throttle.test").attempts == 1


def test_a_row_deleted_by_a_success_in_between_is_made_again(lia, clock, monkeypatch):
    real = sign_in._insert_ignoring_duplicate
    calls = []

    def late_insert(email, now):  # the first pass finds no row, as if a success deleted it
        calls.append(email)
        if len(calls) > 1:
            real(email, now)

    monkeypatch.setattr(sign_in, "_insert_ignoring_duplicate", late_insert)
    sign_in.count_attempt(lia)
    db.session.commit()
    assert len(calls) == 2 and row(lia).attempts == 1


def test_a_storm_that_never_lets_a_count_land_holds_the_attempt_back(lia, clock, app,
                                                                    monkeypatch):
    from sqlalchemy import update

    real = sign_in.wait_after

    def someone_else_counts_first(failures):  # between this pass's read and its write
        db.session.execute(update(SignInThrottle).values(attempts=SignInThrottle.attempts + 1))
        return real(failures)

    monkeypatch.setattr(sign_in, "wait_after", someone_else_counts_first)
    with pytest.raises(sign_in.SignInWait) as held:
        sign_in.count_attempt(lia)
    assert held.value.seconds == app.config["LOGIN_WAIT_BASE_SECONDS"]
    db.session.rollback()


def test_pruning_is_committed_and_takes_the_moment_it_is_given(lia, clock):
    sign_in.count_attempt(lia)
    db.session.commit()
    assert sign_in.prune(CLOCK_START + timedelta(hours=23)) == 0
    assert sign_in.prune(CLOCK_START + timedelta(days=1, seconds=1)) == 1
    db.session.rollback()  # nothing left to undo: prune committed its delete
    assert row(lia) is None


def test_a_cookie_of_another_shape_or_signature_knows_nobody(lia, clock, app):
    with app.test_request_context():
        assert sign_in._marks(sign_in._serializer().dumps("not-a-list")) == []
        assert sign_in._marks("not.a.signed.cookie") == []
        assert sign_in.is_known_browser("not.a.signed.cookie", lia) is False


def test_a_browser_keeps_knowing_everyone_who_signed_in_on_it(lia, clock, app):
    with app.test_request_context():
        cookie = sign_in.known_browser_cookie(None, lia)
        cookie = sign_in.known_browser_cookie(cookie, "ben@throttle.test")
        cookie = sign_in.known_browser_cookie(cookie, "ben@throttle.test")  # once, newest first
        assert sign_in.is_known_browser(cookie, lia)
        assert sign_in._marks(cookie) == [sign_in._address_mark("ben@throttle.test"),
                                          sign_in._address_mark(lia)]
