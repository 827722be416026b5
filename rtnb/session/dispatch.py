"""Delivery of session events to handlers and async iterators.

Events are delivered in order by one background task, so a slow or failing handler never blocks
the session's receive loop. Sync handlers are called, async handlers awaited; an exception in a
handler is logged and delivery goes on.

Each consumer (the handler task, every ``stream()``) has an :class:`Inbox`: ``emit`` appends the
event to the inboxes that want it, and a consumer that was idle is woken once; a woken consumer
takes every event waiting before it sleeps again. So an event makes one hop from the session's
reader to each consumer, and a burst of events costs one wake-up, not one queue round trip each.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections import deque
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


class Inbox:
    """Events waiting for one consumer, in order; ``None`` ends the consumer."""

    __slots__ = ("_waiter", "events")

    def __init__(self) -> None:
        self.events: deque[SessionEvent | None] = deque()
        self._waiter: asyncio.Future[None] | None = None

    def put(self, event: SessionEvent | None) -> None:
        """Append ``event`` and wake the consumer if it is waiting."""
        self.events.append(event)
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)

    async def wait(self) -> None:
        """Return once at least one event is waiting."""
        while not self.events:
            waiter = self._waiter = asyncio.get_running_loop().create_future()
            try:
                await waiter
            finally:
                self._waiter = None


class EventDispatcher:
    """Handler registry, ordered delivery task and event streams of one session."""

    def __init__(self) -> None:
        self._handlers: dict[str, list[Handler]] = {name: [] for name in EVENT_NAMES}
        self._inbox = Inbox()  # for the handler task
        self._streams: list[Inbox] = []
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
        """Hand ``event`` to its handlers and every open stream."""
        if self._handlers[event.type]:
            self._inbox.put(event)
        for stream in self._streams:
            stream.put(event)

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
        self._inbox.put(None)
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
            stream.put(None)
        self._streams.clear()

    def resume_streams(self) -> None:
        """Let :meth:`stream` make live iterators again (after a reconnect)."""
        self._ended = False

    def stream(self) -> AsyncIterator[SessionEvent]:
        """An iterator over every event emitted from now on, until :meth:`end_streams`."""
        inbox = Inbox()
        if self._ended:
            inbox.put(None)
        else:
            self._streams.append(inbox)
        return self._drain(inbox)

    async def _drain(self, inbox: Inbox) -> AsyncIterator[SessionEvent]:
        events = inbox.events
        try:
            while True:
                if not events:
                    await inbox.wait()
                event = events.popleft()
                if event is None:
                    return
                yield event
        finally:
            with contextlib.suppress(ValueError):
                self._streams.remove(inbox)

    async def _run(self) -> None:
        inbox = self._inbox
        events = inbox.events
        handlers = self._handlers
        while True:
            if not events:
                await inbox.wait()
            event = events.popleft()
            if event is None:
                return
            for handler in tuple(handlers[event.type]):  # a handler may call off()
                try:
                    result = handler(event)
                    if result is not None and inspect.isawaitable(result):
                        await result
                except Exception:
                    log.exception("session %r handler %r failed", event.type, handler)
