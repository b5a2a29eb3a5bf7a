"""The README's benchmark tables, generated from bench/results.json (the screens) and
bench/results-digest.json (the weekly digest), between the markers
`<!-- bench:screens -->` and `<!-- /bench:screens -->`. Run by bench/screens.py; run it alone
to regenerate the README from the last results without measuring again."""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
START, END = "<!-- bench:screens -->", "<!-- /bench:screens -->"


def _ms(value) -> str:
    return "" if value is None else f"{value:,.0f}" if value >= 10 else f"{value:.1f}"


def _ratio(value) -> str:
    return "" if value is None else f"{value:.2f}"


def table() -> str:
    results = json.loads((ROOT / "bench" / "results.json").read_text())
    lines = [
        f"Measured {results['date']} on {results['machine']}; medians of {results['rounds']} "
        "interleaved rounds (`make bench`, regenerated from `bench/results.json`).",
        "",
        "| screen | learners | SQL statements | HTML KB | app ms | floor ms | app / floor "
        "| stock ms | app / stock | x from a tenth |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    # The growth column: a screen's time over its time at the smallest school measured.
    smallest = min(r["learners"] for r in results["screens"])
    at_smallest = {r["screen"]: r["app_ms"] for r in results["screens"]
                   if r["learners"] == smallest}
    for r in results["screens"]:
        base = at_smallest.get(r["screen"]) if r["learners"] != smallest else None
        lines.append(
            f"| {r['screen']} | {r['learners']:,} | {r['statements']} | "
            f"{r['html_bytes'] / 1024:,.0f} | {_ms(r['app_ms'])} | {_ms(r['floor_ms'])} | "
            f"{_ratio(r['app_over_floor'])} | {_ms(r['stock_ms'])} | "
            f"{_ratio(r['app_over_stock'])} | {_ratio(r['app_ms'] / base if base else None)} |")
    digest_file = ROOT / "bench" / "results-digest.json"
    if digest_file.exists():
        for r in json.loads(digest_file.read_text())["digest"]:
            lines.append(
                f"| weekly digests, every one of the school ({r['digests']:,}; not a screen) | "
                f"{int(r['scale'] * 100_000):,} | {r['statements']} |  | {_ms(r['app_ms'])} | "
                f"{_ms(r['floor_ms'])} | {_ratio(r['app_over_floor'])} |  |  |  |")
    peaks = ", ".join(f"{mb} MB at {int(k):,} learners"
                      for k, mb in results["peak_worker_rss_mb"].items())
    lines += ["", f"Peak gunicorn worker memory (VmHWM) after every screen: {peaks}. "
              f"One HTTP request for a static file from the same worker (no session, no SQL; "
              f"in every app time, in no floor): {results['http_static_ms']} ms."]
    lines += concurrency_table(results.get("concurrency"))
    lines += concurrency_table(results.get("saturation"))
    return "\n".join(lines)


def concurrency_table(runs: dict | None) -> list[str]:
    """bench/concurrency.py's table: gunicorn workers x threads under the same people."""
    if not runs:
        return []
    passes = runs.get("passes", 1)
    think = runs.get("think_s", 0)
    pace = (f"reading each for {think:g} s on average (exponential pauses) before the next"
            if think else "with no pause (a saturation test: latency is the queue)")
    lines = ["", f"{runs['people']} people at once for {runs['seconds']:.0f} s a setting"
             f"{f', {passes} passes in alternating order, pooled' if passes > 1 else ''}, "
             f"every one signed in and opening the screens above in turn, {pace} "
             f"({runs['data']}; `bench/concurrency.py`, {runs['date']}, load average "
             f"{runs['load']:.1f} at the start):", "",
             "| workers x threads | requests | per second | p50 ms | p95 ms | p99 ms | errors |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in runs["runs"]:
        chosen = " (chosen)" if r["label"] == runs.get("chosen") else ""
        lines.append(f"| {r['label']}{chosen} | {r['requests']:,} | {r['per_second']:.1f} | "
                     f"{r['p50_ms']:,.0f} | {r['p95_ms']:,.0f} | {r['p99_ms']:,.0f} | "
                     f"{r['errors']} |")
    return lines


def write_readme() -> None:
    text = README.read_text()
    block = f"{START}\n{table()}\n{END}"
    if START in text:
        text = re.sub(re.escape(START) + r".*?" + re.escape(END), lambda _: block, text,
                      flags=re.S)
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    README.write_text(text)


if __name__ == "__main__":
    write_readme()
