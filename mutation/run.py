"""Mutation testing of mentorgroups/services/ and mentorgroups/jobs/ (`make mutation`).

    python -m mutation.run                      every module found by globbing the two packages
    python -m mutation.run mentoring outbox     only these (report.json keeps the others)
    python -m mutation.run --list mentoring     the mutants, without running anything
    python -m mutation.run --survivors groups   only the mutants that survived the last run of
                                                the module (its code unchanged since); the
                                                ones killed then are counted killed again
    python -m mutation.run --finished           a run cut short (Ctrl-C, a session's end):
                                                score the modules whose every mutant ran
                                                (mutation/.last-run/), report.json keeps them

Each module's mutants (mutation/mutants.py) run against its mapped tests (mutation/config.toml,
else tests/test_<module>*.py), and of those only the tests that call the mutated function, with
-x and a timeout (mutation/session.py). A mutant is killed when a test fails or the run times
out, survived when every test passes. Survivors listed in mutation/equivalent.toml, each with
a reason, are counted as equivalent. score = killed / (killed + survived), in
mutation/report.json. SQLite only; `make mutation` runs it with nice -n 19."""

from __future__ import annotations

import argparse
import glob
import hashlib
import importlib.abc
import importlib.util
import json
import os
import subprocess
import sys
import time
import tomllib
from dataclasses import asdict
from pathlib import Path

from mutation.mutants import Mutant, generate, mutated_tree

ROOT = Path(__file__).resolve().parent.parent
HERE = ROOT / "mutation"
LAST_RUN = HERE / ".last-run"
PACKAGES = ("mentorgroups/services", "mentorgroups/jobs")
PYTEST_ARGS = ["-q", "-p", "no:cacheprovider", "-m", "not browser", "--rootdir", str(ROOT)]


def discover() -> list[str]:
    """Every module of the measured packages, found anew each run (new modules included)."""
    found = []
    for package in PACKAGES:
        found += sorted(glob.glob(f"{package}/*.py", root_dir=ROOT))
    return found


def load_config() -> tuple[dict[str, list[str]], dict[str, dict[str, str]]]:
    with open(HERE / "config.toml", "rb") as fh:
        mapping = tomllib.load(fh).get("tests", {})
    equivalent: dict[str, dict[str, str]] = {}
    with open(HERE / "equivalent.toml", "rb") as fh:
        for entry in tomllib.load(fh).get("equivalent", []):
            if not entry.get("reason", "").strip():
                sys.exit(f"equivalent.toml: {entry.get('mutant')!r} has no reason")
            equivalent.setdefault(entry["module"], {})[entry["mutant"]] = entry["reason"]
    return mapping, equivalent


def test_files(module: str, mapping: dict[str, list[str]]) -> list[str]:
    """The mapped test files of a module (in the order given), else tests/test_<module>*.py."""
    patterns = mapping.get(module) or [f"tests/test_{Path(module).stem}*.py"]
    files: list[str] = []
    for pattern in patterns:
        for path in sorted(glob.glob(pattern, root_dir=ROOT)):
            if path not in files and "browser" not in Path(path).name:
                files.append(path)
    return files


# ---- mutants that only run at import: the module imported afresh, mutated -------------------

