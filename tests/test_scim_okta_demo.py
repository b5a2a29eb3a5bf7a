"""scripts/scim_okta_demo.py against a live server: it pushes a group the way Okta does and
the back office's audit log shows each step under the token's name."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from mentorgroups.extensions import db
from mentorgroups.models import AuditEvent, Invitation
from tests.scim_rows import scim_school

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "scim_okta_demo.py"


def test_the_demo_pushes_a_group_and_the_audit_log_names_the_token(live_server, client):
    with live_server.app.app_context():
        school = scim_school(people=3, name="Okta provisioning")
        emails = [p.email for p in school.people[:2]] + ["outsider@partner.test"]
        admin_email, account_id = school.admin.email, school.account.id
        secret = school.secret
    run = subprocess.run(
        [sys.executable, str(SCRIPT), "--base-url", live_server("/scim/v2"), "--token", secret,
         "--name", "Okta: Engineering", *emails],
        capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    # Two people of the school added and the outsider invited; one person removed.
    for line in ("create group: POST /Groups -> 201 ok", "add members: PATCH",
                 "rename: PATCH", "delete group: DELETE",
                 "Okta: Engineering (renamed): 1 member(s)"):
        assert line in run.stdout, run.stdout
    with live_server.app.app_context():
        events = db.session.scalars(select(AuditEvent).where(
            AuditEvent.account_id == account_id).order_by(AuditEvent.id)).all()
        by_token = [(e.action, e.api_token.name) for e in events if e.api_token is not None]
        assert by_token == [("group.create", "Okta provisioning"),
                            ("invitation.send", "Okta provisioning"),
                            ("member.add", "Okta provisioning"),
                            ("member.add", "Okta provisioning"),
                            ("member.remove", "Okta provisioning"),
                            ("group.edit", "Okta provisioning"),
                            ("group.delete", "Okta provisioning")]
        # The invitation to the outsider ended with the group.
        assert [i.status for i in db.session.scalars(select(Invitation))] != ["pending"]
    client.login(admin_email, account_id=account_id)
    page = client.get("/admin/community/audit/").get_data(as_text=True)
    # Seven rows by the token, and the admin's row that created it.
    assert page.count("API token \u201cOkta provisioning\u201d") == 8
    for words in ("Okta: Engineering", "outsider@partner.test"):
        assert words in page
