"""The session's agent state: the agent answering now, the wire session, switching agents.

A switch keeps the conversation and sends one ``session.update`` carrying only the new agent's
``instructions`` and ``tools`` (its functions and handoffs). It never changes the voice (the
Realtime API cannot change it once the model has spoken) nor the model; tracing, set once at
connect, is left alone. A target agent with another voice than the session's is refused with a
:class:`HandoffError` naming the ``voice`` field.

- Handoff: the model calls ``transfer_to_<agent>``. The session switches, emits ``agent_handoff``,
  answers the call with ``{"assistant": "<new agent name>"}`` and asks for a response, which the
  new agent gives. A refused handoff emits ``error`` (with the :class:`HandoffError`) and answers
  the call with the error text instead, so the model can tell the user.
- ``RealtimeSession.update_agent`` (:meth:`AgentState.update_agent`): switches without a tool
  call and, like the OpenAI Agents SDK, emits no ``agent_handoff`` event (and asks for no
  response).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from rtnb.protocol import client_events as ce
from rtnb.protocol.config import build_session_config
from rtnb.protocol.events import Event

from .agent import RealtimeAgent
from .dispatch import EventDispatcher
from .events import AgentEndEvent, AgentHandoffEvent, AgentStartEvent, ErrorEvent
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


def _get(mapping: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(mapping, dict):
            return None
        mapping = mapping.get(key)
    return mapping


class AgentState:
    """The agent answering now, the model and config it runs with, and the wire session.

    ``wire_session`` is what the session asked for at connect, then what the server last
    confirmed (``session.updated``); it is empty before the first connect. Listeners added with
    :meth:`on_agent_change` hear of every switch (after its ``session.update`` was queued).
    """

    def __init__(
        self,
        agent: RealtimeAgent,
        *,
        model: str,
        config: dict[str, Any],
        tracing: Any,
        send: Callable[[Event], None],
        events: EventDispatcher,
    ) -> None:
        self.agent = agent
        self.model = model
        self.config = config
        self.tracing = tracing
        self.wire_session: dict[str, Any] = {}
        self._send = send
        self._events = events
        self._listeners: list[Callable[[RealtimeAgent], None]] = []

    def on_agent_change(self, listener: Callable[[RealtimeAgent], None]) -> None:
        """Call ``listener(agent)`` after every switch of agent."""
        self._listeners.append(listener)

    def session_config(self) -> dict[str, Any]:
        """Build (and keep) the full wire session to connect with (``tracing`` is set once)."""
        agent = self.agent
        self.wire_session = build_session_config(
            self.config,
            model=self.model,
            instructions=agent.instructions,
            tools=agent.wire_tools(),
            voice=agent.voice,
            tracing=self.tracing,
        )
        return self.wire_session

    def turn_detection(self) -> Any:
        """The wire ``turn_detection`` of the session (``None`` when off or unknown)."""
        return _get(self.wire_session, "audio", "input", "turn_detection")

    def on_session_updated(self, event: Event) -> None:
        """``session.updated``: the server's view of our session (``session.created``
        precedes it and is ignored)."""
        self.wire_session = event["session"]

    def on_response_created(self, event: Event) -> None:
        """``response.created``: the agent starts answering."""
        self._events.emit(AgentStartEvent(self.agent, event["response"].get("id")))

    def on_response_done(self, event: Event) -> None:
        """``response.done``: the agent finished answering."""
        response = event["response"]
        self._events.emit(AgentEndEvent(self.agent, response.get("id"), response.get("status")))

    def update_agent(self, agent: RealtimeAgent) -> None:
        """Switch to ``agent`` now, keeping the conversation (see the module docstring)."""
        self._check_switch(agent)
        self._switch_to(agent)

    def handoff(self, handoff: Handoff) -> str:
        """Carry out a transfer call of the model; return the call's output text."""
        previous = self.agent
        try:
            self._check_switch(handoff.agent)
        except HandoffError as exc:
            self._events.emit(ErrorEvent(exc))
            return f"Error: {exc}"
        self._switch_to(handoff.agent)
        self._events.emit(AgentHandoffEvent(previous, handoff.agent))
        return handoff.transfer_message()

    def _check_switch(self, agent: RealtimeAgent) -> None:
        agent.check_names()
        if not self.wire_session:
            return  # not connected yet: the agent's voice is simply the one connected with
        active = _voice_id((self.wire_session.get("audio") or {}).get("output", {}).get("voice"))
        active = active or self.agent.voice
        if agent.voice is not None and active is not None and agent.voice != active:
            raise HandoffError(
                self.agent,
                agent,
                "voice",
                f"would change from {active!r} to {agent.voice!r}; the voice cannot change "
                "during a session (give both agents the same voice, or none)",
            )

    def _switch_to(self, agent: RealtimeAgent) -> None:
        self.agent = agent
        if self.wire_session:  # connected: tell the server (``send`` drops it if closed)
            self._send(ce.session_update(agent_session_fields(self.config, self.model, agent)))
        for listener in self._listeners:
            listener(agent)


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
