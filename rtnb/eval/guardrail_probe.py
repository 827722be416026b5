"""Knowing when a run's output guardrails are done, so a trip is never missed at the run's end.

Guardrails check the assistant's text in background tasks that may finish after the answer's
``response.done``, and a trip asks for one more response. Each run therefore talks to a copy of
the agent (and of the agents it hands off to) whose guardrails are wrapped: the probe counts the
checks running, the texts checked and the texts that tripped, and the turn waits for them.
"""

from __future__ import annotations

import copy
from typing import Any

from rtnb.session.agent import RealtimeAgent
from rtnb.session.guardrails import GuardrailFunctionOutput, OutputGuardrail

from .agents import reachable_agents

__all__ = ["GuardrailProbe"]


class GuardrailProbe:
    """Counts a run's guardrail checks (see the module docstring)."""

    def __init__(self, notify: Any = None) -> None:
        self.running = 0
        self.checked: set[str] = set()
        self.tripped: set[str] = set()
        """Texts that tripped a guardrail, until the session reports the trip."""
        self.notify = notify or (lambda: None)

    def instrument(self, agent: RealtimeAgent) -> RealtimeAgent:
        """A copy of ``agent`` (and of the agents it hands off to) with probed guardrails."""
        if not any(a.output_guardrails for a in reachable_agents(agent)):
            return agent
        clone = copy.deepcopy(agent)
        for each in reachable_agents(clone):
            each.output_guardrails = [self._wrap(g) for g in each.output_guardrails]
        return clone

    def _wrap(self, guardrail: OutputGuardrail) -> OutputGuardrail:
        async def execute(text: str) -> GuardrailFunctionOutput:
            self.running += 1
            try:
                outcome = await guardrail.run(text)
                if outcome.tripwire_triggered:
                    self.tripped.add(text)
                return outcome
            finally:
                self.running -= 1
                self.checked.add(text)
                self.notify()

        return OutputGuardrail(guardrail.name, execute)

    def reported(self, text: str) -> None:
        """The session reported the trip of ``text`` (``guardrail_tripped``)."""
        self.tripped.discard(text)
