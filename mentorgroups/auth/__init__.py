"""Signing in and out, and choosing the school to work in."""

from flask import Blueprint

bp = Blueprint("auth", __name__)

from mentorgroups.auth import passwords, routes  # noqa: E402,F401
