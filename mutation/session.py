"""The pytest side of a mutation run: one pytest session collects the tests once, then

1. runs them all unmutated in a forked child, with a tracer noting which test calls which
   function of the measured modules (called outside any test, e.g. at import: `null`);
2. for each mutant forks a child that swaps the mutated function's code into the live
   function objects (`func.__code__ = ...`, so every `from x import f` sees it) and runs, with
   -x semantics and a timeout, the mapped tests that call that function, those that killed an
   earlier mutant of the same function first.

A function called at import is left to mutation/run.py, which imports the mutated module
afresh. Results are written as JSON lines as they come, so an interrupted run keeps them."""

from __future__ import annotations

import gc
import json
import os
import resource
import signal
import sys
import threading
import time
import types
from pathlib import Path

import pytest

from mutation.mutants import Mutant, mutated_tree

CHILD_MEMORY = 4 * 1024 ** 3


def fork_and_wait(work, timeout: float) -> tuple[str, float]:
    """Run work() in a forked child in its own process group. work returns 0 (tests passed),
    1 (a test failed) or 4 (nothing to run); 'passed', 'failed', 'timeout', 'not-run' or
    'error' (the harness itself broke), and the seconds taken."""
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:
        code = 3
        try:
            os.setpgid(0, 0)  # the child and whatever it starts (RQ workers) die together
            # A mutant that loops while growing a list (a walk of the group tree without its
            # `seen` check) fails its test with a MemoryError at 4 GB, instead of taking the
            # machine's memory until the timeout or the kernel's OOM killer ends it.
            resource.setrlimit(resource.RLIMIT_AS, (CHILD_MEMORY, CHILD_MEMORY))
            code = work()
        except BaseException:  # noqa: BLE001 - said on stderr, then the child exits
            import traceback

            traceback.print_exc()
        finally:
            os._exit(code if isinstance(code, int) else 3)
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            code = os.waitstatus_to_exitcode(status)
            state = {0: "passed", 1: "failed", 4: "not-run"}.get(code, "error")
            return state, time.monotonic() - started
        if time.monotonic() - started > timeout:
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return "timeout", time.monotonic() - started
        time.sleep(0.01)


OUTCOMES = {"passed": "survived", "failed": "killed", "timeout": "timeout",
            "not-run": "fresh", "error": "error"}


def _code_named(code: types.CodeType, qualname: str) -> types.CodeType | None:
    if code.co_qualname == qualname:
        return code
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            found = _code_named(const, qualname)
            if found is not None:
                return found
    return None


def patch(mutant: Mutant, source: str, path: str) -> int:
    """Put the mutated code into every live function object of that name; how many. 0
    when the mutated code needs other free variables than the live function has (a method
    whose `super()` call is deleted loses its `__class__` cell): such a mutant is left to a
    fresh import of the mutated module."""
    module_code = compile(mutated_tree(source, mutant), path, "exec")
    new = _code_named(module_code, mutant.function)
    patched = 0
    for obj in gc.get_objects():
        if isinstance(obj, types.FunctionType) and obj.__code__.co_filename == path \
                and obj.__code__.co_qualname == mutant.function:
            if obj.__code__.co_freevars != new.co_freevars:
                return 0
            obj.__code__ = new
            patched += 1
    return patched


