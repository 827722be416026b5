"""The connection of a session: backend, transport, outgoing queue, reader and writer tasks.

Client events are queued by :meth:`Link.send` and written in order by one writer task; a reader
task hands every server event to ``on_event``. A lost connection (a failed send, the server
closing, a read error) is reported once: ``on_lost`` runs, then ``error`` and
``connection_change`` events are emitted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from typing import Any

from rtnb.protocol.events import Event, ProtocolError, new_id
from rtnb.transport.base import ApiKey, Transport

from .backend import open_backend
from .dispatch import EventDispatcher
from .events import ConnectionChangeEvent, ConnectionStatus, ErrorEvent

log = logging.getLogger("rtnb.session")


class Link:
    """Opens, feeds, watches and closes the connection to a Realtime server."""

    def __init__(
        self,
        events: EventDispatcher,
        *,
        on_event: Callable[[Event], None],
        on_lost: Callable[[], None],
        transport: Transport | None = None,
        api_key: ApiKey | None = None,
        url: str | None = None,
        server_options: Mapping[str, Any] | None = None,
    ) -> None:
        self.backend: str | None = getattr(transport, "backend", None)
        self.status: ConnectionStatus = "disconnected"
        self.transport = transport
        self.local_server: Any = None  # rtnb.local.server.LocalServer
        self._local_token: str | None = None  # the bearer token local_server requires
        self.is_open = False
        self._events = events
        self._on_event = on_event
        self._on_lost = on_lost
        self._injected_transport = transport is not None
        self._api_key = api_key
        self._url = url
        self._server_options = dict(server_options or {})
        self._outgoing: asyncio.Queue[Event | None] = asyncio.Queue()
        self._reader: asyncio.Task[None] | None = None
        self._writer: asyncio.Task[None] | None = None

    @property
    def engines(self) -> dict[str, str]:
        """What the embedded server this link started runs; empty on other backends."""
        return dict(self.local_server.engines) if self.local_server is not None else {}

    def send(self, event: Event) -> None:
        """Queue a client event (dropped with a debug log when not connected)."""
        if not self.is_open:
            log.debug("not connected; dropping %s", event.get("type"))
            return
        event.setdefault("event_id", new_id("event"))
        self._outgoing.put_nowait(event)

    def set_status(self, status: ConnectionStatus) -> None:
        """Change the status; emits ``connection_change`` (and ends the streams when down)."""
        if status != self.status:
            self.status = status
            self._events.emit(ConnectionChangeEvent(status))
            if status == "disconnected":
                self._events.end_streams()

    async def connect(
        self, model: str, api_key: ApiKey | None, url: str | None, call_id: str | None
    ) -> None:
        """Open the transport and start the reader and writer; raises if it cannot connect."""
        transport = await self._open_transport(model, api_key, url, call_id)
        await transport.connect()
        self.transport = transport
        self.is_open = True
        loop = asyncio.get_running_loop()
        self._writer = loop.create_task(self._write_loop(), name="rtnb-session-writer")
        self._reader = loop.create_task(self._read_loop(), name="rtnb-session-reader")

    async def close(self) -> None:
        """Send what is queued, stop the reader, close the transport and the local server."""
        self.is_open = False
        current = asyncio.current_task()
        if self._writer is not None and not self._writer.done():
            self._outgoing.put_nowait(None)  # send what is queued first
            # wait() never raises the task's outcome: it may have been cancelled by a lost
            # connection an instant ago, and close() must not raise that CancelledError.
            await asyncio.wait({self._writer}, timeout=2.0)
            self._writer.cancel()
        if self._reader is not None and self._reader is not current:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)
        if self.transport is not None and self._reader is not None:
            try:
                await self.transport.close()
            except Exception as exc:
                log.debug("closing the transport failed: %s", type(exc).__name__)
        await self._stop_local_server()

    async def drop(self) -> None:
        """Stop the reader and writer of a lost connection and close its transport."""
        for task in (self._reader, self._writer):
            if task is not None and not task.done():
                task.cancel()
        await asyncio.gather(
            *(t for t in (self._reader, self._writer) if t is not None), return_exceptions=True
        )
        self._reader = self._writer = None
        if self.transport is not None:
            with contextlib.suppress(Exception):
                await self.transport.close()
        if not self._injected_transport:
            self.transport = None
        self._outgoing = asyncio.Queue()  # events queued for the lost connection are dropped

    async def _open_transport(
        self, model: str, api_key: ApiKey | None, url: str | None, call_id: str | None
    ) -> Transport:
        if self.transport is not None:
            self.backend = getattr(self.transport, "backend", "custom")
            log.info("rtnb session using the injected %s transport", self.backend)
            return self.transport
        backend = await open_backend(
            model=model,
            api_key=api_key if api_key is not None else self._api_key,
            url=url or self._url,
            call_id=call_id,
            server_options=self._server_options,
            local_server=self.local_server,  # a reconnect reuses the server it started
            local_token=self._local_token,
        )
        self.backend, self.local_server = backend.name, backend.local_server
        self._local_token = backend.local_token
        return backend.transport

    async def _stop_local_server(self) -> None:
        server, self.local_server, self._local_token = self.local_server, None, None
        if server is not None:
            try:
                await server.close()
            except Exception:
                log.exception("stopping the local server failed")

    async def _write_loop(self) -> None:
        assert self.transport is not None
        while (event := await self._outgoing.get()) is not None:
            try:
                await self.transport.send(event)
            except Exception as exc:
                self._connection_lost(exc)
                return

    async def _read_loop(self) -> None:
        assert self.transport is not None
        error: BaseException | None = None
        try:
            async for message in self.transport.receive():
                if isinstance(message, ProtocolError):
                    self._events.emit(ErrorEvent(message))
                    continue
                try:
                    self._on_event(message)
                except ProtocolError as exc:  # well-formed but impossible here: report, go on
                    self._events.emit(ErrorEvent(exc))
                except Exception as exc:
                    log.exception("handling server event %r failed", message.get("type"))
                    self._events.emit(ErrorEvent(exc))
        except Exception as exc:
            error = exc
        self._connection_lost(error or ConnectionError("the server closed the connection"))

    def _connection_lost(self, error: BaseException) -> None:
        if not self.is_open:
            return
        self.is_open = False
        log.warning("rtnb session disconnected: %s", error)
        self._on_lost()
        if self._writer is not None and self._writer is not asyncio.current_task():
            self._writer.cancel()
        self._events.emit(ErrorEvent(error))
        self.set_status("disconnected")
