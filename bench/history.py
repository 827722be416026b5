"""2. History scaling: cost of one transcript delta with 100, 1,000 and 10,000 items in history.

Through the public path: a :class:`~bench.replay.ReplayTransport` first fills the session's
history with N ``conversation.item.added`` events (user and assistant messages, every tenth a
function call) and announces an assistant item; then, timed, it delivers K
``response.output_audio_transcript.delta`` lines for that item (JSON decoding included) and the
clock stops when a ``history_updated`` handler has seen the K-th update (it reads the last item,
as a transcript view would). Sizes run alternately. A context row times a tool call (the tool
sees a copy of the history) the same way.
"""

from __future__ import annotations

import asyncio
import gc
import json
import time
from typing import Any

from bench.common import Row, check, median
from bench.replay import ReplayTransport, rtnb_agent

BENCH = "2 history"
SIZES = (100, 1_000, 10_000)


def prefill_lines(n: int) -> list[str]:
    lines = []
    for i in range(n):
        if i % 10 == 9:
            item: dict[str, Any] = {
                "id": f"item_{i}",
                "type": "function_call",
                "status": "completed",
                "call_id": f"call_{i}",
                "name": "get_weather",
                "arguments": '{"city": "Paris"}',
            }
        else:
            role = "user" if i % 2 == 0 else "assistant"
            kind = "input_audio" if role == "user" else "output_audio"
            item = {
                "id": f"item_{i}",
                "type": "message",
                "role": role,
                "status": "completed",
                "content": [{"type": kind, "transcript": f"Sentence number {i} of the talk."}],
            }
        lines.append(
            json.dumps({"type": "conversation.item.added", "event_id": f"e{i}", "item": item})
        )
    lines.append(
        json.dumps(
            {
                "type": "response.output_item.added",
                "event_id": "e_out",
                "response_id": "resp_x",
                "output_index": 0,
                "item": {
                    "id": "item_x",
                    "type": "message",
                    "role": "assistant",
                    "status": "in_progress",
                    "content": [],
                },
            }
        )
    )
    return lines


def delta_lines(k: int) -> list[str]:
    return [
        json.dumps(
            {
                "type": "response.output_audio_transcript.delta",
                "event_id": f"d{j}",
                "response_id": "resp_x",
                "item_id": "item_x",
                "output_index": 0,
                "content_index": 0,
                "delta": " word",
            }
        )
        for j in range(k)
    ]


def tool_call_lines(k: int) -> list[str]:
    return [
        json.dumps(
            {
                "type": "response.output_item.done",
                "event_id": f"t{j}",
                "response_id": "resp_x",
                "output_index": 1,
                "item": {
                    "id": f"item_call_{j}",
                    "type": "function_call",
                    "status": "completed",
                    "call_id": f"call_x{j}",
                    "name": "get_weather",
                    "arguments": '{"city": "Oslo"}',
                },
            }
        )
        for j in range(k)
    ]


async def per_event_seconds(n: int, timed_lines: list[str], session_event: str) -> float:
    """Seconds per timed line once the history holds ``n`` items."""
    from rtnb import RealtimeSession

    transport = ReplayTransport([prefill_lines(n), timed_lines])
    session = RealtimeSession(rtnb_agent(), transport=transport)
    state = {"counting": False, "seen": 0}
    done = asyncio.Event()
    target = len(timed_lines)

    def on_event(event: Any) -> None:
        if event.type == "history_updated":
            event.history[-1]  # what a transcript view reads
        if state["counting"]:
            state["seen"] += 1
            if state["seen"] == target:
                done.set()

    session.on(session_event, on_event)
    await session.connect()
    transport.go.set()
    await transport.phase_done.wait()
    await asyncio.sleep(0.05)  # let the prefill's session events drain
    gc.collect()
    state["counting"] = True
    start = time.perf_counter()
    transport.next_phase.set()
    await asyncio.wait_for(done.wait(), 120)
    seconds = time.perf_counter() - start
    assert len(session.history) >= n
    await session.close()
    return seconds / target


def run(quick: bool = False) -> list[Row]:
    rounds = 2 if quick else 5
    k = 1_000 if quick else 3_000
    deltas = delta_lines(k)
    calls = tool_call_lines(5)
    delta_us: dict[int, list[float]] = {n: [] for n in SIZES}
    tool_us: dict[int, list[float]] = {SIZES[0]: [], SIZES[-1]: []}
    for _ in range(rounds):
        for n in SIZES:
            seconds = asyncio.run(per_event_seconds(n, deltas, "history_updated"))
            delta_us[n].append(seconds * 1e6)
        if not quick and len(tool_us[SIZES[0]]) < 3:
            for n in tool_us:
                seconds = asyncio.run(per_event_seconds(n, calls, "agent_tool_end"))
                tool_us[n].append(seconds * 1e6)
    med = {n: median(v) for n, v in delta_us.items()}
    ratios = [b / a for a, b in zip(delta_us[SIZES[0]], delta_us[SIZES[-1]], strict=True)]
    ratio = median(ratios)
    rows = [
        Row(
            BENCH,
            "delta cost 10,000 / 100 items",
            ratio,
            "x",
            "<= 1.5",
            check(ratio, "<=", 1.5),
            f"{k} transcript deltas per run, JSON decoding included",
            ratios,
        )
    ]
    rows += [
        Row(BENCH, f"per transcript delta, {n:,} items", med[n], "us", runs=delta_us[n])
        for n in SIZES
    ]
    if not quick:
        small, large = (median(tool_us[n]) for n in tool_us)
        rows.append(
            Row(
                BENCH,
                "tool call cost 10,000 / 100 items",
                None if not small else large / small,
                "x",
                note=f"context: {small:.0f} vs {large:.0f} us per call (tools get a history copy)",
                runs=[b / a for a, b in zip(*tool_us.values(), strict=True)],
            )
        )
    return rows
