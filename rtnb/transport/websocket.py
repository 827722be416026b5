"""WebSocket client transport for the OpenAI Realtime API and the embedded local server."""

from __future__ import annotations

import inspect
import os
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

import websockets
from websockets.asyncio.client import ClientConnection, connect

from rtnb.protocol.events import Event, ProtocolError, decode_server_event, encode
from rtnb.transport.base import ApiKey, is_loopback_url
from rtnb.transport.redaction import redacting_logger

OPENAI_REALTIME_URL = "wss://api.openai.com/v1/realtime"


MAX_MESSAGE_BYTES = 64 * 1024 * 1024


class TransportError(ConnectionError):
    """Raised when the Realtime server cannot be reached or refuses the connection."""


def realtime_url(
    model: str | None = None, call_id: str | None = None, base: str = OPENAI_REALTIME_URL
) -> str:
    """The Realtime endpoint for a model (``?model=M``) or a SIP call (``?call_id=ID``)."""
    if call_id:
        return f"{base}?{urlencode({'call_id': call_id})}"
    if model:
        return f"{base}?{urlencode({'model': model})}"
    return base


async def resolve_api_key(api_key: ApiKey | None) -> str | None:
    """Return the key from a string or a (sync or async) callable, else ``OPENAI_API_KEY``."""
    if api_key is None:
        return os.environ.get("OPENAI_API_KEY") or None
    if isinstance(api_key, str):
        return api_key
    value = api_key()
    if inspect.isawaitable(value):
        value = await value
    if not isinstance(value, str):
        raise TypeError("api_key callable must return a str")
    return value


class WebSocketTransport:
    """Sends client events and yields server events over one WebSocket connection.

    The API key is resolved at :meth:`connect` and only ever placed in the ``Authorization``
    header; it is kept out of ``repr`` and error messages.
    """

    def __init__(
        self,
        url: str,
        *,
        api_key: ApiKey | None = None,
        backend: str = "openai",
        headers: dict[str, str] | None = None,
    ) -> None:
        self.url = url
        self.backend = backend
        self._api_key = api_key
        self._extra_headers = dict(headers or {})
        self._ws: ClientConnection | None = None

    def __repr__(self) -> str:
        state = "open" if self._ws is not None else "closed"
        return f"WebSocketTransport(url={self.url!r}, backend={self.backend!r}, {state})"

    async def connect(self) -> None:
        """Open the WebSocket, sending ``Authorization: Bearer`` when a key is available."""
        headers: dict[str, Any] = dict(self._extra_headers)
        key = await resolve_api_key(self._api_key)
        if key:
            headers["Authorization"] = f"Bearer {key}"
        try:
            self._ws = await connect(
                self.url,
                additional_headers=headers,
                max_size=MAX_MESSAGE_BYTES,
                open_timeout=20,
                compression=None,
                # An HTTP(S)_PROXY in the environment must not capture loopback connections.
                proxy=None if is_loopback_url(self.url) else True,
                logger=redacting_logger("rtnb.transport.websockets"),
            )
        except (OSError, websockets.exceptions.WebSocketException) as exc:
            # The message never carries the key: only the URL and the error's class/text.
            raise TransportError(f"cannot connect to {self.url}: {exc}") from None

    async def send(self, event: Event) -> None:
        """Send one client event as JSON text."""
        if self._ws is None:
            raise TransportError("transport is not connected")
        try:
            await self._ws.send(encode(event))
        except websockets.exceptions.ConnectionClosed as exc:
            raise TransportError(f"connection closed: {exc}") from None

    async def receive(self) -> AsyncIterator[Event | ProtocolError]:
        """Yield server events (or decoding errors) until the connection closes."""
        if self._ws is None:
            raise TransportError("transport is not connected")
        try:
            async for message in self._ws:
                try:
                    yield decode_server_event(message)
                except ProtocolError as exc:
                    yield exc
        except websockets.exceptions.ConnectionClosedError:
            return

    async def close(self) -> None:
        """Close the WebSocket (idempotent)."""
        ws, self._ws = self._ws, None
        if ws is not None:
            await ws.close()
