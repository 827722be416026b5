"""Output guardrails against the local server over a real loopback socket.

The server speaks at real-time pace, so the guardrail trips while the answer is still streaming:
the server really cancels it, and the model (a scripted policy) sees why on its next turn.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator
from typing import Any

import pytest

from rtnb import (
    GuardrailFunctionOutput,
    GuardrailTrippedEvent,
    RealtimeAgent,
    RealtimeSession,
    output_guardrail,
)
from rtnb.local.policy.deterministic import PolicyInput, Reply, Say, item_text
from rtnb.local.server import LocalServer, start_local_server
from rtnb.protocol.events import Event
from rtnb.transport import WebSocketTransport
from tests.schema import validate_client_event

TIMEOUT = 30.0
LONG_ANSWER = (
    "Banana is the secret ingredient, and here is how the whole recipe goes. "
    "First you mix the flour with the butter and a little sugar. "
    "Then you bake the dough for forty minutes until it turns golden. "
    "Finally you let it cool down on the table before serving it to your guests."
)
CLEAN_ANSWER = "Sorry, that ingredient is a secret."


class RecordingTransport(WebSocketTransport):
    """A WebSocket transport that keeps a copy of every client event it sends."""

    def __init__(self, url: str) -> None:
        super().__init__(url, backend="local")
        self.sent: list[Event] = []

    async def send(self, event: Event) -> None:
        self.sent.append(copy.deepcopy(event))
        await super().send(event)


class ScriptedModel:
    """A policy: the long answer first, the clean one once told it was blocked."""

    def __init__(self) -> None:
        self.turns: list[PolicyInput] = []

    def __call__(self, turn: PolicyInput) -> Reply:
        self.turns.append(turn)
        blocked = any("was blocked by guardrail" in item_text(item) for item in turn.items)
        return Say(CLEAN_ANSWER if blocked else LONG_ANSWER)


@output_guardrail
def no_banana(text: str) -> GuardrailFunctionOutput:
    """Trips when the assistant names the secret ingredient."""
    found = "banana" in text.lower()
    return GuardrailFunctionOutput(found, "names the secret ingredient" if found else None)


@pytest.fixture
async def model_and_server() -> AsyncIterator[tuple[ScriptedModel, LocalServer]]:
    model = ScriptedModel()
    server = await start_local_server(policy=model)  # real-time pacing
    yield model, server
    await server.close()


async def test_guardrail_stops_a_spoken_answer_and_the_model_answers_again(
    model_and_server: tuple[ScriptedModel, LocalServer],
) -> None:
    model, server = model_and_server
    transport = RecordingTransport(f"{server.url}?model=gpt-realtime")
    session = RealtimeSession(
        RealtimeAgent(name="Baker"),
        transport=transport,
        output_guardrails=[no_banana],
        output_guardrail_settings={"debounce_text_length": 20},
    )
    tripped: list[GuardrailTrippedEvent] = []
    interrupted: list[Any] = []
    done: dict[str, Event] = {}
    errors: list[Any] = []
    clean_done = asyncio.Event()

    def on_transport_event(event: Any) -> None:
        if event.event["type"] == "response.done":
            response = event.event["response"]
            done[response["id"]] = response
            if tripped and response["id"] != tripped[0].response_id:
                clean_done.set()

    session.on("guardrail_tripped", tripped.append)
    session.on("audio_interrupted", interrupted.append)
    session.on("transport_event", on_transport_event)
    session.on("error", lambda e: errors.append(e.error))

    async with session:
        session.send_message("What is the secret ingredient?")
        await asyncio.wait_for(clean_done.wait(), TIMEOUT)
        history = list(session.history)

    assert errors == []
    [trip] = tripped
    assert trip.guardrail_results[0].guardrail is no_banana
    assert "banana" in trip.message.lower() and len(trip.message) < len(LONG_ANSWER)
    assert done[trip.response_id]["status"] == "cancelled"
    assert done[trip.response_id]["status_details"]["reason"] == "client_cancelled"
    assert [i.item_id for i in interrupted] == [trip.item_id]

    # The model was told why, and its second answer went through.
    assert len(model.turns) == 2
    notice = model.turns[1].items[-1]
    assert notice["role"] == "system"
    assert item_text(notice).startswith(
        "The previous answer was blocked by guardrail no_banana: names the secret ingredient."
    )
    clean = [r for r in done.values() if r["id"] != trip.response_id]
    assert [r["status"] for r in clean] == ["completed"]
    answers = [i for i in history if i.role == "assistant"]
    assert answers[-1].text == CLEAN_ANSWER
    assert answers[0].item_id == trip.item_id
    assert "Finally" not in (answers[0].text or "")  # cut before the end

    assert transport.sent, "the session sent events"
    for event in transport.sent:
        validate_client_event(event)
