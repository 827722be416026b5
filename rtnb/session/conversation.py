"""The conversation part of a session: the history, following the server's item events.

History rules: replace an item by id, else insert it after ``previous_item_id``, else append;
merge the input transcription into the user item; ``history_added``/``history_updated`` are
emitted as items arrive and grow (transcript deltas too). Output words also feed the output
guardrails; MCP items go to the MCP part; a finished ``function_call`` item to the tool calls.
Editing the history is :func:`~rtnb.session.history_edit.apply_history_edit`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from rtnb.protocol.events import Event
from rtnb.protocol.mcp import MCP_ITEM_TYPES

from .dispatch import EventDispatcher
from .events import HistoryAddedEvent, HistoryUpdatedEvent
from .history import ROOT, History
from .history_edit import HistoryUpdate, apply_history_edit
from .items import ContentType, HistoryItem, item_from_wire

# Server events whose ``item`` is a (new version of a) conversation item.
ITEM_EVENTS = (
    "conversation.item.added",
    "conversation.item.created",
    "conversation.item.done",
    "conversation.item.retrieved",
    "response.output_item.added",
    "response.output_item.done",
)
# Events carrying words for one content part: (field, part type, append?).
TEXT_EVENTS: dict[str, tuple[str, ContentType, bool]] = {
    "conversation.item.input_audio_transcription.delta": ("delta", "input_audio", True),
    "conversation.item.input_audio_transcription.completed": ("transcript", "input_audio", False),
    "response.output_audio_transcript.delta": ("delta", "output_audio", True),
    "response.output_audio_transcript.done": ("transcript", "output_audio", False),
    "response.output_text.delta": ("delta", "output_text", True),
    "response.output_text.done": ("text", "output_text", False),
}


def emit_history_updated(events: EventDispatcher, history: History) -> None:
    """Emit ``history_updated`` with a snapshot of ``history``, if anyone listens."""
    if events.wants("history_updated"):
        events.emit(HistoryUpdatedEvent(history.snapshot()))


class OutputText(Protocol):
    """Where output words go (the output guardrails): a delta, or (``final``) the whole text."""

    def __call__(self, response_id: str, item_id: str, text: str, *, final: bool) -> None: ...


class Conversation:
    """Keeps the history in step with the server's item, text, delete and truncate events."""

    def __init__(
        self,
        history: History,
        *,
        events: EventDispatcher,
        send: Callable[[Event], None],
        output_text: OutputText,
        mcp_item: Callable[[str, dict[str, Any]], None],
        output_item_done: Callable[[Any], None],
    ) -> None:
        self.history = history
        self._events = events
        self._send = send
        self._output_text = output_text
        self._mcp_item = mcp_item
        self._output_item_done = output_item_done

    async def update_history(self, history: HistoryUpdate, timeout: float) -> None:
        """Edit the conversation on the server and wait until it confirmed every step."""
        await apply_history_edit(
            self.history, history, send=self._send, events=self._events, timeout=timeout
        )

    def history_updated(self) -> None:
        """Emit ``history_updated`` (if anyone listens)."""
        emit_history_updated(self._events, self.history)

    def _history_added(self, item: HistoryItem) -> None:
        events = self._events
        if events.wants("history_added"):
            events.emit(HistoryAddedEvent(item))

    def on_item(self, event: Event) -> None:
        """An item event (see ``ITEM_EVENTS``)."""
        item = event["item"]
        mcp = item.get("type") in MCP_ITEM_TYPES
        if mcp:
            self._mcp_item(event["type"], item)
            if item.get("type") != "mcp_call":
                return  # tool lists and approvals are the MCP part's, not the history's
        history = self.history
        if item.get("type") == "function_call_output":
            output = item.get("output", "")
            if history.set_tool_output(item.get("call_id", ""), output, item.get("id")):
                self.history_updated()
            return
        previous = event.get("previous_item_id")
        if previous is None and "previous_item_id" in event:
            previous = ROOT  # the server put the item first
        converted = item_from_wire(item, previous)
        if converted is None:
            return
        stored, added, changed = history.upsert(converted)
        if added:
            self._history_added(stored)
        if added or changed:
            self.history_updated()
        if event["type"] == "response.output_item.done" and not mcp:
            self._output_item_done(item)

    def on_text(self, event: Event) -> None:
        """A transcript or text event (see ``TEXT_EVENTS``)."""
        field, part_type, append = TEXT_EVENTS[event["type"]]
        text = event.get(field) or ""
        if append and not text:
            return
        item, added = self.history.write_text(
            event["item_id"], event.get("content_index") or 0, part_type, text, append=append
        )
        if added:
            self._history_added(item)
        self.history_updated()
        if part_type != "input_audio":
            self._output_text(event["response_id"], event["item_id"], text, final=not append)

    def on_item_deleted(self, event: Event) -> None:
        """``conversation.item.deleted``."""
        if self.history.remove(event["item_id"]) is not None:
            self.history_updated()

    def on_item_truncated(self, event: Event) -> None:
        """``conversation.item.truncated``."""
        item_id, index = event["item_id"], event["content_index"]
        if self.history.truncate_audio(item_id, index, event["audio_end_ms"]):
            self.history_updated()
