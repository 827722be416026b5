"""The running transcript of a session, as an HTML widget refreshed a few times a second."""

from __future__ import annotations

import asyncio
import html
from collections.abc import Iterable
from typing import Any

import ipywidgets

from rtnb.analysis._session import agent_name, subscribe

from ._bridge import LoopBridge, Throttle


def transcript_html(history: Iterable[Any], assistant: str = "assistant") -> str:
    """HTML lines for a history: one per message or tool call (text escaped)."""
    lines = []
    for item in history:
        if getattr(item, "type", "") == "function_call":
            call = f"{item.name}({item.arguments})"
            output = "…" if item.output is None else item.output
            body = f"{html.escape(call)} → {html.escape(output)}"
            lines.append(f'<div class="rtnb-line rtnb-tool"><b>tool</b> {body}</div>')
        else:
            role = getattr(item, "role", "")
            who = assistant if role == "assistant" else role
            words = html.escape(getattr(item, "text", "") or "")
            lines.append(
                f'<div class="rtnb-line rtnb-{html.escape(role)}">'
                f"<b>{html.escape(who)}</b> {words}</div>"
            )
    return '<div class="rtnb-transcript">' + "".join(lines) + "</div>"


class Transcript(ipywidgets.HTML):
    """The conversation so far, updated on ``history_updated`` at most every ``interval`` s."""

    def __init__(
        self,
        session: Any,
        *,
        loop: asyncio.AbstractEventLoop | None = None,
        interval: float = 0.25,
        **kwargs: Any,
    ) -> None:
        super().__init__(value=transcript_html([]), **kwargs)
        self.session = session
        self._history: Any = ()
        self._throttle = Throttle(self._render, interval, LoopBridge(loop).loop)
        subscribe(session, {"history_updated": self._on_history})

    def _on_history(self, event: Any) -> None:
        self._history = event.history
        self._throttle.trigger()

    def _render(self) -> None:
        self.value = transcript_html(self._history, agent_name(self.session) or "assistant")
