"""The agent a suite talks to: resolved from ``module:attribute``, checked against the suite."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rtnb.session.agent import RealtimeAgent

from .scenarios import Suite, SuiteError

__all__ = ["agent_factory", "check_agent", "reachable_agents"]

AgentFactory = Callable[[], RealtimeAgent]


def agent_factory(source: Any, base_dir: Path, *, where: str = "agent") -> AgentFactory:
    """A zero-argument function giving the agent of each run.

    ``source`` is a :class:`RealtimeAgent`, a zero-argument factory, or ``module:attribute``
    (imported with ``base_dir`` on the path) naming either. Raises :class:`SuiteError`.
    """
    if source is None:
        raise SuiteError(f"{where}: no agent: give the suite an 'agent' or pass agent=...")
    if isinstance(source, str):
        source = _import(source, base_dir, where)
    if isinstance(source, RealtimeAgent):
        agent = source
        return lambda: agent
    if callable(source):
        return _checked_factory(source, where)
    raise SuiteError(f"{where}: expected an agent or a factory of one, got {type(source).__name__}")


def _checked_factory(factory: Callable[[], Any], where: str) -> AgentFactory:
    def make() -> RealtimeAgent:
        agent = factory()
        if not isinstance(agent, RealtimeAgent):
            raise TypeError(f"{where}: the factory returned {type(agent).__name__}, not an agent")
        return agent

    return make


def _import(path: str, base_dir: Path, where: str) -> Any:
    module_name, _, attribute = path.partition(":")
    if not module_name or not attribute:
        raise SuiteError(f"{where}: expected module:attribute, got {path!r}")
    folder = str(base_dir)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        raise SuiteError(
            f"{where}: {path!r} does not import ({type(exc).__name__}: {exc})"
        ) from None
    value: Any = module
    for name in attribute.split("."):
        try:
            value = getattr(value, name)
        except AttributeError:
            raise SuiteError(f"{where}: module {module_name!r} has no {attribute!r}") from None
    return value


def reachable_agents(agent: RealtimeAgent) -> list[RealtimeAgent]:
    """``agent`` and every agent its handoffs lead to (each once)."""
    found: list[RealtimeAgent] = []
    todo = [agent]
    while todo:
        current = todo.pop()
        if any(current is seen for seen in found):
            continue
        found.append(current)
        todo += [handoff.agent for handoff in current.handoff_tools]
    return found


def check_agent(suite: Suite, agent: RealtimeAgent) -> None:
    """Raise :class:`SuiteError` when an expectation or turn names a tool or an agent that
    ``agent`` (with the agents it hands off to) does not have.

    Tools of hosted MCP servers are listed by the server only once a session runs, so when an
    agent has MCP servers a tool name it does not have otherwise is left to the run (which
    then says which calls were made, or that no call waits for an approval).
    """
    agents = reachable_agents(agent)
    tools = {t.name for a in agents for t in a.function_tools}
    tools |= {h.tool_name for a in agents for h in a.handoff_tools}
    names = {a.name for a in agents}
    hosted = any(a.mcp_tools for a in agents)
    for scenario in suite.scenarios:
        named = [(e.kind, e.value, e.at) for e in scenario.expect]
        named += [(t.action, t.value, t.at) for t in scenario.turns]
        for kind, value, at in named:
            values = value if isinstance(value, list) else [value]
            if kind in ("tool", "no_tool", "approve", "reject"):
                if hosted:
                    continue
                missing = [v for v in values if isinstance(v, str) and v not in tools]
                known = tools
            elif kind == "handoff_to":
                missing = [v for v in values if v not in names]
                known = names
            else:
                continue
            if missing:
                raise SuiteError(
                    f"{at or suite.source}: scenario {scenario.name!r}, {kind}: the agent "
                    f"{agent.name!r} has no {'agent' if kind == 'handoff_to' else 'tool'} "
                    f"{missing[0]!r} (it has: {', '.join(sorted(known)) or 'none'})"
                )
