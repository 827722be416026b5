"""Thread-safe handoff from Jupyter comm handlers to the session's event loop, and throttling.

In JupyterLab 4.6 widget messages may be handled on a kernel subshell thread, not on the thread
running the asyncio loop the session lives on. Comm callbacks (``on_msg``, trait observers fed by
the browser, button clicks) therefore only hand their data to the loop with
:meth:`LoopBridge.call`; everything that touches the session or sends to the browser runs there.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger("rtnb.widgets")


def current_loop() -> asyncio.AbstractEventLoop:
    """The running event loop, else the thread's current loop (the kernel's, in a notebook)."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        pass
    try:
        return asyncio.get_event_loop_policy().get_event_loop()
    except RuntimeError as exc:
        raise RuntimeError(
            "rtnb widgets need the event loop the session runs on: create them in a notebook, "
            "inside a coroutine, or pass loop="
        ) from exc


class LoopBridge:
    """Runs callables on one event loop, whatever thread asks."""

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self.loop = loop or current_loop()

    def on_loop_thread(self) -> bool:
        """True when called from the thread that runs :attr:`loop` (inside the loop)."""
        try:
            return asyncio.get_running_loop() is self.loop
        except RuntimeError:
            return False

    def call(self, fn: Callable[..., Any], *args: Any) -> None:
        """Call ``fn(*args)`` on the loop: now if already there, else via ``call_soon_threadsafe``.

        Exceptions are logged, never raised into the comm machinery.
        """
        if self.on_loop_thread():
            _guarded(fn, *args)
        elif not self.loop.is_closed():
            self.loop.call_soon_threadsafe(_guarded, fn, *args)

    def spawn(self, coro_fn: Callable[[], Any], name: str) -> None:
        """Start ``coro_fn()`` as a task on the loop (from any thread); failures are logged."""

        def start() -> None:
            task = self.loop.create_task(coro_fn(), name=name)
            task.add_done_callback(_log_failure)

        self.call(start)


def _guarded(fn: Callable[..., Any], *args: Any) -> None:
    try:
        fn(*args)
    except Exception:
        log.exception("rtnb widget callback %r failed", fn)


def _log_failure(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("rtnb widget task %s failed", task.get_name(), exc_info=task.exception())


class Throttle:
    """Calls ``fn`` at most once per ``interval`` seconds, after the latest :meth:`trigger`.

    A trigger schedules one call (at once if the last call is old enough, else when the interval
    has passed); triggers in between are merged into it. Use on the loop thread.
    """

    def __init__(
        self, fn: Callable[[], Any], interval: float, loop: asyncio.AbstractEventLoop
    ) -> None:
        self.fn = fn
        self.interval = interval
        self.loop = loop
        self.calls = 0
        self._last = -float("inf")
        self._pending: asyncio.Handle | None = None

    def trigger(self) -> None:
        """Ask for a call; returns at once."""
        if self._pending is not None:
            return
        delay = self._last + self.interval - self.loop.time()
        if delay > 0:
            self._pending = self.loop.call_later(delay, self._fire)
        else:
            self._pending = self.loop.call_soon(self._fire)

    def flush(self) -> None:
        """Make a pending call now."""
        if self._pending is not None:
            self._pending.cancel()
            self._fire()

    def cancel(self) -> None:
        """Drop a pending call."""
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None

    def _fire(self) -> None:
        self._pending = None
        self.calls += 1
        try:
            _guarded(self.fn)
        finally:
            # Counted from the end of the call: a call slowed down by a busy machine still
            # leaves the whole interval before the next one starts.
            self._last = self.loop.time()
