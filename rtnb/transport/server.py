"""WebSocket server loop: hands each connection's messages to a protocol handler.

The handler does the protocol work; this module only accepts connections (loopback, same-origin
and token checks), reads messages and writes events back.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

import websockets
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.http11 import Request, Response
from websockets.typing import Origin

from rtnb.protocol.events import Event, encode
from rtnb.transport.redaction import redacting_logger

log = logging.getLogger("rtnb.server")

# How a connection handler writes a server event to its client (every part of the local server
# that sends events takes one).
Send = Callable[[Event], Awaitable[None]]
# How those parts run background work: as a task the connection owns and cancels when it closes.
Spawn = Callable[[Awaitable[Any]], "asyncio.Task[Any]"]

REALTIME_PATH = "/v1/realtime"
# Frames above the application limit get an `error` event; this hard cap only protects memory.
MAX_FRAME_BYTES = 64 * 1024 * 1024


class ConnectionHandler(Protocol):
    """Protocol logic for one connection."""

    async def start(self) -> None:
        """Called once the connection is open (send ``session.created`` here)."""
        ...

    async def handle(self, message: str | bytes) -> None:
        """Handle one incoming message."""
        ...

    async def aclose(self) -> None:
        """Release resources when the connection ends."""
        ...


HandlerFactory = Callable[[Send, Request], ConnectionHandler]


def _check_request(token: str | None) -> Callable[[ServerConnection, Request], Response | None]:
    def process_request(connection: ServerConnection, request: Request) -> Response | None:
        url = urlsplit(request.path)
        if url.path.rstrip("/") != REALTIME_PATH:
            return connection.respond(HTTPStatus.NOT_FOUND, f"use {REALTIME_PATH}\n")
        if token is not None:
            presented = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
            presented = presented or parse_qs(url.query).get("token", [""])[0]
            if not hmac.compare_digest(presented.encode(), token.encode()):
                return connection.respond(HTTPStatus.UNAUTHORIZED, "invalid token\n")
        return None

    return process_request


async def serve_realtime(
    handler_factory: HandlerFactory,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    token: str | None = None,
    allowed_origins: list[str] | None = None,
) -> Server:
    """Start serving the Realtime protocol at ``ws://host:port/v1/realtime``.

    Connections carrying an ``Origin`` header (browsers) are refused unless listed in
    ``allowed_origins``. With ``token``, clients must send it as ``Authorization: Bearer`` (any
    API key a client sends is otherwise ignored) or as ``?token=``.
    """

    async def run_connection(connection: ServerConnection) -> None:
        async def send(event: Event) -> None:
            with contextlib.suppress(websockets.exceptions.ConnectionClosed):
                await connection.send(encode(event))

        request = connection.request
        assert request is not None  # the opening handshake set it before this handler runs
        handler = handler_factory(send, request)
        try:
            await handler.start()
            async for message in connection:
                await handler.handle(message)
        except websockets.exceptions.ConnectionClosedError:
            pass
        finally:
            await handler.aclose()

    origins: list[Origin | None] = [None, *(Origin(o) for o in allowed_origins or [])]
    return await serve(
        run_connection,
        host,
        port,
        origins=origins,
        process_request=_check_request(token),
        max_size=MAX_FRAME_BYTES,
        compression=None,
        logger=redacting_logger("rtnb.server.websockets"),
    )
