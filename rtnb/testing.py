"""Test helpers: an in-memory transport scripted by the test.

:class:`ScriptedTransport` implements the :class:`rtnb.transport.Transport` protocol without a
socket. The test pushes server events into it and reads (or waits for) the client events the
session sent::

    transport = ScriptedTransport()
    session = RealtimeSession(agent, transport=transport)
    await session.connect()
    transport.push({"type": "response.created", "event_id": "event_1", "response": {...}})
    await transport.settle()                      # the session has handled everything pushed
    update = await transport.wait_for_sent("session.update")
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator, Callable
from typing import Any

from rtnb.protocol.events import (
    SERVER_EVENT_FIELDS,
    Event,
    ProtocolError,
    check_event,
    decode_server_event,
    new_id,
)

_END = object()


class ScriptedTransportError(ConnectionError):
    """Raised by :meth:`ScriptedTransport.send` once the connection is closed or failed."""


class ScriptedTransport:
    """An in-memory :class:`~rtnb.transport.Transport` driven by a test.

    Pushed events are checked like the WebSocket transport checks decoded messages: an event with
    an unknown ``type`` or a missing required field reaches the session as a
    :class:`~rtnb.protocol.events.ProtocolError`.

    It also implements :class:`~rtnb.transport.base.Mutable` (``muted``/``set_muted``), so
    sessions on it support ``mute()``.
    """

    def __init__(self, *, backend: str = "scripted", send_session_created: bool = True) -> None:
        self.backend = backend
        self.sent: list[Event] = []
        self.connected = False
        self.closed = False
        self.fail_send: BaseException | None = None
        self.muted = False
        self._send_session_created = send_session_created
        self._incoming: asyncio.Queue[Any] = asyncio.Queue()
        self._idle = asyncio.Event()
        self._idle.set()
        self._sent_changed = asyncio.Condition()

    def __repr__(self) -> str:
        return f"ScriptedTransport(sent={len(self.sent)}, connected={self.connected})"

    # Transport protocol ------------------------------------------------------------

    async def connect(self) -> None:
        """Mark the transport connected; push ``session.created`` like a real server."""
        self.connected = True
        if self._send_session_created:
            self.push(
                {
                    "type": "session.created",
                    "event_id": new_id("event"),
                    "session": {"type": "realtime", "object": "realtime.session"},
                }
            )

    async def send(self, event: Event) -> None:
        """Record a client event (a deep copy)."""
        if self.fail_send is not None:
            raise self.fail_send
        if self.closed:
            raise ScriptedTransportError("scripted transport is closed")
        self.sent.append(copy.deepcopy(event))
        async with self._sent_changed:
            self._sent_changed.notify_all()

    async def receive(self) -> AsyncIterator[Event | ProtocolError]:
        """Yield pushed events until :meth:`disconnect` or :meth:`close`."""
        while True:
            if self._incoming.empty():
                self._idle.set()
            item = await self._incoming.get()
            if item is _END:
                self._idle.set()
                return
            if isinstance(item, BaseException) and not isinstance(item, ProtocolError):
                self._idle.set()
                raise item
            yield item

    async def close(self) -> None:
        """Close the transport (idempotent)."""
        if not self.closed:
            self.closed = True
            self.connected = False
            self._incoming.put_nowait(_END)

    def set_muted(self, muted: bool) -> None:
        """Mute or unmute the audio input (:class:`~rtnb.transport.base.Mutable`)."""
        self.muted = muted

    # Scripting -------------------------------------------------------------------

    def push(self, event: Event) -> None:
        """Queue a server event (``event_id`` added if missing)."""
        event = {"event_id": new_id("event"), **event}
        try:
            item: Any = check_event(event, SERVER_EVENT_FIELDS, "server")
        except ProtocolError as exc:
            item = exc
        self._put(item)

    def push_raw(self, data: str | bytes) -> None:
        """Queue a raw message, decoded like the WebSocket transport decodes one."""
        try:
            item: Any = decode_server_event(data)
        except ProtocolError as exc:
            item = exc
        self._put(item)

    def disconnect(self) -> None:
        """End ``receive()`` as if the server closed the connection."""
        self._put(_END)

    def fail(self, error: BaseException) -> None:
        """Make ``receive()`` raise ``error`` (a lost connection)."""
        self._put(error)

    async def settle(self, timeout: float = 2.0) -> None:
        """Wait until the session has handled every pushed event."""
        await asyncio.wait_for(self._idle.wait(), timeout)

    def sent_of_type(self, kind: str) -> list[Event]:
        """Client events of one type, in the order sent."""
        return [event for event in self.sent if event.get("type") == kind]

    async def wait_for_sent(
        self,
        kind: str,
        *,
        count: int = 1,
        where: Callable[[Event], bool] | None = None,
        timeout: float = 2.0,
    ) -> Event:
        """Wait until ``count`` events of type ``kind`` (matching ``where``) were sent; return
        the ``count``-th one."""

        def matches() -> list[Event]:
            return [e for e in self.sent_of_type(kind) if where is None or where(e)]

        async def wait() -> Event:
            async with self._sent_changed:
                await self._sent_changed.wait_for(lambda: len(matches()) >= count)
            return matches()[count - 1]

        return await asyncio.wait_for(wait(), timeout)

    def _put(self, item: Any) -> None:
        self._idle.clear()
        self._incoming.put_nowait(item)
