"""Handoffs, update_agent, update_history, mute, tracing and stored audio over a real socket.

Each test runs a session against the local server on a loopback port; a recording policy shows
what the server saw when it was asked for each response (instructions, tools, items).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from rtnb import (
    FunctionCallItem,
    HandoffError,
    MuteNotSupportedError,
    RealtimeAgent,
    RealtimeSession,
    UserMessageItem,
    tool,
)
from rtnb.local.policy.deterministic import PolicyInput, Reply, Say, default_policy, item_text
from rtnb.local.server import LocalServer, start_local_server
from rtnb.protocol.events import Event
from rtnb.transport import WebSocketTransport
from tests.schema import unknown_fields, validate_client_event, validate_server_event
from tests.session.conftest import Recorder

TIMEOUT = 30.0
TEXT = {"output_modalities": ["text"]}


@pytest.fixture(autouse=True)
def no_api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)


class RecordingPolicy:
    """The default policy (or fixed text), remembering what it saw for each response."""

    def __init__(self, say: str | None = None) -> None:
        self.inputs: list[PolicyInput] = []
        self._say = say

    def __call__(self, turn: PolicyInput) -> Reply:
        self.inputs.append(turn)
        return Say(self._say) if self._say is not None else default_policy(turn)


class RecordingTransport(WebSocketTransport):
    """The WebSocket transport, keeping a copy of every client event it sends."""

    def __init__(self, url: str) -> None:
        super().__init__(url, backend="local")
        self.sent: list[Event] = []

    async def send(self, event: Event) -> None:
        self.sent.append(json.loads(json.dumps(event)))
        await super().send(event)


@pytest.fixture
async def policy() -> RecordingPolicy:
    return RecordingPolicy()


@pytest.fixture
async def server(policy: RecordingPolicy) -> AsyncIterator[LocalServer]:
    async with await start_local_server(policy=policy, realtime_pacing=False) as server:
        yield server


def open_session(server: LocalServer, agent: RealtimeAgent, **options: Any) -> RealtimeSession:
    return RealtimeSession(agent, url=f"{server.url}?model=rtnb-local", **options)


@tool
def invoice_status(invoice_number: int) -> str:
    """Look up the status of an invoice by its number."""
    return f"Invoice {invoice_number} is paid."


@tool
def get_weather(city: str) -> str:
    """Return the weather for a city."""
    return f"The weather in {city} is sunny."


def billing(voice: str | None = None) -> RealtimeAgent:
    return RealtimeAgent(
        name="Billing",
        instructions="You handle invoices.",
        tools=[invoice_status],
        handoff_description="Answers questions about invoices and refunds.",
        voice=voice,
    )


def triage(target: RealtimeAgent, voice: str | None = None) -> RealtimeAgent:
    return RealtimeAgent(
        name="Triage",
        instructions="You route the user.",
        tools=[get_weather],
        handoffs=[target],
        voice=voice,
    )


def answered(recorder: Recorder, text: str) -> Any:
    """Wait until the history holds an assistant message saying ``text``."""
    return recorder.wait_for(
        "history_updated",
        lambda e: any(
            i.type == "message" and i.role == "assistant" and i.text == text for i in e.history
        ),
        timeout=TIMEOUT,
    )


# ------------------------------------------------------------------------- handoffs


async def test_request_matching_a_handoff_transfers_to_the_agent(
    server: LocalServer, policy: RecordingPolicy
) -> None:
    target = billing()
    session = open_session(server, triage(target), config=TEXT)
    recorder = Recorder(session, "agent_handoff", "history_updated", "error")
    async with session:
        session.send_message("I have a question about invoice 42")
        handoff = await recorder.wait_for("agent_handoff", timeout=TIMEOUT)
        await answered(recorder, "Invoice 42 is paid.")
        history = list(session.history)

    assert (handoff.from_agent.name, handoff.to_agent) == ("Triage", target)
    assert session.agent is target
    assert recorder.of("error") == []
    first, after_transfer, after_tool = policy.inputs
    assert first.instructions == "You route the user."
    assert [t["name"] for t in first.tools] == ["get_weather", "transfer_to_billing"]
    # The server got the new agent's instructions and tools before the next response.
    assert after_transfer.instructions == "You handle invoices."
    assert [t["name"] for t in after_transfer.tools] == ["invoice_status"]
    assert after_transfer.items[-1]["output"] == json.dumps({"assistant": "Billing"})
    assert item_text(after_transfer.items[0]) == "I have a question about invoice 42"
    assert after_tool.instructions == "You handle invoices."
    # One conversation throughout: the user's words, the transfer, the new agent's work.
    assert [
        (type(i).__name__, i.name if i.type == "function_call" else i.text) for i in history
    ] == [
        ("UserMessageItem", "I have a question about invoice 42"),
        ("FunctionCallItem", "transfer_to_billing"),
        ("FunctionCallItem", "invoice_status"),
        ("AssistantMessageItem", "Invoice 42 is paid."),
    ]


async def test_handoff_to_another_voice_is_refused(
    server: LocalServer, policy: RecordingPolicy
) -> None:
    session = open_session(server, triage(billing(voice="ash"), voice="alloy"))
    recorder = Recorder(session, "agent_handoff", "error", "history_updated")
    async with session:
        session.send_message("I have a question about invoice 42")
        error = await recorder.wait_for("error", timeout=TIMEOUT)
        await recorder.wait_for(
            "history_updated",
            lambda e: e.history[-1].type == "message" and e.history[-1].text.startswith("Error"),
            timeout=TIMEOUT,
        )
        call = session.history[1]

    assert isinstance(error.error, HandoffError) and error.error.field == "voice"
    assert recorder.of("agent_handoff") == []
    assert session.agent.name == "Triage"
    assert isinstance(call, FunctionCallItem) and call.output is not None
    assert "voice would change from 'alloy' to 'ash'" in call.output
    # The server still runs the triage agent: no session.update reached it.
    assert [p.instructions for p in policy.inputs] == ["You route the user."] * 2


async def test_update_agent_switches_without_a_handoff_event(
    server: LocalServer, policy: RecordingPolicy
) -> None:
    target = billing()
    session = open_session(server, triage(target), config=TEXT)
    recorder = Recorder(session, "agent_handoff", "history_updated")
    async with session:
        session.update_agent(target)
        session.send_message("status of invoice 7")
        await answered(recorder, "Invoice 7 is paid.")
        with pytest.raises(HandoffError, match="voice"):
            session.update_agent(billing(voice="cedar"))  # the server reported 'alloy'
    assert session.agent is target
    assert recorder.of("agent_handoff") == []
    assert policy.inputs[0].instructions == "You handle invoices."
    assert [t["name"] for t in policy.inputs[0].tools] == ["invoice_status"]


# ------------------------------------------------------------------------- history editing


@pytest.mark.parametrize("policy", [RecordingPolicy(say="Noted.")])
async def test_update_history_deletes_inserts_edits_and_reorders(
    server: LocalServer, policy: RecordingPolicy
) -> None:
    session = open_session(server, RealtimeAgent(name="Notes"), config=TEXT)
    recorder = Recorder(session, "history_updated", "agent_end", "transport_event")
    async with session:
        for count, text in enumerate(["one", "two", "three"], start=1):
            session.send_message(text)
            await recorder.wait_for("agent_end", count=count, timeout=TIMEOUT)
        one, _, two, second_reply, three, third_reply = session.history

        def edit(items: list[Any]) -> list[Any]:
            by_id = {item.item_id: item for item in items}
            edited = by_id[two.item_id]
            edited.content[0].text = "TWO"  # changed
            return [
                by_id[three.item_id],  # moved to the front
                UserMessageItem.from_text("zero"),  # inserted
                by_id[one.item_id],
                edited,
                by_id[second_reply.item_id],
                by_id[third_reply.item_id],
            ]  # the first reply is deleted

        await asyncio.wait_for(session.update_history(edit), TIMEOUT)
        local = [(item.role, item.text) for item in session.history]
        session.send_event({"type": "conversation.item.retrieve", "item_id": one.item_id})
        retrieved = await recorder.wait_for(
            "transport_event",
            lambda e: e.event["type"] == "conversation.item.retrieved",
            timeout=TIMEOUT,
        )
        session.send_message("four")
        await recorder.wait_for("agent_end", count=4, timeout=TIMEOUT)

    assert local == [
        ("user", "three"),
        ("user", "zero"),
        ("user", "one"),
        ("user", "TWO"),
        ("assistant", "Noted."),
        ("assistant", "Noted."),
    ]
    assert retrieved.event["item"]["id"] == one.item_id  # kept in place, same id
    validate_server_event(retrieved.event)
    # The server's conversation, as the policy saw it for the next response.
    server_view = [(i["role"], item_text(i)) for i in policy.inputs[-1].items]
    assert server_view == [*local, ("user", "four")]


async def test_refused_edits_send_nothing_and_a_deleted_call_takes_its_output(
    server: LocalServer, policy: RecordingPolicy
) -> None:
    session = open_session(server, triage(billing()), config=TEXT)
    recorder = Recorder(session, "history_updated")
    async with session:
        session.send_message("What is the weather in Paris?")
        await answered(recorder, "The weather in Paris is sunny.")
        before = [item.item_id for item in session.history]
        user_item, call, reply = session.history
        with pytest.raises(ValueError, match="cannot add tool call"):
            await session.update_history([*session.history, FunctionCallItem("", "c", "f")])
        with pytest.raises(ValueError, match="cannot change tool call"):
            await session.update_history(
                lambda items: [items[0], FunctionCallItem(call.item_id, "c", "other"), items[2]]
            )
        assert [item.item_id for item in session.history] == before
        # Deleting the call (with its output item) is allowed.
        await asyncio.wait_for(session.update_history([user_item, reply]), TIMEOUT)
        session.send_message("thanks")
        await answered(recorder, "You are welcome.")
    assert before == [user_item.item_id, call.item_id, reply.item_id]
    server_types = [i["type"] for i in policy.inputs[-1].items]
    assert server_types == ["message", "message", "message"]  # no call, no orphan output


# ------------------------------------------------------------------------- options


async def test_mute_is_not_available_over_websocket(server: LocalServer) -> None:
    async with open_session(server, RealtimeAgent(name="a")) as session:
        assert session.muted is None
        with pytest.raises(MuteNotSupportedError):
            session.mute()


async def test_tracing_field_reaches_the_server(server: LocalServer) -> None:
    transport = RecordingTransport(f"{server.url}?model=rtnb-local")
    session = RealtimeSession(
        RealtimeAgent(name="a"),
        transport=transport,
        workflow_name="support",
        group_id="g7",
        trace_metadata={"ticket": 7},
    )
    recorder = Recorder(session, "transport_event")
    async with session:
        updated = await recorder.wait_for(
            "transport_event", lambda e: e.event["type"] == "session.updated", timeout=TIMEOUT
        )
    expected = {"workflow_name": "support", "group_id": "g7", "metadata": {"ticket": 7}}
    [update] = [e for e in transport.sent if e["type"] == "session.update"]
    validate_client_event(update)
    assert unknown_fields(update, side="client") == []
    assert update["session"]["tracing"] == expected
    validate_server_event(updated.event)
    assert updated.event["session"]["tracing"] == expected


@pytest.mark.parametrize("store", [True, False])
async def test_history_store_audio(server: LocalServer, store: bool) -> None:
    session = open_session(server, RealtimeAgent(name="a"), history_store_audio=store)
    audio = bytearray()
    session.on("audio", lambda e: audio.extend(e.data))
    recorder = Recorder(session, "agent_end")
    async with session:
        session.send_message("hello")
        await recorder.wait_for("agent_end", timeout=TIMEOUT)
        user_item, reply = session.history
    assert reply.content[0].type == "output_audio"  # type: ignore[union-attr]
    assert len(audio) > 0
    expected = bytes(audio) if store else None
    assert reply.content[0].audio == expected  # type: ignore[union-attr]
    assert user_item.content[0].audio is None  # type: ignore[union-attr]
