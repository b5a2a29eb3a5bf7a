"""Push a group to a served Mentor Groups over SCIM 2.0 the way Okta's Group Push does:

1. look the people up by userName (GET /Users?filter=userName eq "...");
2. POST /Groups with the group's name and Okta's id for it (externalId);
3. PATCH add members (people of the school by id; other addresses are invited);
4. PATCH remove one member (a filter in the path, as Okta sends it);
5. PATCH replace the name (Okta sends the id along with the new displayName);
6. DELETE the group.

Each step prints what the server answered. Usage:

    python scripts/scim_okta_demo.py --base-url https://school.example/scim/v2 \\
        --token mgt_... --name "Okta: Engineering" ana@school.example bo@school.example

Only the standard library is used, so it runs wherever Python does. Exit status 0 when every
step got the answer Okta expects, 1 otherwise."""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.parse
import urllib.request

SCIM_JSON = "application/scim+json"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"


class Scim:
    def __init__(self, base_url: str, token: str, timeout: float = 30):
        self.base, self.token, self.timeout = base_url.rstrip("/"), token, timeout

    def call(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method, headers={
            "Authorization": f"Bearer {self.token}", "Accept": SCIM_JSON,
            **({"Content-Type": SCIM_JSON} if data else {})})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                raw = response.read()
                return response.status, json.loads(raw) if raw else {}
        except urllib.error.HTTPError as error:
            raw = error.read()
            try:
                return error.code, json.loads(raw)
            except ValueError:
                return error.code, {"detail": raw[:200].decode(errors="replace")}


def patch(*operations: dict) -> dict:
    return {"schemas": [PATCH], "Operations": list(operations)}


def run(scim: Scim, name: str, emails: list[str], out=print) -> list[tuple[str, int]]:
    """The six steps; returns (step, status) of each."""
    steps: list[tuple[str, int]] = []

    def step(label: str, expected: tuple[int, ...], method: str, path: str, body=None):
        status, answer = scim.call(method, path, body)
        steps.append((label, status))
        mark = "ok" if status in expected else "UNEXPECTED"
        out(f"{label}: {method} {path} -> {status} {mark}")
        if status not in expected:
            out(f"  {answer.get('detail', answer)}")
        return status, answer

    values = []
    for email in emails:
        query = urllib.parse.quote(f'userName eq "{email}"')
        _, found = step(f"look up {email}", (200,), "GET", f"/Users?filter={query}")
        resources = found.get("Resources") or []
        # Okta links the person it finds; an address the school lacks is pushed as it is
        # and the school invites it.
        values.append(resources[0]["id"] if resources else email)
    status, group = step("create group", (201,), "POST", "/Groups",
                         {"schemas": [GROUP], "displayName": name, "externalId": "okta-demo",
                          "members": []})
    if status != 201:
        return steps
    gid = group["id"]
    step("add members", (200, 204), "PATCH", f"/Groups/{gid}", patch(
        {"op": "add", "path": "members", "value": [{"value": v} for v in values]}))
    if values:
        removed = values[0]
        step(f"remove {removed}", (200, 204), "PATCH", f"/Groups/{gid}", patch(
            {"op": "remove", "path": f'members[value eq "{removed}"]'}))
    step("rename", (200, 204), "PATCH", f"/Groups/{gid}", patch(
        {"op": "replace", "value": {"id": gid, "displayName": name + " (renamed)"}}))
    _, current = step("read back", (200,), "GET", f"/Groups/{gid}")
    out(f"  {current.get('displayName')}: {len(current.get('members') or [])} member(s)")
    step("delete group", (204,), "DELETE", f"/Groups/{gid}")
    return steps


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", required=True, help="https://<host>/scim/v2")
    parser.add_argument("--token", required=True, help="a read and write school API token")
    parser.add_argument("--name", default="Okta: Engineering")
    parser.add_argument("emails", nargs="*", help="people to push as members")
    args = parser.parse_args(argv)
    steps = run(Scim(args.base_url, args.token), args.name, args.emails)
    return 1 if failed_steps(steps) else 0


def failed_steps(steps: list[tuple[str, int]]) -> list[str]:
    expected = {"create group": 201, "delete group": 204}
    return [label for label, status in steps
            if status >= 400 or (label in expected and status != expected[label])]


if __name__ == "__main__":
    sys.exit(main())
