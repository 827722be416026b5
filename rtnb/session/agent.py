"""The realtime agent: a name, instructions, a voice and tools."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .guardrails import OutputGuardrail
from .handoffs import Handoff, realtime_handoff
from .mcp import HostedMcpTool
from .tools import FunctionTool, function_tool


@dataclass
class RealtimeAgent:
    """What the model is told to be and what it may call.

    ``tools`` accepts :class:`FunctionTool` objects (from ``@tool``), plain functions, which
    are wrapped as if decorated, and hosted MCP servers
    (:func:`~rtnb.session.mcp.hosted_mcp_tool`), whose tools the Realtime server calls itself.
    ``handoffs`` holds other agents (or
    :func:`~rtnb.session.handoffs.realtime_handoff` objects) the model may transfer the
    conversation to; each is offered as a ``transfer_to_<agent>`` function tool whose description
    comes from the target's ``handoff_description``. Tool and handoff names must be unique
    together (:class:`ValueError` otherwise).
    """

    name: str
    instructions: str | None = None
    tools: Sequence[FunctionTool | HostedMcpTool | Callable[..., Any]] = field(default_factory=list)
    handoffs: list[RealtimeAgent | Handoff] = field(default_factory=list)
    handoff_description: str | None = None
    voice: str | None = None
    output_guardrails: Sequence[OutputGuardrail] = field(default_factory=list)
    """Checks on this agent's answers, run with the session's (see ``rtnb.session.guardrails``)."""

    def __post_init__(self) -> None:
        self.tools = [
            t if isinstance(t, FunctionTool | HostedMcpTool) else function_tool(t)
            for t in self.tools
        ]
        self.handoffs = list(self.handoffs)
        self.check_names()

    @property
    def handoff_tools(self) -> list[Handoff]:
        """The agent's handoffs as :class:`Handoff` objects (resolved on each access, so
        agents appended to ``handoffs`` later are included)."""
        return [as_handoff(h) for h in self.handoffs]

    def get_handoff(self, name: str) -> Handoff | None:
        """The handoff whose tool is called ``name``, or ``None``."""
        return next((h for h in self.handoff_tools if h.tool_name == name), None)

    def check_names(self) -> None:
        """Raise :class:`ValueError` listing tool/handoff names used more than once."""
        names = [t.name for t in self.function_tools] + [h.tool_name for h in self.handoff_tools]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(
                f"agent {self.name!r} has duplicate tool or handoff names: {duplicates}"
            )
        labels = [t.server_label for t in self.mcp_tools]
        duplicates = sorted({n for n in labels if labels.count(n) > 1})
        if duplicates:
            raise ValueError(f"agent {self.name!r} has duplicate MCP server labels: {duplicates}")

    @property
    def function_tools(self) -> list[FunctionTool]:
        """The agent's tools as :class:`FunctionTool` objects."""
        return [t for t in self.tools if isinstance(t, FunctionTool)]

    @property
    def mcp_tools(self) -> list[HostedMcpTool]:
        """The agent's hosted MCP servers, in order."""
        return [t for t in self.tools if isinstance(t, HostedMcpTool)]

    def get_tool(self, name: str) -> FunctionTool | None:
        """The tool called ``name``, or ``None``."""
        return next((t for t in self.function_tools if t.name == name), None)

    def wire_tools(self) -> list[dict[str, Any]]:
        """Tool definitions for ``session.update``: function tools, handoffs, MCP servers."""
        self.check_names()
        return (
            [t.to_wire() for t in self.function_tools]
            + [h.to_wire() for h in self.handoff_tools]
            + [m.to_wire() for m in self.mcp_tools]
        )


def as_handoff(target: RealtimeAgent | Handoff) -> Handoff:
    """A :class:`Handoff` for an entry of ``RealtimeAgent.handoffs``."""
    if isinstance(target, Handoff):
        return target
    if isinstance(target, RealtimeAgent):
        return realtime_handoff(target)
    raise TypeError(
        "handoffs holds RealtimeAgent or realtime_handoff(...) objects, "
        f"got {type(target).__name__}"
    )
