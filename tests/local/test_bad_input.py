"""Bad client input to the local server: an ``error`` event naming the problem, never a crash."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest

from rtnb.local.server import LocalServer, start_local_server
from tests.wire import WireClient


@pytest.fixture
async def server() -> AsyncIterator[LocalServer]:
    async with await start_local_server(realtime_pacing=False) as running:
        yield running


BAD_MESSAGES: list[tuple[str | bytes, str, str | None]] = [
    # (raw message, expected error code, expected param)
    ("{not json", "invalid_json", None),
    ("[1, 2, 3]", "invalid_json", None),
    (b"\x00\x01binary", "invalid_value", None),
    (json.dumps({"no_type": True}), "missing_required_parameter", "type"),
    (json.dumps({"type": "no.such.event"}), "invalid_value", "type"),
    (json.dumps({"type": "session.update"}), "missing_required_parameter", "session"),
    (json.dumps({"type": "session.update", "session": []}), "invalid_value", "session"),
    (
        json.dumps({"type": "session.update", "session": {"output_modalities": ["smell"]}}),
        "invalid_value",
        "session.output_modalities",
    ),
    (
        json.dumps(
            {"type": "session.update", "session": {"audio": {"output": {"voice": "nobody"}}}}
        ),
        "invalid_value",
        "session.audio.output.voice",
    ),
    (
        json.dumps(
            {
                "type": "session.update",
                "session": {"audio": {"input": {"turn_detection": {"threshold": 7}}}},
            }
        ),
        "invalid_value",
        "session.audio.input.turn_detection.threshold",
    ),
    (
        json.dumps({"type": "session.update", "session": {"tools": [{"type": "function"}]}}),
        "invalid_value",
        "session.tools[0].name",
    ),
    (json.dumps({"type": "input_audio_buffer.append"}), "missing_required_parameter", "audio"),
    (
        json.dumps({"type": "input_audio_buffer.append", "audio": "***"}),
        "invalid_value",
        "audio",
    ),
    (
        json.dumps({"type": "input_audio_buffer.append", "audio": "AA=="}),
        "invalid_value",
        "audio",
    ),
    (json.dumps({"type": "input_audio_buffer.append", "audio": 5}), "invalid_value", "audio"),
    (json.dumps({"type": "conversation.item.create", "item": 3}), "invalid_value", "item"),
    (
        json.dumps({"type": "conversation.item.create", "item": {"type": "nonsense"}}),
        "invalid_value",
        "item.type",
    ),
    (
        json.dumps(
            {
                "type": "conversation.item.create",
                "item": {"type": "message", "role": "user", "content": [{"type": "output_text"}]},
            }
        ),
        "invalid_value",
        "item.content[0].type",
    ),
    (
        json.dumps({"type": "conversation.item.create", "item": {"type": "function_call_output"}}),
        "missing_required_parameter",
        "item.call_id",
    ),
    (json.dumps({"type": "conversation.item.delete"}), "missing_required_parameter", "item_id"),
    (
        json.dumps({"type": "conversation.item.delete", "item_id": "missing"}),
        "item_not_found",
        "item_id",
    ),
    (
        json.dumps({"type": "conversation.item.truncate", "item_id": "x", "content_index": 0}),
        "missing_required_parameter",
        "audio_end_ms",
    ),
    (json.dumps({"type": "response.create", "response": "now"}), "invalid_value", "response"),
    (json.dumps({"type": "response.cancel"}), "response_cancel_not_active", None),
]


@pytest.mark.parametrize(("message", "code", "param"), BAD_MESSAGES)
async def test_bad_message_gets_error_and_connection_keeps_working(
    server: LocalServer, message: str | bytes, code: str, param: str | None
) -> None:
    client = await WireClient.open(server.url)
    await client.send_raw(message)
    error = await client.wait_for("error")
    assert error["error"]["code"] == code, error
    assert error["error"]["param"] == param, error
    assert error["error"]["message"]

    after = len(client.events)
    await client.send({"type": "session.update", "session": {"type": "realtime"}})
    await client.wait_for("session.updated", after=after)
    await client.close()
    assert client.invalid == []


async def test_oversized_append_is_refused_and_other_connections_keep_working(
    server: LocalServer,
) -> None:
    bystander = await WireClient.open(server.url)
    client = await WireClient.open(server.url)
    huge = "A" * (16 * 1024 * 1024)
    await client.send_raw(json.dumps({"type": "input_audio_buffer.append", "audio": huge}))
    error = await client.wait_for("error")
    assert error["error"]["param"] == "audio"
    assert "larger than" in error["error"]["message"]
    for wire in (client, bystander):
        after = len(wire.events)
        await wire.send({"type": "input_audio_buffer.clear"})
        await wire.wait_for("input_audio_buffer.cleared", after=after)
        await wire.close()


async def test_rejected_session_update_leaves_session_unchanged(server: LocalServer) -> None:
    client = await WireClient.open(server.url)
    good = {"type": "realtime", "instructions": "Be brief.", "output_modalities": ["text"]}
    await client.send({"type": "session.update", "session": good})
    await client.wait_for("session.updated")
    bad = {"instructions": 5, "output_modalities": ["audio"]}
    await client.send_raw(json.dumps({"type": "session.update", "session": bad}))
    error = await client.wait_for("error")
    assert error["error"]["param"] == "session.instructions"
    after = len(client.events)
    await client.send({"type": "session.update", "session": {"type": "realtime"}})
    updated = await client.wait_for("session.updated", after=after)
    assert updated["session"]["instructions"] == "Be brief."
    assert updated["session"]["output_modalities"] == ["text"]
    await client.close()
    assert client.invalid == []
