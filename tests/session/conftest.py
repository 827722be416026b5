"""Fixtures for session tests: a scripted transport, an agent with tools, a connected session."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from rtnb import RealtimeAgent, RealtimeSession, tool
from rtnb.session.events import SessionEvent
from rtnb.testing import ScriptedTransport
from tests.schema import validate_client_event


@tool
def get_weather(city: str) -> str:
    """Return the weather for a city.

    Args:
        city: The city to look up.
    """
    return f"The weather in {city} is sunny."


@tool
async def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@tool
def explode(reason: str) -> str:
    """Always fails."""
    raise RuntimeError(f"boom: {reason}")


class Recorder:
    """Records session events by name and lets a test wait for one (no sleeping)."""

    def __init__(self, session: RealtimeSession, *names: str) -> None:
        self.events: dict[str, list[Any]] = {name: [] for name in names}
        self._changed = asyncio.Condition()
        for name in names:
            session.on(name, self._record)

    async def _record(self, event: SessionEvent) -> None:
        self.events[event.type].append(event)
        async with self._changed:
            self._changed.notify_all()

    def of(self, name: str) -> list[Any]:
        return self.events[name]

    async def wait_for(
        self,
        name: str,
        where: Callable[[Any], bool] | None = None,
        *,
        count: int = 1,
        timeout: float = 10.0,
    ) -> Any:
        """Wait until ``count`` events called ``name`` (matching ``where``) arrived."""

        def matches() -> list[Any]:
            return [e for e in self.events[name] if where is None or where(e)]

        async def wait() -> Any:
            async with self._changed:
                await self._changed.wait_for(lambda: len(matches()) >= count)
            return matches()[count - 1]

        return await asyncio.wait_for(wait(), timeout)


@pytest.fixture
def agent() -> RealtimeAgent:
    return RealtimeAgent(
        name="Weather assistant",
        instructions="Answer weather questions.",
        tools=[get_weather, add, explode],
    )


@pytest.fixture
def transport() -> ScriptedTransport:
    return ScriptedTransport()


@pytest.fixture
def config() -> dict[str, Any]:
    return {}


@pytest.fixture
def options() -> dict[str, Any]:
    """More ``RealtimeSession`` options for the ``session`` fixture (override to set some)."""
    return {}


@pytest.fixture
async def session(
    agent: RealtimeAgent,
    transport: ScriptedTransport,
    config: dict[str, Any],
    options: dict[str, Any],
) -> AsyncIterator[RealtimeSession]:
    """A connected session; afterwards every client event it sent must match the GA schema."""
    session = RealtimeSession(
        agent, model="gpt-realtime", config=config, transport=transport, **options
    )
    await session.connect()
    await transport.wait_for_sent("session.update")
    yield session
    await session.close()
    for event in transport.sent:
        validate_client_event(event)
