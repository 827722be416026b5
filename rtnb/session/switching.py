"""Switching the session's agent: by a handoff the model calls, or by hand (mixed into the session).

A switch keeps the conversation and sends one ``session.update`` carrying only the new agent's
``instructions`` and ``tools`` (its functions and handoffs). It never changes the voice (the
Realtime API cannot change it once the model has spoken) nor the model; tracing, set once at
connect, is left alone. A target agent with another voice than the session's is refused with a
:class:`HandoffError` naming the ``voice`` field.

- Handoff: the model calls ``transfer_to_<agent>``. The session switches, emits ``agent_handoff``,
  answers the call with ``{"assistant": "<new agent name>"}`` and asks for a response, which the
  new agent gives. A refused handoff emits ``error`` (with the :class:`HandoffError`) and answers
  the call with the error text instead, so the model can tell the user.
- :meth:`AgentSwitching.update_agent`: switches without a tool call and, like the OpenAI Agents
  SDK, emits no ``agent_handoff`` event (and asks for no response).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rtnb.protocol import client_events as ce
from rtnb.protocol.config import build_session_config
from rtnb.protocol.events import Event

from .agent import RealtimeAgent
from .events import AgentHandoffEvent, ErrorEvent, SessionEvent
from .handoffs import Handoff


class HandoffError(ValueError):
    """A switch to ``to_agent`` that would change a session field (``field``) that cannot change."""

    def __init__(self, from_agent: RealtimeAgent, to_agent: RealtimeAgent, field: str, msg: str):
        super().__init__(
            f"cannot switch from agent {from_agent.name!r} to {to_agent.name!r}: {field} {msg}"
        )
        self.from_agent = from_agent
        self.to_agent = to_agent
        self.field = field


def _voice_id(voice: Any) -> str | None:
    """A wire voice (a name, or a custom voice object ``{"id": ...}``) as a string."""
    if isinstance(voice, Mapping):
        voice = voice.get("id")
    return voice if isinstance(voice, str) else None


class AgentSwitching:
    """Agent state of a session and the two ways to change it.

    The session provides the state and the hooks below.
    """

    _agent: RealtimeAgent
    model: str
    config: dict[str, Any]
    _wire_session: dict[str, Any]

    def _send(self, event: Event) -> None:
        raise NotImplementedError

    def _emit(self, event: SessionEvent) -> None:
        raise NotImplementedError

    def _send_tool_output(self, call_id: str, output: str) -> None:
        raise NotImplementedError

    @property
    def agent(self) -> RealtimeAgent:
        """The agent currently answering (changed by handoffs and :meth:`update_agent`)."""
        return self._agent

    def update_agent(self, agent: RealtimeAgent) -> None:
        """Switch to ``agent`` now, keeping the conversation.

        Sends ``session.update`` with the agent's instructions and tools when connected (before
        :meth:`connect`, the agent simply becomes the one connected with). Emits no
        ``agent_handoff`` event. Raises :class:`HandoffError` if the agent's voice differs from
        the session's.
        """
        self._check_switch(agent)
        self._switch_to(agent)

    def _handoff(self, call_id: str, handoff: Handoff) -> None:
        """Carry out a transfer call of the model (see the module docstring)."""
        previous = self._agent
        try:
            self._check_switch(handoff.agent)
        except HandoffError as exc:
            self._emit(ErrorEvent(exc))
            self._send_tool_output(call_id, f"Error: {exc}")
            return
        self._switch_to(handoff.agent)
        self._emit(AgentHandoffEvent(previous, handoff.agent))
        self._send_tool_output(call_id, handoff.transfer_message())

    def _check_switch(self, agent: RealtimeAgent) -> None:
        agent.check_names()
        if not self._wire_session:
            return  # not connected yet: the agent's voice is simply the one connected with
        active = _voice_id((self._wire_session.get("audio") or {}).get("output", {}).get("voice"))
        active = active or self._agent.voice
        if agent.voice is not None and active is not None and agent.voice != active:
            raise HandoffError(
                self._agent,
                agent,
                "voice",
                f"would change from {active!r} to {agent.voice!r}; the voice cannot change "
                "during a session (give both agents the same voice, or none)",
            )

    def _switch_to(self, agent: RealtimeAgent) -> None:
        self._agent = agent
        if self._wire_session:  # connected: tell the server (``_send`` drops it if closed)
            self._send(ce.session_update(agent_session_fields(self.config, self.model, agent)))


def agent_session_fields(
    config: Mapping[str, Any], model: str, agent: RealtimeAgent
) -> dict[str, Any]:
    """The partial wire ``session`` of a switch: ``instructions`` and ``tools`` of ``agent``.

    The same precedence as at connect applies (fields set in the session ``config`` win).
    """
    full = build_session_config(
        config, model=model, instructions=agent.instructions, tools=agent.wire_tools()
    )
    return {
        "type": "realtime",
        "instructions": full.get("instructions") or "",
        "tools": full["tools"],
    }
