"""How a session follows hosted MCP tools: the :class:`McpSession` part of the session.

The Realtime server runs everything MCP; the session watches and answers:

- ``mcp_list_tools`` items (and ``mcp_list_tools.completed``/``.failed``) tell which tools each
  server offers. ``session.available_mcp_tools`` is the active agent's share (its servers, their
  ``allowed_tools``); ``mcp_tools_changed`` is emitted whenever it changes, also on a handoff or
  ``update_agent``.
- An ``mcp_approval_request`` item emits ``tool_approval_requested`` (unless an ``always_*``
  decision was remembered for that tool); ``session.approve``/``reject`` answer it with an
  ``mcp_approval_response`` item (a rejection carries the rejection text as ``reason``) and ask
  for a response, in which the server runs (or skips) the call.
- A finished ``mcp_call`` item emits ``mcp_tool_call_completed``. The Realtime API does not go on
  talking after an MCP call: on ``response.mcp_call.completed`` the session asks for a response
  when ``automatically_trigger_response_for_mcp_tool_calls`` is on (the default), once for all
  calls that finish within one response. The local server behaves the same way.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from rtnb.protocol import client_events as ce
from rtnb.protocol.events import Event, new_id
from rtnb.protocol.gate import ResponseGate

from .agent import RealtimeAgent
from .approvals import ApprovalDecision
from .dispatch import EventDispatcher
from .events import (
    McpToolCallCompletedEvent,
    McpToolsChangedEvent,
    ToolApprovalRequestedEvent,
)
from .items import McpCallItem, item_from_wire
from .mcp import McpApprovalItem, McpToolCall, McpToolInfo, McpToolTracker
from .tool_runner import ToolRunner

log = logging.getLogger("rtnb.session")

# Item events after which an item is final.
_FINAL_ITEM_EVENTS = frozenset(
    {
        "conversation.item.done",
        "conversation.item.retrieved",
        "response.output_item.done",
        "response.done",
    }
)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


class McpSession:
    """MCP state of a session and its reactions to MCP items and events."""

    def __init__(
        self,
        tools: ToolRunner,
        *,
        agent: Callable[[], RealtimeAgent],
        events: EventDispatcher,
        send: Callable[[Event], None],
        gate: ResponseGate,
        request_response: Callable[[], None],
        start_task: Callable[[Coroutine[Any, Any, None], str], None],
        auto_respond: bool = True,
    ) -> None:
        self.auto_respond = auto_respond
        """Ask for a response after MCP calls (``automatically_trigger_response_...``)."""
        self._tools = tools
        self._agent = agent
        self._events = events
        self._send = send
        self._gate = gate
        self._request_response = request_response
        self._start_task = start_task
        self._mcp = McpToolTracker()
        self._mcp_available: list[McpToolInfo] = []
        self._mcp_seen: set[tuple[str, str]] = set()  # approval requests and calls handled
        self._mcp_answered_calls: set[str] = set()  # calls a response was requested for

    @property
    def available_tools(self) -> list[McpToolInfo]:
        """The hosted MCP tools the active agent can use now (see the module docstring)."""
        return list(self._mcp_available)

    def on_agent_change(self, agent: RealtimeAgent) -> None:
        """Another agent answers now: its share of the listed tools is available."""
        self._mcp_refresh()

    def on_item(self, event_type: str, item: dict[str, Any]) -> None:
        """A version of an MCP conversation item arrived (in any item event or response.done)."""
        kind = item.get("type")
        if kind == "mcp_list_tools":
            if self._mcp.on_item(item, final=event_type in _FINAL_ITEM_EVENTS):
                self._mcp_refresh()
        elif kind == "mcp_approval_request":
            self._mcp_approval_requested(item)
        elif kind == "mcp_call" and (item.get("output") is not None or item.get("error")):
            self._mcp_call_finished(item)

    def on_list_tools_completed(self, event: Event) -> None:
        """``mcp_list_tools.completed``."""
        if self._mcp.on_completed(event["item_id"]):
            self._mcp_refresh()

    def on_list_tools_failed(self, event: Event) -> None:
        """``mcp_list_tools.failed``."""
        label = self._mcp.on_failed(event["item_id"])
        log.warning("MCP server %r could not list its tools", label)
        self._mcp_refresh()

    def on_call_completed(self, event: Event) -> None:
        """``response.mcp_call.completed``: ask for a response (once per call)."""
        item_id = event["item_id"]
        if not self.auto_respond:
            return
        if item_id in self._mcp_answered_calls:
            return
        self._mcp_answered_calls.add(item_id)
        if self._gate.held == 0:  # one held response.create answers every finished call
            self._request_response()

    # ----------------------------------------------------------------- internals

    def _mcp_refresh(self) -> None:
        agent = self._agent()
        available = self._mcp.available(agent.mcp_tools)
        if available != self._mcp_available:
            self._mcp_available = available
            self._events.emit(McpToolsChangedEvent(agent, list(available)))

    def _mcp_call_finished(self, item: dict[str, Any]) -> None:
        call = item_from_wire(item)
        if not isinstance(call, McpCallItem) or ("call", call.item_id) in self._mcp_seen:
            return
        self._mcp_seen.add(("call", call.item_id))
        finished = McpToolCall(
            call.item_id,
            call.server_label,
            call.name,
            call.arguments,
            call.output,
            call.error,
            call.approval_request_id,
        )
        self._events.emit(McpToolCallCompletedEvent(self._agent(), finished))

    def _mcp_approval_requested(self, item: dict[str, Any]) -> None:
        item_id = item.get("id")
        if not isinstance(item_id, str) or ("approval", item_id) in self._mcp_seen:
            return
        self._mcp_seen.add(("approval", item_id))
        label, name = _text(item.get("server_label")), _text(item.get("name"))
        approval = McpApprovalItem(item_id, name, _text(item.get("arguments")), label)
        remembered = self._tools.approvals.remembered(name)
        if remembered is not None:
            self._start_task(self._mcp_answer(approval, remembered), f"rtnb-mcp-approval-{name}")
            return
        future = self._tools.approvals.request(approval)
        tool = self._mcp.find(label, name) or McpToolInfo(label, name)
        self._events.emit(
            ToolApprovalRequestedEvent(self._agent(), tool, approval.arguments, item_id, approval)
        )
        self._start_task(self._mcp_wait_and_answer(approval, future), f"rtnb-mcp-approval-{name}")

    async def _mcp_wait_and_answer(self, approval: McpApprovalItem, future: Any) -> None:
        try:
            decision = await future
        finally:
            self._tools.approvals.withdraw(approval)
        await self._mcp_answer(approval, decision)

    async def _mcp_answer(self, approval: McpApprovalItem, decision: ApprovalDecision) -> None:
        """Send the ``mcp_approval_response`` item and ask for the response that acts on it."""
        item: dict[str, Any] = {
            "type": "mcp_approval_response",
            "id": new_id("item"),
            "approval_request_id": approval.call_id,
            "approve": decision.approved,
        }
        if not decision.approved:
            item["reason"] = await self._tools.rejection_text(approval, decision)
        self._send(ce.create_item(item))
        self._request_response()
