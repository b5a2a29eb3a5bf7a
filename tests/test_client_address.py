"""Which address the per-client limits count: the peer's, unless TRUSTED_PROXY_HOPS says how
many reverse proxies stand in front of the app, and then the address the outermost trusted
one saw (the right-most entries of X-Forwarded-For). A client reaching the app directly can
write any X-Forwarded-For it likes, so with 0 the header is never read."""

from __future__ import annotations

import pytest

from mentorgroups.settings import ConfigError, load_config
from tests.conftest import Client

PROXY = "10.0.0.5"  # the reverse proxy of the README, as the app's peer


def attempt(client, n: int, forwarded_for: str | None = None, peer: str = PROXY):
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    # A new unknown address each time: only the per-client limit can refuse it.
    return client.post_form("/login", {"email": f"nobody{n}@proxy.test", "password": "x"},
                            headers=headers, environ_base={"REMOTE_ADDR": peer})


def test_without_trusted_proxies_forwarded_for_is_ignored(make_app):
    app = make_app(LOGIN_RATE_LIMIT="3/minute")
    client = Client(app.test_client())
    codes = [attempt(client, n, forwarded_for=f"198.51.100.{n}").status_code
             for n in range(4)]
    assert codes == [200, 200, 200, 429]  # one bucket: the peer's, whatever the header says
    assert attempt(client, 9, peer="10.0.0.6").status_code == 200  # another peer: its own


def test_behind_one_proxy_each_client_has_its_own_bucket(make_app):
    app = make_app(LOGIN_RATE_LIMIT="3/minute", TRUSTED_PROXY_HOPS=1)
    client = Client(app.test_client())
    codes = [attempt(client, n, forwarded_for="198.51.100.1").status_code for n in range(4)]
    assert codes == [200, 200, 200, 429]
    # Everybody else behind the same proxy still signs in: the proxy is not one bucket.
    assert attempt(client, 10, forwarded_for="198.51.100.2").status_code == 200
    # A client writing its own X-Forwarded-For gets the proxy's entry appended: the right-most
    # one is what counts, so it cannot step out of its bucket.
    assert attempt(client, 11, forwarded_for="203.0.113.9, 198.51.100.1").status_code == 429


def test_behind_two_proxies_the_outer_ones_entry_counts(make_app):
    app = make_app(LOGIN_RATE_LIMIT="2/minute", TRUSTED_PROXY_HOPS=2)
    client = Client(app.test_client())
    chain = "203.0.113.9, 198.51.100.7, 10.0.0.1"  # forged, client, load balancer
    codes = [attempt(client, n, forwarded_for=chain).status_code for n in range(3)]
    assert codes == [200, 200, 429]
    assert attempt(client, 5, forwarded_for="203.0.113.9, 198.51.100.8, 10.0.0.1"
                   ).status_code == 200


def test_the_forwarded_scheme_is_believed_only_from_a_trusted_proxy(make_app):
    """The session cookie is Secure in production; the scheme decides redirects' and
    external links' https. Here: what the app sees as its scheme."""
    for hops, expected in ((0, "http"), (1, "https")):
        app = make_app(TRUSTED_PROXY_HOPS=hops)

        @app.get("/_scheme")
        def scheme():
            from flask import request

            return request.scheme

        response = app.test_client().get("/_scheme", headers={
            "X-Forwarded-Proto": "https", "X-Forwarded-For": "198.51.100.1"})
        assert response.get_data(as_text=True) == expected


def test_trusted_proxy_hops_is_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "k")
    assert load_config()["TRUSTED_PROXY_HOPS"] == 0
    monkeypatch.setenv("TRUSTED_PROXY_HOPS", "1")
    assert load_config()["TRUSTED_PROXY_HOPS"] == 1
    monkeypatch.setenv("TRUSTED_PROXY_HOPS", "-1")
    with pytest.raises(ConfigError, match="TRUSTED_PROXY_HOPS must be 0 or more"):
        load_config()
    monkeypatch.setenv("TRUSTED_PROXY_HOPS", "one")
    with pytest.raises(ConfigError, match="TRUSTED_PROXY_HOPS must be a whole number"):
        load_config()
