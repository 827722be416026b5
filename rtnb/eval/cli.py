"""``rtnb eval SUITE.yaml``: run a suite from a terminal, print a summary, exit 1 on a failure.

The options are defined in :mod:`rtnb.cli` (which imports this module only to run the command).
"""

from __future__ import annotations

import argparse
import sys

from .results import EvalResults

__all__ = ["eval_command", "summary_text"]

FAILING = ("failed", "timeout", "error")


def summary_text(results: EvalResults) -> str:
    """The pass rates per scenario and overall, then each failed run and why."""
    table = results.summary(by="scenario")
    total = results.summary()
    lines = [f"{'scenario':<32} {'passed':>9} {'rate':>6}  95 % interval   first audio"]
    rows = [*table.itertuples(index=False)]
    for row, label in [*((r, r.scenario) for r in rows), *((r, "all") for r in total.itertuples())]:
        latency = "" if row.first_audio_ms != row.first_audio_ms else f"{row.first_audio_ms:.0f} ms"
        lines.append(
            f"{str(label)[:32]:<32} {f'{row.passed}/{row.runs}':>9} {row.pass_rate:>6.0%}  "
            f"{row.low:>5.0%} - {row.high:<5.0%}   {latency:>9}"
        )
    for result in results.failed:
        run = result.run
        noise = "clean" if run.noise_db is None else f"{run.noise_db:g} dB"
        why = result.row()["failures"] or result.status
        lines.append(
            f"run {run.index} {run.scenario.name!r} ({run.voice}, {noise}, x{run.speed:g}, "
            f"repeat {run.repeat}): {result.status}: {why}"
        )
    if results.interrupted:
        lines.append(f"interrupted: {len(results)} of {results.planned} runs finished")
    return "\n".join(lines)


def eval_command(args: argparse.Namespace) -> int:
    """Run ``rtnb eval``; the exit status (0 all passed, 1 a run failed, 130 interrupted)."""
    from .runner import run_sync

    try:
        results = run_sync(
            args.suite,
            args.agent,
            args.concurrency,
            None if args.executor == "local" else args.executor,
            backend=args.backend,
            address=args.address,
            record=args.record,
            progress=not args.quiet,
        )
    except ImportError as exc:  # an extra that is not installed (ray): its install command
        print(f"rtnb: error: {exc}", file=sys.stderr)
        return 2
    print(summary_text(results), flush=True)
    if args.out:
        print(f"wrote {results.write(args.out)}")
    if args.record:
        print(f"recordings in {results.record_dir}")
    if results.interrupted:
        return 130
    if any(r.status in FAILING for r in results.runs):
        return 1
    not_judged = sum(r.status == "not judged" for r in results.runs)
    if not_judged:
        print(f"{not_judged} run(s) not judged: set RTNB_LLM_URL and RTNB_LLM_MODEL for judges")
    return 0
