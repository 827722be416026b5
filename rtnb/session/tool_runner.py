"""Running the model's function calls for a session: approval, context, timeout, events.

:meth:`ToolRunner.run` takes one call from arrival to its output and reports it with session
events; the session sends the output and decides whether to ask for a response. Order for a
known tool with valid arguments: build the :class:`ToolContext` (with a copy of the history),
ask for approval when the tool needs it (a rejection sends a message instead of running), then
``agent_tool_start``, the run within the tool's timeout, ``agent_tool_end``.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Iterable
from typing import Any

from pydantic import ValidationError

from .agent import RealtimeAgent
from .approvals import (
    ApprovalDecision,
    Approvals,
    ToolApprovalItem,
    ToolErrorFormatter,
    rejection_message,
)
from .events import (
    AgentToolEndEvent,
    AgentToolStartEvent,
    ErrorEvent,
    SessionEvent,
    ToolApprovalDecidedEvent,
    ToolApprovalRequestedEvent,
)
from .items import HistoryItem
from .tool_context import ToolContext
from .tools import FunctionTool, ToolOutput, ToolTimeoutError, invalid_arguments_message

log = logging.getLogger("rtnb.session")


class ToolRunner:
    """Runs function calls with the session's ``context`` and approval decisions."""

    def __init__(
        self,
        emit: Callable[[SessionEvent], None],
        *,
        context: Any = None,
        error_formatter: ToolErrorFormatter | None = None,
    ) -> None:
        self.context = context
        self.approvals = Approvals(
            lambda item, decision, always: emit(
                ToolApprovalDecidedEvent(item, decision.approved, always)
            )
        )
        self._emit = emit
        self._error_formatter = error_formatter

    async def run(
        self,
        agent: RealtimeAgent,
        call_id: str,
        name: str,
        arguments: str,
        history: Iterable[HistoryItem],
    ) -> ToolOutput | None:
        """Run one call of ``agent``'s tool ``name``; return what to send back to the model.

        Returns ``None`` when nothing must be sent: the tool timed out with
        ``timeout_behavior="raise_exception"`` (reported as an ``error`` session event).
        """
        tool = agent.get_tool(name)
        if tool is None:
            log.warning("the model called an unknown tool %r", name)
            return self._failed(
                agent, None, call_id, arguments, f"Error: there is no tool named {name!r}."
            )
        try:
            kwargs = tool.validate(arguments)
        except ValidationError as exc:
            return self._failed(
                agent, tool, call_id, arguments, invalid_arguments_message(name, exc)
            )
        # Copying a long history costs milliseconds: only when someone can look at it.
        copied = copy.deepcopy(list(history)) if tool.sees_context else []
        context = ToolContext(self.context, copied, call_id, name, arguments)
        if await tool.requires_approval(context, kwargs):
            rejection = await self._approve(agent, tool, context)
            if rejection is not None:
                return ToolOutput(rejection)
        self._emit(AgentToolStartEvent(agent, tool, arguments, call_id))
        try:
            output = await tool.execute(kwargs, context)
        except ToolTimeoutError as exc:
            self._emit(ErrorEvent(exc))
            return None
        self._emit(AgentToolEndEvent(agent, tool, arguments, output.text, call_id))
        return output

    async def _approve(
        self, agent: RealtimeAgent, tool: FunctionTool, context: ToolContext[Any]
    ) -> str | None:
        """Wait for a decision on this call; return the rejection text, or ``None`` to run."""
        item = ToolApprovalItem(context.call_id, tool.name, context.arguments)
        decision = self.approvals.remembered(tool.name)
        if decision is None:
            future = self.approvals.request(item)
            self._emit(ToolApprovalRequestedEvent(agent, tool, item.arguments, item.call_id, item))
            try:
                decision = await future
            finally:
                self.approvals.withdraw(item)
        if decision.approved:
            return None
        return await rejection_message(item, decision, self._error_formatter, self.context)

    async def rejection_text(self, item: ToolApprovalItem, decision: ApprovalDecision) -> str:
        """The text sent for a rejected call: the decision's message, else the formatter's."""
        return await rejection_message(item, decision, self._error_formatter, self.context)

    def _failed(
        self,
        agent: RealtimeAgent,
        tool: FunctionTool | None,
        call_id: str,
        arguments: str,
        text: str,
    ) -> ToolOutput:
        """Report a call that could not run (unknown tool, invalid arguments) as started and
        ended with an error text."""
        self._emit(AgentToolStartEvent(agent, tool, arguments, call_id))
        self._emit(AgentToolEndEvent(agent, tool, arguments, text, call_id))
        return ToolOutput(text)
