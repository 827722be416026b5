"""``python -m bench``: run every benchmark, print the table, save the results as JSON.

``--quick`` runs shorter versions (about a minute); ``--only events,history`` picks benchmarks.
Results go to ``bench/results/<UTC time>[-quick].json``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import sys
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path

from bench.common import RESULTS_DIR, Row, machine

BENCHMARKS = (
    "events",
    "history",
    "audio",
    "latency",
    "memory",
    "widgets",
    "live",
    "llm",
    "speech",
    "eval",
)


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    magnitude = abs(value)
    if magnitude >= 1000:
        return f"{value:,.0f}"
    if magnitude >= 100:
        return f"{value:.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    if magnitude >= 0.1:
        return f"{value:.2f}"
    return f"{value:.4f}"


def _status(row: Row) -> str:
    if row.value is None:
        return "not measured" if "NOT" in row.note or "not measured" in row.note else "-"
    if row.met is None:
        return ""
    return "met" if row.met else "NOT MET"


def format_table(rows: list[Row]) -> str:
    width = max([len(r.metric) for r in rows] + [20])
    lines = []
    header = f"{'bench':<10} {'metric':<{width}} {'value':>10} {'unit':<12} {'target':<7} status"
    targets = [r for r in rows if r.target]
    context = [r for r in rows if not r.target]
    for title, group in (("Targets", targets), ("Absolute numbers and context", context)):
        if not group:
            continue
        lines += ["", title, header, "-" * len(header)]
        for r in group:
            line = (
                f"{r.bench:<10} {r.metric:<{width}} {_fmt(r.value):>10} {r.unit:<12} "
                f"{r.target:<7} {_status(r)}"
            ).rstrip()
            if r.note and (not r.target or r.met is False or r.value is None):
                line += f"  [{r.note}]"
            lines.append(line)
    return "\n".join(lines)


def run(names: list[str], quick: bool) -> list[Row]:
    rows: list[Row] = []
    for name in names:
        module = importlib.import_module(f"bench.{name}")
        started = time.perf_counter()
        print(f"running {name} ...", file=sys.stderr, flush=True)
        try:
            rows += module.run(quick=quick)
        except Exception as exc:
            traceback.print_exc()
            rows.append(Row(name, "ERROR", None, note=f"{type(exc).__name__}: {exc}"))
        print(f"  {name}: {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short runs (about a minute)")
    parser.add_argument("--only", default="", help=f"comma-separated subset of {BENCHMARKS}")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR, help="directory for the JSON")
    parser.add_argument("--no-save", action="store_true", help="print only")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.only.split(",") if n.strip()] or list(BENCHMARKS)
    unknown = sorted(set(names) - set(BENCHMARKS))
    if unknown:
        parser.error(f"unknown benchmarks {unknown}; choose from {', '.join(BENCHMARKS)}")
    from bench.record import stream_meta

    started = datetime.now(timezone.utc)
    t0 = time.perf_counter()
    meta = stream_meta() if {"events", "memory"} & set(names) else None
    rtnb_log = logging.getLogger("rtnb")
    level = rtnb_log.level
    rtnb_log.setLevel(logging.ERROR)  # replays end with a disconnect warning
    try:
        rows = run(names, args.quick)
    finally:
        rtnb_log.setLevel(level)  # main() also runs inside the test process
    duration = time.perf_counter() - t0
    info = machine()
    mode = "quick" if args.quick else "full"
    print(
        f"\nrtnb benchmarks ({mode}, {duration:.0f} s) on {info['cores']} cores, {info['cpu']}; "
        f"Python {info['python']}, openai-agents {info['openai_agents']}, "
        f"rtnb {info['rtnb_commit']}"
    )
    if meta:
        print(
            f"recorded stream: {meta['events']} events, {meta['bytes'] / 1e6:.1f} MB, "
            f"{meta['conversation_s']:.0f} s of conversation"
        )
    print(format_table(rows))
    measured = [r for r in rows if r.target and r.met is not None]
    print(f"\ntargets met: {sum(bool(r.met) for r in measured)}/{len(measured)} (medians of runs)")
    if not args.no_save:
        args.out.mkdir(parents=True, exist_ok=True)
        stamp = started.strftime("%Y%m%dT%H%M%SZ")
        path = args.out / f"{stamp}{'-quick' if args.quick else ''}.json"
        payload = {
            "started": started.isoformat(),
            "mode": mode,
            "duration_s": round(duration, 1),
            "machine": info,
            "stream": meta,
            "rows": [r.as_dict() for r in rows],
        }
        path.write_text(json.dumps(payload, indent=1) + "\n")
        print(f"saved {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
