#!/usr/bin/env python3
"""Sync a school's group tree from "another system" through the Mentor Groups API, twice.

Run against a served app with a read-and-write school API token (Back office > API tokens):

    python scripts/api_sync_demo.py --base-url http://127.0.0.1:5000 --token mgt_...

It makes the tree below (or the one in --plan FILE, the same shape in JSON) exist: groups
found by name under their parent are kept, missing ones created; each group's people are
added by email with their role, and addresses nobody in the school has are invited (once:
an address already invited is left as it is). Then it syncs again and checks the second run
changed nothing and invited nobody twice. It prints every step; the exit status is 1 when
the second run changed anything. Standard library only: it runs wherever Python 3.11 does.

With --scim it then pushes a group over SCIM the way Okta does (scripts/scim_okta_demo.py:
look the plan's people up, create a group, add them, remove one, rename, delete), so one run
shows both ways an organisation's systems drive the school."""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

DEMO_PLAN = {
    "name": "Year 7 (synced)",
    "description": "Made by the API sync demo",
    "people": {"mentor": ["mentor.year7@example.org"]},
    "children": [
        {"name": "7A", "people": {"member": ["ana.7a@example.org", "ben.7a@example.org"]}},
        {"name": "7B", "people": {"member": ["cleo.7b@example.org", "dev.7b@example.org"],
                                  "group_admin": ["head.7b@example.org"]}},
    ],
}


class Api:
    def __init__(self, base_url: str, token: str):
        self.base = base_url.rstrip("/") + "/api/v1"
        self.token = token

    def call(self, method: str, path: str, body: dict | None = None) -> dict:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method, headers={
            "Authorization": f"Bearer {self.token}", "Accept": "application/json",
            **({"Content-Type": "application/json"} if data is not None else {})})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            problem = json.loads(error.read() or b"{}")
            raise SystemExit(f"{method} {path}: {error.code} {problem.get('title')}: "
                             f"{problem.get('detail')}") from None

    def all_groups(self) -> list[dict]:
        groups, cursor = [], None
        while True:
            query = "?limit=100" + (f"&cursor={urllib.parse.quote(cursor)}" if cursor else "")
            page = self.call("GET", "/groups" + query)
            groups += page["items"]
            cursor = page["next_cursor"]
            if cursor is None:
                return groups


def sync(api: Api, plan: dict, say) -> dict:
    """Make the plan's tree exist; returns what changed (counts)."""
    changes = {"groups_created": 0, "groups_changed": 0, "people_added": 0, "invited": 0}
    existing = {(g["parent_id"], g["name"].lower()): g for g in api.all_groups()}

    def visit(node: dict, parent_id: int | None, depth: int) -> None:
        indent = "  " * depth
        group = existing.get((parent_id, node["name"].lower()))
        if group is None:
            group = api.call("POST", "/groups", {"name": node["name"], "parent_id": parent_id,
                                                 "description": node.get("description", "")})
            changes["groups_created"] += 1
            say(f"{indent}created group \u201c{group['name']}\u201d (id {group['id']})")
        elif (group["description"] or "") != node.get("description", group["description"]):
            api.call("PATCH", f"/groups/{group['id']}", {"description": node["description"]})
            changes["groups_changed"] += 1
            say(f"{indent}described group \u201c{group['name']}\u201d")
        else:
            say(f"{indent}group \u201c{group['name']}\u201d is there (id {group['id']})")
        for role, emails in node.get("people", {}).items():
            report = api.call("POST", f"/groups/{group['id']}/members",
                              {"role": role, "emails": emails})
            changes["people_added"] += len(report["added"])
            changes["invited"] += len(report["invited"])
            for person in report["added"]:
                say(f"{indent}  added {person['email']} as {role}")
            for email in report["invited"]:
                say(f"{indent}  invited {email} as {role}")
            kept = len(report["already"]) + len(report["pending"])
            if kept:
                say(f"{indent}  {kept} {role} address(es) already there or invited")
            for email in report["revoked"] + report["invalid"] + report["refused"]:
                say(f"{indent}  not added: {email}")
        for child in node.get("children", []):
            visit(child, group["id"], depth + 1)

    visit(plan, None, 0)
    return changes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", required=True, help="where the app is served")
    parser.add_argument("--token", required=True, help="a read-and-write school API token")
    parser.add_argument("--plan", help="a JSON file with the tree (default: a Year 7 demo)")
    parser.add_argument("--scim", action="store_true",
                        help="then push a group over SCIM the way Okta does")
    args = parser.parse_args(argv)
    plan = DEMO_PLAN
    if args.plan:
        with open(args.plan, encoding="utf-8") as handle:
            plan = json.load(handle)
    api = Api(args.base_url, args.token)
    school = api.call("GET", "/school")
    print(f"School: {school['name']} (token \u201c{school['token']['name']}\u201d)")

    print("API sync, first run:")
    first = sync(api, plan, print)
    print("  changes: " + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in first.items()))
    print("API sync, second run:")
    second = sync(api, plan, print)
    print("  changes: " + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in second.items()))
    if any(second.values()):
        print("The second run changed something: the sync is not idempotent.")
        return 1
    print("The second run changed nothing and invited nobody again.")
    if args.scim:
        return scim_push(args.base_url, args.token, plan)
    return 0


def plan_members(node: dict) -> list[str]:
    """Every address the plan makes a Member, in the plan's order."""
    found = list(node.get("people", {}).get("member", []))
    for child in node.get("children", []):
        found += plan_members(child)
    return found


def scim_push(base_url: str, token: str, plan: dict) -> int:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from scim_okta_demo import Scim, failed_steps, run

    print("SCIM push, the way Okta does:")
    steps = run(Scim(base_url.rstrip("/") + "/scim/v2", token), f"{plan['name']} (Okta)",
                plan_members(plan)[:3], out=lambda line: print("  " + line))
    return 1 if failed_steps(steps) else 0


if __name__ == "__main__":
    sys.exit(main())
