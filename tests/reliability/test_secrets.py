"""The API key never shows: not in reprs, logs, errors, events, exports or recorded output."""

from __future__ import annotations

import asyncio
import io
import logging
from typing import Any

import pytest

from rtnb import RealtimeAgent, RealtimeSession
from rtnb.local.server import start_local_server
from rtnb.transport import TransportError, WebSocketTransport

SECRET = "sk-proj-THIS-KEY-MUST-NEVER-LEAK-0123456789"


def _closed_port_url() -> str:
    return "ws://127.0.0.1:9/v1/realtime"  # discard port: nothing listens there


async def test_key_stays_out_of_reprs_logs_events_and_exports(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    seen: list[str] = []
    answered = asyncio.Event()
    with caplog.at_level(logging.DEBUG):
        async with await start_local_server(realtime_pacing=False, token=SECRET) as server:
            session = RealtimeSession(RealtimeAgent(name="a"), url=server.url)
            for name in ("transport_event", "error", "connection_change", "history_updated"):
                session.on(name, lambda event: seen.append(repr(event)))
            session.on("agent_end", lambda event: answered.set())
            await session.connect()  # the key from the environment is the server's token
            session.send_message("hello")
            await asyncio.wait_for(answered.wait(), 30)
            exported = io.StringIO()
            session.export_history(exported)
            texts = [repr(session), exported.getvalue()]
            await session.close()
    texts += [*seen, caplog.text]
    assert len(seen) > 10 and "DEBUG" in caplog.text, "the scan must have something to scan"
    leaks = [text[:200] for text in texts if SECRET in text]
    assert leaks == []


async def test_key_stays_out_of_connection_errors(caplog: pytest.LogCaptureFixture) -> None:
    errors: list[Any] = []
    with caplog.at_level(logging.DEBUG):
        transport = WebSocketTransport(_closed_port_url(), api_key=SECRET)
        with pytest.raises(TransportError) as failed:
            await transport.connect()
        session = RealtimeSession(RealtimeAgent(name="a"), url=_closed_port_url(), api_key=SECRET)
        session.on("error", lambda e: errors.append(e.error))
        with pytest.raises(TransportError) as session_failed:
            await session.connect()
    texts = [str(failed.value), repr(failed.value), repr(transport)]
    for text in (*texts, str(session_failed.value), caplog.text):
        assert SECRET not in text
    assert all(SECRET not in repr(e) for e in errors)
