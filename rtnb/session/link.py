"""The connection of a session: backend, transport, outgoing queue, reader and writer tasks.

Client events are queued by :meth:`Link.send` (bounded: see :mod:`rtnb.session.outgoing`) and
written in order by one writer task; a reader task hands every server event to ``on_event``.
:attr:`Link.state` (a :class:`~rtnb.session.lifecycle.ConnectionState`) is the one lifecycle
state every part reads. A lost connection (a failed send, the server closing, a read error) is
reported once: ``on_lost`` runs, then ``error`` and ``connection_change`` events are emitted.
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
from .lifecycle import ConnectionState, connection_status
from .outgoing import OutgoingQueue

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
        self.state = ConnectionState.NEW
        self.lost: BaseException | None = None
        """The error that ended the connection while ``CLOSED`` by a loss (``None`` otherwise)."""
        self.transport = transport
        self.local_server: Any = None  # rtnb.local.server.LocalServer
        self._local_token: str | None = None  # the bearer token local_server requires
        self._events = events
        self._on_event = on_event
        self._on_lost = on_lost
        self._injected_transport = transport is not None
        self._api_key = api_key
        self._url = url
        self._server_options = dict(server_options or {})
        self.outgoing = self._new_queue()
        self._reader: asyncio.Task[None] | None = None
        self._writer: asyncio.Task[None] | None = None

    @property
    def engines(self) -> dict[str, str]:
        """What the embedded server this link started runs; empty on other backends."""
        return dict(self.local_server.engines) if self.local_server is not None else {}

    @property
    def is_open(self) -> bool:
        """True while ``OPEN``: events are accepted for sending."""
        return self.state is ConnectionState.OPEN

    @property
    def status(self) -> ConnectionStatus:
        """The coarse status derived from :attr:`state` (what ``connection_change`` reports)."""
        return connection_status(self.state)

    def send(self, event: Event) -> None:
        """Queue a client event (dropped with a debug log when not open).

        Raises :class:`~rtnb.session.outgoing.OutgoingQueueFull` when the connection stopped
        draining and the queue holds its bound of control events.
        """
        if not self.is_open:
            log.debug("not connected; dropping %s", event.get("type"))
            return
        event.setdefault("event_id", new_id("event"))
        self.outgoing.put(event)

    async def connect(
        self, model: str, api_key: ApiKey | None, url: str | None, call_id: str | None
    ) -> None:
        """Open the transport and start the reader and writer; raises if it cannot connect.

        From ``NEW``, or ``CLOSED`` after :meth:`drop` (a reconnect); ``CONNECTING`` at once.
        """
        if self.state not in (ConnectionState.NEW, ConnectionState.CLOSED):
            raise RuntimeError(f"cannot connect a link that is {self.state.value}")
        self.lost = None
        self._set_state(ConnectionState.CONNECTING)
        transport = await self._open_transport(model, api_key, url, call_id)
        if not self._closed_while_connecting():
            await transport.connect()
        if self._closed_while_connecting():
            with contextlib.suppress(Exception):
                await transport.close()
            await self._stop_local_server()  # one started while close() ran is stopped here
            raise ConnectionError("the session was closed while it connected")
        self.transport = transport
        loop = asyncio.get_running_loop()
        self._writer = loop.create_task(self._write_loop(), name="rtnb-session-writer")
        self._reader = loop.create_task(self._read_loop(), name="rtnb-session-reader")
        self._set_state(ConnectionState.OPEN)

    def _closed_while_connecting(self) -> bool:
        # A method, not an inline check: close() may change the state across an await.
        return self.state is not ConnectionState.CONNECTING

    async def close(self) -> None:
        """Send what is queued, stop the reader, close the transport and the local server.

        ``CLOSING`` while it writes (from ``OPEN``), then ``CLOSED`` (from any state).
        """
        if self.state is ConnectionState.OPEN:
            self._set_state(ConnectionState.CLOSING)
        current = asyncio.current_task()
        if self._writer is not None and not self._writer.done():
            self.outgoing.end()  # send what is queued first
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
        self.lost = None
        self._set_state(ConnectionState.CLOSED)

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
        self.outgoing = self._new_queue()  # events queued for the lost connection are dropped

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

    def _new_queue(self) -> OutgoingQueue:
        return OutgoingQueue(lambda report: self._events.emit(ErrorEvent(report)))

    def _set_state(self, state: ConnectionState) -> None:
        """Move to ``state``; emits ``connection_change`` when the status changes (and ends the
        event streams when it becomes ``"disconnected"``)."""
        before, self.state = self.status, state
        self._announce(before)

    def _announce(self, before: ConnectionStatus) -> None:
        if self.status != before:
            self._events.emit(ConnectionChangeEvent(self.status))
            if self.status == "disconnected":
                self._events.end_streams()

    async def _stop_local_server(self) -> None:
        server, self.local_server, self._local_token = self.local_server, None, None
        if server is not None:
            try:
                await server.close()
            except Exception:
                log.exception("stopping the local server failed")

    async def _write_loop(self) -> None:
        assert self.transport is not None
        while (event := await self.outgoing.get()) is not None:
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
        if self.state is not ConnectionState.OPEN:
            return
        before = self.status
        self.state, self.lost = ConnectionState.CLOSED, error  # nothing is queued from now on
        log.warning("rtnb session disconnected: %s", error)
        self._on_lost()
        if self._writer is not None and self._writer is not asyncio.current_task():
            self._writer.cancel()
        self._events.emit(ErrorEvent(error))
        self._announce(before)  # after the error, as always
