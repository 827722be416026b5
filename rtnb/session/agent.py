"""The realtime agent: a name, instructions, a voice and tools."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .guardrails import OutputGuardrail
from .tools import FunctionTool, function_tool


@dataclass
class RealtimeAgent:
    """What the model is told to be and what it may call.

    ``tools`` accepts :class:`FunctionTool` objects (from ``@tool``) and plain functions, which
    are wrapped as if decorated. Tool names must be unique.
    """

    name: str
    instructions: str | None = None
    tools: Sequence[FunctionTool | Callable[..., Any]] = field(default_factory=list)
    voice: str | None = None
    output_guardrails: Sequence[OutputGuardrail] = field(default_factory=list)
    """Checks on this agent's answers, run with the session's (see ``rtnb.session.guardrails``)."""

    def __post_init__(self) -> None:
        converted = [t if isinstance(t, FunctionTool) else function_tool(t) for t in self.tools]
        names = [t.name for t in converted]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"agent {self.name!r} has duplicate tool names: {duplicates}")
        self.tools = converted

    @property
    def function_tools(self) -> list[FunctionTool]:
        """The agent's tools as :class:`FunctionTool` objects."""
        return [t for t in self.tools if isinstance(t, FunctionTool)]

    def get_tool(self, name: str) -> FunctionTool | None:
        """The tool called ``name``, or ``None``."""
        return next((t for t in self.function_tools if t.name == name), None)

    def wire_tools(self) -> list[dict[str, Any]]:
        """Tool definitions for ``session.update``."""
        return [t.to_wire() for t in self.function_tools]
