"""Faults on a real socket: the server goes away mid-answer, the loop is busy, a cell waits.

In each case the session reports what happened (``connection_change``/``error``), keeps its
history, exports it, and can reconnect, replaying the conversation into the new server.
"""

from __future__ import annotations

import asyncio
import inspect
import io
import json
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

from rtnb import RealtimeAgent, RealtimeSession, UserMessageItem
from rtnb.local.policy.deterministic import PolicyInput, Say, default_policy
from rtnb.local.server import start_local_server

TIMEOUT = 30.0


class Faults:
    """The faults one test injects; the ``faults`` fixture fails the test if it injected none."""

    def __init__(self) -> None:
        self.injected: list[str] = []

    def inject(self, name: str) -> None:
        self.injected.append(name)


@pytest.fixture
def faults() -> Iterator[Faults]:
    injected = Faults()
    yield injected
    assert injected.injected, "the test never reached the fault it is about"


class Watch:
    """Session events a test waits on."""

    def __init__(self, session: RealtimeSession) -> None:
        self.statuses: list[str] = []
        self.errors: list[Any] = []
        self.audio = asyncio.Event()
        self.ended = asyncio.Event()
        self.down = asyncio.Event()
        session.on("connection_change", self._status)
        session.on("error", lambda e: self.errors.append(e.error))
        session.on("audio", lambda e: self.audio.set())
        session.on("agent_end", lambda e: self.ended.set())

    def _status(self, event: Any) -> None:
        self.statuses.append(event.status)
        if event.status == "disconnected":
            self.down.set()


def long_answer(turn: PolicyInput) -> Say:
    return Say("Here is a long answer that takes a while to speak. " * 20)


async def test_server_stops_mid_answer_history_survives_and_replays(faults: Faults) -> None:
    seen_by_second_server: list[list[dict[str, Any]]] = []

    def recording_policy(turn: PolicyInput) -> Any:
        seen_by_second_server.append(turn.items)
        return default_policy(turn)

    first = await start_local_server(policy=long_answer, realtime_pacing=True)
    session = RealtimeSession(RealtimeAgent(name="a"), url=first.url)
    watch = Watch(session)
    await session.connect()
    session.send_message("Tell me something long.")
    await asyncio.wait_for(watch.audio.wait(), TIMEOUT)

    await first.close()  # the fault: the server disappears while the answer streams
    faults.inject("server stopped mid-answer")
    await asyncio.wait_for(watch.down.wait(), TIMEOUT)
    assert watch.statuses[-1] == "disconnected"
    assert watch.errors, "the lost connection is reported as an error event"
    assert not session.connected
    words = [getattr(item, "text", "") for item in session.history]
    assert words[0] == "Tell me something long."
    assert words[1].startswith("Here is"), "the partial answer is kept"
    with pytest.raises(RuntimeError, match="not connected"):
        session.send_message("hello?")  # a clear error, not a silent hang

    exported = io.StringIO()
    assert session.export_history(exported) == 2
    records = [json.loads(line) for line in exported.getvalue().splitlines()]
    assert [r["role"] for r in records] == ["user", "assistant"]

    async with await start_local_server(policy=recording_policy, realtime_pacing=False) as second:
        await session.reconnect(url=second.url, replay_history=True)
        assert session.connected and session.status == "connected"
        watch.ended.clear()
        session.send_message("Thanks!")
        await asyncio.wait_for(watch.ended.wait(), TIMEOUT)
        await session.close()
    replayed = seen_by_second_server[0]
    texts = [part.get("text") for item in replayed for part in item["content"]]
    assert texts[0] == "Tell me something long."
    assert texts[1] == words[1]
    assert texts[2] == "Thanks!"
    ids = [item.item_id for item in session.history]
    assert len(ids) == len(set(ids)) == 4, "replayed items keep their ids: no duplicates"


async def test_history_edit_fails_fast_when_the_server_goes_away(faults: Faults) -> None:
    server = await start_local_server(realtime_pacing=False)
    session = RealtimeSession(RealtimeAgent(name="a"), url=server.url)
    await session.connect()
    # The edit would wait an hour for its confirmation: only the lost connection can end it.
    edit = asyncio.create_task(
        session.update_history(
            lambda items: [*items, UserMessageItem.from_text("late")], timeout=3600
        )
    )
    await server.close()
    faults.inject("server gone during a history edit")
    with pytest.raises((ConnectionError, RuntimeError)):  # a waiting cell is released
        await asyncio.wait_for(edit, TIMEOUT)
    await session.close()


async def test_a_busy_event_loop_loses_no_events(faults: Faults) -> None:
    async with await start_local_server(realtime_pacing=False) as server:
        session = RealtimeSession(RealtimeAgent(name="a"), url=server.url)
        watch = Watch(session)
        transcript_deltas: list[str] = []
        busy_once = asyncio.Event()

        @session.on("transport_event")
        def record(event: Any) -> None:
            if event.event["type"] == "response.output_audio_transcript.delta":
                transcript_deltas.append(event.event["delta"])
                if not busy_once.is_set():
                    busy_once.set()
                    time.sleep(0.5)  # the fault: a handler blocks the event loop
                    faults.inject("event loop blocked for 0.5 s")

        async with session:
            session.send_message("hello")
            await asyncio.wait_for(watch.ended.wait(), TIMEOUT)
            answer = session.history[-1]
        assert busy_once.is_set()
        assert "".join(transcript_deltas) == answer.text
        assert answer.text == "Hello! How can I help you today?"
        assert watch.errors == []


def test_fault_report() -> None:
    """Says which fault tests this file has. It holds whatever ran before (it counts functions,
    not injections): the ``faults`` fixture fails each test that never reached its fault, so
    every other test here must take that fixture, or it could pass without its fault."""
    module = sys.modules[__name__]
    tests = {
        name: "faults" in inspect.signature(fn).parameters
        for name, fn in vars(module).items()
        if name.startswith("test_") and callable(fn) and fn is not test_fault_report
    }
    print(f"\nfault tests: {len(tests)}: {', '.join(tests)}")
    assert [name for name, checked in tests.items() if not checked] == []
    assert len(tests) >= 3
