"""Closing a session whose connection has just dropped."""

from __future__ import annotations

import asyncio

from rtnb import RealtimeAgent, RealtimeSession
from rtnb.testing import ScriptedTransport


async def test_close_right_after_the_server_hangs_up_does_not_raise() -> None:
    for _ in range(5):
        transport = ScriptedTransport()
        session = RealtimeSession(RealtimeAgent(name="a"), transport=transport)
        await session.connect()
        session.send_message("hello")
        transport.disconnect()
        while session.connected:  # the reader notices the hang-up within a few loop turns
            await asyncio.sleep(0)
        await session.close()  # the writer was cancelled an instant ago: must not raise
        assert session.status == "disconnected"
