"""The school's JSON API, /api/v1/: bearer tokens only (mentorgroups.api_auth), errors as
RFC 9457 problem+json, described by the OpenAPI 3.1 document at /api/v1/openapi.json."""

from flask import Blueprint

from mentorgroups.api_auth import protect

bp = Blueprint("api", __name__, url_prefix="/api/v1")
protect(bp, public=("api.openapi",))

from mentorgroups.api import routes  # noqa: E402,F401  (routes attach to bp)
