"""Approval of tool calls: pending requests, remembered decisions, rejection messages.

A call to a tool that needs approval waits on a future held here until
``RealtimeSession.approve``/``reject`` decides it. ``always_approve``/``always_reject`` remember
the decision for the tool's name, so later calls of that tool are decided without asking (calls
already waiting still wait for their own decision).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

from .tools import maybe_await

log = logging.getLogger("rtnb.session")

DEFAULT_REJECTION_MESSAGE = "The user rejected this tool call, so the tool did not run."


@dataclass(frozen=True)
class ToolApprovalItem:
    """A tool call waiting for approval; pass it to ``session.approve()`` or ``reject()``."""

    call_id: str
    tool_name: str
    arguments: str
    """The call's arguments as the model sent them (a JSON object text)."""


@dataclass(frozen=True)
class ToolErrorFormatterArgs:
    """What a session's ``tool_error_formatter`` is told about a tool call it must explain."""

    kind: Literal["approval_rejected"]
    tool_name: str
    call_id: str
    arguments: str
    default_message: str
    """The text the model would get without a formatter."""
    context: Any
    """The session's ``context`` object."""


ToolErrorFormatter = Callable[[ToolErrorFormatterArgs], str | Awaitable[str | None] | None]
"""``tool_error_formatter(args) -> str`` (sync or async); ``None`` keeps the default message."""


@dataclass(frozen=True)
class ApprovalDecision:
    """The user's answer to one approval request."""

    approved: bool
    message: str | None = None
    """For a rejection: the exact output to send, bypassing the formatter."""


class Approvals:
    """Pending approval requests and remembered per-tool decisions of one session.

    ``on_decided(item, decision, always)`` is called for every pending request decided.
    """

    def __init__(
        self, on_decided: Callable[[ToolApprovalItem, ApprovalDecision, bool], None] | None = None
    ) -> None:
        self._on_decided = on_decided
        self._pending: dict[str, tuple[ToolApprovalItem, asyncio.Future[ApprovalDecision]]] = {}
        self._remembered: dict[str, ApprovalDecision] = {}

    @property
    def pending(self) -> list[ToolApprovalItem]:
        """The calls waiting for a decision, oldest first."""
        return [item for item, _ in self._pending.values()]

    def remembered(self, tool_name: str) -> ApprovalDecision | None:
        """The ``always_*`` decision taken for this tool, if any."""
        return self._remembered.get(tool_name)

    def request(self, item: ToolApprovalItem) -> asyncio.Future[ApprovalDecision]:
        """Register ``item`` as pending; the future resolves when it is decided."""
        future: asyncio.Future[ApprovalDecision] = asyncio.get_running_loop().create_future()
        self._pending[item.call_id] = (item, future)
        return future

    def withdraw(self, item: ToolApprovalItem) -> None:
        """Forget ``item`` if it is still pending (its call was cancelled)."""
        entry = self._pending.get(item.call_id)
        if entry is not None and entry[0] == item:
            del self._pending[item.call_id]

    def decide(self, item: ToolApprovalItem, decision: ApprovalDecision, *, always: bool) -> None:
        """Resolve a pending request; raise :class:`ValueError` if ``item`` is not pending."""
        entry = self._pending.get(item.call_id)
        if entry is None or entry[0] != item or entry[1].done():
            raise ValueError(
                f"no pending approval for call {item.call_id!r} of tool {item.tool_name!r}: "
                "it is unknown or was already decided"
            )
        del self._pending[item.call_id]
        if always:
            self._remembered[item.tool_name] = decision
        entry[1].set_result(decision)
        if self._on_decided is not None:
            self._on_decided(item, decision, always)


async def rejection_message(
    item: ToolApprovalItem,
    decision: ApprovalDecision,
    formatter: ToolErrorFormatter | None,
    context: Any,
) -> str:
    """The output sent for a rejected call: the explicit message, else the formatter's text,
    else :data:`DEFAULT_REJECTION_MESSAGE` (also when the formatter fails)."""
    if decision.message is not None:
        return decision.message
    if formatter is None:
        return DEFAULT_REJECTION_MESSAGE
    args = ToolErrorFormatterArgs(
        kind="approval_rejected",
        tool_name=item.tool_name,
        call_id=item.call_id,
        arguments=item.arguments,
        default_message=DEFAULT_REJECTION_MESSAGE,
        context=context,
    )
    try:
        text = await maybe_await(formatter(args))
    except Exception:
        log.exception("tool_error_formatter failed; sending the default rejection message")
        return DEFAULT_REJECTION_MESSAGE
    if text is None:
        return DEFAULT_REJECTION_MESSAGE
    if not isinstance(text, str):
        log.error("tool_error_formatter returned %s, not a str", type(text).__name__)
        return DEFAULT_REJECTION_MESSAGE
    return text
