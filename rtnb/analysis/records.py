"""Session events as plain JSON-able records, and history items to and from dicts.

A record is a dict with ``t`` (seconds since the observer started) and ``event`` (the session
event name, or the wire type of the few server events kept for timing), plus plain fields. The
same records feed the analysis frames, the JSONL recordings and their replay.
"""

from __future__ import annotations

import base64
import dataclasses
from typing import Any

from rtnb.protocol.audio import duration_ms
from rtnb.session.items import (
    ContentPart,
    FunctionCallItem,
    HistoryItem,
    McpCallItem,
    MessageItem,
    message_class,
)

Record = dict[str, Any]

WIRE_EVENTS = frozenset(
    {
        "input_audio_buffer.speech_started",
        "input_audio_buffer.speech_stopped",
        "conversation.item.input_audio_transcription.completed",
        "session.created",
        "session.updated",
    }
)
"""Server events kept (from ``transport_event``) for turn timing; of the session events, only
their turn detection (the VAD's silence is part of a spoken turn's latency)."""

_WIRE_FIELDS = ("item_id", "audio_start_ms", "audio_end_ms", "transcript")


def name_of(value: Any) -> str | None:
    """``value.name`` (an agent or a tool), a string as is, else ``None``."""
    if value is None or isinstance(value, str):
        return value
    return getattr(value, "name", None) or str(value)


def guardrail_names(results: Any) -> list[str]:
    """Names of the guardrails in a ``guardrail_tripped`` event's results."""
    names = []
    for result in results or []:
        guardrail = getattr(result, "guardrail", None)
        names.append(name_of(guardrail) or name_of(getattr(result, "name", None)) or str(result))
    return names


def turn_detection_of(session: Any) -> dict[str, Any] | None:
    """The turn detection settings of a ``session.created``/``session.updated`` session
    (``audio.input.turn_detection`` in the GA schema, ``turn_detection`` in the beta one)."""
    if not isinstance(session, dict):
        return None
    audio_input = (session.get("audio") or {}).get("input") or {}
    settings = audio_input.get("turn_detection", session.get("turn_detection"))
    return dict(settings) if isinstance(settings, dict) else None


def item_to_dict(item: HistoryItem) -> dict[str, Any]:
    """A history item as a plain dict (with its ``type`` and, for messages, ``role``)."""
    data = dataclasses.asdict(item)
    data["type"] = item.type
    if isinstance(item, MessageItem):
        data["role"] = item.role
    return data


def item_from_dict(data: dict[str, Any]) -> HistoryItem:
    """The history item of :func:`item_to_dict`."""
    fields = {k: v for k, v in data.items() if k not in ("type", "role")}
    if data.get("type") == "function_call":
        return FunctionCallItem(**fields)
    if data.get("type") == "mcp_call":
        return McpCallItem(**fields)
    cls = message_class(data.get("role", ""))
    if cls is None:
        raise ValueError(f"unknown message role {data.get('role')!r}")
    fields["content"] = [ContentPart(**part) for part in fields.get("content", [])]
    return cls(**fields)


def fingerprint(item: HistoryItem) -> tuple[Any, ...]:
    """A cheap value that changes whenever the item's shown fields change."""
    if isinstance(item, FunctionCallItem):
        return (item.type, item.status, item.name, item.arguments, item.output)
    if isinstance(item, McpCallItem):
        return (item.type, item.status, item.name, item.arguments, item.output, str(item.error))
    return (item.type, item.status, tuple((p.type, p.value) for p in item.content))


def record_event(
    event: Any, *, agent: str | None, audio: bool, backend: str | None = None
) -> Record | None:
    """A record of a session event (without ``t``), or ``None`` for events not recorded.

    ``agent`` and ``backend`` (the session's, e.g. ``local`` or ``openai``) go into the
    ``connection_change`` records.

    ``history_updated`` is not handled here (the observer records what changed).
    """
    kind = event.type
    if kind == "audio":
        record: Record = {
            "item_id": event.item_id,
            "content_index": event.content_index,
            "response_id": event.response_id,
            "ms": duration_ms(len(event.data)),
        }
        if audio:
            record["pcm"] = base64.b64encode(event.data).decode("ascii")
    elif kind == "audio_stopped":
        record = {"item_id": event.item_id, "response_id": event.response_id}
    elif kind == "audio_interrupted":
        record = {
            "item_id": event.item_id,
            "content_index": event.content_index,
            "audio_end_ms": event.audio_end_ms,
        }
    elif kind in ("agent_start", "agent_end"):
        record = {"agent": name_of(event.agent), "response_id": event.response_id}
        if kind == "agent_end":
            record["status"] = event.status
    elif kind in ("agent_tool_start", "agent_tool_end", "tool_approval_requested"):
        record = {
            "agent": name_of(event.agent),
            "tool": name_of(event.tool),
            "arguments": event.arguments,
            "call_id": event.call_id,
        }
        if kind == "agent_tool_end":
            record["output"] = event.output
    elif kind == "mcp_tool_call_completed":
        call = event.call
        record = {
            "agent": name_of(event.agent),
            "item_id": call.item_id,
            "server_label": call.server_label,
            "tool": call.name,
            "arguments": call.arguments,
            "output": call.output,
            "error": call.error,
        }
    elif kind == "tool_approval_decided":
        record = {
            "call_id": event.approval.call_id,
            "approved": event.approved,
            "always": event.always,
        }
    elif kind == "guardrail_tripped":
        record = {
            "guardrails": guardrail_names(event.guardrail_results),
            "item_id": getattr(event, "item_id", None),
            "response_id": getattr(event, "response_id", None),
            "message": getattr(event, "message", None),
        }
    elif kind == "agent_handoff":
        record = {
            "from_agent": name_of(getattr(event, "from_agent", None)),
            "to_agent": name_of(getattr(event, "to_agent", None)),
        }
    elif kind == "connection_change":
        record = {"status": event.status, "agent": agent, "backend": backend}
    elif kind == "error":
        error = event.error
        message = error.get("message") if isinstance(error, dict) else None
        record = {"message": message or f"{type(error).__name__}: {error}"}
    elif kind == "transport_event":
        wire = event.event
        kind = wire.get("type", "")
        if kind not in WIRE_EVENTS:
            return None
        if kind.startswith("session."):
            # A replayed event carries the record's own field (no "session").
            settings = turn_detection_of(wire["session"]) if "session" in wire else None
            record = {"turn_detection": settings or wire.get("turn_detection")}
        else:
            record = {key: wire[key] for key in _WIRE_FIELDS if key in wire}
    else:
        return None
    return {"event": kind, **record}
