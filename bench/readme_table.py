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
        "| stock ms | app / stock |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results["screens"]:
        lines.append(
            f"| {r['screen']} | {r['learners']:,} | {r['statements']} | "
            f"{r['html_bytes'] / 1024:,.0f} | {_ms(r['app_ms'])} | {_ms(r['floor_ms'])} | "
            f"{_ratio(r['app_over_floor'])} | {_ms(r['stock_ms'])} | "
            f"{_ratio(r['app_over_stock'])} |")
    digest_file = ROOT / "bench" / "results-digest.json"
    if digest_file.exists():
        for r in json.loads(digest_file.read_text())["digest"]:
            lines.append(
                f"| weekly digests, every one of the school ({r['digests']:,}; not a screen) | "
                f"{int(r['scale'] * 100_000):,} | {r['statements']} |  | {_ms(r['app_ms'])} | "
                f"{_ms(r['floor_ms'])} | {_ratio(r['app_over_floor'])} |  |  |")
    peaks = ", ".join(f"{mb} MB at {int(k):,} learners"
                      for k, mb in results["peak_worker_rss_mb"].items())
    lines += ["", f"Peak gunicorn worker memory (VmHWM) after every screen: {peaks}. "
              f"One HTTP request for a static file from the same worker (no session, no SQL; "
              f"in every app time, in no floor): {results['http_static_ms']} ms."]
    return "\n".join(lines)


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