class Controller:
    def __init__(self, root: Path, plan_path: Path, out_path: Path, progress_fd: int):
        self.root = root
        self.plan = json.loads(plan_path.read_text())
        self.out_path = out_path
        self.progress = os.fdopen(progress_fd, "w", buffering=1)
        self.failed_nodeids: list[str] = []
        self.current: list[str | None] = [None]

    # hooks seen by every child (they are forked from this process)
    def pytest_runtest_logreport(self, report):
        if report.failed:
            self.failed_nodeids.append(report.nodeid)
            if os.environ.get("MUTATION_VERBOSE"):
                self._say(f"--- {report.nodeid} ({report.when})\n{report.longreprtext}")

    def pytest_runtest_logstart(self, nodeid, location):
        self.current[0] = nodeid

    def pytest_runtest_logfinish(self, nodeid, location):
        self.current[0] = None

    def _emit(self, record: dict) -> None:
        with open(self.out_path, "a") as fh:
            fh.write(json.dumps(record) + "\n")

    def _say(self, text: str) -> None:
        self.progress.write(text + "\n")

    def _run_items(self, items, stop_on_failure: bool) -> int:
        for i, item in enumerate(items):
            nextitem = items[i + 1] if i + 1 < len(items) else None
            item.ihook.pytest_runtest_protocol(item=item, nextitem=nextitem)
            if self.failed_nodeids and stop_on_failure:
                return 1
        return 1 if self.failed_nodeids else 0

    def _baseline(self, items) -> dict | None:
        targets = {str(self.root / m): m for m in self.plan["modules"]}
        result_path = self.out_path.with_suffix(".baseline.json")
        durations: dict[str, float] = {}

        def work():
            calls: dict[str, dict[str, set]] = {}
            current = self.current

            def tracer(frame, event, arg):
                module = targets.get(frame.f_code.co_filename)
                if module is not None:
                    outer = frame.f_code.co_qualname.split(".<locals>")[0]
                    calls.setdefault(module, {}).setdefault(outer, set()).add(current[0])
                return None

            class Timer:
                def pytest_runtest_logreport(self, report):
                    durations[report.nodeid] = durations.get(report.nodeid, 0) + report.duration

            items[0].config.pluginmanager.register(Timer())
            sys.settrace(tracer)
            threading.settrace(tracer)
            self._run_items(items, stop_on_failure=False)
            sys.settrace(None)
            result_path.write_text(json.dumps({
                "failed": self.failed_nodeids, "durations": durations,
                "calls": {m: {f: [t for t in ts] for f, ts in fs.items()}
                          for m, fs in calls.items()}}))
            return 0

        state, seconds = fork_and_wait(work, timeout=3600)
        if not result_path.exists():
            self._say(f"the unmutated run crashed ({state} after {seconds:.0f} s)")
            return None
        data = json.loads(result_path.read_text())
        result_path.unlink()
        self._say(f"baseline: {len(items)} tests in {seconds:.0f} s")
        if data["failed"]:
            self._say(f"the unmutated tests fail: {data['failed']}")
            return None
        return data

    def _import_measured(self) -> None:
        """Import every measured module here, before any child is forked: a module the test
        files do not import themselves (the app imports it when a fixture builds it) would
        otherwise have no live function object in this process to patch."""
        import importlib

        for module in self.plan["modules"]:
            name = module[:-3].replace("/", ".").removesuffix(".__init__")
            try:
                importlib.import_module(name)
            except Exception as exc:  # noqa: BLE001 - said, then left to the fresh import
                self._say(f"could not import {name} before forking: {exc}")

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session):
        self._import_measured()
        items = {item.nodeid: item for item in session.items}
        order = list(items)
        base = self._baseline(list(items.values()))
        if base is None:
            self._emit({"error": "baseline"})
            return True
        self._emit({"baseline": {"order": order, "durations": base["durations"],
                                 "calls": base["calls"]}})
        killers: dict[tuple[str, str], list[str]] = {}
        for module, entry in self.plan["modules"].items():
            files, source = entry["files"], entry["source"]
            path = str(self.root / module)
            calls = base["calls"].get(module, {})
            mapped = [n for f in files for n in order if n.split("::")[0] == f]
            self._say(f"\n{module}: {len(entry['mutants'])} mutants, tests: "
                      f"{' '.join(files) or 'NONE'}")
            for fields in entry["mutants"]:
                mutant = Mutant(**fields)
                callers = set(calls.get(mutant.function, ()))
                if None in callers:
                    self._emit({"id": mutant.id, "module": module, "outcome": "fresh",
                                "tests": mapped})
                    continue
                first = killers.get((module, mutant.function), [])
                tests = [n for n in first if n in callers] + [
                    n for n in mapped if n in callers and n not in first]
                if not tests:
                    self._emit({"id": mutant.id, "module": module, "outcome": "survived",
                                "untested": True, "lineno": mutant.lineno})
                    self._say(f"  SURVIVED  line {mutant.lineno}: {mutant.id}"
                              "  (no mapped test calls it)")
                    continue
                outcome, killer = self._run_mutant(mutant, source, path,
                                                   [items[n] for n in tests], base["durations"])
                if outcome == "fresh":  # no live function to patch: import it afresh
                    self._emit({"id": mutant.id, "module": module, "outcome": "fresh",
                                "tests": tests})
                    continue
                if killer:
                    known = killers.setdefault((module, mutant.function), [])
                    if killer in known:
                        known.remove(killer)
                    known.insert(0, killer)
                self._emit({"id": mutant.id, "module": module, "outcome": outcome,
                            "lineno": mutant.lineno, "killer": killer})
                if outcome == "survived" and mutant.id in entry.get("equivalent", ()):
                    self._say(f"  (equivalent, survived as expected: {mutant.id})")
                elif outcome in ("survived", "error"):
                    self._say(f"  {outcome.upper():<9} line {mutant.lineno}: {mutant.id}")
        return True

    def _run_mutant(self, mutant, source, path, items, durations):
        killer_path = self.out_path.with_suffix(".killer")
        killer_path.unlink(missing_ok=True)

        def work():
            if patch(mutant, source, path) == 0:
                return 4
            code = self._run_items(items, stop_on_failure=True)
            if self.failed_nodeids:
                killer_path.write_text(self.failed_nodeids[0])
            return code

        timeout = 10 + 3 * sum(durations.get(item.nodeid, 1) for item in items)
        state, _ = fork_and_wait(work, timeout)
        killer = killer_path.read_text() if killer_path.exists() else None
        killer_path.unlink(missing_ok=True)
        return OUTCOMES[state], killer


def main() -> int:
    """python -m mutation.session ROOT PLAN OUT FILES...: run by mutation/run.py."""
    root, plan_path, out_path, *files = sys.argv[1:]
    progress_fd = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    if not os.environ.get("MUTATION_VERBOSE"):
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
    os.chdir(root)
    controller = Controller(Path(root), Path(plan_path), Path(out_path), progress_fd)
    args = ["-q", "-p", "no:cacheprovider", "-m", "not browser", "--rootdir", root, *files]
    return int(pytest.main(args, plugins=[controller]))


if __name__ == "__main__":
    sys.exit(main())
