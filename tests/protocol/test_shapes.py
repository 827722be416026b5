"""Nested shape checks: items and responses inside events."""

from __future__ import annotations

import pytest

from rtnb.protocol.errors import ProtocolError
from rtnb.protocol.events import decode_server_event, encode
from rtnb.protocol.shapes import check_item, check_response

GOOD_ITEM = {
    "id": "item_1",
    "type": "message",
    "role": "assistant",
    "status": "completed",
    "content": [{"type": "output_audio", "transcript": "hi"}],
}


def test_good_shapes_pass_and_unknown_fields_are_allowed() -> None:
    check_item({**GOOD_ITEM, "new_field": [1, 2]})
    check_response({"id": "resp_1", "status": "completed", "output": [GOOD_ITEM]})


@pytest.mark.parametrize(
    ("item", "param"),
    [
        ("text", "item"),
        ({**GOOD_ITEM, "id": 5}, "item.id"),
        ({**GOOD_ITEM, "call_id": {}}, "item.call_id"),
        ({**GOOD_ITEM, "content": "hi"}, "item.content"),
        ({**GOOD_ITEM, "content": [3]}, "item.content[0]"),
        (
            {**GOOD_ITEM, "content": [{"type": "output_audio", "transcript": 7}]},
            "item.content[0].transcript",
        ),
    ],
)
def test_bad_item_names_the_field(item: object, param: str) -> None:
    with pytest.raises(ProtocolError) as info:
        check_item(item)
    assert info.value.param == param


@pytest.mark.parametrize(
    ("response", "param"),
    [
        ([], "response"),
        ({"id": 1}, "response.id"),
        ({"status_details": "x"}, "response.status_details"),
        ({"output": {}}, "response.output"),
        ({"output": [{"type": "function_call", "arguments": {}}]}, "response.output[0].arguments"),
    ],
)
def test_bad_response_names_the_field(response: object, param: str) -> None:
    with pytest.raises(ProtocolError) as info:
        check_response(response)
    assert info.value.param == param


def test_decoding_checks_nested_shapes_and_keeps_the_event_id() -> None:
    event = {"type": "conversation.item.done", "event_id": "e9", "item": {**GOOD_ITEM, "id": []}}
    with pytest.raises(ProtocolError) as info:
        decode_server_event(encode(event))
    assert (info.value.param, info.value.event_id) == ("item.id", "e9")
