"""What a tool function can see and return beyond its arguments.

A tool that declares a parameter annotated :class:`ToolContext` (any name) receives one for each
call: the session's ``context`` object, a private copy of the conversation so far, and the call's
id, tool name and raw arguments. A tool that returns :func:`background_result` hands its output
to the model without asking for a new response.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar, get_origin

from .items import HistoryItem

TContext = TypeVar("TContext")


@dataclass(frozen=True)
class ToolContext(Generic[TContext]):
    """The circumstances of one tool call, passed to tools that ask for it.

    Example::

        @tool
        async def ask_backend(question: str, ctx: ToolContext[Backend]) -> str:
            \"\"\"Let the backend answer, with the whole conversation.\"\"\"
            return await ctx.context.answer(question, ctx.history)
    """

    context: TContext
    """The ``context`` object given to the session (``None`` when none was given)."""
    history: list[HistoryItem]
    """A deep copy of the conversation when the call arrived: changing it changes nothing."""
    call_id: str
    """The model's id for this call (``""`` when the tool is called directly)."""
    tool_name: str
    arguments: str
    """The call's arguments as the model sent them (a JSON object text)."""


def is_tool_context_annotation(annotation: Any) -> bool:
    """True if a parameter annotation asks for a :class:`ToolContext`.

    Accepts ``ToolContext``, ``ToolContext[X]`` and, when type hints could not be resolved, the
    same written as a string.
    """
    if isinstance(annotation, str):
        return annotation.split("[", 1)[0].rsplit(".", 1)[-1].strip() == "ToolContext"
    origin = get_origin(annotation) or annotation
    return isinstance(origin, type) and issubclass(origin, ToolContext)


@dataclass(frozen=True)
class BackgroundResult:
    """A tool output to send without a new response (made by :func:`background_result`)."""

    output: Any


def background_result(output: Any) -> BackgroundResult:
    """Return this from a tool to give the model ``output`` without making it answer now.

    The output becomes the call's ``function_call_output`` as usual, but no ``response.create``
    follows: the model sees it the next time it responds (to the user's next turn, say).
    """
    return BackgroundResult(output)
