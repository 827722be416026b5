"""Closing a session whose connection has just dropped."""

from __future__ import annotations

import asyncio
from typing import Any

from rtnb import RealtimeAgent, RealtimeSession
from rtnb.testing import ScriptedTransport


async def hang_up_then_close() -> None:
    transport = ScriptedTransport()
    session = RealtimeSession(RealtimeAgent(name="a"), transport=transport)
    statuses: list[str] = []
    errors: list[Any] = []
    session.on("connection_change", lambda e: statuses.append(e.status))
    session.on("error", lambda e: errors.append(e.error))
    await session.connect()
    session.send_message("hello")
    transport.disconnect()
    while session.connected:  # the reader notices the hang-up within a few loop turns
        await asyncio.sleep(0)
    await session.close()  # the writer was cancelled an instant ago: must not raise
    # The hang-up was reported once, as an error and a status; close() added nothing, closed
    # the transport and left no task of the session running.
    assert statuses == ["connecting", "connected", "disconnected"]
    assert len(errors) == 1 and isinstance(errors[0], ConnectionError)
    assert transport.closed
    others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    assert [t for t in others if not t.done()] == []


async def test_close_right_after_the_server_hangs_up_does_not_raise() -> None:
    for _ in range(5):
        await hang_up_then_close()
