"""Handoffs: another agent offered to the model as a ``transfer_to_<agent>`` function tool.

When the model calls the tool, the session switches to the target agent in the same conversation
(see :mod:`rtnb.session.switching`). :func:`realtime_handoff` customises the tool's name and
description; a plain :class:`~rtnb.session.agent.RealtimeAgent` in ``handoffs`` gets the defaults.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .agent import RealtimeAgent

# Function names the Realtime API accepts.
_TOOL_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def snake_case(name: str) -> str:
    """``"Billing Agent"`` / ``"BillingAgent"`` / ``"billing-agent"`` -> ``"billing_agent"``."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name.strip())
    return re.sub(r"[^a-z0-9]+", "_", spaced.lower()).strip("_")


def default_tool_name(agent: RealtimeAgent) -> str:
    """``transfer_to_<snake_case agent name>``."""
    name = snake_case(agent.name)
    if not name:
        raise ValueError(
            f"agent name {agent.name!r} has no letters or digits for a handoff tool name; "
            "pass tool_name_override to realtime_handoff()"
        )
    return f"transfer_to_{name}"


def default_tool_description(agent: RealtimeAgent) -> str:
    """Tells the model when to transfer, from the agent's ``handoff_description``."""
    text = f"Transfer the conversation to {agent.name}."
    return f"{text} {agent.handoff_description}" if agent.handoff_description else text


@dataclass(frozen=True)
class Handoff:
    """A transfer to ``agent``, offered to the model as the function tool ``tool_name``.

    Build one with :func:`realtime_handoff`.
    """

    agent: RealtimeAgent
    tool_name: str
    tool_description: str
    params_json_schema: dict[str, Any] = field(
        default_factory=lambda: {
            "type": "object",
            "properties": {},
            "required": [],
            "additionalProperties": False,
        }
    )

    def __post_init__(self) -> None:
        if not _TOOL_NAME.match(self.tool_name):
            raise ValueError(
                f"handoff tool name {self.tool_name!r} (to agent {self.agent.name!r}) must be "
                "1-64 letters, digits, '_' or '-'; pass tool_name_override"
            )

    def to_wire(self) -> dict[str, Any]:
        """The Realtime ``function`` tool definition."""
        return {
            "type": "function",
            "name": self.tool_name,
            "description": self.tool_description,
            "parameters": self.params_json_schema,
        }

    def transfer_message(self) -> str:
        """The output sent back for the transfer call: ``{"assistant": "<agent name>"}``."""
        return json.dumps({"assistant": self.agent.name})


def realtime_handoff(
    agent: RealtimeAgent,
    *,
    tool_name_override: str | None = None,
    tool_description_override: str | None = None,
) -> Handoff:
    """A handoff to ``agent``, optionally with its own tool name or description.

    Without overrides the tool is ``transfer_to_<snake_case agent name>`` and its description
    is built from the agent's ``handoff_description``.
    """
    return Handoff(
        agent=agent,
        tool_name=tool_name_override or default_tool_name(agent),
        tool_description=(
            tool_description_override
            if tool_description_override is not None
            else default_tool_description(agent)
        ),
    )
