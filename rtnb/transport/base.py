"""The transport interface the session depends on (no WebSocket library here)."""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Protocol, runtime_checkable
from urllib.parse import urlsplit

from rtnb.protocol.events import Event, ProtocolError

ApiKey = str | Callable[[], str] | Callable[[], Awaitable[str]]
"""An API key, or a sync/async callable returning one (fetched at connect time)."""


def is_loopback_host(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (``127.0.0.0/8``, ``::1``)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def is_loopback_url(url: str) -> bool:
    """True if ``url`` points at this machine."""
    return is_loopback_host(urlsplit(url).hostname or "")


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


@runtime_checkable
class Mutable(Protocol):
    """Optional transport capability: a transport that owns the audio input and can mute it.

    A session whose transport implements this supports ``session.mute()``; while muted the
    session drops the audio given to ``send_audio``.
    """

    @property
    def muted(self) -> bool:
        """True while the audio input is muted."""
        ...

    def set_muted(self, muted: bool) -> None:
        """Mute (True) or unmute (False) the audio input."""
        ...
