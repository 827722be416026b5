"""A mutation fuzzer sends the local server thousands of invalid client events.

Each one must be answered by exactly one ``error`` event that names the problem (a known code, and
the client's ``event_id`` whenever the message parsed far enough to carry one), never by a
``server_error``; the connection and a bystander connection keep working.
"""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from rtnb.local.server import LocalServer, start_local_server
from tests.wire import WireClient

SEED = 20261125
MESSAGES = 10_000

VALID: list[dict[str, Any]] = [
    {"type": "session.update", "session": {"type": "realtime", "instructions": "Be brief."}},
    {"type": "input_audio_buffer.append", "audio": "AAAA"},
    {
        "type": "conversation.item.create",
        "item": {
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": "hi"}],
        },
    },
    {"type": "conversation.item.delete", "item_id": "item_x"},
    {"type": "conversation.item.retrieve", "item_id": "item_x"},
    {
        "type": "conversation.item.truncate",
        "item_id": "item_x",
        "content_index": 0,
        "audio_end_ms": 10,
    },
]
REQUIRED = {
    "session.update": ["session"],
    "input_audio_buffer.append": ["audio"],
    "conversation.item.create": ["item"],
    "conversation.item.delete": ["item_id"],
    "conversation.item.retrieve": ["item_id"],
    "conversation.item.truncate": ["item_id", "content_index", "audio_end_ms"],
}
WRONG_VALUES: list[Any] = [
    None,
    0,
    -1,
    3.5,
    True,
    "",
    "x" * 300,
    [],
    [1, "a"],
    {},
    {"a": {"b": []}},
]
KNOWN_CODES = {
    "invalid_json",
    "invalid_value",
    "missing_required_parameter",
    "item_not_found",
    "input_audio_buffer_commit_empty",
    "response_cancel_not_active",
    "unsupported_for_transport",
    "conversation_already_has_active_response",
    "conversation_full",
}


def _drop_field(rng: random.Random, event: dict[str, Any]) -> str:
    name = rng.choice(REQUIRED[event["type"]])
    return json.dumps({k: v for k, v in event.items() if k != name})


def _wrong_type(rng: random.Random, event: dict[str, Any]) -> str:
    name = rng.choice(REQUIRED[event["type"]])
    value = rng.choice(WRONG_VALUES)
    if event["type"] == "conversation.item.truncate" and name != "item_id":
        value = rng.choice([None, "10", [], {}, 2.5])  # "x" would still be a wrong item id
    if event["type"] == "input_audio_buffer.append" and value == "":
        value = "AA=="  # an empty append is a valid no-op; one byte is not PCM16
    if event["type"] == "session.update" and isinstance(value, dict):
        value = {"output_modalities": value}
    if event["type"] == "conversation.item.create" and value == {}:
        value = {"type": "message"}
    return json.dumps({**event, name: value})


def _unknown_type(rng: random.Random, event: dict[str, Any]) -> str:
    kind = rng.choice(["", "response", "session.delete", event["type"].upper(), "a" * 200, 7])
    return json.dumps({**event, "type": kind})


def _truncated(rng: random.Random, event: dict[str, Any]) -> str:
    text = json.dumps(event)
    return text[: rng.randrange(1, len(text) - 1)]


def _garbage(rng: random.Random, event: dict[str, Any]) -> str:
    return rng.choice(["null", "[]", "42", '"text"', "{", "}", "\ufeff{}", "{'type': 1}"])


def _bad_nested(rng: random.Random, event: dict[str, Any]) -> str:
    item = rng.choice(
        [
            {"type": "message", "role": "robot", "content": []},
            {"type": "message", "role": "user", "content": "hi"},
            {"type": "message", "role": "user", "content": [{"type": "output_audio"}]},
            {"type": "function_call_output", "call_id": 5, "output": "x"},
            {"type": "function_call", "name": "f"},
            {"type": "message", "role": "user", "content": [], "id": "x" * 65},
        ]
    )
    return json.dumps({"type": "conversation.item.create", "item": item})


MUTATIONS: list[Callable[[random.Random, dict[str, Any]], str]] = [
    _drop_field,
    _wrong_type,
    _unknown_type,
    _truncated,
    _garbage,
    _bad_nested,
]


def invalid_messages(count: int, seed: int = SEED) -> list[tuple[str, str]]:
    """(event_id or "", message) pairs, every message invalid."""
    rng = random.Random(seed)
    messages = []
    for index in range(count):
        event = dict(rng.choice(VALID))
        event_id = f"evt_fuzz_{index}"
        event["event_id"] = event_id
        mutation = rng.choice(MUTATIONS)
        text = mutation(rng, event)
        carries_id = mutation not in (_truncated, _garbage)
        messages.append((event_id if carries_id and event_id in text else "", text))
    return messages


@pytest.fixture
async def server() -> AsyncIterator[LocalServer]:
    async with await start_local_server(realtime_pacing=False) as running:
        yield running


async def test_every_invalid_client_event_gets_one_named_error(server: LocalServer) -> None:
    bystander = await WireClient.open(server.url)
    client = await WireClient.open(server.url)
    messages = invalid_messages(MESSAGES)
    for _, text in messages:
        await client.send_raw(text)
    await client.send({"type": "session.update", "session": {"type": "realtime"}})
    await client.wait_for("session.updated", timeout=120)

    errors = client.of_type("error")
    codes = [e["error"]["code"] for e in errors]
    unexpected = sorted({c for c in codes if c not in KNOWN_CODES})
    print(f"\nfuzz: {len(messages)} invalid client events -> {len(errors)} error events")
    assert unexpected == [], [e for e in errors if e["error"]["code"] in unexpected][:3]
    assert len(errors) == len(messages)
    answered = {e["error"]["event_id"] for e in errors}
    missing = [eid for eid, _ in messages if eid and eid not in answered]
    assert missing == [], f"{len(missing)} errors lack their event_id, e.g. {missing[:3]}"
    assert all(e["error"]["message"] for e in errors)
    assert client.invalid == []

    after = len(bystander.events)
    await bystander.send({"type": "input_audio_buffer.clear"})
    await bystander.wait_for("input_audio_buffer.cleared", after=after)
    await client.close()
    await bystander.close()


async def test_conversation_size_is_bounded(server: LocalServer) -> None:
    client = await WireClient.open(server.url)
    limit = 4096
    for index in range(limit + 1):
        await client.send(
            {
                "type": "conversation.item.create",
                "item": {
                    "type": "message",
                    "role": "user",
                    "content": [{"type": "input_text", "text": f"message {index}"}],
                },
            }
        )
    error = await client.wait_for("error", timeout=120)
    assert error["error"]["code"] == "conversation_full"
    assert len(client.of_type("conversation.item.added")) == limit
    await client.close()
