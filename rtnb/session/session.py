"""RealtimeSession: one live conversation between an agent and a Realtime server.

The session runs on the caller's event loop as background tasks: a reader that applies server
events to the session state (history, response gate, audio bookkeeping) and emits session events,
a writer that sends client events in order from one queue, tool-call tasks, and the event
delivery task. The public sending methods are synchronous: they only queue events.

The session is composed of parts that each own their state and register the server events they
handle with one :class:`~rtnb.session.router.ServerEventRouter`: the link (connection), the agent
state, playback, the output guardrails, MCP, tool calls and the conversation. Parts get narrow
collaborators (callables, the dispatcher, the response gate), never the session.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any, overload

from rtnb.protocol import client_events as ce
from rtnb.protocol.config import tracing_config
from rtnb.transport.base import ApiKey, Transport

from .agent import RealtimeAgent
from .approvals import ApprovalDecision, ToolApprovalItem, ToolErrorFormatter
from .dispatch import H
from .events import ConnectionStatus, ErrorEvent, SessionEvent
from .guardrails import (
    OutputGuardrail,
    OutputGuardrailSettings,
)
from .history_edit import HistoryUpdate
from .items import HistoryItem
from .lifecycle import ConnectionState
from .mcp import McpToolInfo
from .mute import is_muted, set_muted
from .outgoing import OutgoingStats
from .parts import build_parts
from .recovery import export_history, replay_events

DEFAULT_MODEL = "gpt-realtime"


class RealtimeSession:
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
        parts = build_parts(
            agent,
            model=model,
            config=config,
            transport=transport,
            api_key=api_key,
            url=url,
            server_options=server_options,
            context=context,
            tool_error_formatter=tool_error_formatter,
            output_guardrails=output_guardrails,
            output_guardrail_settings=output_guardrail_settings,
            history_store_audio=history_store_audio,
            auto_respond_to_mcp=automatically_trigger_response_for_mcp_tool_calls,
            tracing=tracing_config(
                disabled=tracing_disabled,
                workflow_name=workflow_name,
                group_id=group_id,
                metadata=trace_metadata,
            ),
        )
        self._events = parts.events
        self._history = parts.history
        self._tasks = parts.tasks
        self._link = parts.link
        self._responses = parts.responses
        self._agents = parts.agents
        self._playback = parts.playback
        self._mcp = parts.mcp
        self._tool_calls = parts.tool_calls
        self._conversation = parts.conversation

    def __repr__(self) -> str:
        return (
            f"RealtimeSession(agent={self.agent.name!r}, model={self.model!r}, "
            f"backend={self.backend!r}, status={self.status!r})"
        )

    # ----------------------------------------------------------------- state

    @property
    def model(self) -> str:
        """The Realtime model (``connect(model=...)`` changes it)."""
        return self._agents.model

    @model.setter
    def model(self, value: str) -> None:
        self._agents.model = value

    @property
    def config(self) -> dict[str, Any]:
        """The session configuration given to the constructor (wire ``session`` fields)."""
        return self._agents.config

    @config.setter
    def config(self, value: dict[str, Any]) -> None:
        self._agents.config = value

    @property
    def backend(self) -> str | None:
        """The backend in use: ``"openai"``, ``"url"``, ``"local"``, a transport's own name..."""
        return self._link.backend

    @backend.setter
    def backend(self, value: str | None) -> None:
        self._link.backend = value

    @property
    def state(self) -> ConnectionState:
        """The connection's lifecycle state (:class:`~rtnb.session.lifecycle.ConnectionState`:
        ``NEW``, ``CONNECTING``, ``OPEN``, ``CLOSING``, ``CLOSED``)."""
        return self._link.state

    @property
    def status(self) -> ConnectionStatus:
        """``"disconnected"``, ``"connecting"`` or ``"connected"`` (derived from :attr:`state`;
        what ``connection_change`` events report)."""
        return self._link.status

    @property
    def outgoing(self) -> OutgoingStats:
        """What waits to be sent (events, milliseconds of microphone audio) and how much audio
        was dropped because the connection stopped sending (see :mod:`rtnb.session.outgoing`)."""
        return self._link.outgoing.stats

    @property
    def automatically_trigger_response_for_mcp_tool_calls(self) -> bool:
        """Ask for a response after each finished hosted MCP call (default ``True``)."""
        return self._mcp.auto_respond

    @automatically_trigger_response_for_mcp_tool_calls.setter
    def automatically_trigger_response_for_mcp_tool_calls(self, value: bool) -> None:
        self._mcp.auto_respond = value

    @property
    def server_url(self) -> str | None:
        """The Realtime endpoint this session connects to (``None`` before :meth:`connect` or
        with a transport that has no URL). An embedded server the session started answers only
        this session: it requires a random token that nothing else knows (HTTP 401 without it)."""
        url = getattr(self._link.transport, "url", None)
        return url if isinstance(url, str) else None

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
        if self._link.state is not ConnectionState.NEW:
            raise RuntimeError("a RealtimeSession connects once; create a new session")
        await self._open(api_key, model, url, call_id)

    async def _open(
        self, api_key: ApiKey | None, model: str | None, url: str | None, call_id: str | None
    ) -> None:
        self.model = model or self.model
        wire_session = self._agents.session_config()
        self._events.start()
        self._events.resume_streams()
        try:
            await self._link.connect(self.model, api_key, url, call_id)
        except Exception as exc:
            self._events.emit(ErrorEvent(exc))
            await self.close()
            raise
        self._link.send(ce.session_update(wire_session))

    async def close(self) -> None:
        """Send what is queued, close the connection (and the local server), stop the tasks.

        Final: a closed session does not connect again. Closing twice does nothing.
        """
        link = self._link
        if link.state is ConnectionState.CLOSING or (
            link.state is ConnectionState.CLOSED and link.lost is None
        ):
            return
        self._tasks.cancel()
        await link.close()
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
        state = self._link.state
        if state is ConnectionState.CLOSED and self._link.lost is None:
            raise RuntimeError("the session was closed; create a new session")
        if state is not ConnectionState.CLOSED and state is not ConnectionState.NEW:
            raise RuntimeError("the session is still connected")
        await self._link.drop()
        await self._open(api_key, model, url, call_id)
        if replay_history:
            for event in replay_events(self._history.snapshot()):
                self._link.send(event)

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

    @property
    def engines(self) -> dict[str, str]:
        """What the embedded server this session started runs: speech-to-text, voice activity
        detection, text-to-speech and policy (e.g. ``{"stt": "whisper (tiny.en)", ...}``); empty
        on other backends."""
        return self._link.engines

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
        return self._link.is_open

    @property
    def turn_detection(self) -> dict[str, Any] | None:
        """The input turn detection (``server_vad``/``semantic_vad`` settings), ``None`` when off:
        what the session asked for, then what the server last confirmed (``session.updated``)."""
        turn_detection = self._agents.turn_detection()
        return dict(turn_detection) if isinstance(turn_detection, dict) else None

    # ----------------------------------------------------------------- agents and history

    @property
    def agent(self) -> RealtimeAgent:
        """The agent currently answering (changed by handoffs and :meth:`update_agent`)."""
        return self._agents.agent

    def update_agent(self, agent: RealtimeAgent) -> None:
        """Switch to ``agent`` now, keeping the conversation.

        Sends ``session.update`` with the agent's instructions and tools when connected (before
        :meth:`connect`, the agent simply becomes the one connected with). Emits no
        ``agent_handoff`` event. Raises :class:`~rtnb.session.switching.HandoffError` if the
        agent's voice differs from the session's.
        """
        self._agents.update_agent(agent)

    async def update_history(self, history: HistoryUpdate, *, timeout: float = 10.0) -> None:
        """Make the conversation (on the server, then locally) match ``history``.

        ``history`` is the wanted list of items, or a function that receives a deep copy of the
        current history and returns it (edit the copies' text freely). Deleted items, added text
        messages (``UserMessageItem.from_text("...")``), changed text messages and reordered
        text messages are all expressed as deletions and creations; changed or moved messages
        come back with new ids. Raises :class:`ValueError` before sending anything for edits the
        API cannot make (changing, moving or adding tool calls or audio messages), then waits
        (up to ``timeout`` seconds) until the server confirmed every step:
        :class:`~rtnb.session.history_edit.HistoryEditError` if it refused one.
        """
        self._require_open()
        await self._conversation.update_history(history, timeout)

    @property
    def available_mcp_tools(self) -> list[McpToolInfo]:
        """The hosted MCP tools the active agent can use now: what its servers listed, filtered
        by their ``allowed_tools`` (empty until a server's listing arrives)."""
        return self._mcp.available_tools

    @property
    def muted(self) -> bool | None:
        """Whether the audio input is muted; ``None`` when the transport cannot mute."""
        return is_muted(self._link.transport)

    def mute(self, muted: bool = True) -> None:
        """Mute (or, with ``False``, unmute) the audio input.

        While muted, ``send_audio`` drops the audio (and a ``commit``): the model hears nothing.
        Raises :class:`~rtnb.session.mute.MuteNotSupportedError` when the transport cannot mute.
        """
        set_muted(self._link.transport, muted)

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
            self._link.send(ce.append_audio(data))
        if commit:
            self._link.send(ce.commit_audio())
            if self._agents.turn_detection() is None:
                self._responses.request()

    def send_message(self, message: str | dict[str, Any]) -> None:
        """Add a user message (text, or a wire ``message`` item) and ask for a response."""
        self._require_open()
        event = ce.user_message(message) if isinstance(message, str) else ce.create_item(message)
        self._link.send(event)
        self._responses.request()

    def send_event(self, event: dict[str, Any]) -> None:
        """Send a raw client event (``response.create`` goes through the response gate)."""
        self._require_open()
        if event.get("type") == "response.create":
            self._responses.request(dict(event))
        else:
            self._link.send(dict(event))

    def interrupt(self) -> None:
        """Stop the model now: cancel the active response and cut the playing audio."""
        self._require_open()
        self._playback.interrupt()

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
        return self._tool_calls.runner.context

    @property
    def pending_approvals(self) -> list[ToolApprovalItem]:
        """Tool calls waiting for :meth:`approve` or :meth:`reject`, oldest first."""
        return self._tool_calls.runner.approvals.pending

    def approve(self, item: ToolApprovalItem, *, always_approve: bool = False) -> None:
        """Run a tool call that waits for approval (``ToolApprovalRequestedEvent.approval``).

        ``always_approve=True`` also approves every later call of this tool in this session.
        Raises :class:`ValueError` if ``item`` is not pending (unknown or already decided).
        Call it on the session's event loop.
        """
        approvals = self._tool_calls.runner.approvals
        approvals.decide(item, ApprovalDecision(True), always=always_approve)

    def reject(
        self, item: ToolApprovalItem, *, always_reject: bool = False, message: str | None = None
    ) -> None:
        """Refuse a tool call that waits for approval; the model gets a rejection as its output.

        The output is ``message`` when given, else the session's ``tool_error_formatter`` text,
        else a default message. ``always_reject=True`` also rejects every later call of this
        tool in this session. Raises :class:`ValueError` if ``item`` is not pending.
        """
        approvals = self._tool_calls.runner.approvals
        approvals.decide(item, ApprovalDecision(False, message), always=always_reject)

    # ----------------------------------------------------------------- internals

    def _require_open(self) -> None:
        if not self._link.is_open:
            raise RuntimeError(f"session is not connected (status: {self.status})")
