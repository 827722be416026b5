"""Hosted MCP tools: remote MCP servers that the Realtime server calls for the model.

``hosted_mcp_tool(server_label=..., server_url=...)`` goes into ``RealtimeAgent(tools=[...])`` and
is sent as a ``{"type": "mcp", ...}`` session tool. The server (the OpenAI Realtime service, or
the embedded local server acting as the MCP client) connects to the MCP server, lists its tools
into an ``mcp_list_tools`` conversation item, and runs the calls the model makes as ``mcp_call``
items; the session never calls the MCP server itself.

:class:`McpToolTracker` keeps what each server listed; the session offers the active agent's
share of it as ``session.available_mcp_tools`` (see :mod:`rtnb.session.mcp_session`).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from rtnb.protocol.mcp import allows_tool, mcp_tool_problem, needs_approval

from .approvals import ToolApprovalItem

RequireApproval = Literal["always", "never"] | dict[str, Any]
"""``"always"``, ``"never"`` or ``{"always": {"tool_names": [...]}, "never": {...}}``."""
AllowedTools = list[str] | dict[str, Any]
"""A list of tool names, or a filter ``{"tool_names": [...], "read_only": bool}``."""


@dataclass(frozen=True)
class HostedMcpTool:
    """A remote MCP server offered to the model; build one with :func:`hosted_mcp_tool`.

    ``headers`` and ``authorization`` may hold secrets: they are sent to the Realtime server in
    ``session.update`` and never shown in the repr.
    """

    server_label: str
    server_url: str | None = None
    allowed_tools: AllowedTools | None = None
    require_approval: RequireApproval | None = None
    headers: Mapping[str, str] | None = field(default=None, repr=False)
    server_description: str | None = None
    authorization: str | None = field(default=None, repr=False)
    connector_id: str | None = None

    def __post_init__(self) -> None:
        problem = mcp_tool_problem(self.to_wire())
        if problem is not None:
            raise ValueError(f"hosted MCP tool {self.server_label!r}: {problem[1]}")

    def to_wire(self) -> dict[str, Any]:
        """The ``{"type": "mcp", ...}`` session tool (unset fields left out)."""
        wire: dict[str, Any] = {"type": "mcp", "server_label": self.server_label}
        for name in (
            "server_url",
            "connector_id",
            "server_description",
            "allowed_tools",
            "require_approval",
            "headers",
            "authorization",
        ):
            value = getattr(self, name)
            if value is not None:
                wire[name] = copy.deepcopy(dict(value) if name == "headers" else value)
        return wire

    def allows(self, tool_name: str, annotations: Any = None) -> bool:
        """Whether ``allowed_tools`` lets the model use the server's tool ``tool_name``."""
        return allows_tool(self.allowed_tools, tool_name, annotations)

    def requires_approval(self, tool_name: str, annotations: Any = None) -> bool:
        """Whether a call of ``tool_name`` waits for approval (no ``require_approval``: yes)."""
        return needs_approval(self.require_approval, tool_name, annotations)


def hosted_mcp_tool(
    *,
    server_label: str,
    server_url: str | None = None,
    allowed_tools: AllowedTools | None = None,
    require_approval: RequireApproval | None = None,
    headers: Mapping[str, str] | None = None,
    server_description: str | None = None,
    authorization: str | None = None,
    connector_id: str | None = None,
) -> HostedMcpTool:
    """A remote MCP server the Realtime server calls for the model (put it in ``tools=[...]``).

    Args:
        server_label: The name the server goes by in events and items (unique per agent).
        server_url: The server's streamable HTTP endpoint, e.g. ``"http://127.0.0.1:8000/mcp"``
            (the embedded local server connects to it with the ``mcp`` package).
        allowed_tools: Only these tools are listed and callable: names, or a filter
            ``{"tool_names": [...], "read_only": bool}``. ``None``: all of them.
        require_approval: ``"never"``, ``"always"`` or ``{"always": {"tool_names": [...]},
            "never": {...}}``. ``None`` leaves it to the server, which asks for every call.
            Approval requests arrive as ``tool_approval_requested`` session events.
        headers: HTTP headers for the MCP server (e.g. an API key); kept out of reprs.
        server_description: What the server is for, to help the model.
        authorization: An OAuth access token for the server; kept out of reprs.
        connector_id: A built-in OpenAI connector instead of ``server_url`` (OpenAI only).

    Raises:
        ValueError: A field has an impossible value (named in the message).
    """
    return HostedMcpTool(
        server_label=server_label,
        server_url=server_url,
        allowed_tools=copy.deepcopy(allowed_tools),
        require_approval=copy.deepcopy(require_approval),
        headers=dict(headers) if headers is not None else None,
        server_description=server_description,
        authorization=authorization,
        connector_id=connector_id,
    )


