"""Fixtures for the widgets' Python side: a session on a scripted transport, comm capture."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any

import anywidget  # noqa: F401  # a test dependency: missing, the tests fail (never skipped)
import pytest
import traitlets

from rtnb import RealtimeAgent, RealtimeSession, tool
from rtnb.testing import ScriptedTransport
from rtnb.widgets import _bridge


@tool
def get_weather(city: str) -> str:
    """Return the weather for a city."""
    return f"The weather in {city} is sunny."


class Sent:
    """Captures what a widget sends to the browser (its ``send``), with loop times and threads."""

    def __init__(self, widget: Any) -> None:
        self.messages: list[tuple[dict[str, Any], list[bytes]]] = []
        self.times: list[float] = []
        self.threads: set[str] = set()
        self.changed = asyncio.Event()
        widget.send = self._send

    def _send(self, content: dict[str, Any], buffers: Any = None) -> None:
        self.messages.append((content, [bytes(b) for b in buffers or []]))
        self.times.append(asyncio.get_running_loop().time())
        self.threads.add(threading.current_thread().name)
        self.changed.set()

    def of_type(self, kind: str) -> list[tuple[dict[str, Any], list[bytes]]]:
        return [m for m in self.messages if m[0].get("type") == kind]

    async def wait(self, condition: Callable[[], bool], timeout: float = 10.0) -> None:
        """Wait until ``condition()`` holds, re-checking after every message sent."""

        async def until() -> None:
            while not condition():
                self.changed.clear()
                await self.changed.wait()

        await asyncio.wait_for(until(), timeout)


def from_browser(widget: Any, content: dict[str, Any], buffers: Any = ()) -> None:
    """Deliver a custom message from the page to ``widget`` the way ipywidgets does for a comm
    message (every ``on_msg`` callback), whatever the widget calls its handler."""
    widget._handle_custom_msg(content, list(buffers))


def from_thread(fn: Callable[..., Any], *args: Any) -> None:
    """Call ``fn(*args)`` on another thread (as a kernel subshell would) and join it."""
    thread = threading.Thread(target=fn, args=args, name="subshell")
    thread.start()
    thread.join(5)


class Changes:
    """Wakes :func:`until`'s waiters when something a condition reads may have changed: a widget
    trait, or a call the widgets' loop bridge ran on the loop (see :func:`watch_changes`)."""

    def __init__(self) -> None:
        self.waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()

    def notify(self) -> None:
        """Wake every waiter, from any thread."""
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        for loop, changed in list(self.waiters):
            if loop is running:
                changed.set()
            elif not loop.is_closed():
                loop.call_soon_threadsafe(changed.set)


CHANGES = Changes()
# State no watched path changes (e.g. a transcript's text, updated by a session-event handler
# that sends to the page) is re-checked this often.
RECHECK_S = 0.01


@pytest.fixture(autouse=True)
def watch_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every trait change and every call the loop bridge runs wakes :func:`until`."""
    notify_change = traitlets.HasTraits.notify_change
    guarded = _bridge._guarded

    def notify_and_wake(self: traitlets.HasTraits, change: Any) -> None:
        notify_change(self, change)
        CHANGES.notify()

    def guarded_and_wake(fn: Callable[..., Any], *args: Any) -> None:
        guarded(fn, *args)
        CHANGES.notify()

    monkeypatch.setattr(traitlets.HasTraits, "notify_change", notify_and_wake)
    monkeypatch.setattr(_bridge, "_guarded", guarded_and_wake)


async def until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Wait for a condition that other tasks (or threads) make true: checked again whenever
    :data:`CHANGES` says something changed, at the latest after :data:`RECHECK_S`."""
    changed = asyncio.Event()
    waiter = (asyncio.get_running_loop(), changed)

    async def check() -> None:
        while True:
            changed.clear()
            if condition():
                return
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(changed.wait(), RECHECK_S)

    CHANGES.waiters.add(waiter)
    try:
        await asyncio.wait_for(check(), timeout)
    finally:
        CHANGES.waiters.discard(waiter)


@pytest.fixture
def agent() -> RealtimeAgent:
    return RealtimeAgent(name="Weather assistant", tools=[get_weather])


@pytest.fixture
async def scripted(
    agent: RealtimeAgent,
) -> AsyncIterator[tuple[RealtimeSession, ScriptedTransport]]:
    transport = ScriptedTransport()
    session = RealtimeSession(agent, transport=transport)
    yield session, transport
    await session.close()
