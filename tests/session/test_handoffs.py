"""Agents with handoffs: transfer tools, the switch on a transfer call, update_agent, voice rule."""

from __future__ import annotations

import json

import pytest

from rtnb import (
    AgentHandoffEvent,
    HandoffError,
    RealtimeAgent,
    RealtimeSession,
    realtime_handoff,
    tool,
)
from rtnb.session.handoffs import snake_case
from rtnb.testing import ScriptedTransport
from tests.schema import validate_client_event

from . import wire as w
from .conftest import Recorder, add, get_weather


def billing(voice: str | None = None) -> RealtimeAgent:
    return RealtimeAgent(
        name="Billing Agent",
        instructions="Handle invoices.",
        tools=[add],
        handoff_description="Answers questions about invoices and refunds.",
        voice=voice,
    )


def triage(target: RealtimeAgent, voice: str | None = "marin") -> RealtimeAgent:
    return RealtimeAgent(
        name="Triage",
        instructions="Route the user.",
        tools=[get_weather],
        handoffs=[target],
        voice=voice,
    )


async def connected(agent: RealtimeAgent) -> tuple[RealtimeSession, ScriptedTransport]:
    transport = ScriptedTransport()
    session = RealtimeSession(agent, transport=transport)
    await session.connect()
    await transport.wait_for_sent("session.update")
    return session, transport


def transfer_call(call_id: str = "call_h", name: str = "transfer_to_billing_agent") -> dict:
    return w.output_item_done("r1", w.function_call_item("f_" + call_id, call_id, name, "{}"))


# ------------------------------------------------------------------------- agents


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Billing Agent", "billing_agent"),
        ("BillingAgent", "billing_agent"),
        ("billing-agent", "billing_agent"),
        ("  Hotel & Travel desk ", "hotel_travel_desk"),
    ],
)
def test_snake_case(name: str, expected: str) -> None:
    assert snake_case(name) == expected


def test_handoffs_are_function_tools_after_the_agents_tools() -> None:
    agent = triage(billing())
    tools = agent.wire_tools()
    assert [t["name"] for t in tools] == ["get_weather", "transfer_to_billing_agent"]
    transfer = tools[1]
    assert transfer["type"] == "function"
    assert "Billing Agent" in transfer["description"]
    assert "invoices and refunds" in transfer["description"]
    assert transfer["parameters"]["properties"] == {}


def test_realtime_handoff_overrides_name_and_description() -> None:
    target = billing()
    agent = RealtimeAgent(
        name="Triage",
        handoffs=[
            realtime_handoff(
                target,
                tool_name_override="to_billing",
                tool_description_override="Money questions.",
            )
        ],
    )
    [wire] = agent.wire_tools()
    assert (wire["name"], wire["description"]) == ("to_billing", "Money questions.")
    assert agent.get_handoff("to_billing").agent is target  # type: ignore[union-attr]
    assert agent.get_handoff("transfer_to_billing_agent") is None


def test_agents_appended_to_handoffs_later_are_offered() -> None:
    first = RealtimeAgent(name="First")
    second = RealtimeAgent(name="Second", handoffs=[first])
    first.handoffs.append(second)  # a cycle, built after both exist
    assert [t["name"] for t in first.wire_tools()] == ["transfer_to_second"]


def test_duplicate_tool_and_handoff_names_are_rejected() -> None:
    target = billing()
    with pytest.raises(ValueError, match="transfer_to_billing_agent"):
        RealtimeAgent(name="Twice", handoffs=[target, target])

    @tool(name="transfer_to_billing_agent")
    def collide() -> str:
        """A tool named like the handoff."""
        return ""

    with pytest.raises(ValueError, match="duplicate tool or handoff names"):
        RealtimeAgent(name="Collision", tools=[collide], handoffs=[target])
    with pytest.raises(ValueError, match="'x'"):
        RealtimeAgent(
            name="Overrides",
            tools=[add],
            handoffs=[
                realtime_handoff(target, tool_name_override="x"),
                realtime_handoff(target, tool_name_override="x"),
            ],
        )


def test_invalid_handoff_tool_names_are_rejected() -> None:
    with pytest.raises(ValueError, match="tool_name_override"):
        realtime_handoff(RealtimeAgent(name="???"))
    with pytest.raises(TypeError, match="RealtimeAgent"):
        RealtimeAgent(name="Bad", handoffs=["not an agent"]).wire_tools()  # type: ignore[list-item]


# ------------------------------------------------------------------------- handoff


