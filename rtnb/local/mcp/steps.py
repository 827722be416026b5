"""The MCP part of a local-server response (:class:`McpSteps`, owned by the ``Responder``).

A response first waits for listings in progress and offers the listed MCP tools to the policy
(function-like tool dicts with a ``server_label``). When the policy calls one:

- if the server's ``require_approval`` asks for it, the response outputs an
  ``mcp_approval_request`` item and ends; the client answers with an ``mcp_approval_response``
  item and a ``response.create``. That next response runs the approved call without asking the
  policy (a rejected call is left to the policy, which can say so);
- otherwise it streams an ``mcp_call`` item: ``response.mcp_call_arguments.delta``/``.done``,
  ``response.mcp_call.in_progress``, the call on the MCP server, then
  ``response.mcp_call.completed`` (``output`` set) or ``.failed`` (``error`` set).

As on the OpenAI Realtime API, the response ends after the call: the client asks for the next
response (``RealtimeSession`` does, see ``automatically_trigger_response_for_mcp_tool_calls``),
in which the policy sees the ``mcp_call`` item with its output and speaks it.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from rtnb.local.conversation import Item
from rtnb.local.mcp.client import McpCallOutcome, McpClientError
from rtnb.local.mcp.tools import McpServers
from rtnb.local.policy.deterministic import CallTool, PolicyInput
from rtnb.local.response_run import ResponseOutput, ResponseRun
from rtnb.protocol.events import new_id


def approved_request(items: list[Item]) -> Item | None:
    """The latest approval request that was approved and has no ``mcp_call`` yet, if any."""
    requests = {i.get("id"): i for i in items if i.get("type") == "mcp_approval_request"}
    called = {i.get("approval_request_id") for i in items if i.get("type") == "mcp_call"}
    for item in reversed(items):
        if item.get("type") == "mcp_approval_response" and item.get("approve") is True:
            request_id = item.get("approval_request_id")
            if request_id in requests and request_id not in called:
                return requests[request_id]
    return None


def mcp_label(reply: CallTool, tools: list[dict[str, Any]]) -> str | None:
    """The MCP server a policy's call goes to (``None``: a function call).

    An explicit ``server_label`` wins; else a function tool of that name; else a listed MCP
    tool of that name.
    """
    if reply.server_label is not None:
        return reply.server_label
    if any(t.get("name") == reply.name and not t.get("server_label") for t in tools):
        return None
    labels = (t.get("server_label") for t in tools if t.get("name") == reply.name)
    return next((str(label) for label in labels if label), None)


class McpSteps:
    """MCP steps of a response, writing items and events through the responder's output."""

    def __init__(self, output: ResponseOutput, mcp: McpServers | None) -> None:
        self._output = output
        self._mcp = mcp

    async def offer_tools(self, run: ResponseRun, turn: PolicyInput) -> PolicyInput:
        """Wait for listings in progress; offer the listed MCP tools in the turn's tools."""
        if self._mcp is None:
            return turn
        await self._mcp.wait_listed()
        run.check()
        return dataclasses.replace(turn, tools=self._mcp.policy_tools(turn.tools))

    async def run_approved(self, run: ResponseRun, turn: PolicyInput) -> bool:
        """Run an approved call waiting for its response; False if there is none."""
        request = approved_request(turn.items) if self._mcp is not None else None
        if request is None:
            return False
        await self._call(
            run,
            str(request.get("server_label", "")),
            str(request.get("name", "")),
            str(request.get("arguments") or "{}"),
            approval_request_id=request["id"],
        )
        return True

    async def reply(self, run: ResponseRun, reply: CallTool, label: str) -> None:
        """Answer the policy's call of an MCP tool: ask for approval, or run it."""
        arguments = json.dumps(reply.arguments)
        server = self._mcp.get(label) if self._mcp is not None else None
        if server is not None and server.find(reply.name) and server.requires_approval(reply.name):
            item: Item = {
                "id": new_id("mcpr"),
                "object": "realtime.item",
                "type": "mcp_approval_request",
                "server_label": label,
                "name": reply.name,
                "arguments": arguments,
            }
            index = await self._output.open_item(run, item)
            await self._output.close_item(run, item, index)
            return
        await self._call(run, label, reply.name, arguments)

    async def _call(
        self,
        run: ResponseRun,
        label: str,
        name: str,
        arguments: str,
        *,
        approval_request_id: str | None = None,
    ) -> None:
        item: Item = {
            "id": new_id("mcp"),
            "object": "realtime.item",
            "type": "mcp_call",
            "server_label": label,
            "name": name,
            "arguments": "",
            "approval_request_id": approval_request_id,
            "output": None,
            "error": None,
        }
        index = await self._output.open_item(run, item)
        ids = {"response_id": run.id, "item_id": item["id"], "output_index": index}
        await self._output.event("response.mcp_call_arguments.delta", **ids, delta=arguments)
        item["arguments"] = arguments
        await self._output.event("response.mcp_call_arguments.done", **ids, arguments=arguments)
        await self._output.event(
            "response.mcp_call.in_progress", item_id=item["id"], output_index=index
        )
        outcome = await self._outcome(label, name, arguments)
        item.update(output=outcome.output, error=outcome.error)
        done = "response.mcp_call.failed" if outcome.error else "response.mcp_call.completed"
        await self._output.event(done, item_id=item["id"], output_index=index)
        await self._output.close_item(run, item, index)

    async def _outcome(self, label: str, name: str, arguments: str) -> McpCallOutcome:
        try:
            parsed = json.loads(arguments or "{}")
        except json.JSONDecodeError:
            parsed = None
        if not isinstance(parsed, dict):
            error = McpClientError(f"arguments for {name!r} are not a JSON object")
            return McpCallOutcome(None, error.to_wire())
        if self._mcp is None:
            error = McpClientError("this server has no MCP support")
            return McpCallOutcome(None, error.to_wire())
        return await self._mcp.call(label, name, parsed)