class _MutatedSource(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Serves the mutated code for one module; everything else imports as usual."""

    def __init__(self, name: str, path: str, code):
        self.name, self.path, self.code = name, path, code

    def find_spec(self, fullname, path=None, target=None):
        if fullname != self.name:
            return None
        package = self.path.endswith("__init__.py")
        spec = importlib.util.spec_from_loader(fullname, self, origin=self.path,
                                               is_package=package)
        spec.has_location = True
        if package:
            spec.submodule_search_locations = [str(Path(self.path).parent)]
        return spec

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        module.__file__ = self.path
        exec(self.code, module.__dict__)


def run_fresh(mutant: Mutant, source: str, tests: list[str], timeout: float) -> str:
    from mutation.session import OUTCOMES, fork_and_wait

    name = mutant.module[:-3].replace("/", ".").removesuffix(".__init__")
    code = compile(mutated_tree(source, mutant), str(ROOT / mutant.module), "exec")

    def work():
        if not os.environ.get("MUTATION_VERBOSE"):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.dup2(devnull, 2)
        os.chdir(ROOT)
        sys.meta_path.insert(0, _MutatedSource(name, str(ROOT / mutant.module), code))
        import pytest

        result = int(pytest.main([*PYTEST_ARGS, "-x", *tests]))
        return {0: 0, 1: 1, 2: 1}.get(result, result)  # 2: interrupted by the mutant

    state, _ = fork_and_wait(work, timeout)
    return OUTCOMES[state]


# ---- the run -----------------------------------------------------------------------------------

def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("modules", nargs="*", help="e.g. mentoring, jobs/outbox or a path")
    parser.add_argument("--list", action="store_true", help="list the mutants, run nothing")
    parser.add_argument("--table", action="store_true",
                        help="print report.json as the Markdown table of the README")
    parser.add_argument("--finished", action="store_true",
                        help="score the modules the last run (cut short) finished every mutant "
                             "of, on code unchanged since, into report.json")
    parser.add_argument("--survivors", action="store_true",
                        help="after adding tests: run only the mutants that survived the last "
                             "measurement of a module whose code is unchanged (report.json)")
    args = parser.parse_args(argv)
    if args.table:
        print(markdown_table(json.loads((HERE / "report.json").read_text())["modules"]))
        return 0
    if args.finished:
        return score_finished()
        return 0
    mapping, equivalent = load_config()
    modules = discover()
    if args.modules:
        modules = [m for m in modules if any(
            m == p or m.endswith(f"/{p}") or m.endswith(f"/{p}.py") for p in args.modules)]
        if not modules:
            parser.error("no module matches")
    plan = {}
    for module in modules:
        source = (ROOT / module).read_text()
        plan[module] = {"source": source, "files": test_files(module, mapping),
                        "mutants": [asdict(m) for m in generate(module, source)],
                        "equivalent": sorted(equivalent.get(module, {}))}
        if args.survivors:
            carry_killed(module, plan[module], equivalent.get(module, {}))
    if args.list:
        for module, entry in plan.items():
            print(f"{module}: {len(entry['mutants'])} mutants; tests: "
                  f"{' '.join(entry['files']) or '-'}")
            for fields in entry["mutants"]:
                print(f"  {fields['lineno']:4d} {Mutant(**fields).id}")
        return 0

    started = time.monotonic()
    records = run_session(plan)
    if records is None:
        return 1
    results = []
    for module, entry in plan.items():
        results.append(score_module(module, entry, records.get(module, []),
                                    equivalent.get(module, {})))
    write_report(results, set(plan))
    print(f"done in {time.monotonic() - started:.0f} s; wrote mutation/report.json")
    return 0


def run_session(plan: dict) -> dict[str, list[dict]] | None:
    """Run mutation/session.py over every mapped test file; its records per module."""
    env = dict(os.environ, MG_TEST_DB="sqlite", PYTHONHASHSEED="0")
    files = []
    for entry in plan.values():
        files += [f for f in entry["files"] if f not in files]
    to_run = {m: e for m, e in plan.items() if e["mutants"] and e["files"]}
    # Kept (not a temporary directory) so that a run cut short can still be scored: --finished.
    LAST_RUN.mkdir(exist_ok=True)
    plan_path, out_path = LAST_RUN / "plan.json", LAST_RUN / "results.jsonl"
    plan_path.write_text(json.dumps({"modules": to_run}))
    out_path.write_text("")
    if to_run:
        print(f"running {sum(len(e['mutants']) for e in to_run.values())} mutants of "
              f"{len(to_run)} modules against {len(files)} test files", flush=True)
        subprocess.run([sys.executable, "-m", "mutation.session", str(ROOT), str(plan_path),
                        str(out_path), *files], cwd=ROOT, env=env, check=False)
    lines = [json.loads(line) for line in out_path.read_text().splitlines()]
    return settle(plan, lines)


def settle(plan: dict, lines: list[dict]) -> dict[str, list[dict]] | None:
    """The session's records per module, with the mutants it left to a fresh import run."""
    if any("error" in r for r in lines):
        print("the unmutated tests do not pass; fix them first "
              "(MUTATION_VERBOSE=1 shows the pytest output)")
        return None
    baseline = next((r["baseline"] for r in lines if "baseline" in r), {"durations": {}})
    by_module: dict[str, list[dict]] = {}
    for record in lines:
        if "id" in record:
            by_module.setdefault(record["module"], []).append(record)
    os.environ.update(MG_TEST_DB="sqlite")
    for module, records in by_module.items():
        mutants = {Mutant(**f).id: Mutant(**f) for f in plan[module]["mutants"]}
        for record in records:
            if record["outcome"] == "fresh":
                tests = record["tests"]
                timeout = 30 + 3 * sum(baseline["durations"].get(t, 1) for t in tests)
                record["outcome"] = run_fresh(mutants[record["id"]], plan[module]["source"],
                                              tests, timeout)
                if record["outcome"] in ("survived", "error"):
                    print(f"  {record['outcome'].upper():<9} (imported afresh) "
                          f"{record['id']}", flush=True)
    return by_module


def score_finished() -> int:
    """Score the modules of the last run whose every planned mutant has a record, when the
    module's code is still the code mutated; the others are named and left as they were."""
    plan_path, out_path = LAST_RUN / "plan.json", LAST_RUN / "results.jsonl"
    if not plan_path.exists():
        print("no run to score: mutation/.last-run/ is empty")
        return 1
    plan = json.loads(plan_path.read_text())["modules"]
    lines = [json.loads(line) for line in out_path.read_text().splitlines() if line.strip()]
    _, equivalent = load_config()
    done = {r["id"] for r in lines if "id" in r}
    finished = {}
    for module, entry in plan.items():
        ids = [Mutant(**f).id for f in entry["mutants"]]
        missing = len([i for i in ids if i not in done])
        if (ROOT / module).read_text() != entry["source"]:
            print(f"{module}: its code changed since the run; left as it was")
        elif missing:
            print(f"{module}: {missing} of {len(ids)} mutants did not run; left as it was")
        else:
            finished[module] = entry
    if not finished:
        return 1
    records = settle(finished, [r for r in lines if "id" not in r or r["module"] in finished])
    if records is None:
        return 1
    results = [score_module(m, e, records.get(m, []), equivalent.get(m, {}))
               for m, e in finished.items()]
    write_report(results, set(finished))
    return 0


def carry_killed(module: str, entry: dict, equivalent: dict) -> None:
    """--survivors: keep in the plan only the mutants the last measurement of this module
    did not kill (surviving, or listed as equivalent), when its code is the code measured
    then and the counts add up; the others are carried over as killed (tests were added
    since, not taken away: `make mutation` measures everything again)."""
    path = HERE / "report.json"
    last = {r["module"]: r for r in json.loads(path.read_text())["modules"]} \
        if path.exists() else {}
    before = last.get(module)
    digest = hashlib.sha256(entry["source"].encode()).hexdigest()
    ids = [Mutant(**f).id for f in entry["mutants"]]
    again = set(before["surviving"]) | set(equivalent) if before else set()
    carried = [i for i in ids if i not in again]
    # A mutant listed as equivalent may have been killed then (the run said so): run again.
    listed_but_killed = len(set(equivalent) & set(ids) - set(before["surviving"])) \
        - before["equivalent"] if before else 0
    if before is None or before["source_sha256"] != digest or before["mutants"] != len(ids) \
            or len(carried) + listed_but_killed != before["killed"]:
        print(f"{module}: changed since it was measured; all its mutants run")
        return
    entry["mutants"] = [f for f in entry["mutants"] if Mutant(**f).id in again]
    entry["carried"] = {"ids": carried, "timeouts": before.get("timeouts", 0)}
    print(f"{module}: {len(entry['mutants'])} mutants run again, {len(carried)} killed before")


def score_module(module: str, entry: dict, records: list[dict], equivalent: dict) -> dict:
    carried = entry.get("carried", {"ids": [], "timeouts": 0})
    ids = [Mutant(**f).id for f in entry["mutants"]] + carried["ids"]
    outcome = {r["id"]: r for r in records}
    outcome.update((i, {"outcome": "killed"}) for i in carried["ids"])
    killed, survived, marked, errors, timeouts, untested = [], [], [], [], [], []
    for mutant_id in ids:
        record = outcome.get(mutant_id, {"outcome": "survived", "untested": True})
        state = record["outcome"]
        if state in ("killed", "timeout"):
            killed.append(mutant_id)
            if state == "timeout":
                timeouts.append(mutant_id)
        elif mutant_id in equivalent:
            marked.append(mutant_id)
        else:
            survived.append(mutant_id)
            if state == "error":
                errors.append(mutant_id)
            if record.get("untested"):
                untested.append(mutant_id)
    for mutant_id in sorted(set(equivalent) - set(ids)):
        print(f"  {module}: equivalent.toml names a mutant that no longer exists: {mutant_id}")
    for mutant_id in sorted(set(equivalent) & set(killed)):
        print(f"  {module}: listed as equivalent but killed, remove it: {mutant_id}")
    scored = len(killed) + len(survived)
    score = round(100 * len(killed) / scored, 1) if scored else None
    return {"module": module, "killed": len(killed), "survived": len(survived),
            "equivalent": len(marked), "score": score, "mutants": len(ids),
            "timeouts": len(timeouts) + carried["timeouts"], "errors": len(errors),
            "tests": entry["files"],
            "no_tests": not entry["files"],
            "source_sha256": hashlib.sha256(entry["source"].encode()).hexdigest(),
            "surviving": survived, "untested": untested}


def write_report(results: list[dict], measured: set[str]) -> None:
    path = HERE / "report.json"
    existing = json.loads(path.read_text()).get("modules", []) if path.exists() else []
    present = set(discover())
    keep = [r for r in existing if r["module"] not in measured and r["module"] in present]
    modules = sorted(keep + results, key=lambda r: r["module"])
    path.write_text(json.dumps({"modules": modules}, indent=2) + "\n")
    print(f"\n{'module':<42} {'mutants':>7} {'killed':>6} {'survived':>8} {'equiv':>5} "
          f"{'score':>6}")
    for r in modules:
        score = "-" if r["score"] is None else f"{r['score']:.1f}%"
        note = "  (no tests mapped)" if r["no_tests"] and r.get("mutants") else ""
        print(f"{r['module']:<42} {r.get('mutants', 0):>7} {r['killed']:>6} {r['survived']:>8}"
              f" {r['equivalent']:>5} {score:>6}{note}")
        for mutant_id in r["surviving"] if r["module"] in measured else []:
            print(f"    survived: {mutant_id}")


def markdown_table(modules: list[dict]) -> str:
    lines = ["| module | mutants | killed | survived | equivalent | score |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for r in modules:
        score = "no mutants" if r["score"] is None else f"{r['score']:.1f}%"
        lines.append(f"| `{r['module'].removeprefix('mentorgroups/')}` | {r.get('mutants', 0)} "
                     f"| {r['killed']} | {r['survived']} | {r['equivalent']} | {score} |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
