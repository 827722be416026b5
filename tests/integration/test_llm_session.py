"""A RealtimeSession on the embedded server answering through a chat model: tools, handoffs,
guardrails and interruption, end to end over loopback sockets.

The model is the scripted Chat Completions server (:mod:`rtnb.local.policy.chat_demo`). With
``RTNB_TEST_LLM_URL`` (and ``RTNB_TEST_LLM_MODEL``, ``RTNB_TEST_LLM_API_KEY``) set to an
OpenAI-compatible server (Ollama, llama.cpp, vLLM, ...), the tests marked ``both`` also run
against it, with checks loose enough for a real model.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from rtnb import (
    GuardrailFunctionOutput,
    RealtimeAgent,
    RealtimeSession,
    output_guardrail,
    tool,
)
from rtnb.local.policy.chat_demo import ChatScript, ScriptedChatServer, start_scripted_chat_server
from tests.session.conftest import Recorder

TIMEOUT = 60.0
REAL_URL = os.environ.get("RTNB_TEST_LLM_URL")


@pytest.fixture(autouse=True)
def no_api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)


@dataclass
class Model:
    options: dict[str, Any]
    chat: ScriptedChatServer | None
    """The scripted server (``None``: a real model)."""


@pytest.fixture
async def scripted() -> AsyncIterator[Model]:
    async with await start_scripted_chat_server() as chat:
        yield Model({"base_url": chat.url, "model": "scripted"}, chat)


@pytest.fixture(
    params=[
        "scripted",
        pytest.param("real", marks=pytest.mark.skipif(not REAL_URL, reason="RTNB_TEST_LLM_URL")),
    ]
)
async def model(request: pytest.FixtureRequest) -> AsyncIterator[Model]:
    """The scripted model, then (when configured) a real one."""
    if request.param == "scripted":
        async with await start_scripted_chat_server() as chat:
            yield Model({"base_url": chat.url, "model": "scripted"}, chat)
        return
    options = {
        "base_url": REAL_URL,
        "model": os.environ.get("RTNB_TEST_LLM_MODEL", "llama3.2"),
        "api_key": os.environ.get("RTNB_TEST_LLM_API_KEY"),
        "timeout_s": 120.0,
        "temperature": 0.0,
    }
    yield Model(options, None)


@tool
def get_weather(city: str) -> str:
    """Return the weather for a city."""
    return f"The weather in {city} is sunny."


async def upto(seen: Recorder, name: str, count: int) -> list[Any]:
    """The first ``count`` events called ``name``, once they arrived."""
    await seen.wait_for(name, count=count, timeout=TIMEOUT)
    return seen.of(name)[:count]


def session_on(agent: RealtimeAgent, model: Model, **kwargs: Any) -> RealtimeSession:
    options = {"realtime_pacing": False, "llm": model.options}
    return RealtimeSession(agent, server_options=options, **kwargs)


async def test_tool_call_and_spoken_result(model: Model) -> None:
    agent = RealtimeAgent(
        name="Weather",
        instructions="For weather questions call get_weather, then answer in one short sentence.",
        tools=[get_weather],
    )
    session = session_on(agent, model)
    seen = Recorder(session, "agent_tool_end", "agent_end", "error")
    async with session:
        session.send_message("Get the weather in Paris?")
        [call] = await upto(seen, "agent_tool_end", 1)
        assert "paris" in json.loads(call.arguments)["city"].lower()
        ends = await upto(seen, "agent_end", 2)
        assert [e.status for e in ends] == ["completed", "completed"]
        answer = session.history[-1]
    assert seen.events["error"] == []
    assert answer.role == "assistant" and answer.status == "completed"
    if model.chat is not None:
        assert answer.text == "The weather in Paris is sunny."
        assert model.chat.requests[1].body["messages"][-1] == {
            "role": "tool",
            "tool_call_id": session.history[1].call_id,
            "content": "The weather in Paris is sunny.",
        }
    else:
        assert answer.text


async def test_interrupting_an_answer_closes_the_model_stream(model: Model) -> None:
    never = asyncio.Event()
    if model.chat is not None:
        story = "Once upon a time there was a fox. It lived in a wood. " * 4
        model.chat.answer = ChatScript(text=story, hold=never, hold_after=12)
    session = session_on(RealtimeAgent(name="Teller", instructions="Tell long stories."), model)
    seen = Recorder(session, "audio", "agent_end", "audio_interrupted", "error")
    async with session:
        session.send_message("Tell me a very long story about a fox, in ten sentences.")
        await upto(seen, "audio", 1)
        session.interrupt()
        [end] = await upto(seen, "agent_end", 1)
        assert end.status == "cancelled"
        [interrupted] = seen.events["audio_interrupted"]
        end_item = interrupted.item_id
        if model.chat is not None:
            await asyncio.wait_for(model.chat.requests[0].client_left.wait(), TIMEOUT)
            assert not model.chat.requests[0].finished
            model.chat.answer = ChatScript(text="Fine, I stop.")
        session.send_message("Stop. Just say okay.")
        ends = await upto(seen, "agent_end", 2)
        assert ends[-1].status == "completed"
        cut = next(i for i in session.history if i.item_id == end_item)
    assert seen.events["error"] == []  # the truncation was accepted: audio was counted
    assert cut.status == "incomplete"


async def test_handoff_to_another_agent_and_its_tool(scripted: Model) -> None:
    @tool
    def invoice_status(invoice_number: int) -> str:
        """Look up the status of an invoice by its number."""
        return f"Invoice {invoice_number} is paid."

    billing = RealtimeAgent(
        name="Billing",
        instructions="You handle invoices.",
        tools=[invoice_status],
        handoff_description="Answers questions about invoices.",
    )
    triage = RealtimeAgent(name="Triage", instructions="Route the user.", handoffs=[billing])

    def answer(body: dict[str, Any]) -> ChatScript:
        names = [t["function"]["name"] for t in body.get("tools", [])]
        last = body["messages"][-1]
        if last["role"] == "user" and "transfer_to_billing" in names:
            return ChatScript(tool_calls=[("transfer_to_billing", "{}")])
        if last["role"] == "tool" and last["content"] == '{"assistant": "Billing"}':
            return ChatScript(tool_calls=[("invoice_status", '{"invoice_number": 42}')])
        return ChatScript(text=str(last["content"]))

    assert scripted.chat is not None
    scripted.chat.answer = answer
    session = session_on(triage, scripted)
    seen = Recorder(session, "agent_handoff", "agent_tool_end", "error")
    async with session:
        session.send_message("I have a question about invoice 42")
        [handoff] = await upto(seen, "agent_handoff", 1)
        tools = await upto(seen, "agent_tool_end", 1)
    assert (handoff.from_agent.name, handoff.to_agent.name) == ("Triage", "Billing")
    assert tools[-1].output == "Invoice 42 is paid."
    assert seen.events["error"] == []
    after_handoff = scripted.chat.requests[1].body
    assert after_handoff["messages"][0] == {"role": "system", "content": "You handle invoices."}
    assert [t["function"]["name"] for t in after_handoff["tools"]] == ["invoice_status"]


@output_guardrail
def no_banana(text: str) -> GuardrailFunctionOutput:
    """Trips when the assistant names the secret ingredient."""
    found = "banana" in text.lower()
    return GuardrailFunctionOutput(found, "names the secret ingredient" if found else None)


async def test_guardrail_cuts_the_stream_and_the_model_is_told(scripted: Model) -> None:
    never = asyncio.Event()

    def answer(body: dict[str, Any]) -> ChatScript:
        if any("blocked by guardrail" in str(m["content"]) for m in body["messages"]):
            return ChatScript(text="Sorry, that stays a secret.")
        return ChatScript(text="Banana is the secret. Now the recipe.", hold=never, hold_after=5)

    assert scripted.chat is not None
    scripted.chat.answer = answer
    session = session_on(
        RealtimeAgent(name="Baker"),
        scripted,
        output_guardrails=[no_banana],
        output_guardrail_settings={"debounce_text_length": 10},
    )
    seen = Recorder(session, "guardrail_tripped", "agent_end")
    async with session:
        session.send_message("What is the secret ingredient?")
        [trip] = await upto(seen, "guardrail_tripped", 1)
        ends = await upto(seen, "agent_end", 2)
        await asyncio.wait_for(scripted.chat.requests[0].client_left.wait(), TIMEOUT)
        answer_text = session.history[-1].text
    assert "banana" in trip.message.lower()
    assert [e.status for e in ends] == ["cancelled", "completed"]
    assert answer_text == "Sorry, that stays a secret."
    notice = scripted.chat.requests[1].body["messages"][-1]
    assert notice["role"] == "system" and "no_banana" in notice["content"]
    assert not scripted.chat.requests[0].finished


async def test_hosted_mcp_tool_called_by_the_model(scripted: Model) -> None:
    from rtnb import hosted_mcp_tool
    from rtnb.local.mcp.demo_server import McpDemoCall, start_demo_mcp_server

    mcp_server = start_demo_mcp_server()
    try:
        weather = hosted_mcp_tool(
            server_label="weather", server_url=mcp_server.url, require_approval="never"
        )
        agent = RealtimeAgent(name="Forecaster", instructions="Forecasts.", tools=[weather])
        session = session_on(agent, scripted)
        seen = Recorder(session, "mcp_tools_changed", "mcp_tool_call_completed", "agent_end")
        async with session:
            await upto(seen, "mcp_tools_changed", 1)
            session.send_message("What is the forecast for Oslo?")
            [call] = await upto(seen, "mcp_tool_call_completed", 1)
            ends = await upto(seen, "agent_end", 2)
            answer = session.history[-1].text
    finally:
        mcp_server.stop()
    assert mcp_server.calls == [McpDemoCall("get_forecast", {"city": "Oslo"})]
    assert [e.status for e in ends] == ["completed", "completed"]
    assert answer == call.call.output
    assert scripted.chat is not None
    offered = [t["function"]["name"] for t in scripted.chat.requests[0].body["tools"]]
    assert "get_forecast" in offered
