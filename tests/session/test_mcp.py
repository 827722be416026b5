"""Hosted MCP tools in a session (scripted transport): config, tracking, approvals, responses.

Every server event pushed here is validated against the ``openai`` package's schema first, and
every client event the session sent is validated when the session closes.
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import pytest

from rtnb import (
    HostedMcpTool,
    McpApprovalItem,
    McpCallItem,
    McpToolInfo,
    RealtimeAgent,
    RealtimeSession,
    hosted_mcp_tool,
    tool,
)
from rtnb.protocol.events import Event, new_id
from rtnb.session.approvals import DEFAULT_REJECTION_MESSAGE
from rtnb.testing import ScriptedTransport
from tests.schema import validate_client_event, validate_server_event

from . import wire as w
from .conftest import Recorder

URL = "http://127.0.0.1:1/mcp"
FORECAST = {
    "name": "get_forecast",
    "description": "Return tomorrow's weather forecast for a city.",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
    "annotations": {"readOnlyHint": True},
}
DELETE = {"name": "delete_city", "input_schema": {"type": "object"}}
EVENTS = (
    "mcp_tools_changed",
    "mcp_tool_call_completed",
    "tool_approval_requested",
    "agent_handoff",
)


def _event(kind: str, **fields: Any) -> Event:
    event = {"type": kind, "event_id": new_id("event"), **fields}
    validate_server_event(event)
    return event


def list_item(item_id: str, label: str, tools: list[dict[str, Any]]) -> dict[str, Any]:
    return {"id": item_id, "type": "mcp_list_tools", "server_label": label, "tools": tools}


def push_listing(
    transport: ScriptedTransport, label: str, tools: list[dict[str, Any]], *, failed: bool = False
) -> None:
    """The events of a server listing: added (empty), in progress, completed/failed, done."""
    item_id = new_id("mcpl")
    transport.push(_event("conversation.item.added", item=list_item(item_id, label, [])))
    transport.push(_event("mcp_list_tools.in_progress", item_id=item_id))
    if failed:
        transport.push(_event("mcp_list_tools.failed", item_id=item_id))
        transport.push(_event("conversation.item.done", item=list_item(item_id, label, [])))
    else:
        transport.push(_event("mcp_list_tools.completed", item_id=item_id))
        transport.push(_event("conversation.item.done", item=list_item(item_id, label, tools)))


def mcp_call_item(item_id: str, output: str | None, error: dict[str, Any] | None = None) -> dict:
    return {
        "id": item_id,
        "type": "mcp_call",
        "server_label": "weather",
        "name": "get_forecast",
        "arguments": '{"city": "Oslo"}',
        "output": output,
        "error": error,
    }


def push_mcp_calls(transport: ScriptedTransport, response_id: str, *items: dict) -> None:
    """A response that ran MCP calls: each call's events, then ``response.done``."""
    transport.push(_event("response.created", response=w.response(response_id, "in_progress")))
    for index, item in enumerate(items):
        ids = {"item_id": item["id"], "output_index": index}
        started = {**item, "output": None, "error": None}
        transport.push(
            _event("response.output_item.added", response_id=response_id, item=started, **ids)
        )
        transport.push(
            _event(
                "response.mcp_call_arguments.done",
                response_id=response_id,
                arguments=item["arguments"],
                **ids,
            )
        )
        transport.push(_event("response.mcp_call.in_progress", **ids))
        outcome = "failed" if item["error"] else "completed"
        transport.push(_event(f"response.mcp_call.{outcome}", **ids))
        transport.push(
            _event("response.output_item.done", response_id=response_id, item=item, **ids)
        )
    done = _event("response.done", response=w.response(response_id, "completed", list(items)))
    transport.push(done)


CALL_ERROR = {"type": "tool_execution_error", "message": "the city is unknown"}


def push_question_and_two_calls(transport: ScriptedTransport) -> None:
    """A user question ("u1"), then a response whose first call ("m1") answers and whose
    second ("m2") fails with :data:`CALL_ERROR`."""
    transport.push(w.item_added(w.user_text_item("u1", "Forecast for Oslo?")))
    push_mcp_calls(
        transport,
        "r1",
        mcp_call_item("m1", "Tomorrow in Oslo: rain."),
        mcp_call_item("m2", None, CALL_ERROR),
    )


