"""Replay recorded server events into rtnb's session and into openai-agents' session.

Both systems get the same JSON text lines and do their own JSON parsing:

* rtnb: a :class:`ReplayTransport` (the public ``Transport`` interface) whose ``receive()``
  yields ``decode_server_event(line)`` for each line — what ``WebSocketTransport`` does with a
  message. ``send()`` serialises the client event with ``encode`` (as the WebSocket transport
  would) and drops it.
* openai-agents: ``OpenAIRealtimeWebSocketModel`` with its connection factory
  (``_create_websocket_connection``) returning a :class:`ReplayWebSocket`, run through the public
  ``RealtimeRunner(agent, model=...)``. Its own listener loop does ``json.loads`` and
  ``_handle_ws_event`` (pydantic validation, conversion to model events) and feeds its
  ``RealtimeSession`` (history, guardrail bookkeeping, tool calls). ``send()`` drops the payload
  the model already serialised.

Neither plays audio. Both yield to the event loop after every ``BATCH`` lines, as a socket that
delivers a burst of buffered messages would; tools run as tasks in both.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from typing import Any

os.environ.setdefault("OPENAI_AGENTS_DISABLE_TRACING", "1")

BATCH = 64


def weather(city: str) -> str:
    """Return the weather for a city."""
    return f"The weather in {city} is sunny and 22 degrees."


def local_time(city: str) -> str:
    """Return the local time in a city."""
    return f"It is a quarter past three in the afternoon in {city}."


@dataclass
class ReplayResult:
    seconds: float
    events_in: int
    session_events: int
    history_items: int
    errors: int
    history_audio_bytes: int = 0


# ----------------------------------------------------------------------------------- rtnb


class ReplayTransport:
    """An rtnb ``Transport`` that yields the given JSON lines, decoded, once ``go`` is set.

    ``lines`` may be an iterable of phases (lists of lines); the transport waits for
    ``go`` before the first phase and for ``next_phase`` before each later one.
    """

    backend = "replay"

    def __init__(self, phases: list[Iterable[str]], batch: int = BATCH) -> None:
        self.phases = phases
        self.batch = batch
        self.go = asyncio.Event()
        self.next_phase = asyncio.Event()
        self.phase_done = asyncio.Event()
        self.sent = 0
        self.received = 0

    async def connect(self) -> None:
        pass

    async def send(self, event: dict[str, Any]) -> None:
        from rtnb.protocol.events import encode

        encode(event)
        self.sent += 1

    async def receive(self) -> AsyncIterator[Any]:
        from rtnb.protocol.events import ProtocolError, decode_server_event

        await self.go.wait()
        batch = self.batch
        for number, phase in enumerate(self.phases):
            if number:
                self.phase_done.set()
                await self.next_phase.wait()
                self.next_phase.clear()
            count = 0
            for line in phase:
                try:
                    yield decode_server_event(line)
                except ProtocolError as exc:
                    yield exc
                self.received += 1
                count += 1
                if count == batch:
                    count = 0
                    await asyncio.sleep(0)

    async def close(self) -> None:
        pass


def rtnb_agent() -> Any:
    from rtnb import RealtimeAgent, tool

    return RealtimeAgent(
        name="City assistant",
        instructions="Answer questions about the weather and the time.",
        tools=[tool(name="get_weather")(weather), tool(name="get_time")(local_time)],
    )


async def replay_rtnb(
    lines: Iterable[str],
    *,
    mode: str = "stream",
    on_start: Callable[[], None] | None = None,
    session_options: dict[str, Any] | None = None,
    on_end: Callable[[], None] | None = None,
) -> ReplayResult:
    """Replay ``lines`` into a connected rtnb ``RealtimeSession``.

    ``mode="stream"``: the application reads every session event from ``session.events()``.
    ``mode="handlers"``: it only has ``audio`` and ``history_updated`` handlers (typical UI).
    ``on_start`` is called just before the first line is delivered, ``on_end`` once every
    event was handled, before the session closes (both are inside the timed span).
    """
    from rtnb import RealtimeSession

    transport = ReplayTransport([lines])
    session = RealtimeSession(rtnb_agent(), transport=transport, **(session_options or {}))
    seen = 0
    errors = 0

    async def consume() -> None:
        nonlocal seen, errors
        async for event in stream:
            seen += 1
            if event.type == "error" and not isinstance(event.error, ConnectionError):
                errors += 1

    def on_any(event: Any) -> None:
        nonlocal seen
        seen += 1

    disconnected = asyncio.Event()
    session.on(
        "connection_change",
        lambda event: disconnected.set() if event.status == "disconnected" else None,
    )
    await session.connect()
    if mode == "stream":
        stream = session.events()
        consumer = asyncio.get_running_loop().create_task(consume())
    else:
        session.on("audio", on_any)
        session.on("history_updated", on_any)
        consumer = None
    await asyncio.sleep(0)
    if on_start is not None:
        on_start()
    start = time.perf_counter()
    transport.go.set()
    if consumer is not None:
        await consumer
    else:
        await disconnected.wait()
    if on_end is not None:
        on_end()
    await session.close()
    seconds = time.perf_counter() - start
    stored = sum(
        len(getattr(part, "audio", None) or b"")
        for item in session.history
        for part in getattr(item, "content", ())
    )
    return ReplayResult(seconds, transport.received, seen, len(session.history), errors, stored)


# ---------------------------------------------------------------------------- openai-agents


class ReplayWebSocket:
    """Stands in for the ``websockets`` connection of openai-agents' realtime model."""

    def __init__(self, lines: Iterable[str], batch: int = BATCH) -> None:
        self.lines = lines
        self.batch = batch
        self.go = asyncio.Event()
        self.sent = 0
        self.received = 0

    async def send(self, payload: str) -> None:
        self.sent += 1

    async def close(self) -> None:
        pass

    def __aiter__(self) -> AsyncIterator[str]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[str]:
        await self.go.wait()
        count = 0
        for line in self.lines:
            yield line
            self.received += 1
            count += 1
            if count == self.batch:
                count = 0
                await asyncio.sleep(0)


