"""10. Evaluation throughput: a spoken suite on the embedded server, in process and on Ray.

A suite of 6 spoken scenarios (a tool question, a refund approved by the user, a greeting, two
turns, a barge-in) x 2 voices x clean / 20 dB white noise = 24 runs, each a fresh session on the
embedded server (Whisper, Silero, piper), audio not paced at real time. Measured: wall time of
the whole suite in process at concurrency 1 and 2, and on a local Ray with 2 actors (each with
its own warm server; Ray's start-up is not counted, the actors' warm-up is); and the simulated
conversation seconds (both sides' audio, :attr:`rtnb.eval.facts.RunFacts.conversation_s`) per
wall second, medians of 3 rounds (the order of the configurations rotates from round to
round). Target: >= 5 at concurrency 2 on 2 cores. Quick mode: concurrency 2, once.
"""

from __future__ import annotations

import asyncio
import logging
import statistics
import time
from typing import Any

from bench.common import Row, check

BENCH = "10 eval"
TARGET = 5.0
ROUNDS = 3
"""Each configuration runs the suite this many times (the median counts); quick: once."""
AGENT = "bench_eval_agent:agent"
AGENT_SOURCE = '''
from rtnb import RealtimeAgent, tool


@tool
def get_weather(city: str) -> str:
    """Get the weather forecast in a city."""
    return f"It is sunny and 22 degrees in {city}."


@tool(needs_approval=True)
def refund_order(order_id: int) -> str:
    """Refund an order by its number."""
    return f"Order {order_id} is refunded."


agent = RealtimeAgent(name="shop", instructions="Help.", tools=[get_weather, refund_order])
'''
LONG = "Tell me the weather forecast in " + "Paris and " * 5 + "Rome."
SCENARIOS: list[dict[str, Any]] = [
    {
        "name": "weather",
        "turns": [{"say": "What is the weather in Paris?"}],
        "expect": [{"tool": "get_weather"}, {"answer_contains": "sunny"}],
    },
    {
        "name": "forecast",
        "turns": [{"say": "Tell me the weather forecast in Tokyo."}],
        "expect": [{"tool": "get_weather"}],
    },
    {
        "name": "refund",
        "turns": [{"say": "Please refund order forty two."}, {"approve": "refund_order"}],
        "expect": [{"tool": "refund_order", "args": {"order_id": 42}}],
    },
    {
        "name": "greeting",
        "turns": [{"say": "Hello there."}],
        "expect": [{"no_tool": True}, {"answer_contains": "hello"}],
    },
    {
        "name": "two turns",
        "turns": [{"say": "What is the weather in Rome?"}, {"say": "Thank you."}],
        "expect": [{"tool": "get_weather"}, {"answer_contains": "welcome"}],
    },
    {
        "name": "barge-in",
        "turns": [{"say": LONG}, {"say": "Stop. Thank you.", "interrupt_after_ms": 400}],
        "expect": [{"answer_contains": "welcome"}],
    },
]


def suite(folder: str) -> dict[str, Any]:
    """The benchmark's suite (24 runs); the agent module is written to ``folder``."""
    from pathlib import Path

    from rtnb.eval import parse_suite

    Path(folder, "bench_eval_agent.py").write_text(AGENT_SOURCE, encoding="utf-8")
    data = {
        "agent": AGENT,
        "variants": {"voice": ["en-us+m3", "en-us+f2"], "noise_db": [None, 20]},
        "timeout_s": 120,
        "scenarios": SCENARIOS,
    }
    return parse_suite(data, base_dir=folder)


async def _measure(suite_: Any, concurrency: int, executor: str | None) -> tuple[float, Any]:
    from rtnb.eval import run

    start = time.perf_counter()
    results = await run(
        suite_, concurrency=concurrency, executor=executor, progress=False, backend="local"
    )
    return time.perf_counter() - start, results


def _rows(
    label: str, walls: list[float], conversation: float, note: str, target: bool
) -> list[Row]:
    rates = [conversation / wall for wall in walls]
    wall, rate = statistics.median(walls), statistics.median(rates)
    rows = [Row(BENCH, f"suite wall time, {label}", wall, "s", note=note, runs=walls)]
    rows.append(
        Row(
            BENCH,
            f"conversation s per wall s, {label}",
            rate,
            "x",
            target=f">= {TARGET:g}" if target else "",
            met=check(rate, ">=", TARGET) if target else None,
            note=note,
            runs=rates,
        )
    )
    return rows


def run(quick: bool = False) -> list[Row]:
    import tempfile

    logging.getLogger("rtnb").setLevel(logging.ERROR)
    configs = [("in process, concurrency 2", 2, None, True)]
    if not quick:
        configs.insert(0, ("in process, concurrency 1", 1, None, False))
        configs.append(("Ray, 2 actors", 2, "ray", False))
    walls: dict[str, list[float]] = {label: [] for label, *_ in configs}
    notes: dict[str, tuple[float, str]] = {}
    ray = None
    with tempfile.TemporaryDirectory(prefix="rtnb-bench-eval-") as folder:
        suite_ = suite(folder)
        # Warm-up: Whisper and the voices load once per process (not part of a suite's time).
        asyncio.run(_measure(_one_run(suite_), 1, None))
        if not quick:
            import ray

            ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        try:
            for round_ in range(1 if quick else ROUNDS):
                # A different order each round: a neighbour's load hits each in turn.
                for label, concurrency, executor, _ in configs[round_:] + configs[:round_]:
                    wall, results = asyncio.run(_measure(suite_, concurrency, executor))
                    walls[label].append(wall)
                    conversation = float(results.frame["duration_s"].sum())
                    passed = int(results.frame["passed"].sum())
                    notes[label] = (
                        conversation,
                        f"{len(results)} runs, {passed} passed, {conversation:.0f} s of "
                        f"conversation; median of {round_ + 1}",
                    )
        finally:
            if ray is not None:
                ray.shutdown()
    rows: list[Row] = []
    for label, _, _, target in configs:
        conversation, note = notes[label]
        rows += _rows(label, walls[label], conversation, note, target)
    return rows


def _one_run(suite_: Any) -> Any:
    from dataclasses import replace

    return replace(suite_, scenarios=suite_.scenarios[:1], variants={})
