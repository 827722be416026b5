"""Tool approval cards: one per ``tool_approval_requested`` event, with Approve and Reject.

A card shows the agent, the tool and its arguments; *Approve* calls
``session.approve(approval, always_approve=...)`` and *Reject* calls
``session.reject(approval, always_reject=..., message=...)`` on the session's event loop. A
decision taken elsewhere (in code, ``tool_approval_decided``) closes the card the same way.
"""

from __future__ import annotations

import asyncio
import html
import json
from collections.abc import Callable
from typing import Any

import ipywidgets

from rtnb.analysis._session import subscribe
from rtnb.analysis.records import name_of

from ._bridge import LoopBridge


def pretty_arguments(arguments: Any) -> str:
    """Tool arguments (a JSON string or an object) as indented JSON where possible."""
    try:
        value = json.loads(arguments) if isinstance(arguments, str) else arguments
        return json.dumps(value, indent=2, ensure_ascii=False)
    except (TypeError, ValueError):
        return str(arguments)


class ApprovalCard(ipywidgets.VBox):
    """One pending tool call: what would run, and the buttons to decide."""

    def __init__(self, event: Any, decide: Callable[[ApprovalCard, bool], None]) -> None:
        self.event = event
        self.decision: str | None = None
        agent = html.escape(name_of(getattr(event, "agent", None)) or "the agent")
        tool = html.escape(name_of(getattr(event, "tool", None)) or "?")
        self.header = ipywidgets.HTML(
            f"<b>{agent}</b> wants to call <code>{tool}</code>"
            f"<pre>{html.escape(pretty_arguments(getattr(event, 'arguments', '')))}</pre>"
        )
        self.approve_button = ipywidgets.Button(description="Approve", button_style="success")
        self.reject_button = ipywidgets.Button(description="Reject", button_style="danger")
        self.always = ipywidgets.Checkbox(description=f"always for {tool}", indent=False)
        self.message = ipywidgets.Text(placeholder="why not (optional, told to the model)")
        self.approve_button.add_class("rtnb-approve")
        self.reject_button.add_class("rtnb-reject")
        self.approve_button.on_click(lambda _: decide(self, True))
        self.reject_button.on_click(lambda _: decide(self, False))
        buttons = ipywidgets.HBox(
            [self.approve_button, self.reject_button, self.always, self.message]
        )
        super().__init__([self.header, buttons])
        self.add_class("rtnb-approval")

    def decided(self, decision: str) -> None:
        """Show the decision and disable the controls."""
        self.decision = decision
        for control in (self.approve_button, self.reject_button, self.always, self.message):
            control.disabled = True
        self.header.value += f'<div class="rtnb-decision">{html.escape(decision)}</div>'


class Approvals(ipywidgets.VBox):
    """The approval cards of a session (the last ``keep`` decided cards stay visible)."""

    children: tuple[ApprovalCard, ...]  # the VBox trait, as this class fills it

    def __init__(
        self, session: Any, *, loop: asyncio.AbstractEventLoop | None = None, keep: int = 5
    ) -> None:
        super().__init__([])
        self.session = session
        self.keep = keep
        self._bridge = LoopBridge(loop)
        self.add_class("rtnb-approvals")
        subscribe(
            session, {"tool_approval_requested": self.add, "tool_approval_decided": self._decided}
        )

    @property
    def pending(self) -> list[ApprovalCard]:
        """Cards still waiting for a decision."""
        return [card for card in self.children if card.decision is None]

    def add(self, event: Any) -> ApprovalCard:
        """Show a card for a ``tool_approval_requested`` event."""
        card = ApprovalCard(event, self._on_decide)
        decided = [c for c in self.children if c.decision is not None][-self.keep :]
        self.children = (*decided, *self.pending, card)
        return card

    def _decided(self, event: Any) -> None:
        """A decision taken anywhere (code, another card): close the card still open for it."""
        for card in self.pending:
            if getattr(card.event, "approval", None) == event.approval:
                words = "approved" if event.approved else "rejected"
                card.decided(words + (" (always)" if event.always else ""))

    def _on_decide(self, card: ApprovalCard, approve: bool) -> None:
        # A click: any thread. Read the controls now, decide on the loop.
        always, message = card.always.value, card.message.value.strip() or None
        self._bridge.call(self._decide, card, approve, always, message)

    def _decide(self, card: ApprovalCard, approve: bool, always: bool, message: str | None) -> None:
        if card.decision is not None:
            return
        approval = getattr(card.event, "approval", None)
        if approve:
            self.session.approve(approval, always_approve=always)
            card.decided("approved" + (" (always)" if always else ""))
        else:
            self.session.reject(approval, always_reject=always, message=message)
            card.decided("rejected" + (" (always)" if always else ""))