def push_approval_request(transport: ScriptedTransport, request_id: str, name: str) -> None:
    item = {
        "id": request_id,
        "type": "mcp_approval_request",
        "server_label": "weather",
        "name": name,
        "arguments": '{"city": "Oslo"}',
    }
    response_id = f"resp_{request_id}"
    transport.push(_event("response.created", response=w.response(response_id, "in_progress")))
    ids = {"response_id": response_id, "output_index": 0}
    transport.push(_event("response.output_item.added", item=item, **ids))
    transport.push(_event("response.output_item.done", item=item, **ids))
    transport.push(_event("conversation.item.done", item=item))
    transport.push(_event("response.done", response=w.response(response_id, "completed", [item])))


def weather_server(**options: Any) -> HostedMcpTool:
    return hosted_mcp_tool(server_label="weather", server_url=URL, **options)


@pytest.fixture
def mcp_agent() -> RealtimeAgent:
    return RealtimeAgent(name="Forecaster", tools=[weather_server(allowed_tools=["get_forecast"])])


@pytest.fixture
def agent(mcp_agent: RealtimeAgent) -> RealtimeAgent:
    """The shared ``session`` fixture (tests/session/conftest.py) talks with the MCP agent."""
    return mcp_agent


# ----------------------------------------------------------------------------- configuration


async def test_hosted_mcp_tool_is_sent_as_an_mcp_session_tool(transport: ScriptedTransport) -> None:
    @tool
    def local_time(city: str) -> str:
        """Tell the time in a city."""
        return "noon"

    server = hosted_mcp_tool(
        server_label="weather",
        server_url=URL,
        allowed_tools={"tool_names": ["get_forecast"], "read_only": True},
        require_approval={"never": {"tool_names": ["get_forecast"]}},
        headers={"X-Api-Key": "secret-123"},
        server_description="Weather forecasts",
    )
    agent = RealtimeAgent(name="a", tools=[local_time, server])
    session = RealtimeSession(agent, transport=transport)
    await session.connect()
    update = await transport.wait_for_sent("session.update")
    validate_client_event(update)
    _, mcp = update["session"]["tools"]
    assert mcp == {
        "type": "mcp",
        "server_label": "weather",
        "server_url": URL,
        "server_description": "Weather forecasts",
        "allowed_tools": {"tool_names": ["get_forecast"], "read_only": True},
        "require_approval": {"never": {"tool_names": ["get_forecast"]}},
        "headers": {"X-Api-Key": "secret-123"},
    }
    assert agent.mcp_tools == [server]
    assert agent.function_tools == [local_time]
    assert "secret-123" not in repr(agent) + repr(server) + repr(session)
    await session.close()


