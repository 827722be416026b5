"""Small helpers shared by the widgets to follow a session's events."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any


def subscribe(session: Any, handlers: Mapping[str, Callable[[Any], Any]]) -> list[str]:
    """Register ``handlers`` (event name -> handler) on ``session``; return the names accepted.

    Events the session does not know yet (``session.on`` raises :class:`ValueError`, e.g.
    ``tool_approval_requested`` before approvals exist) are skipped.
    """
    accepted = []
    for name, handler in handlers.items():
        try:
            session.on(name, handler)
        except ValueError:
            continue
        accepted.append(name)
    return accepted


def agent_name(session: Any) -> str | None:
    """The name of the session's current agent (``session.agent.name``), or ``None``."""
    return getattr(getattr(session, "agent", None), "name", None)
