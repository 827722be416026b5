"""LoopBridge (thread-safe handoff to the event loop) and Throttle (rate limiting)."""

from __future__ import annotations

import asyncio
import logging
import threading

import pytest

from rtnb.widgets._bridge import LoopBridge, Throttle

from .conftest import from_thread


async def test_calls_from_another_thread_run_on_the_loop_thread() -> None:
    bridge = LoopBridge()
    ran: list[tuple[str, int]] = []
    done = asyncio.Event()

    def record(value: int) -> None:
        ran.append((threading.current_thread().name, value))
        done.set()

    from_thread(bridge.call, record, 7)
    assert ran == []  # handed over, not run on the calling thread
    await asyncio.wait_for(done.wait(), 5)
    assert ran == [(threading.current_thread().name, 7)]


async def test_calls_on_the_loop_thread_run_at_once() -> None:
    ran: list[int] = []
    LoopBridge().call(ran.append, 1)
    assert ran == [1]


async def test_failures_are_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    def fail() -> None:
        raise RuntimeError("boom")

    with caplog.at_level(logging.ERROR, logger="rtnb.widgets"):
        LoopBridge().call(fail)
    assert "boom" in caplog.text


async def test_spawn_starts_a_task_from_another_thread() -> None:
    done = asyncio.Event()

    async def work() -> None:
        done.set()

    from_thread(LoopBridge().spawn, work, "test-task")
    await asyncio.wait_for(done.wait(), 5)


async def test_throttle_merges_triggers_and_spaces_calls() -> None:
    loop = asyncio.get_running_loop()
    times: list[float] = []
    called = asyncio.Event()

    def fire() -> None:
        times.append(loop.time())
        called.set()

    throttle = Throttle(fire, 0.05, loop)
    for _ in range(100):
        throttle.trigger()
    await asyncio.wait_for(called.wait(), 5)
    assert throttle.calls == 1
    called.clear()
    for _ in range(100):
        throttle.trigger()
    await asyncio.wait_for(called.wait(), 5)
    assert throttle.calls == 2
    assert times[1] - times[0] >= 0.05 - 1e-3


async def test_throttle_flush_and_cancel() -> None:
    loop = asyncio.get_running_loop()
    calls: list[int] = []
    throttle = Throttle(lambda: calls.append(1), 10.0, loop)
    throttle.trigger()
    await asyncio.sleep(0)  # the first call is scheduled at once
    assert calls == [1]
    throttle.trigger()  # now waits 10 s
    throttle.flush()
    assert calls == [1, 1]
    throttle.trigger()
    throttle.cancel()
    throttle.flush()
    assert calls == [1, 1]
