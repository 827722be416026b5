"""Session events: one dataclass per event name, passed to handlers registered with ``on()``.

Every class has a class attribute ``type`` holding its event name, so code reading
``session.events()`` can dispatch on ``event.type``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from rtnb.protocol.audio import AudioFormatError, decode_audio

from .items import HistoryItem

if TYPE_CHECKING:
    from .agent import RealtimeAgent
    from .approvals import ToolApprovalItem
    from .guardrails import OutputGuardrailResult
    from .mcp import McpToolCall, McpToolInfo
    from .tools import FunctionTool

ConnectionStatus = Literal["connecting", "connected", "disconnected"]


@dataclass
class SessionEvent:
    """Base class of all session events."""

    type: ClassVar[str] = ""


@dataclass
class AudioEvent(SessionEvent):
    """A chunk of the model's audio (PCM16, 24 kHz mono), ready to be played.

    The session keeps the wire's base64 text: ``data`` decodes it the first time it is read and
    keeps the bytes, so audio nobody plays is never decoded and every reader shares one decode.
    Reading ``data`` raises :class:`~rtnb.protocol.audio.AudioFormatError` if the server sent
    characters that are not base64 (a wrong length is reported by the session as an ``error``
    event instead, and such a delta gives no ``audio`` event).
    """

    data: bytes
    item_id: str
    content_index: int
    response_id: str
    type: ClassVar[str] = "audio"

    @classmethod
    def from_base64(
        cls, b64: str, item_id: str, content_index: int, response_id: str
    ) -> AudioEvent:
        """An event whose ``data`` is decoded from ``b64`` when first read."""
        event = cls.__new__(cls)
        _set_audio_base64(event, b64)
        event.item_id, event.content_index, event.response_id = item_id, content_index, response_id
        return event


# The three accessors below are AudioEvent's own (hence ``self``): the lazy ``data`` property.
def _audio_data(self: AudioEvent) -> bytes:
    pcm: bytes | None = self._pcm  # type: ignore[attr-defined]
    if pcm is None:
        try:
            pcm = self._pcm = decode_audio(self._b64)  # type: ignore[attr-defined]
        except AudioFormatError as exc:
            raise AudioFormatError(f"'delta' of audio item {self.item_id!r}: {exc}") from exc
        self._b64 = ""  # type: ignore[attr-defined]
    return pcm


def _set_audio_data(self: AudioEvent, data: bytes) -> None:
    self._pcm, self._b64 = data, ""  # type: ignore[attr-defined]


def _set_audio_base64(self: AudioEvent, b64: str) -> None:
    self._pcm, self._b64 = None, b64  # type: ignore[attr-defined]


# ``data`` stays a dataclass field (in __init__, repr, ==, fields()) and becomes a property, so
# the generated __init__ stores through the setter and every read goes through the lazy getter.
AudioEvent.data = property(_audio_data, _set_audio_data, doc="The PCM16 bytes.")  # type: ignore[assignment]


@dataclass
class AudioStartEvent(SessionEvent):
    """The first audio chunk of an item arrived."""

    item_id: str
    content_index: int
    response_id: str
    type: ClassVar[str] = "audio_start"


@dataclass
class AudioStoppedEvent(SessionEvent):
    """The model stopped sending audio for a response (it was done or playback stopped)."""

    response_id: str | None
    item_id: str | None
    type: ClassVar[str] = "audio_stopped"


@dataclass
class AudioInterruptedEvent(SessionEvent):
    """Playback must stop now (the user spoke, or ``interrupt()`` was called).

    ``audio_end_ms`` is where the item was cut (``None`` when there was no audio to cut).
    """

    item_id: str | None
    content_index: int
    audio_end_ms: int | None
    type: ClassVar[str] = "audio_interrupted"


@dataclass
class AgentStartEvent(SessionEvent):
    """The model started a response."""

    agent: RealtimeAgent
    response_id: str | None
    type: ClassVar[str] = "agent_start"


@dataclass
class AgentEndEvent(SessionEvent):
    """A response finished; ``status`` is ``completed``, ``cancelled``, ``failed``..."""

    agent: RealtimeAgent
    response_id: str | None
    status: str | None
    type: ClassVar[str] = "agent_end"


@dataclass
class AgentToolStartEvent(SessionEvent):
    """A tool call is about to run."""

    agent: RealtimeAgent
    tool: FunctionTool | None
    arguments: str
    call_id: str
    type: ClassVar[str] = "agent_tool_start"


@dataclass
class AgentToolEndEvent(SessionEvent):
    """A tool call finished; ``output`` is the text sent back to the model."""

    agent: RealtimeAgent
    tool: FunctionTool | None
    arguments: str
    output: str
    call_id: str
    type: ClassVar[str] = "agent_tool_end"


@dataclass
class ToolApprovalRequestedEvent(SessionEvent):
    """A tool call needs approval: nothing runs until ``session.approve(event.approval)``.

    ``session.reject(event.approval)`` sends a rejection message as the call's output instead;
    a rejected call emits no ``agent_tool_start``/``agent_tool_end``. For a hosted MCP tool,
    ``tool`` is the listed :class:`~rtnb.session.mcp.McpToolInfo` and ``approval`` an
    :class:`~rtnb.session.mcp.McpApprovalItem` (the server runs or skips the call).
    """

    agent: RealtimeAgent
    tool: FunctionTool | McpToolInfo
    arguments: str
    call_id: str
    approval: ToolApprovalItem
    type: ClassVar[str] = "tool_approval_requested"


@dataclass
class ToolApprovalDecidedEvent(SessionEvent):
    """A pending approval was decided (``session.approve`` or ``session.reject``), wherever the
    decision was taken: in code or in an approval card.

    ``approval`` is the item of the ``tool_approval_requested`` event it answers; ``always`` is
    True for an ``always_approve``/``always_reject`` decision. Calls decided by a remembered
    ``always_*`` decision were never pending and emit neither event.
    """

    approval: ToolApprovalItem
    approved: bool
    always: bool
    type: ClassVar[str] = "tool_approval_decided"


@dataclass
class McpToolsChangedEvent(SessionEvent):
    """The hosted MCP tools the active agent can use changed.

    Emitted when a server's listing arrives or fails, and when a handoff (or
    ``update_agent``) brings an agent with other MCP servers. ``tools`` is the new
    ``session.available_mcp_tools``.
    """

    agent: RealtimeAgent
    tools: list[McpToolInfo]
    type: ClassVar[str] = "mcp_tools_changed"


@dataclass
class McpToolCallCompletedEvent(SessionEvent):
    """The Realtime server finished a call of a hosted MCP tool (``call.error`` if it failed)."""

    agent: RealtimeAgent
    call: McpToolCall
    type: ClassVar[str] = "mcp_tool_call_completed"


@dataclass
class AgentHandoffEvent(SessionEvent):
    """The model transferred the conversation to another agent (a handoff).

    Not emitted by ``RealtimeSession.update_agent()``, which switches agents by hand.
    """

    from_agent: RealtimeAgent
    to_agent: RealtimeAgent
    type: ClassVar[str] = "agent_handoff"


@dataclass
class HistoryAddedEvent(SessionEvent):
    """A new item entered the history."""

    item: HistoryItem
    type: ClassVar[str] = "history_added"


@dataclass
class HistoryUpdatedEvent(SessionEvent):
    """The history changed (an item was added, updated or deleted, or words arrived).

    ``history`` is an immutable sequence of the (live) items, in order.
    """

    history: Sequence[HistoryItem]
    type: ClassVar[str] = "history_updated"


@dataclass
class GuardrailTrippedEvent(SessionEvent):
    """An output guardrail tripped: the response was stopped and the model told why.

    Emitted once per response. ``message`` is the assistant's text the guardrails checked;
    ``guardrail_results`` holds the verdicts of the guardrails that tripped on it.
    """

    guardrail_results: list[OutputGuardrailResult]
    item_id: str
    response_id: str
    message: str
    type: ClassVar[str] = "guardrail_tripped"


@dataclass
class ErrorEvent(SessionEvent):
    """An error: the server's ``error`` object (a dict) or a Python exception."""

    error: dict[str, Any] | BaseException
    type: ClassVar[str] = "error"


