"""The default policy and the responder's routing with hosted MCP tools (no sockets)."""

from __future__ import annotations

from typing import Any

from rtnb.local.mcp.steps import approved_request, mcp_label
from rtnb.local.policy.deterministic import CallTool, PolicyInput, Say, default_policy

FORECAST = {
    "type": "function",
    "name": "get_forecast",
    "description": "Return tomorrow's weather forecast for a city.",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
    "server_label": "weather",
}


def user(text: str) -> dict[str, Any]:
    return {
        "id": "u1",
        "type": "message",
        "role": "user",
        "content": [{"type": "input_text", "text": text}],
    }


LISTING = {"id": "l1", "type": "mcp_list_tools", "server_label": "weather", "tools": []}
REQUEST = {
    "id": "r1",
    "type": "mcp_approval_request",
    "server_label": "weather",
    "name": "get_forecast",
    "arguments": '{"city": "Oslo"}',
}


def answer(approve: bool) -> dict[str, Any]:
    return {
        "id": "a1",
        "type": "mcp_approval_response",
        "approval_request_id": "r1",
        "approve": approve,
    }


def call(output: str | None, error: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "id": "m1",
        "type": "mcp_call",
        "server_label": "weather",
        "name": "get_forecast",
        "arguments": "{}",
        "approval_request_id": "r1",
        "output": output,
        "error": error,
    }


def test_the_best_mcp_tool_is_called_with_its_server_label() -> None:
    turn = PolicyInput([user("What is the weather forecast for Oslo?"), LISTING], tools=[FORECAST])
    assert default_policy(turn) == CallTool("get_forecast", {"city": "Oslo"}, "weather")


def test_a_finished_call_is_spoken_and_a_failed_one_explained() -> None:
    turn = PolicyInput([user("forecast for Oslo"), call("Rain tomorrow.")], tools=[FORECAST])
    assert default_policy(turn) == Say("Rain tomorrow.")
    error = {"type": "tool_execution_error", "message": "no such city"}
    turn = PolicyInput([user("forecast for Oslo"), call(None, error)], tools=[FORECAST])
    assert default_policy(turn) == Say("Sorry, that did not work: no such city")


def test_a_refused_approval_is_told() -> None:
    turn = PolicyInput([user("forecast for Oslo"), REQUEST, answer(False)], tools=[FORECAST])
    assert default_policy(turn) == Say("Okay, I did not run get forecast.")


def test_only_an_approved_call_without_its_mcp_call_is_waiting() -> None:
    assert approved_request([user("hi"), REQUEST, answer(True)]) == REQUEST
    assert approved_request([REQUEST, answer(False)]) is None
    assert approved_request([REQUEST, answer(True), call("done")]) is None
    assert approved_request([answer(True)]) is None  # no such request


def test_calls_go_to_functions_first_then_to_mcp_servers() -> None:
    function = {"type": "function", "name": "get_forecast", "parameters": {}}
    assert mcp_label(CallTool("get_forecast", {}), [FORECAST]) == "weather"
    assert mcp_label(CallTool("get_forecast", {}), [function, FORECAST]) is None
    assert mcp_label(CallTool("get_forecast", {}, "other"), [function]) == "other"
    assert mcp_label(CallTool("unknown", {}), [FORECAST]) is None
