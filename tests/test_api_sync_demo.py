"""scripts/api_sync_demo.py against a served app: the first run builds the tree, adds the
people of the school and invites the others; the second run changes nothing and sends no
invitation again. The back office's data shows each step, the audit log names the token."""

from __future__ import annotations

import subprocess
import sys

from sqlalchemy import func, select

from mentorgroups.extensions import db
from mentorgroups.models import (
    AuditEvent,
    GroupMembership,
    Invitation,
    MentorGroup,
    OutboxJob,
)
from mentorgroups.services import api_tokens
from tests.conftest import ROOT
from tests.factories import make_account, make_member
from tests.test_browser_groups import seed


def run_demo(url: str, token: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "api_sync_demo.py"), "--base-url", url,
         "--token", token], capture_output=True, text=True, timeout=120, check=False)


def counts() -> tuple[int, int, int, int]:
    db.session.expire_all()
    return tuple(db.session.scalar(select(func.count()).select_from(model))
                 for model in (MentorGroup, GroupMembership, Invitation, OutboxJob))


def test_the_demo_syncs_a_tree_and_a_second_run_changes_nothing(live_server):
    def build():
        account = make_account(plan="complete", name="Sync School")
        admin = make_member(account, "admin")
        for email in ("mentor.year7@example.org", "ana.7a@example.org",
                      "cleo.7b@example.org"):
            make_member(account, "member", email=email)
        _, secret = api_tokens.create_token(admin, account.id, "SIS sync", "write")
        return secret

    secret = seed(live_server.app, build)
    first = run_demo(live_server.url, secret)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "created group \u201cYear 7 (synced)\u201d" in first.stdout
    assert "invited ben.7a@example.org as member" in first.stdout
    assert "added ana.7a@example.org as member" in first.stdout
    assert "The second run changed nothing" in first.stdout
    with live_server.app.app_context():
        after_first = counts()
        tree = dict(db.session.execute(select(MentorGroup.name, MentorGroup.parent_id)).all())
        ids = dict(db.session.execute(select(MentorGroup.name, MentorGroup.id)).all())
        assert tree == {"Year 7 (synced)": None, "7A": ids["Year 7 (synced)"],
                        "7B": ids["Year 7 (synced)"]}
        assert after_first[:3] == (3, 3, 3)  # 3 groups, 3 people added, 3 invited
        actors = set(db.session.execute(select(AuditEvent.actor_id, AuditEvent.api_token_id)
                                        .where(AuditEvent.action != "api_token.create")).all())
        assert len(actors) == 1 and next(iter(actors))[0] is None
        db.session.remove()

    again = run_demo(live_server.url, secret)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "created group" not in again.stdout and "invited ben" not in again.stdout
    assert "changes: groups created 0, groups changed 0, people added 0, invited 0" in again.stdout
    with live_server.app.app_context():
        assert counts() == after_first  # no group, membership, invitation or email more
        db.session.remove()


def test_with_scim_the_demo_then_pushes_a_group_the_way_okta_does(live_server):
    def build():
        account = make_account(plan="complete", name="Sync School")
        admin = make_member(account, "admin")
        for email in ("ana.7a@example.org", "ben.7a@example.org"):
            make_member(account, "member", email=email)
        _, secret = api_tokens.create_token(admin, account.id, "IdP and SIS", "write")
        return secret

    secret = seed(live_server.app, build)
    run = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "api_sync_demo.py"), "--base-url",
         live_server.url, "--token", secret, "--scim"],
        capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    for line in ("The second run changed nothing", "SCIM push, the way Okta does:",
                 "create group: POST /Groups -> 201 ok", "rename: PATCH",
                 "Year 7 (synced) (Okta) (renamed): 1 member(s)",
                 "delete group: DELETE /Groups/"):
        assert line in run.stdout, run.stdout
    with live_server.app.app_context():
        pushed = db.session.scalars(select(AuditEvent.action).where(
            AuditEvent.api_token_id.is_not(None), AuditEvent.action.like("group.%"))).all()
        assert pushed.count("group.delete") == 1  # the SCIM group, gone at the end
        assert db.session.scalar(select(func.count()).select_from(MentorGroup)) == 3
        db.session.remove()
