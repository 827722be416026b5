"""Encoding and decoding of OpenAI Realtime API (GA) events.

Events travel as JSON objects with a ``type`` field. On the hot path they stay plain ``dict``s:
decoding parses JSON, checks that ``type`` is known and that the fields each type requires are
present, and hands the dict on for dispatch. Nothing here does I/O.
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import ProtocolError as ProtocolError  # re-exported: importers take it from here
from .shapes import check_item, check_response

Event = dict[str, Any]
"""A decoded wire event: a JSON object with at least a ``type``."""

# Required fields of each event, taken from the GA schema (the ``openai`` package's
# ``RealtimeServerEvent``/``RealtimeClientEvent``; ``tests/protocol/test_events.py`` checks the
# tables against it). ``type`` is checked separately. ``event_id`` is left out on purpose: it is
# optional on client events, required by the schema on every server event except
# ``input_audio_buffer.dtmf_event_received``, and dispatch never needs it, so a server event
# without one is still accepted.
CLIENT_EVENT_FIELDS: dict[str, tuple[str, ...]] = {
    "session.update": ("session",),
    "input_audio_buffer.append": ("audio",),
    "input_audio_buffer.commit": (),
    "input_audio_buffer.clear": (),
    "conversation.item.create": ("item",),
    "conversation.item.delete": ("item_id",),
    "conversation.item.retrieve": ("item_id",),
    "conversation.item.truncate": ("item_id", "content_index", "audio_end_ms"),
    "response.create": (),
    "response.cancel": (),
    "output_audio_buffer.clear": (),
}

_RESPONSE_PART = ("response_id", "item_id", "output_index", "content_index")

SERVER_EVENT_FIELDS: dict[str, tuple[str, ...]] = {
    "session.created": ("session",),
    "session.updated": ("session",),
    "error": ("error",),
    "rate_limits.updated": ("rate_limits",),
    "conversation.created": ("conversation",),
    "conversation.item.added": ("item",),
    "conversation.item.created": ("item",),
    "conversation.item.deleted": ("item_id",),
    "conversation.item.done": ("item",),
    "conversation.item.retrieved": ("item",),
    "conversation.item.truncated": ("item_id", "content_index", "audio_end_ms"),
    "conversation.item.input_audio_transcription.completed": (
        "item_id",
        "content_index",
        "transcript",
        "usage",
    ),
    "conversation.item.input_audio_transcription.delta": ("item_id",),
    "conversation.item.input_audio_transcription.failed": ("item_id", "content_index", "error"),
    "conversation.item.input_audio_transcription.segment": (
        "id",
        "item_id",
        "content_index",
        "text",
        "speaker",
        "start",
        "end",
    ),
    "input_audio_buffer.cleared": (),
    "input_audio_buffer.committed": ("item_id",),
    "input_audio_buffer.speech_started": ("audio_start_ms", "item_id"),
    "input_audio_buffer.speech_stopped": ("audio_end_ms", "item_id"),
    "input_audio_buffer.timeout_triggered": ("audio_start_ms", "audio_end_ms", "item_id"),
    "input_audio_buffer.dtmf_event_received": ("event", "received_at"),
    "output_audio_buffer.started": ("response_id",),
    "output_audio_buffer.stopped": ("response_id",),
    "output_audio_buffer.cleared": ("response_id",),
    "response.created": ("response",),
    "response.done": ("response",),
    "response.output_item.added": ("response_id", "output_index", "item"),
    "response.output_item.done": ("response_id", "output_index", "item"),
    "response.content_part.added": (*_RESPONSE_PART, "part"),
    "response.content_part.done": (*_RESPONSE_PART, "part"),
    "response.output_text.delta": (*_RESPONSE_PART, "delta"),
    "response.output_text.done": (*_RESPONSE_PART, "text"),
    "response.output_audio.delta": (*_RESPONSE_PART, "delta"),
    "response.output_audio.done": _RESPONSE_PART,
    "response.output_audio_transcript.delta": (*_RESPONSE_PART, "delta"),
    "response.output_audio_transcript.done": (*_RESPONSE_PART, "transcript"),
    "response.function_call_arguments.delta": (
        "response_id",
        "item_id",
        "output_index",
        "call_id",
        "delta",
    ),
    "response.function_call_arguments.done": (
        "response_id",
        "item_id",
        "output_index",
        "call_id",
        "name",
        "arguments",
    ),
    "response.mcp_call_arguments.delta": ("response_id", "item_id", "output_index", "delta"),
    "response.mcp_call_arguments.done": ("response_id", "item_id", "output_index", "arguments"),
    "response.mcp_call.in_progress": ("item_id", "output_index"),
    "response.mcp_call.completed": ("item_id", "output_index"),
    "response.mcp_call.failed": ("item_id", "output_index"),
    "mcp_list_tools.in_progress": ("item_id",),
    "mcp_list_tools.completed": ("item_id",),
    "mcp_list_tools.failed": ("item_id",),
}

# The type of each field wherever it appears (names mean the same in every event of the schema),
# so handlers on either side can rely on them.
FIELD_TYPES: dict[str, type] = {
    "event_id": str,
    "item_id": str,
    "previous_item_id": str,
    "response_id": str,
    "call_id": str,
    "name": str,
    "arguments": str,
    "delta": str,
    "transcript": str,
    "text": str,
    "audio": str,
    "content_index": int,
    "output_index": int,
    "audio_start_ms": int,
    "audio_end_ms": int,
    "item": dict,
    "response": dict,
    "session": dict,
    "part": dict,
    "error": dict,
    "conversation": dict,
    "rate_limits": list,
}
_TYPE_NAMES = {str: "a string", int: "an integer", dict: "an object", list: "a list"}

CLIENT_EVENT_TYPES = frozenset(CLIENT_EVENT_FIELDS)
SERVER_EVENT_TYPES = frozenset(SERVER_EVENT_FIELDS)


@dataclass(frozen=True)
class _Shape:
    """The usual shape of one event type: ``type``, ``event_id`` and its required fields, no
    others, each of its schema type. An event of exactly this shape needs no more checking
    than of its ``item``/``response``; any other event goes through every check."""

    names: tuple[str, ...]
    types: tuple[type, ...]
    item: bool
    response: bool


def _shapes(fields: Mapping[str, tuple[str, ...]]) -> dict[str, _Shape]:
    return {
        kind: _Shape(
            ("type", "event_id", *required),
            (str, str, *(FIELD_TYPES[name] for name in required)),
            "item" in required,
            "response" in required,
        )
        for kind, required in fields.items()
        if all(name in FIELD_TYPES for name in required)
    }


_CLIENT_SHAPES = _shapes(CLIENT_EVENT_FIELDS)
_SERVER_SHAPES = _shapes(SERVER_EVENT_FIELDS)
_SHAPES = {id(CLIENT_EVENT_FIELDS): _CLIENT_SHAPES, id(SERVER_EVENT_FIELDS): _SERVER_SHAPES}


def _decode(
    data: str | bytes,
    fields: Mapping[str, tuple[str, ...]],
    shapes: Mapping[str, _Shape],
    side: str,
) -> Event:
    try:
        event = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ProtocolError(f"message is not valid JSON: {exc}", code="invalid_json") from exc
    if not isinstance(event, dict):
        raise ProtocolError("message must be a JSON object", code="invalid_json")
    return _check(event, fields, shapes, side)


def check_event(event: Event, fields: Mapping[str, tuple[str, ...]], side: str) -> Event:
    """Check ``type`` and required fields of a decoded event; return it unchanged."""
    return _check(event, fields, _SHAPES.get(id(fields), {}), side)


def _check(
    event: Event, fields: Mapping[str, tuple[str, ...]], shapes: Mapping[str, _Shape], side: str
) -> Event:
    kind = event.get("type")
    shape = shapes.get(kind) if type(kind) is str else None
    if (
        shape is None
        or len(event) != len(shape.names)
        or tuple(map(type, map(event.get, shape.names))) != shape.types
    ):
        return _check_fields(event, fields, side)
    if shape.item or shape.response:
        _check_nested(event, event["event_id"])
    return event


def _check_fields(event: Event, fields: Mapping[str, tuple[str, ...]], side: str) -> Event:
    event_id = event.get("event_id") if isinstance(event.get("event_id"), str) else None
    kind = event.get("type")
    if not isinstance(kind, str):
        raise ProtocolError(
            "the 'type' field is missing or not a string",
            code="missing_required_parameter",
            param="type",
            event_id=event_id,
        )
    required = fields.get(kind)
    if required is None:
        raise ProtocolError(
            f"unknown {side} event type {kind!r}",
            code="invalid_value",
            param="type",
            event_id=event_id,
        )
    for name in required:
        if name not in event:
            raise ProtocolError(
                f"{kind}: missing required parameter '{name}'",
                code="missing_required_parameter",
                param=name,
                event_id=event_id,
            )
    for name, value in event.items():
        expected = FIELD_TYPES.get(name)
        if expected is None or type(value) is expected:  # the exact type: the common case
            continue
        if value is None and name not in required:
            continue  # optional fields may be null
        if not _is_a(value, expected):
            raise ProtocolError(
                f"{kind}: '{name}' must be {_TYPE_NAMES[expected]}, got {type(value).__name__}",
                code="invalid_value",
                param=name,
                event_id=event_id,
            )
    _check_nested(event, event_id)
    return event


def _check_nested(event: Event, event_id: str | None) -> None:
    try:
        if event.get("item") is not None:
            check_item(event["item"])
        if event.get("response") is not None:
            check_response(event["response"])
    except ProtocolError as exc:
        exc.event_id = event_id
        raise


def _is_a(value: Any, expected: type) -> bool:
    # bool is an int to Python, never to JSON schema
    return isinstance(value, expected) and not (expected is int and isinstance(value, bool))


def decode_client_event(data: str | bytes) -> Event:
    """Parse a client event (what a server receives); raise :class:`ProtocolError` if invalid."""
    return _decode(data, CLIENT_EVENT_FIELDS, _CLIENT_SHAPES, "client")


def decode_server_event(data: str | bytes) -> Event:
    """Parse a server event (what a client receives); raise :class:`ProtocolError` if invalid."""
    return _decode(data, SERVER_EVENT_FIELDS, _SERVER_SHAPES, "server")


def encode(event: Mapping[str, Any]) -> str:
    """Serialise an event as compact JSON text."""
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False)


_counter = itertools.count(1)
_prefix = os.urandom(4).hex()


def new_id(prefix: str) -> str:
    """A unique id such as ``event_1a2b3c4d0007`` (prefixes as in the API: event, item, resp)."""
    return f"{prefix}_{_prefix}{next(_counter):06d}"


def error_event(error: ProtocolError | str, *, error_type: str = "invalid_request_error") -> Event:
    """Build a server ``error`` event from a :class:`ProtocolError` or a message."""
    if isinstance(error, str):
        error = ProtocolError(error)
    return {
        "type": "error",
        "event_id": new_id("event"),
        "error": {
            "type": error_type,
            "code": error.code,
            "message": error.message,
            "param": error.param,
            "event_id": error.event_id,
        },
    }
