"""Security headers on every response: pages, back office, error pages, files and static assets.

- Content-Security-Policy: scripts only from the app's own files (no inline `<script>`, no
  `onclick=`, no `javascript:` links: `static/*.js` carries them, `static/mg-admin.js` what
  Flask-Admin's templates did inline), no plugins, no `<base>` elsewhere, forms post only here,
  and no other site may frame a page (clickjacking). Styles may stay inline (`style=`): the
  templates use them, and a style cannot run code.
- X-Frame-Options for browsers older than `frame-ancestors`, X-Content-Type-Options so an
  uploaded or downloaded file is never sniffed into a script, Referrer-Policy so a full URL
  never leaves the site (pages whose URL carries a secret send `no-referrer`: `web.secret_in_url`).
- Strict-Transport-Security only on a request that arrived over HTTPS (directly, or through a
  proxy that says so in X-Forwarded-Proto): over plain HTTP it means nothing, and in development
  it would lock the browser out of http://127.0.0.1.
"""

from __future__ import annotations

from flask import request

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])
HSTS = "max-age=31536000; includeSubDomains"


def served_over_https() -> bool:
    forwarded = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
    return request.is_secure or forwarded == "https"


def add_security_headers(response):
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    if served_over_https():
        headers.setdefault("Strict-Transport-Security", HSTS)
    return response


def init_app(app) -> None:
    app.after_request(add_security_headers)
