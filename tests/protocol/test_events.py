"""Unit tests of rtnb.protocol.events: decoding, encoding, required fields, error events."""

from __future__ import annotations

import json

import pytest

from rtnb.protocol import events
from rtnb.protocol.events import (
    CLIENT_EVENT_FIELDS,
    CLIENT_EVENT_TYPES,
    FIELD_TYPES,
    SERVER_EVENT_FIELDS,
    SERVER_EVENT_TYPES,
    ProtocolError,
    check_event,
    decode_client_event,
    decode_server_event,
    encode,
    error_event,
    new_id,
)
from tests.schema import (
    CLIENT_EVENT_TYPES_IN_SCHEMA,
    SCHEMA_CLIENT_REQUIRED,
    SCHEMA_SERVER_REQUIRED,
    SERVER_EVENT_TYPES_IN_SCHEMA,
    unknown_fields,
    validate_server_event,
)

# Fields the decoder deliberately leaves to the schema (see the comment in events.py).
NOT_CHECKED_BY_DECODER = {"type", "event_id"}


_SAMPLES: dict[type, object] = {str: "x", int: 0, dict: {}, list: []}


def _full_event(kind: str, fields: tuple[str, ...]) -> dict[str, object]:
    values = {name: _SAMPLES[FIELD_TYPES.get(name, int)] for name in fields}
    return {"type": kind, "event_id": "event_1", **values}


# --- the tables agree with the openai package --------------------------------------------------


def test_server_event_types_match_schema() -> None:
    assert SERVER_EVENT_TYPES == SERVER_EVENT_TYPES_IN_SCHEMA
    assert len(SERVER_EVENT_TYPES) == 46


def test_client_event_types_match_schema() -> None:
    assert CLIENT_EVENT_TYPES == CLIENT_EVENT_TYPES_IN_SCHEMA
    assert len(CLIENT_EVENT_TYPES) == 11


@pytest.mark.parametrize("kind", sorted(SERVER_EVENT_FIELDS))
def test_server_required_fields_match_schema(kind: str) -> None:
    ours = set(SERVER_EVENT_FIELDS[kind])
    assert ours == SCHEMA_SERVER_REQUIRED[kind] - NOT_CHECKED_BY_DECODER, kind
    assert len(ours) == len(SERVER_EVENT_FIELDS[kind]), f"{kind}: duplicate field"


@pytest.mark.parametrize("kind", sorted(CLIENT_EVENT_FIELDS))
def test_client_required_fields_match_schema(kind: str) -> None:
    assert set(CLIENT_EVENT_FIELDS[kind]) == SCHEMA_CLIENT_REQUIRED[kind] - NOT_CHECKED_BY_DECODER


# --- decoding ---------------------------------------------------------------------------------


def test_decode_server_event_returns_the_dict() -> None:
    text = '{"type":"response.done","event_id":"e1","response":{"id":"resp_1"}}'
    event = decode_server_event(text)
    assert event == {"type": "response.done", "event_id": "e1", "response": {"id": "resp_1"}}


def test_decode_accepts_utf8_bytes() -> None:
    data = json.dumps({"type": "conversation.item.delete", "item_id": "itém"}).encode()
    assert decode_client_event(data)["item_id"] == "itém"


def test_decode_client_event_without_event_id() -> None:
    assert decode_client_event('{"type":"response.create"}') == {"type": "response.create"}


@pytest.mark.parametrize("field", sorted(FIELD_TYPES))
def test_a_field_of_the_wrong_type_is_named(field: str) -> None:
    expected = FIELD_TYPES[field]
    wrong = "1" if expected is not str else 1
    for bad in (wrong, True, [None] if expected is not list else "x"):
        event = {"type": "conversation.item.delete", "item_id": "item_1", field: bad}
        with pytest.raises(ProtocolError) as info:
            decode_client_event(encode(event))
        assert (info.value.param, info.value.code) == (field, "invalid_value")
    optional = {"type": "response.create", field: None}
    assert decode_client_event(encode(optional))[field] is None


@pytest.mark.parametrize(
    ("kind", "field"),
    [(k, f) for k, fields in sorted(SERVER_EVENT_FIELDS.items()) for f in fields],
)
def test_every_missing_server_field_is_named(kind: str, field: str) -> None:
    event = _full_event(kind, SERVER_EVENT_FIELDS[kind])
    assert decode_server_event(encode(event)) == event
    del event[field]
    with pytest.raises(ProtocolError) as info:
        decode_server_event(encode(event))
    assert info.value.param == field
    assert info.value.code == "missing_required_parameter"
    assert info.value.event_id == "event_1"
    assert field in str(info.value) and kind in str(info.value)


@pytest.mark.parametrize(
    ("kind", "field"),
    [
        (k, f)
        for k, fields in sorted(SERVER_EVENT_FIELDS.items())
        for f in fields
        if f in FIELD_TYPES
    ],
)
def test_a_wrong_type_in_an_event_of_the_usual_shape_is_named(kind: str, field: str) -> None:
    # type, event_id and the required fields only: the shape decoding checks fastest
    expected = FIELD_TYPES[field]
    for bad in ("1" if expected is not str else 1, True, None):
        event = _full_event(kind, SERVER_EVENT_FIELDS[kind]) | {field: bad}
        with pytest.raises(ProtocolError) as info:
            decode_server_event(encode(event))
        assert (info.value.param, info.value.event_id) == (field, "event_1")


