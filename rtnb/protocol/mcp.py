"""Hosted MCP tools on the wire: the ``mcp`` session tool and its rules (sans-I/O).

A ``{"type": "mcp", ...}`` entry of ``session.tools`` names a remote MCP server that the Realtime
service (or the embedded local server) calls for the model. Two of its fields are rules about the
server's tools, shared here by the session and the local server:

- ``allowed_tools``: ``None`` (every tool), a list of tool names, or a filter object
  ``{"tool_names": [...], "read_only": bool}``.
- ``require_approval``: ``"always"``, ``"never"``, or ``{"always": filter, "never": filter}``.
  As in the OpenAI API, a missing value means ``"always"``; with the object form a tool that
  neither filter matches needs approval, and ``always`` wins over ``never``.

A filter matches a tool when every field it sets matches: ``tool_names`` contains the tool's name,
``read_only`` equals the tool's ``readOnlyHint`` annotation (a missing hint is ``False``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

MCP_ITEM_TYPES = frozenset(
    {"mcp_list_tools", "mcp_call", "mcp_approval_request", "mcp_approval_response"}
)
"""Conversation item types of hosted MCP tools."""

_APPROVAL_WORDS = ("always", "never")
_FILTER_FIELDS = frozenset({"tool_names", "read_only"})
_SECRET_FIELDS = ("headers", "authorization")
REDACTED = "[redacted]"


def is_mcp_tool(tool: Any) -> bool:
    """True for a ``session.tools`` entry of type ``mcp``."""
    return isinstance(tool, Mapping) and tool.get("type") == "mcp"


def _read_only(annotations: Any) -> bool:
    if not isinstance(annotations, Mapping):
        return False
    return annotations.get("readOnlyHint", annotations.get("read_only_hint")) is True


def filter_matches(tool_filter: Any, name: str, annotations: Any = None) -> bool:
    """Whether a tool filter (a list of names or a filter object) matches the tool ``name``."""
    if isinstance(tool_filter, list | tuple):
        return name in tool_filter
    if not isinstance(tool_filter, Mapping):
        return False
    names = tool_filter.get("tool_names")
    if names is not None and name not in names:
        return False
    read_only = tool_filter.get("read_only")
    return read_only is None or read_only == _read_only(annotations)


def allows_tool(allowed_tools: Any, name: str, annotations: Any = None) -> bool:
    """Whether ``allowed_tools`` (``None``, names or a filter) lets the model use ``name``."""
    return allowed_tools is None or filter_matches(allowed_tools, name, annotations)


def needs_approval(require_approval: Any, name: str, annotations: Any = None) -> bool:
    """Whether a call of ``name`` must be approved under ``require_approval`` (see module)."""
    if require_approval == "never":
        return False
    if not isinstance(require_approval, Mapping):
        return True  # "always", or missing: the API's default
    always = require_approval.get("always")
    if always is not None and filter_matches(always, name, annotations):
        return True
    never = require_approval.get("never")
    return not (never is not None and filter_matches(never, name, annotations))


def _check_filter(value: Any, field: str) -> str | None:
    if isinstance(value, list):
        if not all(isinstance(n, str) for n in value):
            return f"{field}: expected a list of tool names"
        return None
    if not isinstance(value, Mapping):
        return f"{field}: expected a list of tool names or a filter object"
    unknown = set(value) - _FILTER_FIELDS
    if unknown:
        return f"{field}: unknown filter fields {sorted(unknown)} (use tool_names, read_only)"
    names = value.get("tool_names")
    if names is not None and (
        not isinstance(names, list) or not all(isinstance(n, str) for n in names)
    ):
        return f"{field}.tool_names: expected a list of tool names"
    if value.get("read_only") is not None and not isinstance(value.get("read_only"), bool):
        return f"{field}.read_only: expected true or false"
    return None


def mcp_tool_problem(tool: Mapping[str, Any]) -> tuple[str, str] | None:
    """The first problem of an ``mcp`` tool entry as ``(field, message)``, or ``None`` if valid.

    Field names are relative to the tool (``"server_label"``, ``"require_approval.always"``).
    """
    label = tool.get("server_label")
    if not isinstance(label, str) or not label:
        return "server_label", "an mcp tool needs a non-empty 'server_label'"
    targets = [k for k in ("server_url", "connector_id", "tunnel_id") if tool.get(k) is not None]
    if len(targets) != 1:
        return "server_url", "an mcp tool needs exactly one of server_url, connector_id, tunnel_id"
    for name in ("server_url", "connector_id", "tunnel_id", "server_description", "authorization"):
        if tool.get(name) is not None and not isinstance(tool.get(name), str):
            return name, f"'{name}' must be a string"
    headers = tool.get("headers")
    if headers is not None and not (
        isinstance(headers, Mapping)
        and all(isinstance(k, str) and isinstance(v, str) for k, v in headers.items())
    ):
        return "headers", "'headers' must map header names to string values"
    if tool.get("allowed_tools") is not None:
        problem = _check_filter(tool["allowed_tools"], "allowed_tools")
        if problem:
            return "allowed_tools", problem
    approval = tool.get("require_approval")
    if approval is None or approval in _APPROVAL_WORDS:
        return None
    if not isinstance(approval, Mapping) or set(approval) - set(_APPROVAL_WORDS):
        return (
            "require_approval",
            "require_approval must be 'always', 'never' or {'always': filter, 'never': filter}",
        )
    for word in _APPROVAL_WORDS:
        if approval.get(word) is not None:
            problem = _check_filter(approval[word], f"require_approval.{word}")
            if problem:
                return f"require_approval.{word}", problem
    return None


def redact_mcp_secrets(tools: Any) -> Any:
    """A copy of ``tools`` whose ``mcp`` entries show ``headers`` values and ``authorization``
    as ``"[redacted]"`` (for events and logs; header names stay visible)."""
    if not isinstance(tools, list):
        return tools
    redacted = []
    for tool in tools:
        if is_mcp_tool(tool):
            tool = dict(tool)
            if isinstance(tool.get("headers"), Mapping):
                tool["headers"] = dict.fromkeys(tool["headers"], REDACTED)
            if tool.get("authorization") is not None:
                tool["authorization"] = REDACTED
        redacted.append(tool)
    return redacted
