"""Session behaviour against a scripted transport: setup, tools, gate, errors, handlers."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest

from rtnb import (
    AgentToolEndEvent,
    ConnectionChangeEvent,
    ErrorEvent,
    RealtimeAgent,
    RealtimeSession,
    tool,
)
from rtnb.protocol.events import ProtocolError
from rtnb.testing import ScriptedTransport

from . import wire as w
from .conftest import Recorder, get_weather


async def test_session_update_carries_instructions_tools_and_voice(
    transport: ScriptedTransport,
) -> None:
    agent = RealtimeAgent(
        name="Weather assistant",
        instructions="Answer weather questions.",
        tools=[get_weather],
        voice="marin",
    )
    async with RealtimeSession(agent, model="gpt-realtime", transport=transport) as session:
        update = await transport.wait_for_sent("session.update")
        assert session.status == "connected"
    wire_session = update["session"]
    assert wire_session["instructions"] == "Answer weather questions."
    assert wire_session["model"] == "gpt-realtime"
    assert wire_session["audio"]["output"]["voice"] == "marin"
    assert wire_session["tools"] == [
        {
            "type": "function",
            "name": "get_weather",
            "description": "Return the weather for a city.",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string", "description": "The city to look up."}},
                "required": ["city"],
            },
        }
    ]
    assert transport.sent[0]["type"] == "session.update"
    assert transport.closed


async def test_send_message_and_audio_keep_order(
    session: RealtimeSession, transport: ScriptedTransport
) -> None:
    session.send_audio(w.pcm_ms(20))
    session.send_message("Hello, how are you?")
    session.send_audio(w.pcm_ms(20), commit=True)
    await transport.wait_for_sent("input_audio_buffer.commit")
    kinds = [e["type"] for e in transport.sent[1:]]
    assert kinds == [
        "input_audio_buffer.append",
        "conversation.item.create",
        "response.create",
        "input_audio_buffer.append",
        "input_audio_buffer.commit",
    ]
    message = transport.sent_of_type("conversation.item.create")[0]["item"]
    assert message["content"] == [{"type": "input_text", "text": "Hello, how are you?"}]


@pytest.mark.parametrize("config", [{"turn_detection": None}])
async def test_commit_without_turn_detection_asks_for_a_response(
    session: RealtimeSession, transport: ScriptedTransport
) -> None:
    session.send_audio(w.pcm_ms(20), commit=True)
    await transport.wait_for_sent("response.create")


async def test_sending_before_connect_raises(agent: RealtimeAgent) -> None:
    session = RealtimeSession(agent, transport=ScriptedTransport())
    with pytest.raises(RuntimeError, match="not connected"):
        session.send_message("hi")


async def test_tool_call_runs_and_answers_through_the_gate(
    session: RealtimeSession, transport: ScriptedTransport
) -> None:
    recorder = Recorder(session, "agent_tool_start", "agent_tool_end", "agent_start", "agent_end")
    call = w.function_call_item("f1", "call_1", "get_weather", '{"city": "Paris"}')
    transport.push(w.response_created("r1"))
    transport.push(
        w.item_added(w.function_call_item("f1", "call_1", "get_weather", "", "in_progress"))
    )
    transport.push(w.arguments_done("r1", "f1", "call_1", "get_weather", '{"city": "Paris"}'))
    transport.push(w.output_item_done("r1", call))

    output = await transport.wait_for_sent("conversation.item.create")
    assert output["item"] == {
        "type": "function_call_output",
        "call_id": "call_1",
        "output": "The weather in Paris is sunny.",
    }
    end: AgentToolEndEvent = await recorder.wait_for("agent_tool_end")
    assert (end.tool.name, end.arguments, end.call_id) == (  # type: ignore[union-attr]
        "get_weather",
        '{"city": "Paris"}',
        "call_1",
    )
    start = await recorder.wait_for("agent_tool_start")
    assert start.call_id == "call_1"
    await transport.settle()
    # The response that made the call is still active: response.create is held.
    assert transport.sent_of_type("response.create") == []

    transport.push(w.response_done("r1", output=[call]))
    create = await transport.wait_for_sent("response.create")
    assert transport.sent.index(create) > transport.sent.index(output)
    await recorder.wait_for("agent_end")
    assert [e.response_id for e in recorder.of("agent_start")] == ["r1"]
    assert len(recorder.of("agent_tool_start")) == 1  # three triggers, one run
    [item] = session.history
    assert item.output == "The weather in Paris is sunny."  # type: ignore[union-attr]


async def test_tool_call_from_response_done_runs_when_idle(
    session: RealtimeSession, transport: ScriptedTransport
) -> None:
    call = w.function_call_item("f1", "call_2", "add", '{"a": 2, "b": 40}')
    transport.push(w.response_created("r1"))
    transport.push(w.response_done("r1", output=[call]))
    output = await transport.wait_for_sent("conversation.item.create")
    assert output["item"]["output"] == "42"
    await transport.wait_for_sent("response.create")


async def test_two_calls_in_one_response_share_one_response_create(
    session: RealtimeSession, transport: ScriptedTransport
) -> None:
    recorder = Recorder(session, "agent_tool_end")
    transport.push(w.response_created("r1"))
    transport.push(w.arguments_done("r1", "f1", "c1", "add", '{"a": 1, "b": 1}'))
    transport.push(w.arguments_done("r1", "f2", "c2", "add", '{"a": 2, "b": 2}'))
    await recorder.wait_for("agent_tool_end", count=2)
    await transport.wait_for_sent("conversation.item.create", count=2)
    transport.push(w.response_done("r1"))
    await transport.wait_for_sent("response.create")
    transport.push(w.response_created("r2"))
    transport.push(w.response_done("r2"))
    await transport.settle()
    assert len(transport.sent_of_type("response.create")) == 1


@pytest.mark.parametrize(
    ("name", "arguments", "expected"),
    [
        ("get_weather", '{"town": "Paris"}', "Invalid arguments for tool 'get_weather'"),
        ("get_weather", '{"city": ', "Invalid arguments for tool 'get_weather'"),
        ("explode", '{"reason": "test"}', "Error running tool 'explode': RuntimeError: boom: test"),
        ("no_such_tool", "{}", "Error: there is no tool named 'no_such_tool'."),
    ],
)
async def test_tool_problems_go_back_to_the_model_as_text(
    session: RealtimeSession,
    transport: ScriptedTransport,
    name: str,
    arguments: str,
    expected: str,
) -> None:
    transport.push(w.arguments_done("r1", "f1", "call_x", name, arguments))
    output = await transport.wait_for_sent("conversation.item.create")
    assert output["item"]["output"].startswith(expected)
    await transport.wait_for_sent("response.create")
    # The session keeps going.
    session.send_message("still there?")
    await transport.wait_for_sent("conversation.item.create", count=2)


async def test_session_keeps_receiving_while_a_tool_runs(
    agent: RealtimeAgent, transport: ScriptedTransport
) -> None:
    release = asyncio.Event()

    async def slow(city: str) -> str:
        await release.wait()
        return f"late {city}"

    agent = RealtimeAgent(name="slow", tools=[tool(name="slow")(slow)])
    async with RealtimeSession(agent, transport=transport) as session:
        recorder = Recorder(session, "history_updated")
        transport.push(w.arguments_done("r1", "f1", "c1", "slow", '{"city": "Rome"}'))
        transport.push(w.transcript_delta("r1", "a1", "checking"))
        await recorder.wait_for("history_updated")
        assert transport.sent_of_type("conversation.item.create") == []
        release.set()
        output = await transport.wait_for_sent("conversation.item.create")
        assert output["item"]["output"] == "late Rome"


async def test_gate_releases_on_error_naming_the_request(
    session: RealtimeSession, transport: ScriptedTransport
) -> None:
    session.send_message("one")
    first = await transport.wait_for_sent("response.create")
    session.send_message("two")
    await transport.wait_for_sent("conversation.item.create", count=2)
    await transport.settle()
    assert len(transport.sent_of_type("response.create")) == 1
    transport.push(w.error("bad request", event_id=first["event_id"]))
    await transport.wait_for_sent("response.create", count=2)


async def test_handler_exception_does_not_kill_the_session(
    session: RealtimeSession, transport: ScriptedTransport, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(event: object) -> None:
        raise ZeroDivisionError("handler bug")

    async def broken_async(event: object) -> None:
        raise KeyError("async handler bug")

    session.on("agent_start", broken)
    session.on("agent_start", broken_async)
    recorder = Recorder(session, "agent_start", "agent_end")
    with caplog.at_level(logging.ERROR, logger="rtnb.session"):
        transport.push(w.response_created("r1"))
        transport.push(w.response_done("r1"))
        await recorder.wait_for("agent_end")
    assert "handler bug" in caplog.text
    assert "async handler bug" in caplog.text
    assert session.connected
    session.send_message("still alive")
    await transport.wait_for_sent("response.create")


async def test_protocol_error_from_transport_becomes_error_event(
    session: RealtimeSession, transport: ScriptedTransport
) -> None:
    recorder = Recorder(session, "error", "agent_start")
    transport.push_raw("{not json")
    transport.push({"type": "response.created"})  # missing "response"
    transport.push(w.response_created("r1"))
    await recorder.wait_for("agent_start")
    errors = await recorder.wait_for("error", count=2)
    assert isinstance(errors.error, ProtocolError)
    assert [type(e.error) for e in recorder.of("error")] == [ProtocolError, ProtocolError]
    assert session.connected


async def test_server_error_event_is_reported(
    session: RealtimeSession, transport: ScriptedTransport
) -> None:
    recorder = Recorder(session, "error")
    transport.push(w.error("Invalid value", code="invalid_value"))
    event: ErrorEvent = await recorder.wait_for("error")
    assert isinstance(event.error, dict)
    assert event.error["message"] == "Invalid value"


async def test_every_server_event_is_a_transport_event(
    session: RealtimeSession, transport: ScriptedTransport
) -> None:
    recorder = Recorder(session, "transport_event")
    pushed = [w.response_created("r1"), w.speech_started("u1"), w.response_done("r1")]
    for event in pushed:
        transport.push(event)
    await recorder.wait_for("transport_event", count=3)
    assert [e.event for e in recorder.of("transport_event")] == pushed


async def test_connection_loss_reports_disconnect_and_error(
    session: RealtimeSession, transport: ScriptedTransport
) -> None:
    recorder = Recorder(session, "connection_change", "error")
    transport.fail(ConnectionResetError("network down"))
    change: ConnectionChangeEvent = await recorder.wait_for("connection_change")
    assert change.status == "disconnected"
    error = await recorder.wait_for("error")
    assert isinstance(error.error, ConnectionResetError)
    assert not session.connected
    with pytest.raises(RuntimeError):
        session.send_message("hello?")


async def test_server_closing_reports_disconnect(
    session: RealtimeSession, transport: ScriptedTransport
) -> None:
    recorder = Recorder(session, "connection_change", "error")
    transport.disconnect()
    await recorder.wait_for("connection_change", lambda e: e.status == "disconnected")
    assert isinstance((await recorder.wait_for("error")).error, ConnectionError)


async def test_send_failure_reports_disconnect(
    session: RealtimeSession, transport: ScriptedTransport
) -> None:
    recorder = Recorder(session, "connection_change", "error")
    transport.fail_send = ConnectionAbortedError("broken pipe")
    session.send_message("hello")
    await recorder.wait_for("connection_change", lambda e: e.status == "disconnected")
    assert isinstance((await recorder.wait_for("error")).error, ConnectionAbortedError)


async def test_connection_changes_are_reported(
    agent: RealtimeAgent, transport: ScriptedTransport
) -> None:
    session = RealtimeSession(agent, transport=transport)
    statuses: list[str] = []
    session.on("connection_change", lambda event: statuses.append(event.status))
    await session.connect()
    await session.close()
    assert statuses == ["connecting", "connected", "disconnected"]


async def test_decorator_form_off_and_unknown_name(
    session: RealtimeSession, transport: ScriptedTransport
) -> None:
    seen: list[str] = []

    @session.on("agent_start")
    async def on_start(event: object) -> None:
        seen.append("decorated")

    def plain(event: object) -> None:
        seen.append("plain")

    assert session.on("agent_start", plain) is plain
    session.off("agent_start", plain)
    recorder = Recorder(session, "agent_start")
    transport.push(w.response_created("r1"))
    await recorder.wait_for("agent_start")
    assert seen == ["decorated"]
    assert callable(on_start)
    with pytest.raises(ValueError, match="'agent_strat'"):
        session.on("agent_strat", plain)


async def test_events_iterator_yields_events_in_order(
    session: RealtimeSession, transport: ScriptedTransport
) -> None:
    stream = session.events()
    transport.push(w.response_created("r1"))
    transport.push(w.response_done("r1"))

    async def collect() -> list[str]:
        kinds = []
        async for event in stream:
            if event.type in ("agent_start", "agent_end"):
                kinds.append(event.type)
            if event.type == "agent_end":
                return kinds
        return kinds

    assert await asyncio.wait_for(collect(), 2.0) == ["agent_start", "agent_end"]


async def test_api_key_never_in_repr_or_logs(
    agent: RealtimeAgent, transport: ScriptedTransport, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "sk-test-SECRET-123"
    session = RealtimeSession(agent, transport=transport, api_key=secret)
    with caplog.at_level(logging.DEBUG):
        await session.connect(api_key=secret)
        assert secret not in repr(session)
        assert "backend='scripted'" in repr(session)
        await session.close()
    assert secret not in caplog.text
    assert secret not in json.dumps(transport.sent)


async def test_close_from_a_handler_does_not_deadlock(
    agent: RealtimeAgent, transport: ScriptedTransport
) -> None:
    session = RealtimeSession(agent, transport=transport)
    closed = asyncio.Event()

    @session.on("agent_start")
    async def close_now(event: object) -> None:
        await session.close()
        closed.set()

    await session.connect()
    stream = session.events()
    transport.push(w.response_created("r1"))
    await asyncio.wait_for(closed.wait(), 2.0)
    assert session.status == "disconnected"
    assert transport.closed

    async def drain() -> list[str]:
        return [event.type async for event in stream]

    types = await asyncio.wait_for(drain(), 2.0)  # the stream ends with the session
    assert types[-1] == "connection_change"
