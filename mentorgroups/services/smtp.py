"""Handing one message to the SMTP server within a hard time budget, with a stable Message-ID.

Flask-Mail opens its SMTP connection without a timeout (a stalled server blocks the worker for
ever) and lets a failing QUIT, after the server already accepted the message, look like a
failed send. Here every socket operation is bounded by MAIL_TIMEOUT, the whole conversation by
`send_budget()` (a watchdog shuts the socket down when it runs out), and QUIT is best effort.
The email claim in services.email lasts longer than this budget, so a claim can only expire
once the send that holds it is over.
"""

from __future__ import annotations

import hashlib
import smtplib
import socket
import threading
from email.utils import parseaddr

from flask import current_app
from flask_mail import Connection, Message

# connect + greeting, EHLO, STARTTLS + EHLO, AUTH, MAIL FROM, RCPT TO, DATA, end of data
SMTP_ROUND_TRIPS = 6


def send_budget() -> int:
    """Seconds one send may take at most: MAIL_TIMEOUT for each round trip."""
    return current_app.config["MAIL_TIMEOUT"] * SMTP_ROUND_TRIPS


def stable_message_id(key: str) -> str:
    """The same Message-ID for every send of one idempotency key, so a resend after a crash
    (the one case where a receiver may get two copies) is recognisably the same message."""
    sender = current_app.config.get("MAIL_DEFAULT_SENDER") or ""
    _, at, domain = parseaddr(sender)[1].rpartition("@")
    domain = domain if at and domain else "mentorgroups.invalid"
    digest = hashlib.sha256(key.encode()).hexdigest()[:40]
    return f"<{digest}@{domain}>"


def _shut(host: smtplib.SMTP) -> None:
    sock = getattr(host, "sock", None)
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def send_message(message: Message) -> None:
    """Send through the configured server; raises on any failure before the server accepted
    the message, returns once it has."""
    state = current_app.extensions["mail"]
    timeout = current_app.config["MAIL_TIMEOUT"]
    host = (smtplib.SMTP_SSL if state.use_ssl else smtplib.SMTP)(timeout=timeout)
    watchdog = threading.Timer(send_budget(), _shut, args=(host,))
    watchdog.daemon = True
    watchdog.start()
    try:
        host.connect(state.server, state.port)
        if state.use_tls:
            host.starttls()
        if state.username and state.password:
            host.login(state.username, state.password)
        connection = Connection(state)
        connection.host = host
        connection.send(message)  # Flask-Mail's header checks and address sanitising
    finally:
        watchdog.cancel()
        try:
            host.quit()
        except (smtplib.SMTPException, OSError):
            host.close()
