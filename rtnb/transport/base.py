"""The transport interface the session depends on (no WebSocket library here)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol, runtime_checkable

from rtnb.protocol.events import Event, ProtocolError


@runtime_checkable
class Transport(Protocol):
    """Moves wire events between a session and a Realtime server.

    ``receive()`` yields decoded server events, or a :class:`ProtocolError` for a message that
    could not be decoded (the session reports it and keeps going). It ends when the connection
    closes.
    """

    backend: str
    """Short name of what is on the other side: ``"openai"``, ``"local"``, ``"scripted"``..."""

    async def connect(self) -> None:
        """Open the connection."""
        ...

    async def send(self, event: Event) -> None:
        """Send one client event."""
        ...

    def receive(self) -> AsyncIterator[Event | ProtocolError]:
        """Iterate over server events until the connection closes."""
        ...

    async def close(self) -> None:
        """Close the connection; safe to call twice."""
        ...
