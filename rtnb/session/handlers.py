"""How a session reacts to each server event (mixed into :class:`RealtimeSession`).

Every handler is synchronous: it updates the session state and emits session events; sending
happens through the session's outgoing queue. Event names follow the GA schema.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rtnb.protocol import client_events as ce
from rtnb.protocol.audio import AudioFormatError, decode_audio, decoded_size
from rtnb.protocol.events import Event
from rtnb.protocol.gate import GATE_EVENTS, ResponseGate
from rtnb.protocol.mcp import MCP_ITEM_TYPES

from .agent import RealtimeAgent
from .dispatch import EventDispatcher
from .events import (
    AgentEndEvent,
    AgentStartEvent,
    AudioEvent,
    AudioInterruptedEvent,
    AudioStartEvent,
    AudioStoppedEvent,
    ErrorEvent,
    HistoryAddedEvent,
    HistoryUpdatedEvent,
    SessionEvent,
    TransportEvent,
)
from .guardrails import OutputGuardrailRunner
from .history import ROOT, History
from .items import ContentType, HistoryItem, item_from_wire
from .mcp_session import McpSessionSupport
from .playback import PlaybackTracker

# Server events whose ``item`` is a (new version of a) conversation item.
_ITEM_EVENTS = (
    "conversation.item.added",
    "conversation.item.created",
    "conversation.item.done",
    "conversation.item.retrieved",
    "response.output_item.added",
    "response.output_item.done",
)
# Events carrying words for one content part: (field, part type, append?).
_TEXT_EVENTS: dict[str, tuple[str, ContentType, bool]] = {
    "conversation.item.input_audio_transcription.delta": ("delta", "input_audio", True),
    "conversation.item.input_audio_transcription.completed": ("transcript", "input_audio", False),
    "response.output_audio_transcript.delta": ("delta", "output_audio", True),
    "response.output_audio_transcript.done": ("transcript", "output_audio", False),
    "response.output_text.delta": ("delta", "output_text", True),
    "response.output_text.done": ("text", "output_text", False),
}


def _get(mapping: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(mapping, dict):
            return None
        mapping = mapping.get(key)
    return mapping


class ServerEventHandlers:
    """Server event handlers of a session, dispatched on ``type``.

    The session provides the state below and the four hooks that follow.
    """

    agent: RealtimeAgent
    _events: EventDispatcher
    _history: History
    _gate: ResponseGate
    _playback: PlaybackTracker
    _guardrails: OutputGuardrailRunner
    _wire_session: dict[str, Any]

    def _emit(self, event: SessionEvent) -> None:
        raise NotImplementedError

    def _wants(self, name: str) -> bool:
        raise NotImplementedError

    def _send(self, event: Event) -> None:
        raise NotImplementedError

    def _start_tool_call(self, call_id: str | None, name: str, arguments: str) -> None:
        raise NotImplementedError

    def _mcp_item(self, event_type: str, item: dict[str, Any]) -> None:
        raise NotImplementedError  # see rtnb.session.mcp_session

    def _on_server_event(self, event: Event) -> None:
        events = self._events  # per wire event: the dispatcher without the session's wrappers
        if events.wants("transport_event"):
            events.emit(TransportEvent(event))
        kind = event["type"]
        if kind in GATE_EVENTS:
            for ready in self._gate.on_server_event(event):
                self._send(ready)
        handler = _HANDLERS.get(kind)
        if handler is not None:
            handler(self, event)

    # ----------------------------------------------------------------- history

    def _history_updated(self) -> None:
        events = self._events
        if events.wants("history_updated"):
            events.emit(HistoryUpdatedEvent(self._history.snapshot()))

    def _history_added(self, item: HistoryItem) -> None:
        if self._wants("history_added"):
            self._emit(HistoryAddedEvent(item))

    def _on_item(self, event: Event) -> None:
        item = event["item"]
        if item.get("type") in MCP_ITEM_TYPES:
            self._mcp_item(event["type"], item)
            return
        if item.get("type") == "function_call_output":
            output = item.get("output", "")
            if self._history.set_tool_output(item.get("call_id", ""), output, item.get("id")):
                self._history_updated()
            return
        previous = event.get("previous_item_id")
        if previous is None and "previous_item_id" in event:
            previous = ROOT  # the server put the item first
        converted = item_from_wire(item, previous)
        if converted is None:
            return
        stored, added, changed = self._history.upsert(converted)
        if added:
            self._history_added(stored)
        if added or changed:
            self._history_updated()
        if event["type"] == "response.output_item.done":
            self._call_from_item(item)

    def _on_text(self, event: Event) -> None:
        field, part_type, append = _TEXT_EVENTS[event["type"]]
        text = event.get(field) or ""
        if append and not text:
            return
        item, added = self._history.write_text(
            event["item_id"], event.get("content_index") or 0, part_type, text, append=append
        )
        if added:
            self._history_added(item)
        self._history_updated()
        if part_type != "input_audio":
            self._guardrails.on_text(event["response_id"], event["item_id"], text, final=not append)

    def _on_item_deleted(self, event: Event) -> None:
        if self._history.remove(event["item_id"]) is not None:
            self._history_updated()

    def _on_item_truncated(self, event: Event) -> None:
        item_id, index = event["item_id"], event["content_index"]
        if self._history.truncate_audio(item_id, index, event["audio_end_ms"]):
            self._history_updated()

    # ----------------------------------------------------------------- responses

    def _on_session_updated(self, event: Event) -> None:
        # The server's view of our session.update (session.created precedes it: ignored).
        self._wire_session = event["session"]

    def _on_error(self, event: Event) -> None:
        error = event["error"]
        self._emit(ErrorEvent(error))

    def _on_response_created(self, event: Event) -> None:
        self._emit(AgentStartEvent(self.agent, event["response"].get("id")))

    def _on_response_done(self, event: Event) -> None:
        response = event["response"]
        response_id = response.get("id")
        item_id = self._playback.finish_response(response_id)
        self._guardrails.response_done(response_id)
        if item_id is not None:
            self._emit(AudioStoppedEvent(response_id, item_id))
        for item in response.get("output") or []:
            self._call_from_item(item)
        self._emit(AgentEndEvent(self.agent, response_id, response.get("status")))

    def _call_from_item(self, item: Any) -> None:
        """Run the tool of a finished ``function_call`` output item (once per call id)."""
        if isinstance(item, dict) and item.get("type") in MCP_ITEM_TYPES:
            self._mcp_item("response.done", item)
        elif (
            isinstance(item, dict)
            and item.get("type") == "function_call"
            and item.get("status", "completed") == "completed"
        ):
            self._start_tool_call(
                item.get("call_id"), item.get("name", ""), item.get("arguments", "")
            )

    def _on_arguments_done(self, event: Event) -> None:
        self._start_tool_call(event["call_id"], event["name"], event["arguments"])

    # ----------------------------------------------------------------- audio

    def _on_audio_delta(self, event: Event) -> None:
        response_id = event["response_id"]
        if not self._playback.accepts(response_id):
            return  # late audio of an interrupted response
        b64 = event["delta"]
        try:
            # The audio is decoded here only to be stored; else by whoever reads event.data.
            pcm = decode_audio(b64) if self._history.store_audio else None
            size = decoded_size(b64) if pcm is None else len(pcm)
        except AudioFormatError as exc:
            self._emit(ErrorEvent(exc))
            return
        item_id, content_index = event["item_id"], event["content_index"]
        if self._playback.on_delta(item_id, content_index, response_id, size):
            self._emit(AudioStartEvent(item_id, content_index, response_id))
        if pcm is not None:
            self._history.append_audio(item_id, content_index, pcm)
        events = self._events
        if events.wants("audio"):
            if pcm is None:
                events.emit(AudioEvent.from_base64(b64, item_id, content_index, response_id))
            else:
                events.emit(AudioEvent(pcm, item_id, content_index, response_id))

    def _on_output_audio_stopped(self, event: Event) -> None:
        response_id = event["response_id"]
        item_id = self._playback.playback_stopped(response_id)
        if item_id is not None:
            self._emit(AudioStoppedEvent(response_id, item_id))

    def _on_speech_started(self, event: Event) -> None:
        turn_detection = self._turn_detection()
        if isinstance(turn_detection, dict) and turn_detection.get("interrupt_response") is False:
            return  # the user asked for no barge-in: let the answer play on
        self._cut_playback()

    def _turn_detection(self) -> Any:
        return _get(self._wire_session, "audio", "input", "turn_detection")

    def _cut_playback(self) -> bool:
        """Emit ``audio_interrupted`` for the playing item and truncate it; False if none."""
        cut = self._playback.cut(self._gate.active_response_id)
        if cut is None:
            return False
        self._emit_interrupted(cut.item_id, cut.content_index, cut.audio_end_ms)
        if cut.truncate:
            self._send(ce.truncate_item(cut.item_id, cut.audio_end_ms, cut.content_index))
        return True

    def _emit_interrupted(self, item_id: str | None, index: int, end_ms: int | None) -> None:
        self._emit(AudioInterruptedEvent(item_id, index, end_ms))


_HANDLERS: dict[str, Callable[[Any, Event], None]] = {
    **dict.fromkeys(_ITEM_EVENTS, ServerEventHandlers._on_item),
    **dict.fromkeys(_TEXT_EVENTS, ServerEventHandlers._on_text),
    "session.updated": ServerEventHandlers._on_session_updated,
    "error": ServerEventHandlers._on_error,
    "conversation.item.deleted": ServerEventHandlers._on_item_deleted,
    "conversation.item.truncated": ServerEventHandlers._on_item_truncated,
    "response.created": ServerEventHandlers._on_response_created,
    "response.done": ServerEventHandlers._on_response_done,
    "response.function_call_arguments.done": ServerEventHandlers._on_arguments_done,
    "response.output_audio.delta": ServerEventHandlers._on_audio_delta,
    "output_audio_buffer.stopped": ServerEventHandlers._on_output_audio_stopped,
    "input_audio_buffer.speech_started": ServerEventHandlers._on_speech_started,
    "mcp_list_tools.completed": McpSessionSupport._on_mcp_list_tools_completed,
    "mcp_list_tools.failed": McpSessionSupport._on_mcp_list_tools_failed,
    "response.mcp_call.completed": McpSessionSupport._on_mcp_call_completed,
}
