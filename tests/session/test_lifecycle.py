"""One lifecycle state (NEW, CONNECTING, OPEN, CLOSING, CLOSED) and the bounded outgoing queue."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from rtnb import RealtimeAgent, RealtimeSession
from rtnb.protocol import client_events as ce
from rtnb.session import ConnectionState, OutgoingAudioDropped, OutgoingQueueFull
from rtnb.session.outgoing import OutgoingQueue
from rtnb.testing import ScriptedTransport

State = ConnectionState


class WatchedTransport(ScriptedTransport):
    """Records the session's state when the transport is opened and closed."""

    def __init__(self, session: list[RealtimeSession]) -> None:
        super().__init__()
        self.session = session
        self.seen: list[State] = []

    async def connect(self) -> None:
        self.seen.append(self.session[0].state)
        await super().connect()

    async def close(self) -> None:
        self.seen.append(self.session[0].state)
        await super().close()


async def test_a_session_goes_new_connecting_open_closing_closed() -> None:
    holder: list[RealtimeSession] = []
    transport = WatchedTransport(holder)
    session = RealtimeSession(RealtimeAgent(name="a"), transport=transport)
    holder.append(session)
    statuses: list[str] = []
    session.on("connection_change", lambda e: statuses.append(e.status))
    assert (session.state, session.status, session.connected) == (State.NEW, "disconnected", False)
    await session.connect()
    assert (session.state, session.status, session.connected) == (State.OPEN, "connected", True)
    await session.close()
    assert (session.state, session.status, session.connected) == (
        State.CLOSED,
        "disconnected",
        False,
    )
    assert transport.seen == [State.CONNECTING, State.CLOSING]
    assert statuses == ["connecting", "connected", "disconnected"]
    await session.close()  # final, and idempotent
    with pytest.raises(RuntimeError, match="connects once"):
        await session.connect()
    with pytest.raises(RuntimeError, match="was closed"):
        await session.reconnect()


async def test_a_lost_connection_is_closed_with_its_error_and_can_reconnect() -> None:
    transport = ScriptedTransport()
    session = RealtimeSession(RealtimeAgent(name="a"), transport=transport)
    lost = asyncio.Event()
    session.on("connection_change", lambda e: lost.set() if e.status == "disconnected" else None)
    await session.connect()
    with pytest.raises(RuntimeError, match="still connected"):
        await session.reconnect()
    transport.disconnect()
    await asyncio.wait_for(lost.wait(), 5)
    assert session.state is State.CLOSED
    with pytest.raises(RuntimeError, match="not connected"):
        session.send_message("hello")
    with pytest.raises(RuntimeError, match="connects once"):
        await session.connect()
    await session.reconnect()
    assert session.state is State.OPEN
    await session.close()
    assert session.state is State.CLOSED
    with pytest.raises(RuntimeError, match="was closed"):
        await session.reconnect()


async def test_a_failed_connect_ends_closed_for_good() -> None:
    class Refusing(ScriptedTransport):
        async def connect(self) -> None:
            raise ConnectionRefusedError("no server")

    session = RealtimeSession(RealtimeAgent(name="a"), transport=Refusing())
    statuses: list[str] = []
    session.on("connection_change", lambda e: statuses.append(e.status))
    with pytest.raises(ConnectionRefusedError):
        await session.connect()
    assert session.state is State.CLOSED
    with pytest.raises(RuntimeError, match="was closed"):
        await session.reconnect()
    assert statuses == ["connecting", "disconnected"]


def append(ms: int) -> dict[str, Any]:
    return ce.append_audio(bytes(48 * ms))


async def test_the_queue_drops_the_oldest_audio_past_its_bound_and_reports_once() -> None:
    reports: list[OutgoingAudioDropped] = []
    queue = OutgoingQueue(reports.append, max_audio_ms=300, max_control_events=10)
    queue.put(append(100))
    queue.put(ce.commit_audio())
    for _ in range(4):
        queue.put(append(100))
    stats = queue.stats
    assert (stats.audio_ms, stats.dropped_audio_ms, stats.events) == (300, 200, 4)
    assert [(r.dropped_ms, r.queued_ms) for r in reports] == [(100, 300)]
    kinds = [(await queue.get() or {})["type"] for _ in range(4)]
    assert kinds == ["input_audio_buffer.commit"] + ["input_audio_buffer.append"] * 3
    queue.end()
    assert await queue.get() is None
    queue.put(append(500))  # alone over the bound: the newest append is kept
    assert queue.stats.audio_ms == 500
    queue.put(append(100))  # a new overflow after the queue emptied: reported again
    assert queue.stats.audio_ms == 100 and len(reports) == 2


async def test_control_events_are_never_dropped_the_queue_refuses_more() -> None:
    queue = OutgoingQueue(lambda report: None, max_audio_ms=100, max_control_events=3)
    for _ in range(3):
        queue.put(ce.create_response())
    for _ in range(5):
        queue.put(append(100))
    with pytest.raises(OutgoingQueueFull, match=r"'response\.cancel' was not queued"):
        queue.put(ce.cancel_response())
    assert queue.stats.events == 4  # three control events and the newest append
    await queue.get()
    queue.put(ce.cancel_response())  # room again
    assert queue.stats.events == 4


async def test_a_close_while_connecting_leaves_the_session_closed() -> None:
    class Slow(ScriptedTransport):
        def __init__(self) -> None:
            super().__init__()
            self.entered = asyncio.Event()
            self.release = asyncio.Event()

        async def connect(self) -> None:
            self.entered.set()
            await self.release.wait()
            await super().connect()

    transport = Slow()
    session = RealtimeSession(RealtimeAgent(name="a"), transport=transport)
    connecting = asyncio.ensure_future(session.connect())
    await asyncio.wait_for(transport.entered.wait(), 5)
    assert session.state is State.CONNECTING
    await session.close()
    transport.release.set()
    with pytest.raises(ConnectionError, match="closed while it connected"):
        await connecting
    assert session.state is State.CLOSED and not session.connected
    assert transport.closed
