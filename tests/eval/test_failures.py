"""A failing run never kills the suite: timeouts, crashing tools and agents, Ctrl-C."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from rtnb.eval import RunResult, run

from .conftest import suite

pytestmark = pytest.mark.timeout(300)


async def test_timeout_and_crashing_tool_are_failed_runs(shop: dict[str, Any]) -> None:
    results = await run(
        suite(
            shop,
            {
                "name": "hangs",
                "timeout_s": 3,
                "turns": [{"type": "Please track my parcel"}, {"type": "Hello"}],
            },
            {"name": "crashes", "turns": [{"type": "Check the stock of the product lamp"}]},
            {"name": "fine", "turns": [{"type": "What is the weather in Rome?"}]},
        ),
        progress=False,
    )
    frame = results.frame.set_index("scenario")
    assert frame.loc["hangs", "status"] == "timeout"
    assert frame.loc["hangs", "error"] == "no end after 3 s, in turn 0 (type)"
    assert frame.loc["hangs", "failures"].startswith("timeout: no end after 3 s")
    assert frame.loc["crashes", "status"] == "error"
    assert frame.loc["crashes", "error"] == (
        "Error running tool 'check_stock': RuntimeError: the stock database is down"
    )
    assert frame.loc["fine", "status"] == "passed"
    assert frame["passed"].tolist() == [False, False, True]


async def test_crashing_agent_factory_fails_its_run_only(shop: dict[str, Any]) -> None:
    # The factory runs once to check the suite, then once per run; every other call raises.
    results = await run(
        suite(
            shop,
            {"name": "first", "turns": [{"type": "Hello"}]},
            {"name": "second", "turns": [{"type": "Hello"}]},
            agent="shop_agents:flaky_agent",
        ),
        concurrency=1,
        progress=False,
    )
    statuses = results.frame.set_index("scenario")["status"].to_dict()
    assert statuses == {"first": "error", "second": "passed"}
    assert results.frame["error"][0] == "RuntimeError: the agent's configuration could not be read"


async def test_stop_keeps_the_finished_runs(shop: dict[str, Any]) -> None:
    stop = asyncio.Event()

    def first_done(_result: RunResult) -> None:
        stop.set()

    scenarios = [{"name": f"hello {i}", "turns": [{"type": "Hello"}]} for i in range(6)]
    results = await run(
        suite(shop, *scenarios),
        concurrency=1,
        progress=False,
        stop=stop,
        on_result=first_done,
    )
    assert results.interrupted
    assert 1 <= len(results) < 6
    assert all(r.status == "passed" for r in results.runs)
    assert "interrupted" in repr(results)