@dataclass
class TransportEvent(SessionEvent):
    """A raw server event, exactly as received (every server event is reported)."""

    event: dict[str, Any]
    type: ClassVar[str] = "transport_event"


@dataclass
class ConnectionChangeEvent(SessionEvent):
    """The connection status changed."""

    status: ConnectionStatus
    type: ClassVar[str] = "connection_change"


EVENT_CLASSES: dict[str, type[SessionEvent]] = {
    cls.type: cls
    for cls in (
        AudioEvent,
        AudioStartEvent,
        AudioStoppedEvent,
        AudioInterruptedEvent,
        AgentStartEvent,
        AgentEndEvent,
        AgentToolStartEvent,
        AgentToolEndEvent,
        ToolApprovalRequestedEvent,
        ToolApprovalDecidedEvent,
        McpToolsChangedEvent,
        McpToolCallCompletedEvent,
        AgentHandoffEvent,
        HistoryAddedEvent,
        HistoryUpdatedEvent,
        GuardrailTrippedEvent,
        ErrorEvent,
        TransportEvent,
        ConnectionChangeEvent,
    )
}
"""Event name -> event class."""

EVENT_NAMES: frozenset[str] = frozenset(EVENT_CLASSES)
"""All names accepted by ``RealtimeSession.on()``."""
