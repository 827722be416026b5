"""How connect() picks its backend (no sockets: the WebSocket transport is replaced)."""

from __future__ import annotations

import asyncio
import logging
import sys
import types
from typing import Any, ClassVar

import pytest

import rtnb.transport
from rtnb import RealtimeAgent, RealtimeSession
from rtnb.testing import ScriptedTransport

SECRET = "sk-proj-NEVER-PRINT-ME"


class FakeWebSocketTransport(ScriptedTransport):
    """Records how it was built instead of opening a socket."""

    made: ClassVar[list[FakeWebSocketTransport]] = []

    def __init__(self, url: str, *, api_key: Any = None, backend: str = "openai") -> None:
        super().__init__(backend=backend)
        self.url = url
        self.api_key = api_key
        FakeWebSocketTransport.made.append(self)


class FailingTransport(ScriptedTransport):
    async def connect(self) -> None:
        raise ConnectionRefusedError("cannot connect to ws://127.0.0.1:9/v1/realtime")


class FakeLocalServer:
    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        self.url = "ws://127.0.0.1:8765/v1/realtime"
        self.port = 8765
        self.closed = False

    async def close(self) -> None:
        self.closed = True


@pytest.fixture
def fakes(monkeypatch: pytest.MonkeyPatch) -> list[FakeLocalServer]:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    FakeWebSocketTransport.made = []
    monkeypatch.setattr(rtnb.transport, "WebSocketTransport", FakeWebSocketTransport)
    servers: list[FakeLocalServer] = []

    async def start_local_server(**options: Any) -> FakeLocalServer:
        servers.append(FakeLocalServer(options))
        return servers[-1]

    module = types.ModuleType("rtnb.local.server")
    module.start_local_server = start_local_server  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "rtnb.local.server", module)
    return servers


@pytest.fixture
def agent() -> RealtimeAgent:
    return RealtimeAgent(name="Backend test")


async def test_api_key_selects_openai(
    fakes: list[FakeLocalServer], agent: RealtimeAgent, caplog: pytest.LogCaptureFixture
) -> None:
    session = RealtimeSession(agent, model="gpt-realtime")
    with caplog.at_level(logging.DEBUG):
        await session.connect(api_key=SECRET)
        await session.close()
    [made] = FakeWebSocketTransport.made
    assert made.url == "wss://api.openai.com/v1/realtime?model=gpt-realtime"
    assert (made.backend, made.api_key, session.backend) == ("openai", SECRET, "openai")
    assert "openai backend" in caplog.text
    assert SECRET not in caplog.text
    assert SECRET not in repr(session)
    assert fakes == []


async def test_environment_key_and_call_id(
    fakes: list[FakeLocalServer], agent: RealtimeAgent, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    session = RealtimeSession(agent)
    await session.connect(call_id="rtc_123")
    await session.close()
    [made] = FakeWebSocketTransport.made
    assert made.url == "wss://api.openai.com/v1/realtime?call_id=rtc_123"
    assert made.api_key == SECRET


@pytest.mark.parametrize(
    ("url", "backend"),
    [
        ("ws://127.0.0.1:9000/v1/realtime?model=m", "local"),
        ("ws://localhost:9000/v1/realtime", "local"),
        ("ws://[::1]:9000/v1/realtime", "local"),
        ("wss://proxy.example.com/v1/realtime", "openai"),
    ],
)
async def test_explicit_url_wins(
    fakes: list[FakeLocalServer], agent: RealtimeAgent, url: str, backend: str
) -> None:
    session = RealtimeSession(agent)
    await session.connect(url=url, api_key="x")
    await session.close()
    [made] = FakeWebSocketTransport.made
    assert (made.url, made.backend, session.backend) == (url, backend, backend)
    assert fakes == []


async def test_no_key_starts_the_local_server_and_stops_it(
    fakes: list[FakeLocalServer], agent: RealtimeAgent
) -> None:
    options = {"realtime_pacing": False, "token": "local-token"}
    async with RealtimeSession(agent, model="gpt-realtime", server_options=options) as session:
        assert session.backend == "local"
        assert "backend='local'" in repr(session)
        [server] = fakes
        assert server.options == options
        [made] = FakeWebSocketTransport.made
        assert made.url == "ws://127.0.0.1:8765/v1/realtime?model=gpt-realtime"
        assert made.api_key == "local-token"
    assert server.closed


async def test_the_local_server_gets_a_new_random_token_per_session(
    fakes: list[FakeLocalServer], agent: RealtimeAgent
) -> None:
    for _ in range(2):
        async with RealtimeSession(agent, server_options={"realtime_pacing": False}) as session:
            assert session.backend == "local"
    tokens = [server.options["token"] for server in fakes]
    assert [made.api_key for made in FakeWebSocketTransport.made] == tokens
    assert tokens[0] != tokens[1] and all(len(token) >= 32 for token in tokens)
    assert fakes[0].options["realtime_pacing"] is False


async def test_a_reconnect_reuses_the_local_server_and_its_token(
    fakes: list[FakeLocalServer], agent: RealtimeAgent
) -> None:
    session = RealtimeSession(agent)
    lost = asyncio.Event()
    session.on("connection_change", lambda e: lost.set() if e.status == "disconnected" else None)
    await session.connect()
    FakeWebSocketTransport.made[0].disconnect()
    await asyncio.wait_for(lost.wait(), 5)
    await session.reconnect()
    await session.close()
    [server] = fakes
    first, second = FakeWebSocketTransport.made
    assert first.api_key == second.api_key == server.options["token"]
    assert server.closed


async def test_a_close_while_the_local_server_starts_stops_it(
    fakes: list[FakeLocalServer], agent: RealtimeAgent
) -> None:
    module = sys.modules["rtnb.local.server"]
    started, release = asyncio.Event(), asyncio.Event()

    async def slow_start(**options: Any) -> FakeLocalServer:
        started.set()
        await release.wait()  # loading the speech models
        fakes.append(FakeLocalServer(options))
        return fakes[-1]

    module.start_local_server = slow_start  # type: ignore[attr-defined]
    session = RealtimeSession(agent)
    connecting = asyncio.ensure_future(session.connect())
    await asyncio.wait_for(started.wait(), 5)
    await session.close()
    release.set()
    with pytest.raises(ConnectionError, match="closed while it connected"):
        await connecting
    [server] = fakes
    assert server.closed and session.state.value == "closed"


async def test_call_id_without_key_is_refused(
    fakes: list[FakeLocalServer], agent: RealtimeAgent
) -> None:
    with pytest.raises(ValueError, match="call_id"):
        await RealtimeSession(agent).connect(call_id="rtc_1")


async def test_failed_connect_raises_reports_and_leaks_no_key(
    agent: RealtimeAgent, caplog: pytest.LogCaptureFixture
) -> None:
    session = RealtimeSession(agent, transport=FailingTransport(), api_key=SECRET)
    statuses: list[str] = []
    session.on("connection_change", lambda event: statuses.append(event.status))
    with caplog.at_level(logging.DEBUG), pytest.raises(ConnectionRefusedError) as info:
        await session.connect()
    await session.close()
    assert SECRET not in str(info.value)
    assert SECRET not in caplog.text
    assert SECRET not in repr(session)
    assert statuses == ["connecting", "disconnected"]


async def test_connect_twice_is_refused(agent: RealtimeAgent) -> None:
    session = RealtimeSession(agent, transport=ScriptedTransport())
    await session.connect()
    with pytest.raises(RuntimeError, match="once"):
        await session.connect()
    await session.close()
