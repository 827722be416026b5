"""1. Client event handling: the recorded local-server stream replayed into three consumers.

What is measured, per run, from the first line handed over to the end of the session (see
``bench/replay.py`` for the plumbing):

* floor: ``json.loads`` of every line in a bare loop (context: the same plus base64 decoding
  of the audio deltas, which any client that plays the audio must do).
* rtnb: ``decode_server_event`` (JSON + field checks) in a ``Transport.receive()``, the session's
  reader (response gate, history, audio bookkeeping, base64 decoding of audio deltas, tool-call
  tasks), and delivery of every session event to an application reading ``session.events()``.
  A second row has only ``audio`` and ``history_updated`` handlers (a typical notebook UI).
* openai-agents: its realtime model's listener (``json.loads``, pydantic validation, model
  events, base64 decoding of audio), its ``RealtimeSession`` (history, guardrail bookkeeping,
  tool-call tasks) and an application reading ``async for event in session``.

The systems run alternately, one replay each per round, in one process.
"""

from __future__ import annotations

import asyncio
import gc

from bench.common import Row, check, median
from bench.record import load_lines
from bench.replay import replay_agents, replay_json, replay_json_audio, replay_rtnb

BENCH = "1 events"


def run(quick: bool = False) -> list[Row]:
    lines = load_lines()
    rounds = 3 if quick else 9
    rates: dict[str, list[float]] = {
        "floor": [],
        "floor_audio": [],
        "rtnb": [],
        "rtnb_handlers": [],
        "agents": [],
    }
    checks: dict[str, tuple[int, int]] = {}

    def rtnb_stream() -> object:
        return asyncio.run(replay_rtnb(lines, mode="stream"))

    def rtnb_handlers() -> object:
        return asyncio.run(replay_rtnb(lines, mode="handlers"))

    def agents() -> object:
        return asyncio.run(replay_agents(lines))

    # one warm-up replay each (imports, pydantic schema building, first-call caches)
    rtnb_stream()
    agents()
    for _ in range(rounds):
        for name, func in (
            ("floor", lambda: replay_json(lines)),
            ("floor_audio", lambda: replay_json_audio(lines)),
            ("rtnb", rtnb_stream),
            ("rtnb_handlers", rtnb_handlers),
            ("agents", agents),
        ):
            gc.collect()
            result = func()
            rates[name].append(result.events_in / result.seconds)
            checks[name] = (result.history_items, result.errors)

    med = {name: median(values) for name, values in rates.items()}
    vs_agents = [r / a for r, a in zip(rates["rtnb"], rates["agents"], strict=True)]
    vs_floor = [f / r for r, f in zip(rates["rtnb"], rates["floor"], strict=True)]
    vs_floor_audio = [f / r for r, f in zip(rates["rtnb"], rates["floor_audio"], strict=True)]
    ratio_agents = median(vs_agents)
    ratio_floor = median(vs_floor)
    n = len(lines)
    history = f"history {checks['rtnb'][0]} items (agents {checks['agents'][0]})"
    return [
        Row(
            BENCH,
            "rtnb / openai-agents (events/s)",
            ratio_agents,
            "x",
            ">= 5",
            check(ratio_agents, ">=", 5),
            "rtnb reading session.events(); agents reading async for event in session",
            vs_agents,
        ),
        Row(
            BENCH,
            "floor / rtnb (time per event)",
            ratio_floor,
            "x",
            "<= 2",
            check(ratio_floor, "<=", 2),
            "floor = bare json.loads loop",
            vs_floor,
        ),
        Row(BENCH, "floor: json.loads loop", med["floor"], "events/s", runs=rates["floor"]),
        Row(
            BENCH,
            "floor + base64 decoding of audio deltas",
            med["floor_audio"],
            "events/s",
            note=f"context: floor+b64 / rtnb time per event = {median(vs_floor_audio):.2f} x",
            runs=rates["floor_audio"],
        ),
        Row(
            BENCH,
            "rtnb: session.events() reader",
            med["rtnb"],
            "events/s",
            note=f"{n} events; {history}",
            runs=rates["rtnb"],
        ),
        Row(
            BENCH,
            "rtnb: audio + history_updated handlers",
            med["rtnb_handlers"],
            "events/s",
            runs=rates["rtnb_handlers"],
        ),
        Row(
            BENCH,
            "openai-agents: async for event in session",
            med["agents"],
            "events/s",
            note=f"errors seen: rtnb {checks['rtnb'][1]}, agents {checks['agents'][1]}",
            runs=rates["agents"],
        ),
    ]
