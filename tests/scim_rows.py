"""Rows and requests the SCIM tests share: a school with an admin, people and tokens."""

from __future__ import annotations

from dataclasses import dataclass

from mentorgroups.extensions import db
from mentorgroups.models import Account, User
from mentorgroups.services import api_tokens
from tests.factories import make_account, make_member

SCIM_JSON = "application/scim+json"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"


@dataclass
class ScimSchool:
    account: Account
    admin: User
    people: list[User]
    secret: str  # read and write
    read_secret: str
    token_name: str

    def headers(self, secret: str | None = None) -> dict:
        return {"Authorization": f"Bearer {secret or self.secret}", "Content-Type": SCIM_JSON}


def scim_school(plan: str = "complete", people: int = 4, name: str = "Okta sync") -> ScimSchool:
    account = make_account(name="SCIM School", plan=plan)
    admin = make_member(account, "admin", full_name="Ada Admin")
    persons = [make_member(account, "member", full_name=f"Person {chr(65 + i)}",
                           email=f"person{chr(97 + i)}-{account.id}@scim.test")
               for i in range(people)]
    _, secret = api_tokens.create_token(admin, account.id, name, "write")
    _, read_secret = api_tokens.create_token(admin, account.id, "Read only", "read")
    db.session.commit()
    return ScimSchool(account, admin, persons, secret, read_secret, name)


def patch_body(*operations: dict) -> dict:
    return {"schemas": [PATCH_SCHEMA], "Operations": list(operations)}


def member_ids(body: dict) -> list[str]:
    return sorted(m["value"] for m in body.get("members", []))
