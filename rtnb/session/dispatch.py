"""Delivery of session events to handlers and async iterators.

Events are queued and delivered in order by one background task, so a slow or failing handler
never blocks the session's receive loop. Sync handlers are called, async handlers awaited; an
exception in a handler is logged and delivery goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar, overload

from .events import EVENT_NAMES, SessionEvent

log = logging.getLogger("rtnb.session")

Handler = Callable[[Any], None] | Callable[[Any], Awaitable[None]]
H = TypeVar("H", bound=Callable[..., Any])


def check_event_name(name: str) -> None:
    """Raise :class:`ValueError` naming ``name`` if it is not a session event name."""
    if name not in EVENT_NAMES:
        raise ValueError(
            f"unknown session event name {name!r}; expected one of {', '.join(sorted(EVENT_NAMES))}"
        )


class EventDispatcher:
    """Handler registry, ordered delivery task and event streams of one session."""

    def __init__(self) -> None:
        self._handlers: dict[str, list[Handler]] = {name: [] for name in EVENT_NAMES}
        self._queue: asyncio.Queue[SessionEvent | None] = asyncio.Queue()
        self._streams: list[asyncio.Queue[SessionEvent | None]] = []
        self._task: asyncio.Task[None] | None = None
        self._ended = False

    @overload
    def on(self, name: str, handler: H) -> H: ...

    @overload
    def on(self, name: str, handler: None = None) -> Callable[[H], H]: ...

    def on(self, name: str, handler: H | None = None) -> H | Callable[[H], H]:
        """Register ``handler`` for ``name``; without a handler, return a decorator."""
        check_event_name(name)
        if handler is None:

            def decorator(func: H) -> H:
                self._handlers[name].append(func)
                return func

            return decorator
        self._handlers[name].append(handler)
        return handler

    def off(self, name: str, handler: Handler) -> None:
        """Unregister ``handler`` (no error if it was not registered)."""
        check_event_name(name)
        with contextlib.suppress(ValueError):
            self._handlers[name].remove(handler)

    def wants(self, name: str) -> bool:
        """True if an event called ``name`` would reach anyone (lets callers skip building it)."""
        return bool(self._handlers[name] or self._streams)

    def emit(self, event: SessionEvent) -> None:
        """Queue ``event`` for its handlers and every open stream."""
        if self._handlers[event.type]:
            self._queue.put_nowait(event)
        for stream in self._streams:
            stream.put_nowait(event)

    def start(self) -> None:
        """Start the delivery task on the running loop (once)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name="rtnb-session-events"
            )

    async def stop(self, timeout: float = 5.0) -> None:
        """Deliver what is queued (up to ``timeout`` seconds), then stop the delivery task."""
        self.end_streams()
        task, self._task = self._task, None
        if task is None:
            return
        self._queue.put_nowait(None)
        if task is asyncio.current_task():
            return  # close() called from a handler: the task ends after this handler
        try:
            await asyncio.wait_for(asyncio.shield(task), timeout)
        except asyncio.TimeoutError:
            log.warning("session event handlers still running after %.1f s; cancelling", timeout)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def end_streams(self) -> None:
        """End every iterator returned by :meth:`stream` (and any made later)."""
        self._ended = True
        for stream in self._streams:
            stream.put_nowait(None)
        self._streams.clear()

    def resume_streams(self) -> None:
        """Let :meth:`stream` make live iterators again (after a reconnect)."""
        self._ended = False

    def stream(self) -> AsyncIterator[SessionEvent]:
        """An iterator over every event emitted from now on, until :meth:`end_streams`."""
        queue: asyncio.Queue[SessionEvent | None] = asyncio.Queue()
        if self._ended:
            queue.put_nowait(None)
        else:
            self._streams.append(queue)
        return self._drain(queue)

    async def _drain(
        self, queue: asyncio.Queue[SessionEvent | None]
    ) -> AsyncIterator[SessionEvent]:
        try:
            while (event := await queue.get()) is not None:
                yield event
        finally:
            with contextlib.suppress(ValueError):
                self._streams.remove(queue)

    async def _run(self) -> None:
        while (event := await self._queue.get()) is not None:
            for handler in list(self._handlers[event.type]):
                try:
                    result = handler(event)
                    if inspect.isawaitable(result):
                        await result
                except Exception:
                    log.exception("session %r handler %r failed", event.type, handler)
