"""Handing an email to the SMTP server: signing in only with a username and a password, the
stable Message-ID a receiver sees, and the watchdog that cuts a stalled conversation."""

from __future__ import annotations

import smtplib
import time

import pytest

from mentorgroups.extensions import db
from mentorgroups.models import SentEmail
from mentorgroups.services.email import deliver_email
from mentorgroups.services.smtp import _shut, stable_message_id
from tests.conftest import free_port

# sha256("invite:42:lia@example.test")[:40], sha256("digest:2026-W10:7")[:40]
INVITE_DIGEST = "a59fd76743e200827777ada56f8f91c15c4bb3f9"
DIGEST_DIGEST = "3cfcae0d8b57d58077ad06638b667bbbb7137c7d"


@pytest.fixture
def relay():
    """An SMTP relay (aiosmtpd) that offers AUTH without TLS and records who signed in;
    `.require_auth = True` makes it refuse mail from anybody who did not."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    class Relay:
        def __init__(self):
            self.logins = []
            self.messages = []

        def authenticate(self, server, session, envelope, mechanism, auth_data):
            assert isinstance(auth_data, LoginPassword)
            self.logins.append((auth_data.login.decode(), auth_data.password.decode()))
            ok = (auth_data.login, auth_data.password) == (b"mentor-bot", b"s3cret-pass")
            return AuthResult(success=ok)

        async def handle_MAIL(self, server, session, envelope, address, mail_options):
            if self.require_auth and not session.authenticated:
                return "530 5.7.0 Authentication required"
            envelope.mail_from = address
            return "250 OK"

        async def handle_DATA(self, server, session, envelope):
            from email import message_from_bytes, policy

            self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
            return "250 OK"

    handler = Relay()
    handler.require_auth = False
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(),
                            authenticator=handler.authenticate, auth_require_tls=False)
    controller.start()
    handler.port = controller.port
    try:
        yield handler
    finally:
        controller.stop()


def send_invitation(make_app, port: int, **config) -> SentEmail:
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, **config)
    with app.app_context():
        record = deliver_email("invite:42:lia@example.test", "lia@example.test",
                               "You are invited to Mentor Groups", "Join us.")
        db.session.expunge(record)
        return record


def test_a_relay_that_needs_sign_in_gets_the_configured_username_and_password(
        make_app, relay):
    relay.require_auth = True

    record = send_invitation(make_app, relay.port, MAIL_USERNAME="mentor-bot",
                             MAIL_PASSWORD="s3cret-pass")

    assert relay.logins == [("mentor-bot", "s3cret-pass")]
    assert record.status == "sent"
    assert [str(m["To"]) for m in relay.messages] == ["lia@example.test"]


@pytest.mark.parametrize("credentials", [
    {"MAIL_USERNAME": "mentor-bot"},
    {"MAIL_PASSWORD": "s3cret-pass"},
    {},
], ids=["username only", "password only", "neither"])
def test_without_both_username_and_password_the_app_does_not_sign_in(
        make_app, relay, credentials):
    record = send_invitation(make_app, relay.port, **credentials)

    assert relay.logins == []
    assert record.status == "sent"
    assert [str(m["Subject"]) for m in relay.messages] == ["You are invited to Mentor Groups"]


def test_the_message_id_is_the_same_for_every_send_of_one_email_at_the_senders_domain(
        make_app, relay):
    record = send_invitation(make_app, relay.port,
                             MAIL_DEFAULT_SENDER="Mentor Groups <no-reply@school.example>")

    expected = f"<{INVITE_DIGEST}@school.example>"
    assert record.message_id == expected
    assert [str(m["Message-ID"]) for m in relay.messages] == [expected]


@pytest.mark.parametrize("sender", [None, "", "Mentor Groups <no-reply@>",
                                    "Mentor Groups <no-reply>", '"no-reply@"'],
                         ids=["no sender", "empty sender", "no domain", "no at sign",
                              "quoted, no domain"])
def test_without_a_sender_domain_the_message_id_uses_mentorgroups_invalid(make_app, sender):
    app = make_app(MAIL_DEFAULT_SENDER=sender)
    with app.app_context():
        assert stable_message_id("digest:2026-W10:7") == \
            f"<{DIGEST_DIGEST}@mentorgroups.invalid>"


def test_the_watchdog_cuts_the_connection_of_a_send_that_ran_out_of_time(smtp_server):
    host = smtplib.SMTP("127.0.0.1", smtp_server.port, timeout=5)
    assert host.noop()[0] == 250

    _shut(host)

    with pytest.raises((smtplib.SMTPServerDisconnected, OSError)):
        host.noop()
    host.close()


def test_the_watchdog_does_nothing_to_a_send_that_never_connected():
    host = smtplib.SMTP(timeout=5)

    _shut(host)

    assert host.sock is None


def test_a_server_that_answers_too_slowly_is_cut_off_at_the_send_budget(make_app):
    """A relay that trickles its greeting a byte at a time, each byte within MAIL_TIMEOUT, never
    trips the socket timeout: the watchdog cuts the send at the budget (6 x MAIL_TIMEOUT),
    so the worker (and the email's claim) are not held for as long as the server likes."""
    import socket
    import threading
    import time

    from flask_mail import Message

    from mentorgroups.services.smtp import send_message

    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def trickle():
        conn, _ = listener.accept()
        with conn:
            ended = time.monotonic() + 30
            while not stop.is_set() and time.monotonic() < ended:
                try:
                    conn.sendall(b"2")
                except OSError:
                    return
                time.sleep(0.3)

    server = threading.Thread(target=trickle, daemon=True)
    server.start()
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=listener.getsockname()[1],
                   MAIL_TIMEOUT=1)
    try:
        with app.app_context():
            started = time.monotonic()
            with pytest.raises((smtplib.SMTPException, OSError)):
                send_message(Message("Hello", recipients=["a@school.test"], body="hi",
                                     sender="school@school.test"))
            took = time.monotonic() - started
    finally:
        stop.set()
        server.join(5)
        listener.close()
    assert 5 <= took < 15  # the budget is 6 s


def test_with_mail_use_tls_the_connection_is_upgraded_before_signing_in(make_app, relay,
                                                                        monkeypatch):
    """MAIL_USE_TLS: STARTTLS comes first, so the password never crosses the network in
    clear (the test relay has no certificate: the upgrade itself is only noted here)."""
    said = []
    monkeypatch.setattr(smtplib.SMTP, "starttls", lambda self, *a, **k: said.append("STARTTLS"))
    real_login = smtplib.SMTP.login

    def login(self, user, password, **kwargs):
        said.append("AUTH")
        return real_login(self, user, password, **kwargs)

    monkeypatch.setattr(smtplib.SMTP, "login", login)
    relay.require_auth = True
    record = send_invitation(make_app, relay.port, MAIL_USE_TLS=True,
                             MAIL_USERNAME="mentor-bot", MAIL_PASSWORD="s3cret-pass")
    assert said == ["STARTTLS", "AUTH"]
    assert record.status == "sent"


def test_a_finished_send_leaves_no_watchdog_behind(make_app, relay):
    """Each send's watchdog ends with it: a worker sending a thousand digests does not keep
    a thousand sleeping threads until their budgets run out."""
    import threading

    before = set(threading.enumerate())  # other tests' threads may end meanwhile: not counted

    def started_here():
        return [t for t in threading.enumerate() if t not in before]

    for n in range(3):
        app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=relay.port)
        with app.app_context():
            deliver_email(f"watchdog:{n}", "lia@example.test", "Hello", "hi")
    deadline = time.monotonic() + 5
    while started_here() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert started_here() == []
