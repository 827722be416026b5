"""The parts a :class:`~rtnb.session.session.RealtimeSession` is made of, and their wiring.

:func:`build_parts` constructs every part with the narrow collaborators it needs and registers
their server-event handlers with one :class:`~rtnb.session.router.ServerEventRouter`. Where
several parts handle one event type, they run in the order registered here (e.g.
``response.done``: the response gate, playback, guardrails, tool calls, then the agent's
``agent_end``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rtnb.protocol import client_events as ce
from rtnb.protocol.events import Event
from rtnb.protocol.gate import GATE_EVENTS, ResponseGate
from rtnb.transport.base import ApiKey, Transport

from .agent import RealtimeAgent
from .approvals import ToolErrorFormatter
from .conversation import ITEM_EVENTS, TEXT_EVENTS, Conversation
from .dispatch import EventDispatcher
from .events import ErrorEvent, TransportEvent
from .guardrails import (
    GuardrailHooks,
    OutputGuardrail,
    OutputGuardrailRunner,
    OutputGuardrailSettings,
)
from .history import History
from .link import Link
from .mcp_session import McpSession
from .playback import Playback
from .router import ServerEventRouter
from .switching import AgentState
from .tool_calls import ToolCalls
from .tool_runner import ToolRunner


@dataclass
class TaskSet:
    """Background tasks of a session (tool calls, guardrail checks, MCP approvals).

    A task that ends with an exception is reported to ``on_error`` (the session emits it as an
    ``error`` event): e.g. a tool's output that could not be queued because the connection
    stopped draining (:class:`~rtnb.session.outgoing.OutgoingQueueFull`).
    """

    on_error: Callable[[BaseException], None]
    tasks: set[asyncio.Task[Any]] = field(default_factory=set)

    def start(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        """Run ``coro`` as a task on the running loop, kept until it ends."""
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self.tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            self.on_error(error)

    def cancel(self) -> None:
        """Cancel every task but the current one."""
        current = asyncio.current_task()
        for task in list(self.tasks):
            if task is not current:
                task.cancel()


class Responses:
    """Asks for responses through the response gate (one active response at a time)."""

    def __init__(self, gate: ResponseGate, link: Link) -> None:
        self.gate = gate
        self._link = link

    def request(self, event: Event | None = None) -> None:
        """Send ``response.create`` (or ``event``) now, or hold it until the active one ends."""
        for ready in self.gate.request(event or ce.create_response()):
            self._link.send(ready)

    def on_server_event(self, event: Event) -> None:
        """``response.created``/``response.done``/``error``: send a held request if it may go."""
        for ready in self.gate.on_server_event(event):
            self._link.send(ready)


@dataclass(frozen=True)
class SessionParts:
    """Every part of one session."""

    events: EventDispatcher
    history: History
    tasks: TaskSet
    router: ServerEventRouter
    link: Link
    responses: Responses
    agents: AgentState
    playback: Playback
    guardrails: OutputGuardrailRunner
    mcp: McpSession
    tool_calls: ToolCalls
    conversation: Conversation


def build_parts(
    agent: RealtimeAgent,
    *,
    model: str,
    config: Mapping[str, Any] | None,
    transport: Transport | None,
    api_key: ApiKey | None,
    url: str | None,
    server_options: Mapping[str, Any] | None,
    context: Any,
    tool_error_formatter: ToolErrorFormatter | None,
    output_guardrails: Sequence[OutputGuardrail],
    output_guardrail_settings: OutputGuardrailSettings | Mapping[str, Any] | None,
    history_store_audio: bool,
    auto_respond_to_mcp: bool,
    tracing: Any,
) -> SessionParts:
    """Construct the parts of a session and register their server-event handlers."""
    events = EventDispatcher()
    history = History(store_audio=history_store_audio)
    tasks = TaskSet(on_error=lambda error: events.emit(ErrorEvent(error)))
    router = ServerEventRouter()
    gate = ResponseGate()

    def on_server_event(event: Event) -> None:
        if events.wants("transport_event"):  # the one place a TransportEvent is made
            events.emit(TransportEvent(event))
        router.dispatch(event)

    link = Link(
        events,
        on_event=on_server_event,
        on_lost=gate.reset,
        transport=transport,
        api_key=api_key,
        url=url,
        server_options=server_options,
    )
    send = link.send
    responses = Responses(gate, link)
    agents = AgentState(
        agent, model=model, config=dict(config or {}), tracing=tracing, send=send, events=events
    )
    playback = Playback(
        events=events, history=history, gate=gate, send=send, turn_detection=agents.turn_detection
    )
    guardrails = OutputGuardrailRunner(
        GuardrailHooks(
            agent_guardrails=lambda: getattr(agents.agent, "output_guardrails", None) or (),
            start_task=tasks.start,
            emit=events.emit,
            stop_response=playback.stop_response,
            send=send,
            request_response=responses.request,
        ),
        output_guardrails,
        output_guardrail_settings,
    )
    runner = ToolRunner(events.emit, context=context, error_formatter=tool_error_formatter)
    mcp = McpSession(
        runner,
        agent=lambda: agents.agent,
        events=events,
        send=send,
        gate=gate,
        request_response=responses.request,
        start_task=tasks.start,
        auto_respond=auto_respond_to_mcp,
    )
    agents.on_agent_change(mcp.on_agent_change)
    tool_calls = ToolCalls(
        runner,
        agent=lambda: agents.agent,
        history=history,
        events=events,
        send=send,
        gate=gate,
        request_response=responses.request,
        start_task=tasks.start,
        handoff=agents.handoff,
        mcp_item=mcp.on_item,
    )
    conversation = Conversation(
        history,
        events=events,
        send=send,
        output_text=guardrails.on_text,
        mcp_item=mcp.on_item,
        output_item_done=tool_calls.on_output_item,
    )
    # Handlers of one event type run in the order registered here.
    router.on(GATE_EVENTS, responses.on_server_event)
    router.on(ITEM_EVENTS, conversation.on_item)
    router.on(TEXT_EVENTS, conversation.on_text)
    router.on("conversation.item.deleted", conversation.on_item_deleted)
    router.on("conversation.item.truncated", conversation.on_item_truncated)
    router.on("session.updated", agents.on_session_updated)
    router.on("error", lambda event: events.emit(ErrorEvent(event["error"])))
    router.on("response.created", agents.on_response_created)
    router.on("response.done", playback.on_response_done)
    router.on("response.done", guardrails.on_response_done)
    router.on("response.done", tool_calls.on_response_done)
    router.on("response.done", agents.on_response_done)
    router.on("response.function_call_arguments.done", tool_calls.on_arguments_done)
    router.on("response.output_audio.delta", playback.on_audio_delta)
    router.on("output_audio_buffer.stopped", playback.on_output_audio_stopped)
    router.on("input_audio_buffer.speech_started", playback.on_speech_started)
    router.on("mcp_list_tools.completed", mcp.on_list_tools_completed)
    router.on("mcp_list_tools.failed", mcp.on_list_tools_failed)
    router.on("response.mcp_call.completed", mcp.on_call_completed)
    return SessionParts(
        events,
        history,
        tasks,
        router,
        link,
        responses,
        agents,
        playback,
        guardrails,
        mcp,
        tool_calls,
        conversation,
    )