async def test_transfer_call_switches_agent_keeps_history_and_asks_for_a_response() -> None:
    target = billing()
    session, transport = await connected(triage(target))
    recorder = Recorder(session, "agent_handoff", "agent_tool_end", "history_updated")
    transport.push(w.item_added(w.user_text_item("u1", "I have a question about an invoice")))
    transport.push(transfer_call())
    update = await transport.wait_for_sent("session.update", count=2)
    output = await transport.wait_for_sent("conversation.item.create")
    await transport.wait_for_sent("response.create")
    handoff: AgentHandoffEvent = await recorder.wait_for("agent_handoff")

    assert update["session"] == {
        "type": "realtime",
        "instructions": "Handle invoices.",
        "tools": target.wire_tools(),
    }
    assert output["item"] == {
        "type": "function_call_output",
        "call_id": "call_h",
        "output": json.dumps({"assistant": "Billing Agent"}),
    }
    assert (handoff.from_agent.name, handoff.to_agent) == ("Triage", target)
    assert session.agent is target
    assert [item.item_id for item in session.history] == ["u1", "f_call_h"]
    assert session.history[1].output == output["item"]["output"]  # type: ignore[union-attr]
    assert transport.sent.index(update) < transport.sent.index(output)  # update first

    # Later calls resolve against the new agent: its tool runs, the old agent's is unknown.
    transport.push(w.arguments_done("r2", "f2", "call_2", "add", '{"a": 2, "b": 3}'))
    transport.push(w.arguments_done("r2", "f3", "call_3", "get_weather", '{"city": "Oslo"}'))
    end = await recorder.wait_for("agent_tool_end", lambda e: e.call_id == "call_2")
    assert (end.agent, end.output) == (target, "5")
    unknown = await recorder.wait_for("agent_tool_end", lambda e: e.call_id == "call_3")
    assert "no tool named 'get_weather'" in unknown.output
    await session.close()
    for event in transport.sent:
        validate_client_event(event)


async def test_transfer_call_is_handled_once() -> None:
    session, transport = await connected(triage(billing()))
    transport.push(transfer_call())
    transport.push(w.response_done("r1", output=[transfer_call()["item"]]))
    transport.push(w.arguments_done("r1", "f_call_h", "call_h", "transfer_to_billing_agent", "{}"))
    await transport.settle()
    await transport.wait_for_sent("response.create")
    await session.close()
    assert len(transport.sent_of_type("session.update")) == 2
    assert len(transport.sent_of_type("conversation.item.create")) == 1


async def test_handoff_to_an_agent_with_another_voice_is_refused() -> None:
    target = billing(voice="alloy")
    session, transport = await connected(triage(target, voice="marin"))
    recorder = Recorder(session, "agent_handoff", "error")
    transport.push(transfer_call())
    output = await transport.wait_for_sent("conversation.item.create")
    await transport.wait_for_sent("response.create")  # the model gets to explain
    error = await recorder.wait_for("error")

    assert isinstance(error.error, HandoffError)
    assert error.error.field == "voice"
    assert "'marin' to 'alloy'" in str(error.error)
    assert output["item"]["output"].startswith("Error: cannot switch from agent 'Triage'")
    assert session.agent.name == "Triage"
    assert recorder.of("agent_handoff") == []
    assert len(transport.sent_of_type("session.update")) == 1
    await session.close()


async def test_same_voice_or_no_voice_may_hand_off() -> None:
    for voice in ("marin", None):
        target = billing(voice=voice)
        session, transport = await connected(triage(target, voice="marin"))
        transport.push(transfer_call())
        await transport.wait_for_sent("session.update", count=2)
        assert session.agent is target
        await session.close()


async def test_the_voice_the_server_reports_is_the_active_one() -> None:
    target = billing(voice="alloy")
    session, transport = await connected(triage(target, voice=None))
    updated = w.session_updated(None)
    updated["session"]["audio"]["output"] = {"voice": "alloy"}
    transport.push(updated)
    transport.push(transfer_call())
    await transport.wait_for_sent("session.update", count=2)
    assert session.agent is target
    await session.close()


# ------------------------------------------------------------------------- update_agent


async def test_update_agent_sends_session_update_without_handoff_event() -> None:
    target = billing()
    session, transport = await connected(triage(target))
    recorder = Recorder(session, "agent_handoff")
    session.update_agent(target)
    update = await transport.wait_for_sent("session.update", count=2)
    assert update["session"]["instructions"] == "Handle invoices."
    assert [t["name"] for t in update["session"]["tools"]] == ["add"]
    assert session.agent is target
    await session.close()
    assert recorder.of("agent_handoff") == []
    assert transport.sent_of_type("response.create") == []


async def test_update_agent_refuses_a_voice_change_and_keeps_the_agent() -> None:
    session, transport = await connected(triage(billing(), voice="marin"))
    with pytest.raises(HandoffError) as caught:
        session.update_agent(billing(voice="ash"))
    assert caught.value.field == "voice"
    assert session.agent.name == "Triage"
    await session.close()
    assert len(transport.sent_of_type("session.update")) == 1


async def test_update_agent_before_connect_chooses_the_agent_connected_with() -> None:
    transport = ScriptedTransport()
    target = billing(voice="ash")
    session = RealtimeSession(triage(target, voice="marin"), transport=transport)
    session.update_agent(target)
    assert transport.sent == []
    await session.connect()
    first = await transport.wait_for_sent("session.update")
    assert first["session"]["instructions"] == "Handle invoices."
    assert first["session"]["audio"]["output"]["voice"] == "ash"
    await session.close()


async def test_agent_instructions_none_clears_the_previous_instructions() -> None:
    target = RealtimeAgent(name="Plain")
    session, transport = await connected(triage(target))
    session.update_agent(target)
    update = await transport.wait_for_sent("session.update", count=2)
    assert update["session"]["instructions"] == ""
    assert update["session"]["tools"] == []
    await session.close()
