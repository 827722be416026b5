"""5. Memory: growth of the client over a one-hour simulated session.

The recorded stream (about three minutes of conversation) is replayed back to back into one
session until an hour of conversation (user speech + assistant audio) has gone by, every
repetition with fresh item/response/call ids so the history keeps growing as in a real hour.
Each system runs in a fresh child process (``python -m bench.memory --child NAME``); the row is
the resident set size after the hour minus the size once connected (after a garbage
collection), with the application's handlers draining the events (rtnb: ``audio`` and
``history_updated`` handlers; openai-agents: ``async for event in session``). Audio is not kept
by the application.

``history_store_audio`` on: measured only if ``RealtimeSession`` accepts a
``history_store_audio`` argument; the raw PCM16 an hour of assistant audio holds is shown for
scale.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import inspect
import json
import math
import re
import subprocess
import sys
import tracemalloc
from collections.abc import Iterator
from typing import Any

from bench.common import REPO_DIR, Row, rss_bytes

BENCH = "5 memory"
HOUR_S = 3600.0
_ID = re.compile(r'"((?:item|resp|call)_[0-9a-f]{8}\d{6})"')
MB = 1024 * 1024


def hour_stream(lines: list[str], repetitions: int, samples: list[int]) -> Iterator[str]:
    """``lines`` ``repetitions`` times with fresh ids; RSS sampled after each repetition."""
    yield from lines  # first pass as recorded (includes session.created/updated)
    samples.append(rss_bytes())
    for k in range(1, repetitions):
        suffix = f'r{k}"'
        for line in lines:
            if line.startswith('{"type":"session.'):
                continue
            # ids come before an audio delta's base64 text: leave that text alone
            head, sep, tail = line.partition(',"delta":"')
            yield _ID.sub(lambda m, s=suffix: f'"{m.group(1)}{s}', head) + sep + tail
        samples.append(rss_bytes())


def supports_history_store_audio() -> bool:
    from rtnb import RealtimeSession

    return "history_store_audio" in inspect.signature(RealtimeSession).parameters


async def _child(
    name: str, lines: list[str], repetitions: int, trace: bool = False
) -> dict[str, Any]:
    from bench import replay

    samples: list[int] = []
    stream = hour_stream(lines, repetitions, samples)
    baseline: dict[str, int] = {}

    def mark_baseline(_: Any = None) -> None:
        gc.collect()
        baseline["rss"] = rss_bytes()
        if trace:
            tracemalloc.start()

    end: dict[str, Any] = {}

    def mark_end() -> None:
        gc.collect()
        end["rss"] = rss_bytes()
        end["traced"] = tracemalloc.get_traced_memory() if trace else (0, 0)

    if name == "agents":
        result = await replay.replay_agents(stream, on_start=mark_baseline, on_end=mark_end)
    else:
        kwargs = {"history_store_audio": True} if name == "rtnb-audio" else {}
        result = await replay.replay_rtnb(
            stream,
            mode="handlers",
            on_start=mark_baseline,
            on_end=mark_end,
            session_options=kwargs,
        )
    traced = end["traced"]
    return {
        "traced_current": traced[0],
        "traced_peak": traced[1],
        "history_audio_bytes": result.history_audio_bytes,
        "baseline": baseline["rss"],
        "final": end["rss"],
        "samples": samples,
        "events": result.events_in,
        "history_items": result.history_items,
        "seconds": result.seconds,
    }


def _run_child(name: str, hours: float, trace: bool = False) -> dict[str, Any]:
    command = [sys.executable, "-m", "bench.memory", "--child", name, "--hours", str(hours)]
    out = subprocess.run(
        [*command, "--trace"] if trace else command,
        cwd=REPO_DIR,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"memory child {name} failed: {out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(quick: bool = False) -> list[Row]:
    from bench.record import stream_meta

    meta = stream_meta()
    hours = 0.25 if quick else 1.0
    label = "15 min" if quick else "1 h"
    names = ["rtnb"] + (["rtnb-audio"] if supports_history_store_audio() else []) + ["agents"]
    results = {name: _run_child(name, hours) for name in names}
    audio_mb = meta["assistant_audio_s"] * 48_000 / MB
    repetitions = math.ceil(hours * HOUR_S / meta["conversation_s"])

    def growth(name: str) -> float:
        r = results[name]
        return (r["final"] - r["baseline"]) / MB

    rows = [
        Row(
            BENCH,
            f"rtnb growth over {label}, history_store_audio off",
            growth("rtnb"),
            "MB",
            note=f"{results['rtnb']['events']} events, {results['rtnb']['history_items']} items",
            runs=[(s - results["rtnb"]["baseline"]) / MB for s in results["rtnb"]["samples"]],
        )
    ]
    if "rtnb-audio" in results:
        on = results["rtnb-audio"]
        rows.append(
            Row(
                BENCH,
                f"rtnb growth over {label}, history_store_audio on",
                growth("rtnb-audio"),
                "MB",
                note=f"history holds {on['history_audio_bytes'] / MB:.1f} MB of PCM16",
                runs=[(s - on["baseline"]) / MB for s in on["samples"]],
            )
        )
        traced = _run_child("rtnb-audio", 0.25, trace=True)
        rows.append(
            Row(
                BENCH,
                "rtnb Python heap after 15 min, audio on: live / peak",
                traced["traced_current"] / MB,
                "MB",
                note=f"peak {traced['traced_peak'] / MB:.0f} MB (tracemalloc; "
                f"history audio {traced['history_audio_bytes'] / MB:.1f} MB)",
            )
        )
    else:
        rows.append(
            Row(
                BENCH,
                f"rtnb growth over {label}, history_store_audio on",
                None,
                "MB",
                note="not measured: this rtnb has no history_store_audio (history keeps no audio)",
            )
        )
    rows += [
        Row(
            BENCH,
            f"raw assistant PCM16 in {label} (scale for 'on')",
            audio_mb * repetitions,
            "MB",
            note=f"{repetitions} x {meta['conversation_s']:.0f} s of recorded conversation",
        ),
        Row(
            BENCH,
            f"openai-agents growth over {label}",
            growth("agents"),
            "MB",
            note=f"{results['agents']['history_items']} items",
            runs=[(s - results["agents"]["baseline"]) / MB for s in results["agents"]["samples"]],
        ),
    ]
    for name, title in (("rtnb", "rtnb"), ("agents", "openai-agents")):
        r = results[name]
        rows.append(
            Row(
                BENCH,
                f"{title} events/s over the {label} replay",
                r["events"] / r["seconds"],
                "events/s",
                note="context: history grows to the end; tool calls included",
            )
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", required=True, choices=["rtnb", "rtnb-audio", "agents"])
    parser.add_argument("--hours", type=float, default=1.0)
    parser.add_argument("--trace", action="store_true", help="also trace the Python heap")
    args = parser.parse_args()
    import logging

    logging.getLogger("rtnb").setLevel(logging.ERROR)
    from bench.record import load_lines, stream_meta

    meta = stream_meta()
    repetitions = math.ceil(args.hours * HOUR_S / meta["conversation_s"])
    lines = load_lines()
    result = asyncio.run(_child(args.child, lines, repetitions, args.trace))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
