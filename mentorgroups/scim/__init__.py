"""SCIM 2.0 provisioning of Mentor Groups, /scim/v2/ (RFC 7643, RFC 7644): an identity
provider (Okta, Microsoft Entra ID) pushes groups and their members with a school API token
(mentorgroups.api_auth: bearer only, read and write scope for writes, per-token rate limit).
Errors of anything under the prefix are SCIM error bodies (protocol.build_error)."""

from flask import Blueprint

from mentorgroups.api_auth import protect
from mentorgroups.extensions import db
from mentorgroups.scim.protocol import ScimError, build_error, error_response, from_service_error
from mentorgroups.services.errors import ServiceError

bp = Blueprint("scim", __name__, url_prefix="/scim/v2")
protect(bp, build_error=build_error)


@bp.errorhandler(ScimError)
def scim_error(exc: ScimError):
    db.session.rollback()  # nothing of a refused request is kept
    return error_response(exc.status, exc.detail, exc.scim_type, exc.headers)


@bp.errorhandler(ServiceError)
def service_error(exc: ServiceError):
    return scim_error(from_service_error(exc))


from mentorgroups.scim import discovery, groups, users  # noqa: E402,F401  (routes attach to bp)
