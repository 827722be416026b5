"""The MCP servers of one local-server connection: connect, list, offer, call.

When ``session.update`` brings ``{"type": "mcp", ...}`` tools, :meth:`McpServers.configure`
connects to each new (or changed) server and lists its tools in the background, as the OpenAI
Realtime service does::

    conversation.item.added   {"type": "mcp_list_tools", "server_label": ..., "tools": []}
    mcp_list_tools.in_progress
    mcp_list_tools.completed  (or mcp_list_tools.failed, plus an error event saying why)
    conversation.item.done    (the item with the tools its allowed_tools let through)

Servers dropped from the session are disconnected; every server is disconnected when the
connection closes. Responses offer the listed tools to the policy as function-like tool dicts
carrying a ``server_label`` and run the calls it picks (see :mod:`rtnb.local.mcp.steps`).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rtnb.local.conversation import ConversationItems, Item
from rtnb.local.mcp.client import LIST_TIMEOUT_S, McpCallOutcome, McpClient, McpClientError
from rtnb.protocol.events import ProtocolError, error_event, new_id
from rtnb.protocol.mcp import allows_tool, is_mcp_tool, needs_approval
from rtnb.transport.server import Send, Spawn

log = logging.getLogger("rtnb.server")


def _identity(tool: dict[str, Any]) -> tuple[Any, ...]:
    """What makes a server configuration need a new connection and listing."""
    fields = ("server_url", "connector_id", "tunnel_id", "headers", "authorization")
    return tuple(repr(tool.get(k)) for k in (*fields, "allowed_tools"))


@dataclass
class McpServer:
    """One configured MCP server of a connection."""

    label: str
    config: dict[str, Any] = field(repr=False)
    item: Item | None = None
    """Its ``mcp_list_tools`` item (``tools`` filled once listed)."""
    tools: list[dict[str, Any]] = field(default_factory=list)
    """The listed tools that ``allowed_tools`` lets through."""
    client: McpClient | None = None
    listing: asyncio.Task[None] | None = None

    def find(self, name: str) -> dict[str, Any] | None:
        """The listed (allowed) tool ``name``."""
        return next((t for t in self.tools if t["name"] == name), None)

    def requires_approval(self, name: str) -> bool:
        """Whether a call of ``name`` must wait for an ``mcp_approval_response``."""
        tool = self.find(name) or {}
        return needs_approval(self.config.get("require_approval"), name, tool.get("annotations"))


class McpServers:
    """The MCP servers named by a connection's session, with their clients and listings."""

    def __init__(
        self,
        send: Send,
        conversation: ConversationItems,
        spawn: Spawn,
        *,
        on_listed: Callable[[], None] = lambda: None,
    ) -> None:
        self._send = send
        self._conversation = conversation
        self._spawn = spawn
        self._on_listed = on_listed
        self._servers: dict[str, McpServer] = {}
        self._retired: list[McpServer] = []

    def __contains__(self, label: str) -> bool:
        return label in self._servers

    def get(self, label: str) -> McpServer | None:
        """The server labelled ``label``, if the session names it."""
        return self._servers.get(label)

    def configure(self, tools: list[dict[str, Any]]) -> None:
        """Follow the session's ``mcp`` tools: list new or changed servers, drop the others."""
        wanted = {t["server_label"]: t for t in tools if is_mcp_tool(t)}
        for label, server in list(self._servers.items()):
            config = wanted.get(label)
            if config is None or _identity(config) != _identity(server.config):
                self._retire(self._servers.pop(label))
            else:
                server.config = copy.deepcopy(config)  # e.g. a new require_approval
        for label, config in wanted.items():
            if label not in self._servers:
                server = McpServer(label, copy.deepcopy(config))
                self._servers[label] = server
                server.listing = self._spawn(self._list(server))

    async def wait_listed(self, timeout: float = LIST_TIMEOUT_S + 5) -> None:
        """Wait until no listing is in progress (a response must see the tools)."""
        pending = [s.listing for s in self._servers.values() if s.listing and not s.listing.done()]
        if pending:
            await asyncio.wait(pending, timeout=timeout)

    def policy_tools(self, tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """``tools`` with each ``mcp`` entry replaced by its server's listed tools, as function
        tool dicts with a ``server_label`` (nothing for a server not listed)."""
        offered: list[dict[str, Any]] = []
        for tool in tools:
            if not is_mcp_tool(tool):
                offered.append(tool)
                continue
            server = self._servers.get(tool.get("server_label", ""))
            if server is None:
                continue
            for listed in server.tools:
                offered.append(
                    {
                        "type": "function",
                        "name": listed["name"],
                        "description": listed.get("description", ""),
                        "parameters": copy.deepcopy(listed.get("input_schema") or {}),
                        "server_label": server.label,
                    }
                )
        return offered

    def vocabulary(self) -> list[str]:
        """Names and descriptions of the listed tools (words the recogniser should expect)."""
        texts = []
        for server in self._servers.values():
            for tool in server.tools:
                texts += [tool["name"], tool.get("description") or ""]
        return [t for t in texts if t]

    async def call(self, label: str, name: str, arguments: dict[str, Any]) -> McpCallOutcome:
        """Call ``name`` on server ``label``; refusals and failures come back as an error."""
        server = self._servers.get(label)
        if server is None:
            return McpCallOutcome(
                None, McpClientError(f"the session names no MCP server {label!r}").to_wire()
            )
        if server.find(name) is None:
            return McpCallOutcome(
                None,
                McpClientError(
                    f"MCP server {label!r} offers no tool {name!r} (not listed, or not in "
                    "allowed_tools)"
                ).to_wire(),
            )
        if server.client is None:
            return McpCallOutcome(
                None, McpClientError(f"MCP server {label!r} is not connected").to_wire()
            )
        return await server.client.call_tool(name, arguments)

    async def aclose(self) -> None:
        """Disconnect every server (listings in progress are stopped)."""
        for server in list(self._servers.values()):
            self._retire(server)
        self._servers.clear()
        await self._close_retired()

    def _retire(self, server: McpServer) -> None:
        if server.listing is not None and not server.listing.done():
            server.listing.cancel()
        self._retired.append(server)
        self._spawn(self._close_retired())

    async def _close_retired(self) -> None:
        retired, self._retired = self._retired, []
        for server in retired:
            if server.listing is not None:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await server.listing
            if server.client is not None:
                await server.client.aclose()

    async def _event(self, kind: str, **fields: Any) -> None:
        await self._send({"type": kind, "event_id": new_id("event"), **fields})

    async def _list(self, server: McpServer) -> None:
        item: Item = {
            "id": new_id("mcpl"),
            "object": "realtime.item",
            "type": "mcp_list_tools",
            "server_label": server.label,
            "tools": [],
        }
        server.item = item
        previous = self._conversation.add(item)
        await self._event(
            "conversation.item.added", previous_item_id=previous, item=copy.deepcopy(item)
        )
        await self._event("mcp_list_tools.in_progress", item_id=item["id"])
        try:
            tools = await self._connect_and_list(server)
        except Exception as exc:  # any failure ends the listing as failed, never the connection
            if not isinstance(exc, McpClientError):
                log.exception("listing the tools of MCP server %r broke", server.label)
                exc = McpClientError(f"{type(exc).__name__}: {exc}")
            log.warning("listing the tools of MCP server %r failed: %s", server.label, exc)
            await self._event("mcp_list_tools.failed", item_id=item["id"])
            failure = ProtocolError(
                f"Error retrieving tool list from MCP server {server.label!r}: {exc.message}",
                code="mcp_list_tools_failed",
                param="session.tools",
            )
            await self._send(error_event(failure, error_type="server_error"))
        else:
            server.tools = tools
            item["tools"] = copy.deepcopy(tools)
            self._on_listed()
            await self._event("mcp_list_tools.completed", item_id=item["id"])
        if item["id"] in self._conversation:
            previous = self._conversation.previous_id(item["id"])
            await self._event(
                "conversation.item.done", previous_item_id=previous, item=copy.deepcopy(item)
            )

    async def _connect_and_list(self, server: McpServer) -> list[dict[str, Any]]:
        config = server.config
        url = config.get("server_url")
        if not isinstance(url, str):
            raise McpClientError(
                "the local server reaches MCP servers by server_url only (connectors and "
                "tunnels need the OpenAI Realtime API)"
            )
        client = McpClient(server.label, url, config.get("headers"))
        await client.start()
        server.client = client
        listed = await client.list_tools()
        allowed = config.get("allowed_tools")
        return [t for t in listed if allows_tool(allowed, t["name"], t.get("annotations"))]
