"""Function calls of the model: started once per call id, run as tasks, answered in order.

A finished ``function_call`` (``response.function_call_arguments.done``, a done output item, or
an output of ``response.done``) starts its call once. A handoff is carried out by the agent
state; any other tool runs as a task (see :class:`~rtnb.session.tool_runner.ToolRunner`) so the
session keeps receiving. Its output is recorded in the history, sent, and answered with one
``response.create`` (unless one is already held, or the result is a background result).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from rtnb.protocol import client_events as ce
from rtnb.protocol.events import Event
from rtnb.protocol.gate import ResponseGate
from rtnb.protocol.mcp import MCP_ITEM_TYPES

from .agent import RealtimeAgent
from .conversation import emit_history_updated
from .dispatch import EventDispatcher
from .handoffs import Handoff
from .history import History
from .tool_runner import ToolRunner


class ToolCalls:
    """Starts, runs and answers the function calls of the model."""

    def __init__(
        self,
        runner: ToolRunner,
        *,
        agent: Callable[[], RealtimeAgent],
        history: History,
        events: EventDispatcher,
        send: Callable[[Event], None],
        gate: ResponseGate,
        request_response: Callable[[], None],
        start_task: Callable[[Coroutine[Any, Any, None], str], None],
        handoff: Callable[[Handoff], str],
        mcp_item: Callable[[str, dict[str, Any]], None],
    ) -> None:
        self.runner = runner
        self._agent = agent
        self._history = history
        self._events = events
        self._send = send
        self._gate = gate
        self._request_response = request_response
        self._start_task = start_task
        self._handoff = handoff
        self._mcp_item = mcp_item
        self._started_calls: set[str] = set()

    def on_arguments_done(self, event: Event) -> None:
        """``response.function_call_arguments.done``."""
        self.start(event["call_id"], event["name"], event["arguments"])

    def on_response_done(self, event: Event) -> None:
        """``response.done``: every output item is final now."""
        for item in event["response"].get("output") or []:
            self.on_output_item(item)

    def on_output_item(self, item: Any) -> None:
        """A finished output item: run a ``function_call``'s tool (once per call id); an MCP
        item goes to the MCP part."""
        if isinstance(item, dict) and item.get("type") in MCP_ITEM_TYPES:
            self._mcp_item("response.done", item)
        elif (
            isinstance(item, dict)
            and item.get("type") == "function_call"
            and item.get("status", "completed") == "completed"
        ):
            self.start(item.get("call_id"), item.get("name", ""), item.get("arguments", ""))

    def start(self, call_id: str | None, name: str, arguments: str) -> None:
        """Start the call ``call_id`` unless it was started already."""
        if not call_id or call_id in self._started_calls:
            return
        self._started_calls.add(call_id)
        handoff = self._agent().get_handoff(name)  # calls resolve against the current agent
        if handoff is not None:
            self.send_output(call_id, self._handoff(handoff))
            return
        self._start_task(self._run(call_id, name, arguments), f"rtnb-tool-{name}")

    async def _run(self, call_id: str, name: str, arguments: str) -> None:
        output = await self.runner.run(self._agent(), call_id, name, arguments, self._history)
        if output is None:
            return  # timed out with timeout_behavior="raise_exception": no output is sent
        self.send_output(call_id, output.text, respond=not output.background)

    def send_output(self, call_id: str, output: str, *, respond: bool = True) -> None:
        """Record a call's output, send it, and (``respond``) ask for a response."""
        if self._history.set_tool_output(call_id, output) is not None:
            emit_history_updated(self._events, self._history)
        self._send(ce.function_call_output(call_id, output))
        # One held response.create answers every finished call; background results ask none.
        if respond and self._gate.held == 0:
            self._request_response()