def test_bad_mcp_tools_are_refused_early() -> None:
    with pytest.raises(ValueError, match="require_approval"):
        hosted_mcp_tool(server_label="w", server_url=URL, require_approval="sometimes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="server_url"):
        hosted_mcp_tool(server_label="w")
    with pytest.raises(ValueError, match="duplicate MCP server labels"):
        RealtimeAgent(name="a", tools=[weather_server(), weather_server()])


def test_hosted_mcp_tool_applies_its_own_rules() -> None:
    server = weather_server(allowed_tools=["get_forecast"], require_approval="never")
    assert server.allows("get_forecast") and not server.allows("delete_city")
    assert not server.requires_approval("get_forecast")
    assert weather_server().requires_approval("get_forecast")  # no rule: the server asks


# ----------------------------------------------------------------------------- listed tools


async def test_listed_tools_are_tracked_and_filtered_by_allowed_tools(
    session: RealtimeSession, transport: ScriptedTransport
) -> None:
    events = Recorder(session, *EVENTS)
    assert session.available_mcp_tools == []
    push_listing(transport, "weather", [FORECAST, DELETE])
    push_listing(transport, "elsewhere", [FORECAST])  # not a server of this agent
    changed = await events.wait_for("mcp_tools_changed")
    await transport.settle()
    assert [t.name for t in changed.tools] == ["get_forecast"]
    assert changed.agent is session.agent
    [info] = session.available_mcp_tools
    assert info == McpToolInfo("weather", "get_forecast", FORECAST["description"])
    assert info.input_schema == FORECAST["input_schema"]
    assert len(events.of("mcp_tools_changed")) == 1  # the same tools again change nothing


@pytest.mark.parametrize(
    "mcp_agent",
    [RealtimeAgent(name="a", tools=[weather_server(allowed_tools={"read_only": True})])],
)
async def test_read_only_filter_uses_the_tool_annotations(
    session: RealtimeSession, transport: ScriptedTransport
) -> None:
    events = Recorder(session, *EVENTS)
    push_listing(transport, "weather", [FORECAST, DELETE])
    changed = await events.wait_for("mcp_tools_changed")
    assert [t.name for t in changed.tools] == ["get_forecast"]


async def test_a_completed_event_commits_an_item_that_already_holds_the_tools(
    session: RealtimeSession, transport: ScriptedTransport
) -> None:
    events = Recorder(session, *EVENTS)
    transport.push(_event("conversation.item.added", item=list_item("l1", "weather", [FORECAST])))
    await transport.settle()
    assert session.available_mcp_tools == []  # not final yet
    transport.push(_event("mcp_list_tools.completed", item_id="l1"))
    await events.wait_for("mcp_tools_changed")
    assert [t.name for t in session.available_mcp_tools] == ["get_forecast"]


async def test_a_failed_listing_takes_the_servers_tools_away(
    session: RealtimeSession, transport: ScriptedTransport
) -> None:
    events = Recorder(session, *EVENTS)
    push_listing(transport, "weather", [FORECAST])
    await events.wait_for("mcp_tools_changed")
    push_listing(transport, "weather", [], failed=True)
    emptied = await events.wait_for("mcp_tools_changed", count=2)
    assert emptied.tools == [] and session.available_mcp_tools == []


async def test_malformed_mcp_items_are_ignored(
    session: RealtimeSession, transport: ScriptedTransport
) -> None:
    events = Recorder(session, "mcp_tools_changed", "error")
    bad = {"id": "l1", "type": "mcp_list_tools", "server_label": "weather", "tools": "nope"}
    transport.push({"type": "conversation.item.done", "item": bad})
    weird = [{"name": 3}, "x", {"name": "get_forecast", "input_schema": [], "annotations": 1}]
    transport.push({"type": "conversation.item.done", "item": {**bad, "id": "l2", "tools": weird}})
    transport.push({"type": "mcp_list_tools.failed", "item_id": "unknown"})
    transport.push({"type": "response.mcp_call.completed", "item_id": "x", "output_index": 0})
    await transport.settle()
    assert events.of("error") == []
    assert [(t.name, t.input_schema) for t in session.available_mcp_tools] == [("get_forecast", {})]


# ----------------------------------------------------------------------------- agents


async def test_handoff_and_update_agent_change_the_available_tools(
    transport: ScriptedTransport,
) -> None:
    travel = RealtimeAgent(
        name="Travel",
        tools=[hosted_mcp_tool(server_label="cities", server_url=URL)],
        handoff_description="Knows cities.",
    )
    triage = RealtimeAgent(name="Triage", tools=[weather_server()], handoffs=[travel])
    session = RealtimeSession(triage, transport=transport)
    events = Recorder(session, *EVENTS)
    await session.connect()
    push_listing(transport, "weather", [FORECAST])
    push_listing(transport, "cities", [DELETE])
    first = await events.wait_for("mcp_tools_changed")
    assert [(t.server_label, t.name) for t in first.tools] == [("weather", "get_forecast")]

    call = w.function_call_item("i1", "c1", "transfer_to_travel", "{}")
    transport.push(w.response_created("r1"))
    transport.push(w.response_done("r1", output=[call]))
    await events.wait_for("agent_handoff")
    second = await events.wait_for("mcp_tools_changed", count=2)
    assert second.agent is travel
    assert [(t.server_label, t.name) for t in second.tools] == [("cities", "delete_city")]
    update = transport.sent_of_type("session.update")[-1]
    assert [t.get("server_label") for t in update["session"]["tools"]] == ["cities"]

    session.update_agent(triage)
    third = await events.wait_for("mcp_tools_changed", count=3)
    assert [t.name for t in third.tools] == ["get_forecast"]
    await session.close()
    for event in transport.sent:
        validate_client_event(event)


# ----------------------------------------------------------------------------- calls


async def test_a_finished_call_is_reported_and_one_response_asked_for(
    session: RealtimeSession, transport: ScriptedTransport
) -> None:
    events = Recorder(session, *EVENTS)
    first = mcp_call_item("m1", "Tomorrow in Oslo: rain.")
    second = mcp_call_item("m2", "Tomorrow in Oslo: still rain.")
    push_mcp_calls(transport, "r1", first, second)
    done = await events.wait_for("mcp_tool_call_completed", count=2)
    await transport.settle()
    call = events.of("mcp_tool_call_completed")[0].call
    assert (call.item_id, call.server_label, call.name) == ("m1", "weather", "get_forecast")
    assert (call.arguments, call.output, call.failed) == (
        '{"city": "Oslo"}',
        first["output"],
        False,
    )
    assert done.call.item_id == "m2"
    assert len(events.of("mcp_tool_call_completed")) == 2  # output_item.done and response.done
    assert len(transport.sent_of_type("response.create")) == 1  # held, sent after response.done


@pytest.mark.parametrize("options", [{"automatically_trigger_response_for_mcp_tool_calls": False}])
async def test_no_response_is_asked_for_when_the_option_is_off(
    session: RealtimeSession, transport: ScriptedTransport
) -> None:
    events = Recorder(session, *EVENTS)
    push_mcp_calls(transport, "r1", mcp_call_item("m1", "rain"))
    await events.wait_for("mcp_tool_call_completed")
    await transport.settle()
    assert transport.sent_of_type("response.create") == []


async def test_a_failed_call_carries_its_error_and_asks_for_nothing(
    session: RealtimeSession, transport: ScriptedTransport
) -> None:
    events = Recorder(session, *EVENTS)
    error = {"type": "tool_execution_error", "message": "the city is unknown"}
    push_mcp_calls(transport, "r1", mcp_call_item("m1", None, error))
    completed = await events.wait_for("mcp_tool_call_completed")
    await transport.settle()
    assert completed.call.failed and completed.call.error == error
    assert completed.call.output is None
    assert transport.sent_of_type("response.create") == []


async def test_calls_are_history_items_in_their_place(
    session: RealtimeSession, transport: ScriptedTransport
) -> None:
    events = Recorder(session, *EVENTS, "history_updated")
    push_question_and_two_calls(transport)
    await events.wait_for("mcp_tool_call_completed", count=2)
    await transport.settle()
    user, rain, failed = session.history
    assert user.item_id == "u1"
    assert rain == McpCallItem(
        "m1",
        "weather",
        "get_forecast",
        '{"city": "Oslo"}',
        output="Tomorrow in Oslo: rain.",
        status="completed",  # how it ended (the wire's mcp_call item has no status)
    )
    assert (failed.output, failed.error, failed.status) == (None, CALL_ERROR, "failed")
    # A later version without the result (e.g. conversation.item.retrieved) keeps it.
    transport.push(_event("conversation.item.retrieved", item={**mcp_call_item("m1", None)}))
    await transport.settle()
    assert session.history[1].output == "Tomorrow in Oslo: rain."
    assert events.of("history_updated")[-1].history[1] == rain


async def test_a_history_edit_may_delete_a_call_but_not_change_it(
    session: RealtimeSession, transport: ScriptedTransport
) -> None:
    push_mcp_calls(transport, "r1", mcp_call_item("m1", "rain"))
    await transport.settle()
    [call] = session.history
    changed = dataclasses.replace(call, output="sun")
    with pytest.raises(ValueError, match=r"MCP call 'm1' \(weather.get_forecast\)"):
        await session.update_history([changed])
    assert transport.sent_of_type("conversation.item.delete") == []
    edit = asyncio.ensure_future(session.update_history([]))
    delete = await transport.wait_for_sent("conversation.item.delete")
    assert delete["item_id"] == "m1"
    transport.push(_event("conversation.item.deleted", item_id="m1"))  # the server's answer
    await asyncio.wait_for(edit, 10)
    assert session.history == []


def test_a_call_survives_export_and_records_but_is_not_replayed() -> None:
    from rtnb.analysis.records import item_from_dict, item_to_dict
    from rtnb.session.recovery import history_records, replay_events

    call = McpCallItem("m1", "weather", "get_forecast", "{}", error={"type": "http_error"})
    assert item_from_dict(item_to_dict(call)) == call
    [record] = history_records([call])
    assert (record["type"], record["server_label"], record["error"]) == (
        "mcp_call", "weather", {"type": "http_error"}
    )  # fmt: skip
    assert replay_events([call]) == []  # the server made it: nothing re-sends a hosted call


# ----------------------------------------------------------------------------- approvals


def approval_answers(transport: ScriptedTransport) -> list[dict[str, Any]]:
    return [
        e["item"]
        for e in transport.sent_of_type("conversation.item.create")
        if e["item"]["type"] == "mcp_approval_response"
    ]


async def test_an_approval_request_waits_for_approve(
    session: RealtimeSession, transport: ScriptedTransport
) -> None:
    events = Recorder(session, *EVENTS)
    push_listing(transport, "weather", [FORECAST])
    push_approval_request(transport, "apr_1", "get_forecast")
    request = await events.wait_for("tool_approval_requested")
    await transport.settle()
    assert isinstance(request.approval, McpApprovalItem)
    assert request.approval.server_label == "weather"
    assert (request.call_id, request.arguments) == ("apr_1", '{"city": "Oslo"}')
    assert request.tool.name == "get_forecast" and request.tool.description
    assert session.pending_approvals == [request.approval]
    assert approval_answers(transport) == []
    assert transport.sent_of_type("response.create") == []

    session.approve(request.approval)
    await transport.wait_for_sent("response.create")
    [answer] = approval_answers(transport)
    assert answer["approval_request_id"] == "apr_1" and answer["approve"] is True
    assert "reason" not in answer and answer["id"]
    assert session.pending_approvals == []
    kinds = [e["type"] for e in transport.sent]
    assert kinds.index("conversation.item.create") < kinds.index("response.create")


@pytest.mark.parametrize(
    ("options", "message", "reason"),
    [
        ({}, "not today", "not today"),
        ({}, None, DEFAULT_REJECTION_MESSAGE),
        (
            {"tool_error_formatter": lambda args: f"{args.tool_name}: {args.kind}"},
            None,
            "get_forecast: approval_rejected",
        ),
    ],
)
async def test_a_rejection_is_sent_with_its_reason(
    session: RealtimeSession, transport: ScriptedTransport, message: str | None, reason: str
) -> None:
    events = Recorder(session, *EVENTS)
    push_approval_request(transport, "apr_1", "get_forecast")
    request = await events.wait_for("tool_approval_requested")
    assert request.tool == McpToolInfo("weather", "get_forecast")  # not listed (yet)
    session.reject(request.approval, message=message)
    await transport.wait_for_sent("response.create")
    [answer] = approval_answers(transport)
    assert answer["approve"] is False and answer["reason"] == reason


async def test_always_approve_answers_later_requests_of_the_tool(
    session: RealtimeSession, transport: ScriptedTransport
) -> None:
    events = Recorder(session, *EVENTS)
    push_approval_request(transport, "apr_1", "get_forecast")
    request = await events.wait_for("tool_approval_requested")
    session.approve(request.approval, always_approve=True)
    await transport.wait_for_sent("response.create")
    push_approval_request(transport, "apr_2", "get_forecast")
    push_approval_request(transport, "apr_2", "get_forecast")  # a repeated item: answered once
    await transport.wait_for_sent("response.create", count=2)
    await transport.settle()
    assert len(events.of("tool_approval_requested")) == 1
    assert [(a["approval_request_id"], a["approve"]) for a in approval_answers(transport)] == [
        ("apr_1", True),
        ("apr_2", True),
    ]
    with pytest.raises(ValueError, match="no pending approval"):
        session.approve(request.approval)
