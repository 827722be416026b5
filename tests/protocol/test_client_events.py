"""Every builder in rtnb.protocol.client_events produces a schema-valid GA client event."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from rtnb.protocol import client_events as ce
from rtnb.protocol.audio import decode_audio
from rtnb.protocol.config import build_session_config
from rtnb.protocol.events import Event, decode_client_event, encode
from tests.schema import unknown_fields, validate_client_event

BUILDERS: dict[str, Callable[[], Event]] = {
    "session_update": lambda: ce.session_update(build_session_config(model="gpt-realtime")),
    "append_audio": lambda: ce.append_audio(b"\x01\x00\xff\xff"),
    "commit_audio": ce.commit_audio,
    "clear_audio": ce.clear_audio,
    "user_message": lambda: ce.user_message("What is the weather in Paris?"),
    "create_item": lambda: ce.create_item(
        {
            "type": "message",
            "role": "assistant",
            "content": [{"type": "output_text", "text": "Hello"}],
        }
    ),
    "create_item_after": lambda: ce.create_item(
        {"type": "message", "role": "system", "content": [{"type": "input_text", "text": "x"}]},
        previous_item_id="item_1",
    ),
    "function_call_output": lambda: ce.function_call_output("call_1", '{"temp": 21}'),
    "delete_item": lambda: ce.delete_item("item_1"),
    "truncate_item": lambda: ce.truncate_item("item_1", 1234.7),
    "create_response": ce.create_response,
    "create_response_with_options": lambda: ce.create_response(
        {"instructions": "Be brief.", "output_modalities": ["text"], "conversation": "none"}
    ),
    "cancel_response": ce.cancel_response,
    "cancel_response_id": lambda: ce.cancel_response("resp_1"),
    "clear_output_audio": ce.clear_output_audio,
}


def test_every_public_builder_is_covered() -> None:
    public = {
        name
        for name, value in vars(ce).items()
        if callable(value) and not name.startswith("_") and value.__module__ == ce.__name__
    }
    covered = {
        name.removesuffix("_after").removesuffix("_with_options").removesuffix("_id")
        for name in BUILDERS
    }
    assert public <= covered, public - covered


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_builder_validates_against_schema(name: str) -> None:
    event = BUILDERS[name]()
    validate_client_event(event)
    assert unknown_fields(event, "client") == []
    assert decode_client_event(encode(event)) == event


def test_builder_values() -> None:
    assert decode_audio(ce.append_audio(b"\x01\x00\xff\xff")["audio"]) == b"\x01\x00\xff\xff"
    truncate = ce.truncate_item("item_1", 1234.7, content_index=2)
    assert truncate["audio_end_ms"] == 1234 and isinstance(truncate["audio_end_ms"], int)
    assert truncate["content_index"] == 2
    assert ce.create_item({"type": "message"}, previous_item_id="p")["previous_item_id"] == "p"
    assert "previous_item_id" not in ce.create_item({"type": "message"})
    assert ce.create_response() == {"type": "response.create"}
    assert ce.cancel_response() == {"type": "response.cancel"}
    assert ce.cancel_response("resp_9")["response_id"] == "resp_9"
    output = ce.function_call_output("call_7", "ok")["item"]
    assert output == {"type": "function_call_output", "call_id": "call_7", "output": "ok"}
    message = ce.user_message("hi")["item"]
    assert message["role"] == "user"
    assert message["content"] == [{"type": "input_text", "text": "hi"}]