@dataclass(frozen=True)
class McpToolInfo:
    """A tool an MCP server listed (from its ``mcp_list_tools`` item)."""

    server_label: str
    name: str
    description: str | None = None
    input_schema: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    annotations: dict[str, Any] | None = field(default=None, repr=False, compare=False)

    @classmethod
    def from_wire(cls, server_label: str, tool: Any) -> McpToolInfo | None:
        """Convert one entry of an ``mcp_list_tools`` item's ``tools`` (``None`` if malformed)."""
        if not isinstance(tool, dict) or not isinstance(tool.get("name"), str):
            return None
        description = tool.get("description")
        schema = tool.get("input_schema")
        annotations = tool.get("annotations")
        return cls(
            server_label=server_label,
            name=tool["name"],
            description=description if isinstance(description, str) else None,
            input_schema=copy.deepcopy(schema) if isinstance(schema, dict) else {},
            annotations=copy.deepcopy(annotations) if isinstance(annotations, dict) else None,
        )


@dataclass(frozen=True)
class McpToolCall:
    """A finished call of an MCP tool, run by the Realtime server (an ``mcp_call`` item)."""

    item_id: str
    server_label: str
    name: str
    arguments: str
    output: str | None
    """The tool's output text (``None`` when the call failed)."""
    error: dict[str, Any] | None
    """The wire error object (``{"type": "tool_execution_error", "message": ...}``, ...)."""
    approval_request_id: str | None = None

    @property
    def failed(self) -> bool:
        """True when the call ended with an error."""
        return self.error is not None


@dataclass(frozen=True)
class McpApprovalItem(ToolApprovalItem):
    """An MCP tool call waiting for approval; ``call_id`` is the approval request item's id.

    Pass it to ``session.approve()``/``reject()`` like a function tool's approval; the session
    answers the server with an ``mcp_approval_response`` item.
    """

    server_label: str = ""


class McpToolTracker:
    """What each MCP server listed, from ``mcp_list_tools`` items and events.

    A listing counts once it is final: its item arrived with ``conversation.item.done`` (or
    ``.retrieved``), or ``mcp_list_tools.completed`` named it. A failed listing empties its
    server. The latest final listing of a server label wins.
    """

    def __init__(self) -> None:
        self._items: dict[str, tuple[str, list[McpToolInfo]]] = {}
        self._listed: dict[str, list[McpToolInfo]] = {}

    def on_item(self, item: dict[str, Any], *, final: bool) -> bool:
        """Take a version of an ``mcp_list_tools`` item; True if a listing changed."""
        item_id, label, tools = item.get("id"), item.get("server_label"), item.get("tools")
        if not isinstance(item_id, str) or not isinstance(label, str):
            return False
        converted = (McpToolInfo.from_wire(label, t) for t in tools or [])
        infos = [i for i in converted if i is not None] if isinstance(tools, list) else []
        self._items[item_id] = (label, infos)
        return self._commit(label, infos) if final else False

    def on_completed(self, item_id: str) -> bool:
        """``mcp_list_tools.completed``: the item's listing is final; True if it changed."""
        known = self._items.get(item_id)
        return self._commit(*known) if known is not None and known[1] else False

    def on_failed(self, item_id: str) -> str | None:
        """``mcp_list_tools.failed``: forget the server's tools; return its label if known."""
        known = self._items.get(item_id)
        if known is None:
            return None
        self._commit(known[0], [])
        return known[0]

    def _commit(self, label: str, tools: list[McpToolInfo]) -> bool:
        changed = self._listed.get(label) != tools
        self._listed[label] = list(tools)
        return changed

    def listed(self, server_label: str) -> list[McpToolInfo]:
        """The tools the server last listed (all of them, before any agent filter)."""
        return list(self._listed.get(server_label, []))

    def find(self, server_label: str, name: str) -> McpToolInfo | None:
        """The listed tool ``name`` of ``server_label``, if any."""
        return next((t for t in self._listed.get(server_label, []) if t.name == name), None)

    def available(self, servers: Iterable[HostedMcpTool]) -> list[McpToolInfo]:
        """The listed tools of ``servers`` that their ``allowed_tools`` let through, in order."""
        return [
            tool
            for server in servers
            for tool in self._listed.get(server.server_label, [])
            if server.allows(tool.name, tool.annotations)
        ]
