"""Hosted MCP tools end to end: a session on the default backend (the embedded server, over a real
loopback socket) whose agent uses a real MCP server, started on loopback by each test.

Every server event the session receives is validated against the ``openai`` package's schema.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from rtnb import (
    McpApprovalItem,
    McpCallItem,
    RealtimeAgent,
    RealtimeSession,
    hosted_mcp_tool,
)
from rtnb.analysis import history_frame
from rtnb.local.mcp.demo_server import DemoMcpServer, McpDemoCall, start_demo_mcp_server
from rtnb.local.policy.numbers import canonical_words
from rtnb.local.speech.sphinx import Transcriber
from rtnb.protocol.audio import bytes_for_ms, chunk, duration_ms
from tests.local.mcp.test_mcp_client import dead_url
from tests.schema import validate_server_event
from tests.session.conftest import Recorder
from tests.spoken import USER_VOICE, spoken

TIMEOUT = 30.0
KEY = {"X-Api-Key": "mcp-secret-0042"}
SPOKEN = {"audio": {"input": {"transcription": {"model": "local"}}}}
TEXT = {"output_modalities": ["text"]}
EVENTS = (
    "mcp_tools_changed",
    "mcp_tool_call_completed",
    "tool_approval_requested",
    "agent_handoff",
    "agent_end",
    "error",
    "transport_event",
    "audio",
)


@pytest.fixture(autouse=True)
def no_api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)


@pytest.fixture
def demo() -> Iterator[DemoMcpServer]:
    server = start_demo_mcp_server(require_headers=KEY)
    yield server
    server.stop()


def forecaster(url: str, **options: Any) -> RealtimeAgent:
    server = hosted_mcp_tool(server_label="weather", server_url=url, headers=KEY, **options)
    return RealtimeAgent(
        name="Forecaster", instructions="Answer weather questions.", tools=[server]
    )


def session_for(agent: RealtimeAgent, config: dict[str, Any]) -> tuple[RealtimeSession, Recorder]:
    session = RealtimeSession(agent, config=config, server_options={"realtime_pacing": False})
    return session, Recorder(session, *EVENTS)


def check_schema(events: Recorder) -> list[str]:
    """Validate every server event received; return their types."""
    for event in events.of("transport_event"):
        validate_server_event(event.event)
    return [e.event["type"] for e in events.of("transport_event")]


def assistant_texts(session: RealtimeSession) -> list[str]:
    return [i.text for i in session.history if getattr(i, "role", None) == "assistant"]


async def answered(events: Recorder, count: int = 1) -> None:
    """Wait for the ``count``-th completed response after an MCP call finished."""

    def after_call(event: Any) -> bool:
        return event.status == "completed" and bool(events.of("mcp_tool_call_completed"))

    await events.wait_for("agent_end", after_call, count=count, timeout=TIMEOUT)


async def test_a_spoken_question_is_answered_by_the_mcp_server(
    demo: DemoMcpServer, caplog: pytest.LogCaptureFixture
) -> None:
    agent = forecaster(demo.url, require_approval="never")
    session, events = session_for(agent, SPOKEN)
    with caplog.at_level(logging.DEBUG):
        async with session:
            listed = await events.wait_for("mcp_tools_changed", timeout=TIMEOUT)
            assert [t.name for t in listed.tools] == ["get_forecast", "get_population"]
            speech = spoken("What is the weather forecast for Oslo?", USER_VOICE)
            padded = b"\x00" * bytes_for_ms(300) + speech + b"\x00" * bytes_for_ms(900)
            for piece in chunk(padded, 20):
                session.send_audio(piece)
            completed = await events.wait_for("mcp_tool_call_completed", timeout=TIMEOUT)
            await answered(events, count=2)  # the call's response, then the spoken answer
            history = session.history
            frame = history_frame(session)

    assert demo.calls == [McpDemoCall("get_forecast", {"city": "Oslo"})]
    assert completed.call.output == "Tomorrow in Oslo: light rain and 12 degrees."
    assert events.of("error") == []
    user, call, answer = history  # the MCP call in its place, between question and answer
    assert canonical_words(user.text) == canonical_words("What is the weather forecast for Oslo?")
    assert isinstance(call, McpCallItem) and call.item_id == completed.call.item_id
    assert (call.server_label, call.name, json.loads(call.arguments)) == (
        "weather", "get_forecast", {"city": "Oslo"}
    )  # fmt: skip
    assert (call.output, call.error) == (completed.call.output, None)
    [row] = frame[frame["type"] == "mcp_call"].to_dict("records")  # the History table's row
    assert (row["tool"], row["output"]) == ("weather.get_forecast", call.output)
    assert answer.text == "Tomorrow in Oslo: light rain and 12 degrees."
    audio = b"".join(e.data for e in events.of("audio"))
    assert duration_ms(audio) > 1000
    assert "tomorrow in oslo" in Transcriber([answer.text]).transcribe(audio)
    kinds = check_schema(events)
    for kind in (
        "mcp_list_tools.in_progress",
        "mcp_list_tools.completed",
        "response.mcp_call_arguments.delta",
        "response.mcp_call_arguments.done",
        "response.mcp_call.in_progress",
        "response.mcp_call.completed",
        "response.output_audio.delta",
    ):
        assert kind in kinds
    # the MCP server's credentials never show in logs, reprs or events
    texts = [
        caplog.text,
        repr(session),
        repr(agent),
        *(repr(e) for e in events.of("transport_event")),
    ]
    assert "DEBUG" in caplog.text
    assert [t[:200] for t in texts if KEY["X-Api-Key"] in t] == []


@pytest.mark.parametrize("approve", [True, False])
async def test_approval_decides_whether_the_call_happens(
    demo: DemoMcpServer, approve: bool
) -> None:
    session, events = session_for(forecaster(demo.url, require_approval="always"), TEXT)
    async with session:
        await events.wait_for("mcp_tools_changed", timeout=TIMEOUT)
        session.send_message("What is the weather forecast for Paris?")
        request = await events.wait_for("tool_approval_requested", timeout=TIMEOUT)
        assert isinstance(request.approval, McpApprovalItem)
        assert (request.tool.server_label, request.tool.name) == ("weather", "get_forecast")
        assert request.arguments == '{"city": "Paris"}'
        assert session.pending_approvals == [request.approval]
        assert demo.calls == []
        if approve:
            session.approve(request.approval)
            await answered(events)
        else:
            session.reject(request.approval, message="The user said no.")
            await events.wait_for("agent_end", count=2, timeout=TIMEOUT)

    if approve:
        assert demo.calls == [McpDemoCall("get_forecast", {"city": "Paris"})]
        assert assistant_texts(session) == ["Tomorrow in Paris: sunny and 24 degrees."]
        [completed] = events.of("mcp_tool_call_completed")
        assert completed.call.approval_request_id == request.call_id
    else:
        assert demo.calls == []
        assert assistant_texts(session) == ["Okay, I did not run get forecast."]
        assert events.of("mcp_tool_call_completed") == []
    assert events.of("error") == []
    check_schema(events)


async def test_a_tool_outside_allowed_tools_is_neither_listed_nor_called(
    demo: DemoMcpServer,
) -> None:
    agent = forecaster(demo.url, require_approval="never", allowed_tools=["get_population"])
    session, events = session_for(agent, TEXT)
    async with session:
        listed = await events.wait_for("mcp_tools_changed", timeout=TIMEOUT)
        session.send_message("What is the weather forecast for Tokyo?")
        await events.wait_for("agent_end", timeout=TIMEOUT)
        session.send_message("How many people live in Tokyo?")
        await answered(events)
    assert [t.name for t in listed.tools] == ["get_population"]
    assert demo.calls == [McpDemoCall("get_population", {"city": "Tokyo"})]
    assert assistant_texts(session) == [
        "You said: What is the weather forecast for Tokyo.",
        "The population of Tokyo is about 14 million.",
    ]
    check_schema(events)


async def test_a_dead_mcp_server_fails_its_listing() -> None:
    session, events = session_for(forecaster(dead_url()), TEXT)
    async with session:
        error = await events.wait_for("error", timeout=TIMEOUT)
        kinds = check_schema(events)
        assert session.available_mcp_tools == []
    assert "mcp_list_tools.failed" in kinds and "mcp_list_tools.completed" not in kinds
    assert error.error["code"] == "mcp_list_tools_failed"
    assert "MCP server 'weather'" in error.error["message"]
    assert events.of("mcp_tools_changed") == []


async def test_a_handoff_brings_the_other_agents_mcp_tools(demo: DemoMcpServer) -> None:
    census_server = start_demo_mcp_server()
    try:
        census = RealtimeAgent(
            name="Census",
            instructions="Answer population questions.",
            tools=[
                hosted_mcp_tool(
                    server_label="census",
                    server_url=census_server.url,
                    allowed_tools=["get_population"],
                    require_approval="never",
                )
            ],
            handoff_description="Knows how many people live in each city.",
        )
        triage = forecaster(demo.url, require_approval="never", allowed_tools=["get_forecast"])
        triage.handoffs.append(census)
        session, events = session_for(triage, TEXT)
        async with session:
            first = await events.wait_for("mcp_tools_changed", timeout=TIMEOUT)
            session.send_message("How many people live in Berlin?")
            await events.wait_for("agent_handoff", timeout=TIMEOUT)
            await answered(events)
            changes = [
                [(t.server_label, t.name) for t in e.tools] for e in events.of("mcp_tools_changed")
            ]
            assert session.available_mcp_tools[0].server_label == "census"
    finally:
        census_server.stop()
    assert [(t.server_label, t.name) for t in first.tools] == [("weather", "get_forecast")]
    # the handoff empties the tools at once; the new agent's server lists its own
    assert changes == [[("weather", "get_forecast")], [], [("census", "get_population")]]
    assert [e.agent.name for e in events.of("mcp_tools_changed")] == [
        "Forecaster",
        "Census",
        "Census",
    ]
    assert demo.calls == []
    assert census_server.calls == [McpDemoCall("get_population", {"city": "Berlin"})]
    assert assistant_texts(session) == ["The population of Berlin is about 3.8 million."]
    check_schema(events)
