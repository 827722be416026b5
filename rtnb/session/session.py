"""RealtimeSession: one live conversation between an agent and a Realtime server.

The session runs on the caller's event loop as background tasks: a reader that applies server
events to the session state (history, response gate, audio bookkeeping) and emits session events,
a writer that sends client events in order from one queue, tool-call tasks, and the event
delivery task. The public sending methods are synchronous: they only queue events.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any, overload

from rtnb.protocol import client_events as ce
from rtnb.protocol.config import build_session_config, tracing_config
from rtnb.protocol.events import Event, ProtocolError, new_id
from rtnb.protocol.gate import ResponseGate
from rtnb.transport.base import ApiKey, Transport

from .agent import RealtimeAgent
from .approvals import ApprovalDecision, ToolApprovalItem, ToolErrorFormatter
from .backend import open_backend
from .dispatch import EventDispatcher, H
from .events import (
    ConnectionChangeEvent,
    ConnectionStatus,
    ErrorEvent,
    SessionEvent,
)
from .guardrails import OutputGuardrail, OutputGuardrailRunner, OutputGuardrailSettings
from .handlers import ServerEventHandlers
from .history import History
from .history_edit import HistoryEditing
from .items import HistoryItem
from .mcp_session import McpSessionSupport
from .mute import Muting
from .playback import PlaybackTracker
from .recovery import export_history, replay_events
from .switching import AgentSwitching
from .tool_runner import ToolRunner

log = logging.getLogger("rtnb.session")

DEFAULT_MODEL = "gpt-realtime"


class RealtimeSession(
    McpSessionSupport, ServerEventHandlers, AgentSwitching, HistoryEditing, Muting
):
    """A live voice/text conversation with a :class:`RealtimeAgent`.

    Example::

        session = RealtimeSession(agent, model="gpt-realtime")
        session.on("audio", lambda event: player.play(event.data))
        await session.connect()
        session.send_message("Hello, how are you?")
        ...
        await session.close()

    Backends, in order: an injected ``transport``; an explicit ``url``; the OpenAI API when an
    API key is given or ``OPENAI_API_KEY`` is set; else the embedded local server (started by
    :meth:`connect`, options from ``server_options``, stopped by :meth:`close`).

    ``context`` is any object of yours that tools see as ``ToolContext.context``.
    ``tool_error_formatter(args)`` writes the output sent for a rejected tool call (see
    :class:`~rtnb.session.approvals.ToolErrorFormatterArgs`); without it a default text is sent.

    ``output_guardrails`` check what the assistant says while it says it (with the agent's own
    ``output_guardrails``), as often as ``output_guardrail_settings`` asks (an
    :class:`OutputGuardrailSettings` or a dict of its fields); see :mod:`rtnb.session.guardrails`.

    ``session.agent`` is the agent answering now: handoffs and :meth:`update_agent` change it (see
    :mod:`rtnb.session.switching`); :meth:`update_history` edits the conversation; :meth:`mute`
    needs a transport that can mute. ``history_store_audio=True`` keeps audio bytes in history
    items (``ContentPart.audio``: the model's audio, cut where it was truncated, and the audio of
    user items that carry it; audio streamed with :meth:`send_audio` is not attached to items).
    ``tracing_disabled``, ``workflow_name``, ``group_id`` and ``trace_metadata`` set the wire
    ``tracing`` field (``null``; an object with the given fields; else ``"auto"``).
    Hosted MCP tools (:func:`~rtnb.session.mcp.hosted_mcp_tool`) are run by the server; the
    session tracks ``available_mcp_tools`` and, with
    ``automatically_trigger_response_for_mcp_tool_calls`` (default), asks for a response after
    each finished MCP call (see :mod:`rtnb.session.mcp_session`).
    """

    def __init__(
        self,
        agent: RealtimeAgent,
        *,
        model: str = DEFAULT_MODEL,
        config: Mapping[str, Any] | None = None,
        transport: Transport | None = None,
        api_key: ApiKey | None = None,
        url: str | None = None,
        server_options: Mapping[str, Any] | None = None,
        context: Any = None,
        tool_error_formatter: ToolErrorFormatter | None = None,
        output_guardrails: Sequence[OutputGuardrail] = (),
        output_guardrail_settings: OutputGuardrailSettings | Mapping[str, Any] | None = None,
        history_store_audio: bool = False,
        tracing_disabled: bool = False,
        workflow_name: str | None = None,
        group_id: str | None = None,
        trace_metadata: Mapping[str, Any] | None = None,
        automatically_trigger_response_for_mcp_tool_calls: bool = True,
    ) -> None:
        self._agent = agent
        self.model = model
        self.config: dict[str, Any] = dict(config or {})
        self.backend: str | None = getattr(transport, "backend", None)
        self.status: ConnectionStatus = "disconnected"
        self._transport = transport
        self._injected_transport = transport is not None
        self._api_key = api_key
        self._url = url
        self._server_options = dict(server_options or {})
        self._local_server: Any = None  # rtnb.local.server.LocalServer
        self._events = EventDispatcher()
        self._history = History(store_audio=history_store_audio)
        self._tracing = tracing_config(
            disabled=tracing_disabled,
            workflow_name=workflow_name,
            group_id=group_id,
            metadata=trace_metadata,
        )
        self.automatically_trigger_response_for_mcp_tool_calls = (
            automatically_trigger_response_for_mcp_tool_calls
        )
        self._gate = ResponseGate()
        self._playback = PlaybackTracker()
        self._tools = ToolRunner(self._emit, context=context, error_formatter=tool_error_formatter)
        self._guardrails = OutputGuardrailRunner(self, output_guardrails, output_guardrail_settings)
        self._wire_session: dict[str, Any] = {}
        self._outgoing: asyncio.Queue[Event | None] = asyncio.Queue()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._reader: asyncio.Task[None] | None = None
        self._writer: asyncio.Task[None] | None = None
        self._started_calls: set[str] = set()
        self._init_mcp()
        self._open = False
        self._used = False
        self._closed = False

    def __repr__(self) -> str:
        return (
            f"RealtimeSession(agent={self.agent.name!r}, model={self.model!r}, "
            f"backend={self.backend!r}, status={self.status!r})"
        )

    # ----------------------------------------------------------------- lifecycle

    async def connect(
        self,
        api_key: ApiKey | None = None,
        model: str | None = None,
        url: str | None = None,
        call_id: str | None = None,
    ) -> None:
        """Open the connection, start the background tasks and send ``session.update``.

        ``api_key`` may be a string or a (sync or async) callable returning one. Raises if the
        server cannot be reached (the message never contains the key). A session connects once.
        """
        if self._used:
            raise RuntimeError("a RealtimeSession connects once; create a new session")
        self._used = True
        self.model = model or self.model
        self._wire_session = build_session_config(
            self.config,
            model=self.model,
            instructions=self.agent.instructions,
            tools=self.agent.wire_tools(),
            voice=self.agent.voice,
            tracing=self._tracing,
        )
        self._events.start()
        self._events.resume_streams()
        self._set_status("connecting")
        try:
            transport = await self._open_transport(api_key, url, call_id)
            await transport.connect()
        except Exception as exc:
            self._emit(ErrorEvent(exc))
            await self.close()
            raise
        self._transport = transport
        self._open = True
        loop = asyncio.get_running_loop()
        self._writer = loop.create_task(self._write_loop(), name="rtnb-session-writer")
        self._reader = loop.create_task(self._read_loop(), name="rtnb-session-reader")
        self._send(ce.session_update(self._wire_session))
        self._set_status("connected")

    async def close(self) -> None:
        """Send what is queued, close the connection (and the local server), stop the tasks."""
        if self._closed:
            return
        self._closed = True
        self._open = False
        current = asyncio.current_task()
        for task in list(self._tasks):
            if task is not current:
                task.cancel()
        if self._writer is not None and not self._writer.done():
            self._outgoing.put_nowait(None)  # send what is queued first
            # wait() never raises the task's outcome: it may have been cancelled by a lost
            # connection an instant ago, and close() must not raise that CancelledError.
            await asyncio.wait({self._writer}, timeout=2.0)
            self._writer.cancel()
        if self._reader is not None and self._reader is not current:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)
        if self._transport is not None and self._reader is not None:
            try:
                await self._transport.close()
            except Exception as exc:
                log.debug("closing the transport failed: %s", type(exc).__name__)
        await self._stop_local_server()
        self._set_status("disconnected")
        await self._events.stop()

    async def __aenter__(self) -> RealtimeSession:
        await self.connect()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def reconnect(
        self,
        *,
        replay_history: bool = False,
        api_key: ApiKey | None = None,
        model: str | None = None,
        url: str | None = None,
        call_id: str | None = None,
    ) -> None:
        """Connect again after the connection was lost; the history is kept.

        The backend is chosen as in :meth:`connect` (a local server this session started is
        reused). The new server-side conversation starts empty: with ``replay_history=True``
        the words of the history are recreated in it (see
        :func:`~rtnb.session.recovery.replay_events`), so the model remembers the conversation.
        """
        if self._closed:
            raise RuntimeError("the session was closed; create a new session")
        if self._open:
            raise RuntimeError("the session is still connected")
        await self._drop_connection()
        self._used = False
        await self.connect(api_key=api_key, model=model, url=url, call_id=call_id)
        if replay_history:
            for event in replay_events(self._history.snapshot()):
                self._send(event)

    def widget(self, **options: Any) -> Any:
        """The notebook console for this session (needs the ``notebook`` extra).

        Same as ``rtnb.widgets.console(session, **options)``: display it in a cell.
        """
        from rtnb.widgets import console  # widgets are optional: imported on use

        return console(self, **options)

    def export_history(self, destination: str | Path | IO[str]) -> int:
        """Write the history as JSONL (one item a line, no audio bytes); return the item count.

        Works connected or not, e.g. to keep a conversation after the server went away.
        """
        return export_history(self._history.snapshot(), destination)

    async def _drop_connection(self) -> None:
        """Stop the reader and writer of a lost connection and close its transport."""
        for task in (self._reader, self._writer):
            if task is not None and not task.done():
                task.cancel()
        await asyncio.gather(
            *(t for t in (self._reader, self._writer) if t is not None), return_exceptions=True
        )
        self._reader = self._writer = None
        if self._transport is not None:
            with contextlib.suppress(Exception):
                await self._transport.close()
        if not self._injected_transport:
            self._transport = None
        self._outgoing = asyncio.Queue()  # events queued for the lost connection are dropped

    # ----------------------------------------------------------------- events

    @overload
    def on(self, name: str, handler: H) -> H: ...

    @overload
    def on(self, name: str, handler: None = None) -> Callable[[H], H]: ...

    def on(self, name: str, handler: H | None = None) -> H | Callable[[H], H]:
        """Call ``handler(event)`` for every event called ``name``; returns the handler.

        Without ``handler``, returns a decorator: ``@session.on("history_updated")``. Handlers may
        be sync or async; their exceptions are logged. Unknown names raise :class:`ValueError`.
        """
        return self._events.on(name, handler)

    def off(self, name: str, handler: Callable[..., Any]) -> None:
        """Stop calling ``handler`` for ``name``."""
        self._events.off(name, handler)

    def events(self) -> AsyncIterator[SessionEvent]:
        """Iterate over all session events from now on; ends when the session disconnects."""
        return self._events.stream()

    @property
    def history(self) -> list[HistoryItem]:
        """The conversation so far, in order (a new list of the live items)."""
        return list(self._history.snapshot())

    @property
    def connected(self) -> bool:
        """True while the connection is open."""
        return self._open

    @property
    def turn_detection(self) -> dict[str, Any] | None:
        """The input turn detection (``server_vad``/``semantic_vad`` settings), ``None`` when off:
        what the session asked for, then what the server last confirmed (``session.updated``)."""
        turn_detection = self._turn_detection()
        return dict(turn_detection) if isinstance(turn_detection, dict) else None

    # ----------------------------------------------------------------- sending

    def send_audio(self, pcm16: bytes | bytearray | memoryview, *, commit: bool = False) -> None:
        """Queue PCM16 (24 kHz mono) microphone audio; ``commit=True`` ends the user turn.

        Committing with turn detection switched off also asks for a response. While the session
        is muted (:meth:`mute`), the audio and the commit are dropped.
        """
        self._require_open()
        if self.muted:
            return
        data = bytes(pcm16)
        if len(data) % 2:
            raise ValueError("pcm16 audio needs an even number of bytes")
        if data:
            self._send(ce.append_audio(data))
        if commit:
            self._send(ce.commit_audio())
            if self._turn_detection() is None:
                self._request_response()

    def send_message(self, message: str | dict[str, Any]) -> None:
        """Add a user message (text, or a wire ``message`` item) and ask for a response."""
        self._require_open()
        event = ce.user_message(message) if isinstance(message, str) else ce.create_item(message)
        self._send(event)
        self._request_response()

    def send_event(self, event: dict[str, Any]) -> None:
        """Send a raw client event (``response.create`` goes through the response gate)."""
        self._require_open()
        if event.get("type") == "response.create":
            self._request_response(dict(event))
        else:
            self._send(dict(event))

    def interrupt(self) -> None:
        """Stop the model now: cancel the active response and cut the playing audio."""
        self._require_open()
        response_id = self._gate.active_response_id
        if response_id is not None:
            self._cancel_response(response_id)
        if not self._cut_playback():
            self._emit_interrupted(None, 0, None)

    def set_playback_position(self, item_id: str, ms: float, content_index: int = 0) -> None:
        """Report how many milliseconds of an item's audio the player has really played.

        Used to truncate the item where the user stopped hearing it when interrupted. Without a
        report, the session assumes all audio received so far was played.
        """
        self._playback.set_position(item_id, ms, content_index)

    # ----------------------------------------------------------------- tools

    @property
    def context(self) -> Any:
        """The ``context`` object given to the session (tools see it as ``ToolContext.context``)."""
        return self._tools.context

    @property
    def pending_approvals(self) -> list[ToolApprovalItem]:
        """Tool calls waiting for :meth:`approve` or :meth:`reject`, oldest first."""
        return self._tools.approvals.pending

    def approve(self, item: ToolApprovalItem, *, always_approve: bool = False) -> None:
        """Run a tool call that waits for approval (``ToolApprovalRequestedEvent.approval``).

        ``always_approve=True`` also approves every later call of this tool in this session.
        Raises :class:`ValueError` if ``item`` is not pending (unknown or already decided).
        Call it on the session's event loop.
        """
        self._tools.approvals.decide(item, ApprovalDecision(True), always=always_approve)

    def reject(
        self, item: ToolApprovalItem, *, always_reject: bool = False, message: str | None = None
    ) -> None:
        """Refuse a tool call that waits for approval; the model gets a rejection as its output.

        The output is ``message`` when given, else the session's ``tool_error_formatter`` text,
        else a default message. ``always_reject=True`` also rejects every later call of this
        tool in this session. Raises :class:`ValueError` if ``item`` is not pending.
        """
        self._tools.approvals.decide(item, ApprovalDecision(False, message), always=always_reject)

    # ----------------------------------------------------------------- internals

    def _require_open(self) -> None:
        if not self._open:
            raise RuntimeError(f"session is not connected (status: {self.status})")

    def _send(self, event: Event) -> None:
        if not self._open:
            log.debug("not connected; dropping %s", event.get("type"))
            return
        event.setdefault("event_id", new_id("event"))
        self._outgoing.put_nowait(event)

    def _cancel_response(self, response_id: str) -> None:
        """Cancel ``response_id`` if it is the active response; drop its late audio."""
        if response_id == self._gate.active_response_id:
            self._playback.interrupted_responses.add(response_id)
            self._send(ce.cancel_response(response_id))

    def _request_response(self, event: Event | None = None) -> None:
        for ready in self._gate.request(event or ce.create_response()):
            self._send(ready)

    def _emit(self, event: SessionEvent) -> None:
        self._events.emit(event)

    def _wants(self, name: str) -> bool:
        return self._events.wants(name)

    def _set_status(self, status: ConnectionStatus) -> None:
        if status != self.status:
            self.status = status
            self._emit(ConnectionChangeEvent(status))
            if status == "disconnected":
                self._events.end_streams()

    def _start_task(self, coro: Any, name: str) -> None:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _open_transport(
        self, api_key: ApiKey | None, url: str | None, call_id: str | None
    ) -> Transport:
        if self._transport is not None:
            self.backend = getattr(self._transport, "backend", "custom")
            log.info("rtnb session using the injected %s transport", self.backend)
            return self._transport
        backend = await open_backend(
            model=self.model,
            api_key=api_key if api_key is not None else self._api_key,
            url=url or self._url,
            call_id=call_id,
            server_options=self._server_options,
            local_server=self._local_server,  # a reconnect reuses the server it started
        )
        self.backend, self._local_server = backend.name, backend.local_server
        return backend.transport

    @property
    def engines(self) -> dict[str, str]:
        """What the embedded server this session started runs: speech-to-text, voice activity
        detection, text-to-speech and policy (e.g. ``{"stt": "whisper (tiny.en)", ...}``); empty
        on other backends."""
        return dict(self._local_server.engines) if self._local_server is not None else {}

    async def _stop_local_server(self) -> None:
        server, self._local_server = self._local_server, None
        if server is not None:
            try:
                await server.close()
            except Exception:
                log.exception("stopping the local server failed")

    async def _write_loop(self) -> None:
        assert self._transport is not None
        while (event := await self._outgoing.get()) is not None:
            try:
                await self._transport.send(event)
            except Exception as exc:
                self._connection_lost(exc)
                return

    async def _read_loop(self) -> None:
        assert self._transport is not None
        error: BaseException | None = None
        try:
            async for message in self._transport.receive():
                if isinstance(message, ProtocolError):
                    self._emit(ErrorEvent(message))
                    continue
                try:
                    self._on_server_event(message)
                except ProtocolError as exc:  # well-formed but impossible here: report, go on
                    self._emit(ErrorEvent(exc))
                except Exception as exc:
                    log.exception("handling server event %r failed", message.get("type"))
                    self._emit(ErrorEvent(exc))
        except Exception as exc:
            error = exc
        self._connection_lost(error or ConnectionError("the server closed the connection"))

    def _connection_lost(self, error: BaseException) -> None:
        if not self._open:
            return
        self._open = False
        log.warning("rtnb session disconnected: %s", error)
        self._gate.reset()
        if self._writer is not None and self._writer is not asyncio.current_task():
            self._writer.cancel()
        self._emit(ErrorEvent(error))
        self._set_status("disconnected")

    def _start_tool_call(self, call_id: str | None, name: str, arguments: str) -> None:
        if not call_id or call_id in self._started_calls:
            return
        self._started_calls.add(call_id)
        handoff = self.agent.get_handoff(name)  # calls resolve against the current agent
        if handoff is not None:
            self._handoff(call_id, handoff)
            return
        self._start_task(self._run_tool(call_id, name, arguments), f"rtnb-tool-{name}")

    async def _run_tool(self, call_id: str, name: str, arguments: str) -> None:
        output = await self._tools.run(self.agent, call_id, name, arguments, self._history)
        if output is None:
            return  # timed out with timeout_behavior="raise_exception": no output is sent
        self._send_tool_output(call_id, output.text, respond=not output.background)

    def _send_tool_output(self, call_id: str, output: str, *, respond: bool = True) -> None:
        """Record a call's output, send it, and (``respond``) ask for a response."""
        if self._history.set_tool_output(call_id, output) is not None:
            self._history_updated()
        self._send(ce.function_call_output(call_id, output))
        # One held response.create answers every finished call; background results ask none.
        if respond and self._gate.held == 0:
            self._request_response()
