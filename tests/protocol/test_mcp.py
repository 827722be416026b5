"""The rules of hosted MCP tools: allowed_tools, require_approval, config checks, redaction."""

from __future__ import annotations

from typing import Any

import pytest

from rtnb.protocol.mcp import (
    REDACTED,
    allows_tool,
    filter_matches,
    mcp_tool_problem,
    needs_approval,
    redact_mcp_secrets,
)

READ_ONLY = {"readOnlyHint": True}


@pytest.mark.parametrize(
    ("allowed", "name", "annotations", "expected"),
    [
        (None, "anything", None, True),
        (["a", "b"], "a", None, True),
        (["a", "b"], "c", None, False),
        ([], "a", None, False),
        ({"tool_names": ["a"]}, "a", None, True),
        ({"tool_names": ["a"]}, "b", None, False),
        ({"read_only": True}, "a", READ_ONLY, True),
        ({"read_only": True}, "a", None, False),
        ({"read_only": False}, "a", None, True),
        ({"tool_names": ["a"], "read_only": True}, "a", {"readOnlyHint": False}, False),
        ({}, "a", None, True),
        ("a", "a", None, False),  # not a filter: matches nothing
    ],
)
def test_allowed_tools_forms(allowed: Any, name: str, annotations: Any, expected: bool) -> None:
    assert allows_tool(allowed, name, annotations) is expected


@pytest.mark.parametrize(
    ("rule", "name", "annotations", "expected"),
    [
        (None, "a", None, True),  # the API's default is to ask
        ("always", "a", None, True),
        ("never", "a", None, False),
        ({"never": {"tool_names": ["a"]}}, "a", None, False),
        ({"never": {"tool_names": ["a"]}}, "b", None, True),  # matched by neither: ask
        ({"always": {"tool_names": ["b"]}}, "a", None, True),
        ({"always": {"tool_names": ["b"]}, "never": {"tool_names": ["a"]}}, "a", None, False),
        ({"always": {"tool_names": ["a"]}, "never": {"tool_names": ["a"]}}, "a", None, True),
        ({"never": {"read_only": True}}, "a", READ_ONLY, False),
        ({"never": {"read_only": True}}, "a", None, True),
    ],
)
def test_require_approval_forms(rule: Any, name: str, annotations: Any, expected: bool) -> None:
    assert needs_approval(rule, name, annotations) is expected


def test_filter_accepts_tuples_and_snake_case_hints() -> None:
    assert filter_matches(("a",), "a")
    assert filter_matches({"read_only": True}, "a", {"read_only_hint": True})


GOOD = {"type": "mcp", "server_label": "weather", "server_url": "http://127.0.0.1:1/mcp"}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"server_label": ""}, "server_label"),
        ({"server_url": None}, "server_url"),
        ({"connector_id": "connector_gmail"}, "server_url"),  # two targets
        ({"headers": {"X-Key": 1}}, "headers"),
        ({"allowed_tools": "get_forecast"}, "allowed_tools"),
        ({"allowed_tools": {"names": ["a"]}}, "allowed_tools"),
        ({"allowed_tools": {"read_only": "yes"}}, "allowed_tools"),
        ({"require_approval": "sometimes"}, "require_approval"),
        ({"require_approval": {"always": ["a"], "maybe": {}}}, "require_approval"),
        ({"require_approval": {"always": {"tool_names": "a"}}}, "require_approval.always"),
        ({"authorization": 42}, "authorization"),
    ],
)
def test_mcp_tool_problems_name_the_field(change: dict[str, Any], field: str) -> None:
    problem = mcp_tool_problem({**GOOD, **change})
    assert problem is not None and problem[0] == field, problem


@pytest.mark.parametrize(
    "change",
    [
        {},
        {"allowed_tools": ["a"], "require_approval": "never", "headers": {"X-Key": "k"}},
        {"require_approval": {"always": {"tool_names": ["a"]}, "never": {"read_only": True}}},
        {"server_url": None, "connector_id": "connector_gmail", "authorization": "token"},
    ],
)
def test_valid_mcp_tools_have_no_problem(change: dict[str, Any]) -> None:
    assert mcp_tool_problem({**GOOD, **change}) is None


def test_redaction_hides_header_values_and_tokens_only() -> None:
    function = {"type": "function", "name": "f", "parameters": {}}
    tools = [function, {**GOOD, "headers": {"X-Key": "secret"}, "authorization": "tok"}]
    redacted = redact_mcp_secrets(tools)
    assert redacted[0] == function
    assert redacted[1]["headers"] == {"X-Key": REDACTED}
    assert redacted[1]["authorization"] == REDACTED
    assert redacted[1]["server_url"] == GOOD["server_url"]
    assert tools[1]["headers"] == {"X-Key": "secret"}  # the input is left alone
    assert redact_mcp_secrets(None) is None