def test_a_bad_item_in_an_event_of_the_usual_shape_is_named() -> None:
    event = _full_event("conversation.item.added", ("item",)) | {"item": {"id": 5}}
    with pytest.raises(ProtocolError) as info:
        decode_server_event(encode(event))
    assert (info.value.param, info.value.event_id) == ("item.id", "event_1")


@pytest.mark.parametrize(
    ("kind", "field"),
    [(k, f) for k, fields in sorted(CLIENT_EVENT_FIELDS.items()) for f in fields],
)
def test_every_missing_client_field_is_named(kind: str, field: str) -> None:
    event = _full_event(kind, CLIENT_EVENT_FIELDS[kind])
    assert decode_client_event(encode(event)) == event
    del event[field]
    with pytest.raises(ProtocolError) as info:
        decode_client_event(encode(event))
    assert info.value.param == field
    assert info.value.code == "missing_required_parameter"
    assert info.value.event_id == "event_1"


@pytest.mark.parametrize("data", ["{", "not json", "", '{"type": "x",}', b"\xff\xfe{}"])
def test_invalid_json(data: str | bytes) -> None:
    with pytest.raises(ProtocolError) as info:
        decode_server_event(data)
    assert info.value.code == "invalid_json"
    assert info.value.param is None


@pytest.mark.parametrize("data", ["[]", "3", '"response.done"', "null", '[{"type":"error"}]'])
def test_non_object_is_rejected(data: str) -> None:
    with pytest.raises(ProtocolError) as info:
        decode_client_event(data)
    assert info.value.code == "invalid_json"
    assert "object" in str(info.value)


@pytest.mark.parametrize("event", [{}, {"type": 7}, {"type": None}, {"item_id": "x"}])
def test_missing_or_non_string_type(event: dict[str, object]) -> None:
    with pytest.raises(ProtocolError) as info:
        decode_client_event(json.dumps(event))
    assert info.value.param == "type"
    assert info.value.code == "missing_required_parameter"


def test_unknown_type_names_type_and_keeps_event_id() -> None:
    with pytest.raises(ProtocolError) as info:
        decode_client_event('{"type":"session.frobnicate","event_id":"evt_9"}')
    assert info.value.param == "type"
    assert info.value.code == "invalid_value"
    assert info.value.event_id == "evt_9"
    assert "session.frobnicate" in str(info.value)


def test_server_types_are_not_client_types() -> None:
    with pytest.raises(ProtocolError, match=r"unknown client event type 'session\.created'"):
        decode_client_event('{"type":"session.created","session":{}}')
    with pytest.raises(ProtocolError, match=r"unknown server event type 'session\.update'"):
        decode_server_event('{"type":"session.update","session":{}}')


def test_non_string_event_id_is_not_reported() -> None:
    with pytest.raises(ProtocolError) as info:
        decode_client_event('{"type":"conversation.item.delete","event_id":5}')
    assert info.value.event_id is None
    assert info.value.param == "item_id"


def test_check_event_returns_same_object() -> None:
    event = {"type": "input_audio_buffer.commit"}
    assert check_event(event, CLIENT_EVENT_FIELDS, "client") is event


# --- encoding and ids -------------------------------------------------------------------------


def test_encode_is_compact_and_keeps_unicode() -> None:
    text = encode({"type": "response.output_text.delta", "delta": "héllo ☀"})
    assert text == '{"type":"response.output_text.delta","delta":"héllo ☀"}'


def test_encode_decode_roundtrip() -> None:
    event = {
        "type": "conversation.item.truncate",
        "event_id": "event_x",
        "item_id": "item_1",
        "content_index": 0,
        "audio_end_ms": 1500,
    }
    assert decode_client_event(encode(event)) == event


def test_new_id_prefix_and_uniqueness() -> None:
    ids = [new_id("item") for _ in range(1000)]
    assert len(set(ids)) == 1000
    assert all(i.startswith("item_") for i in ids)
    assert new_id("resp").startswith("resp_")


# --- error events -----------------------------------------------------------------------------


def test_error_event_from_protocol_error_validates() -> None:
    exc = ProtocolError(
        "bad", code="missing_required_parameter", param="item_id", event_id="event_7"
    )
    event = error_event(exc)
    validate_server_event(event)
    assert unknown_fields(event) == []
    assert event["error"] == {
        "type": "invalid_request_error",
        "code": "missing_required_parameter",
        "message": "bad",
        "param": "item_id",
        "event_id": "event_7",
    }
    assert decode_server_event(encode(event)) == event


def test_error_event_from_message_validates() -> None:
    event = error_event("something broke", error_type="server_error")
    validate_server_event(event)
    assert event["error"]["type"] == "server_error"
    assert event["error"]["message"] == "something broke"
    assert event["error"]["code"] == "invalid_value"
    assert event["event_id"].startswith("event_")


def test_error_event_from_decode_failure_validates() -> None:
    with pytest.raises(ProtocolError) as info:
        decode_client_event('{"type":"conversation.item.truncate","event_id":"e5","item_id":"i"}')
    event = error_event(info.value)
    validate_server_event(event)
    assert event["error"]["param"] == "content_index"
    assert event["error"]["event_id"] == "e5"


def test_protocol_error_is_a_value_error() -> None:
    assert issubclass(events.ProtocolError, ValueError)