def agents_model(websocket: ReplayWebSocket) -> Any:
    from agents.realtime.openai_realtime import OpenAIRealtimeWebSocketModel

    class ReplayModel(OpenAIRealtimeWebSocketModel):
        async def _create_websocket_connection(self, *args: Any, **kwargs: Any) -> Any:
            return websocket

    return ReplayModel()


def agents_agent() -> Any:
    from agents import function_tool
    from agents.realtime import RealtimeAgent

    return RealtimeAgent(
        name="City assistant",
        instructions="Answer questions about the weather and the time.",
        tools=[
            function_tool(weather, name_override="get_weather"),
            function_tool(local_time, name_override="get_time"),
        ],
    )


async def replay_agents(
    lines: Iterable[str],
    *,
    on_start: Callable[[], None] | None = None,
    on_end: Callable[[], None] | None = None,
) -> ReplayResult:
    """Replay ``lines`` through openai-agents' realtime model into its ``RealtimeSession``;
    the application reads every session event (``async for event in session``)."""
    from agents.realtime import RealtimeRunner

    websocket = ReplayWebSocket(lines)
    runner = RealtimeRunner(agents_agent(), model=agents_model(websocket))
    session = await runner.run(model_config={"api_key": "replay"})
    seen = 0
    errors = 0
    await session.enter()
    await asyncio.sleep(0)
    if on_start is not None:
        on_start()
    start = time.perf_counter()
    websocket.go.set()
    # Its history, as its public events tell it: the full list on "history_updated", one new
    # item on "history_added" (O(1) per event, no copy).
    history: list[Any] = []
    added = 0
    async for event in session:
        seen += 1
        if event.type == "error":
            errors += 1
        elif event.type == "history_updated":
            history, added = event.history, 0
        elif event.type == "history_added":
            added += 1
    if on_end is not None:
        on_end()
    await session.close()
    seconds = time.perf_counter() - start
    return ReplayResult(seconds, websocket.received, seen, len(history) + added, errors)


# ---------------------------------------------------------------------------------- floor


def replay_json(lines: Iterable[str]) -> ReplayResult:
    """The floor: ``json.loads`` of every line and nothing else."""
    import json

    loads = json.loads
    count = 0
    start = time.perf_counter()
    for line in lines:
        loads(line)
        count += 1
    return ReplayResult(time.perf_counter() - start, count, 0, 0, 0)


def replay_json_audio(lines: Iterable[str]) -> ReplayResult:
    """A floor that also base64-decodes audio deltas (work every client must do for playback)."""
    import json
    from base64 import b64decode

    loads = json.loads
    count = 0
    start = time.perf_counter()
    for line in lines:
        event = loads(line)
        if event["type"] == "response.output_audio.delta":
            b64decode(event["delta"])
        count += 1
    return ReplayResult(time.perf_counter() - start, count, 0, 0, 0)
