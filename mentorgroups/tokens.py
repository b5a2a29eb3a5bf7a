"""Tokens for links sent by email (invitations, password links).

A token is an HMAC of a stored nonce under the app's secret, for one purpose: the email job
can rebuild it from the row, a copy of the database alone cannot, and a new nonce kills the
old link. The database keeps only the token's SHA-256, to find the row when the link is used."""

from __future__ import annotations

import hashlib
import hmac
from base64 import urlsafe_b64encode

from flask import current_app


def signed_token(purpose: str, nonce: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    digest = hmac.new(key, f"{purpose}:{nonce}".encode(), hashlib.sha256).digest()
    return urlsafe_b64encode(digest).decode().rstrip("=")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
