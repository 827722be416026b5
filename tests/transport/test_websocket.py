"""WebSocketTransport against a real loopback server started with serve_realtime.

No sleeps: every wait is on a future or queue bounded by ``asyncio.wait_for``.
"""

from __future__ import annotations

import asyncio
import socket
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from websockets.asyncio.server import Server
from websockets.http11 import Request

from rtnb.protocol.events import Event, ProtocolError, decode_client_event, encode
from rtnb.transport import server as server_module
from rtnb.transport.base import Transport
from rtnb.transport.server import REALTIME_PATH, serve_realtime
from rtnb.transport.websocket import (
    OPENAI_REALTIME_URL,
    TransportError,
    WebSocketTransport,
    realtime_url,
    resolve_api_key,
)
from tests.schema import validate_client_event

TIMEOUT = 30.0
SECRET = "sk-test-SECRET-never-printed-1234"
RAW = "__raw__"
"""Key of a pseudo-event whose value the patched server sends verbatim (malformed JSON)."""


@dataclass
class Recorder:
    """What the test server saw: requests (headers, path) and the client events received."""

    requests: asyncio.Queue[Request] = field(default_factory=asyncio.Queue)
    received: asyncio.Queue[Event] = field(default_factory=asyncio.Queue)
    closed: asyncio.Queue[None] = field(default_factory=asyncio.Queue)


class EchoHandler:
    """Sends ``session.created``; records each client event; answers a few of them.

    ``conversation.item.delete`` is echoed as ``conversation.item.deleted``;
    ``conversation.item.retrieve`` with ``item_id="bad_json"`` makes the server send malformed
    JSON followed by a valid event; ``item_id="close"`` closes the connection.
    """

    def __init__(self, send: Callable[[Event], Awaitable[None]], request: Request, rec: Recorder):
        self.send = send
        self.rec = rec
        rec.requests.put_nowait(request)

    async def start(self) -> None:
        await self.send({"type": "session.created", "event_id": "event_0", "session": {}})

    async def handle(self, message: str | bytes) -> None:
        event = decode_client_event(message)
        self.rec.received.put_nowait(event)
        if event["type"] == "conversation.item.delete":
            await self.send(
                {"type": "conversation.item.deleted", "event_id": "e", "item_id": event["item_id"]}
            )
        elif event["type"] == "conversation.item.retrieve" and event["item_id"] == "bad_json":
            await self.send({RAW: "{not json"})
            await self.send({RAW: "[1, 2]"})
            await self.send({RAW: '{"type":"no.such.event"}'})
            await self.send({"type": "input_audio_buffer.cleared", "event_id": "after"})
        elif event["type"] == "conversation.item.retrieve" and event["item_id"] == "close":
            raise ConnectionAbortedError  # ends the connection loop: the server closes

    async def aclose(self) -> None:
        self.rec.closed.put_nowait(None)


@dataclass
class LoopbackServer:
    server: Server
    rec: Recorder

    @property
    def port(self) -> int:
        return self.server.sockets[0].getsockname()[1]

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}{REALTIME_PATH}"


async def start_server(rec: Recorder, **kwargs: Any) -> Server:
    return await serve_realtime(lambda send, request: EchoHandler(send, request, rec), **kwargs)


@pytest.fixture
def raw_encode(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let the server send verbatim text for ``{RAW: text}`` pseudo-events."""

    def patched(event: Event) -> str:
        return event[RAW] if RAW in event else encode(event)

    monkeypatch.setattr(server_module, "encode", patched)


@pytest.fixture
async def loopback(raw_encode: None) -> AsyncIterator[LoopbackServer]:
    rec = Recorder()
    server = await start_server(rec)
    try:
        yield LoopbackServer(server, rec)
    finally:
        server.close()
        await asyncio.wait_for(server.wait_closed(), TIMEOUT)


@pytest.fixture
def no_env_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)


async def wait(awaitable: Awaitable[Any]) -> Any:
    return await asyncio.wait_for(awaitable, TIMEOUT)


async def next_event(stream: AsyncIterator[Event | ProtocolError]) -> Event | ProtocolError:
    return await wait(anext(stream))


async def authorization_for(loopback: LoopbackServer, api_key: Any) -> str | None:
    transport = WebSocketTransport(loopback.url, api_key=api_key, backend="local")
    await wait(transport.connect())
    try:
        request = await wait(loopback.rec.requests.get())
        return request.headers.get("Authorization")
    finally:
        await transport.close()


# --- URLs and keys ----------------------------------------------------------------------------


def test_realtime_url() -> None:
    assert realtime_url() == OPENAI_REALTIME_URL == "wss://api.openai.com/v1/realtime"
    assert realtime_url("gpt-realtime") == "wss://api.openai.com/v1/realtime?model=gpt-realtime"
    assert realtime_url(call_id="rtc_1") == "wss://api.openai.com/v1/realtime?call_id=rtc_1"
    assert realtime_url("gpt-realtime", call_id="rtc_1").endswith("?call_id=rtc_1")
    assert realtime_url("a b&c") == "wss://api.openai.com/v1/realtime?model=a+b%26c"
    base = "ws://127.0.0.1:9/v1/realtime"
    assert realtime_url("m", base=base) == base + "?model=m"


async def test_resolve_api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    async def async_key() -> str:
        return "k-async"

    monkeypatch.setenv("OPENAI_API_KEY", "k-env")
    assert await resolve_api_key("k-str") == "k-str"
    assert await resolve_api_key(lambda: "k-sync") == "k-sync"
    assert await resolve_api_key(async_key) == "k-async"
    assert await resolve_api_key(None) == "k-env"
    monkeypatch.setenv("OPENAI_API_KEY", "")
    assert await resolve_api_key(None) is None
    with pytest.raises(TypeError):
        await resolve_api_key(lambda: 42)  # type: ignore[arg-type,return-value]


def test_transport_satisfies_the_interface() -> None:
    assert isinstance(WebSocketTransport("ws://127.0.0.1:1/v1/realtime"), Transport)


# --- Authorization header ---------------------------------------------------------------------


async def test_bearer_from_string(loopback: LoopbackServer) -> None:
    assert await authorization_for(loopback, "k-string") == "Bearer k-string"


async def test_bearer_from_sync_callable(loopback: LoopbackServer) -> None:
    calls: list[int] = []

    def key() -> str:
        calls.append(1)
        return "k-sync"

    assert await authorization_for(loopback, key) == "Bearer k-sync"
    assert calls == [1]


async def test_bearer_from_async_callable(loopback: LoopbackServer) -> None:
    async def key() -> str:
        return "k-async"

    assert await authorization_for(loopback, key) == "Bearer k-async"


async def test_bearer_from_environment(
    loopback: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "k-env")
    assert await authorization_for(loopback, None) == "Bearer k-env"


async def test_no_key_no_header(loopback: LoopbackServer, no_env_key: None) -> None:
    assert await authorization_for(loopback, None) is None


async def test_explicit_argument_wins_over_environment(
    loopback: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "k-env")
    assert await authorization_for(loopback, "k-arg") == "Bearer k-arg"


async def test_explicit_url_is_used_verbatim(loopback: LoopbackServer, no_env_key: None) -> None:
    url = realtime_url("my-model", base=loopback.url)
    transport = WebSocketTransport(url + "&extra=1", backend="local")
    await wait(transport.connect())
    request = await wait(loopback.rec.requests.get())
    await transport.close()
    assert request.path == f"{REALTIME_PATH}?model=my-model&extra=1"


async def test_call_id_url_reaches_server(loopback: LoopbackServer, no_env_key: None) -> None:
    transport = WebSocketTransport(realtime_url(call_id="rtc_42", base=loopback.url))
    await wait(transport.connect())
    request = await wait(loopback.rec.requests.get())
    await transport.close()
    assert request.path == f"{REALTIME_PATH}?call_id=rtc_42"


async def test_extra_headers_are_sent(loopback: LoopbackServer) -> None:
    transport = WebSocketTransport(loopback.url, api_key="k", headers={"X-Test": "yes"})
    await wait(transport.connect())
    request = await wait(loopback.rec.requests.get())
    await transport.close()
    assert request.headers["X-Test"] == "yes"
    assert "OpenAI-Beta" not in request.headers  # GA: no beta header


# --- secrecy ----------------------------------------------------------------------------------


async def test_key_not_in_repr(loopback: LoopbackServer) -> None:
    transport = WebSocketTransport(loopback.url, api_key=SECRET)
    assert SECRET not in repr(transport) and "closed" in repr(transport)
    await wait(transport.connect())
    assert SECRET not in repr(transport) and "open" in repr(transport)
    await transport.close()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _assert_no_secret(exc: BaseException) -> None:
    text = "".join(traceback.format_exception(exc))
    assert SECRET not in text
    assert SECRET not in str(exc) and SECRET not in repr(exc)
    assert exc.__cause__ is None


async def test_key_not_in_error_when_port_closed() -> None:
    url = f"ws://127.0.0.1:{_closed_port()}{REALTIME_PATH}"
    transport = WebSocketTransport(url, api_key=SECRET)
    with pytest.raises(TransportError) as info:
        await wait(transport.connect())
    assert url in str(info.value)
    _assert_no_secret(info.value)
    assert SECRET not in repr(transport)


async def test_key_not_in_error_when_token_refused(raw_encode: None) -> None:
    rec = Recorder()
    server = await start_server(rec, token="right-token")
    url = f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}{REALTIME_PATH}"
    try:
        transport = WebSocketTransport(url, api_key=SECRET)
        with pytest.raises(TransportError, match="401") as info:
            await wait(transport.connect())
        _assert_no_secret(info.value)
        assert rec.requests.empty()  # refused before any handler ran
    finally:
        server.close()
        await wait(server.wait_closed())


# --- server-side checks -----------------------------------------------------------------------


async def test_token_accepted_as_bearer_and_query(raw_encode: None) -> None:
    rec = Recorder()
    server = await start_server(rec, token="right-token")
    url = f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}{REALTIME_PATH}"
    try:
        bearer = WebSocketTransport(url, api_key="right-token")
        await wait(bearer.connect())
        await wait(rec.requests.get())
        await bearer.close()
        query = WebSocketTransport(url + "?token=right-token")
        await wait(query.connect())
        await wait(rec.requests.get())
        await query.close()
        nothing = WebSocketTransport(url)
        with pytest.raises(TransportError, match="401"):
            await wait(nothing.connect())
    finally:
        server.close()
        await wait(server.wait_closed())


async def test_browser_origin_is_refused(loopback: LoopbackServer) -> None:
    transport = WebSocketTransport(loopback.url, headers={"Origin": "https://evil.example"})
    with pytest.raises(TransportError, match="403"):
        await wait(transport.connect())
    assert loopback.rec.requests.empty()


async def test_allowed_origin_is_accepted(raw_encode: None) -> None:
    rec = Recorder()
    server = await start_server(rec, allowed_origins=["http://127.0.0.1:8888"])
    url = f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}{REALTIME_PATH}"
    try:
        ok = WebSocketTransport(url, headers={"Origin": "http://127.0.0.1:8888"})
        await wait(ok.connect())
        assert (await wait(rec.requests.get())).headers["Origin"] == "http://127.0.0.1:8888"
        await ok.close()
        other = WebSocketTransport(url, headers={"Origin": "http://127.0.0.1:9999"})
        with pytest.raises(TransportError, match="403"):
            await wait(other.connect())
    finally:
        server.close()
        await wait(server.wait_closed())


async def test_wrong_path_is_refused(loopback: LoopbackServer) -> None:
    transport = WebSocketTransport(f"ws://127.0.0.1:{loopback.port}/v1/other")
    with pytest.raises(TransportError, match="404"):
        await wait(transport.connect())


# --- event flow -------------------------------------------------------------------------------


async def test_send_and_receive(loopback: LoopbackServer) -> None:
    transport = WebSocketTransport(loopback.url, api_key="k", backend="local")
    assert transport.backend == "local"
    await wait(transport.connect())
    stream = transport.receive()
    first = await next_event(stream)
    assert first == {"type": "session.created", "event_id": "event_0", "session": {}}
    sent = {"type": "conversation.item.delete", "item_id": "item_7"}
    validate_client_event(sent)
    await wait(transport.send(sent))
    assert await wait(loopback.rec.received.get()) == sent
    assert await next_event(stream) == {
        "type": "conversation.item.deleted",
        "event_id": "e",
        "item_id": "item_7",
    }
    await transport.close()
    await transport.close()  # idempotent
    await wait(loopback.rec.closed.get())


async def test_malformed_server_messages_yield_protocol_errors(loopback: LoopbackServer) -> None:
    transport = WebSocketTransport(loopback.url)
    await wait(transport.connect())
    stream = transport.receive()
    assert (await next_event(stream))["type"] == "session.created"
    await wait(transport.send({"type": "conversation.item.retrieve", "item_id": "bad_json"}))
    bad_json = await next_event(stream)
    assert isinstance(bad_json, ProtocolError) and bad_json.code == "invalid_json"
    not_object = await next_event(stream)
    assert isinstance(not_object, ProtocolError) and not_object.code == "invalid_json"
    unknown = await next_event(stream)
    assert isinstance(unknown, ProtocolError) and unknown.param == "type"
    # The loop keeps going: the next valid event still arrives, and sending still works.
    assert await next_event(stream) == {"type": "input_audio_buffer.cleared", "event_id": "after"}
    await wait(transport.send({"type": "conversation.item.delete", "item_id": "i"}))
    assert (await next_event(stream))["type"] == "conversation.item.deleted"
    await transport.close()


async def test_receive_ends_when_server_closes(loopback: LoopbackServer) -> None:
    transport = WebSocketTransport(loopback.url)
    await wait(transport.connect())
    stream = transport.receive()
    assert (await next_event(stream))["type"] == "session.created"
    await wait(transport.send({"type": "conversation.item.retrieve", "item_id": "close"}))
    with pytest.raises(StopAsyncIteration):
        await next_event(stream)
    with pytest.raises(TransportError):
        await wait(transport.send({"type": "input_audio_buffer.clear"}))
    await transport.close()


async def test_receive_ends_when_server_shuts_down(raw_encode: None) -> None:
    rec = Recorder()
    server = await start_server(rec)
    url = f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}{REALTIME_PATH}"
    transport = WebSocketTransport(url)
    await wait(transport.connect())
    stream = transport.receive()
    assert (await next_event(stream))["type"] == "session.created"
    server.close()  # closes open connections with 1001 (going away)
    with pytest.raises(StopAsyncIteration):
        await next_event(stream)
    await wait(server.wait_closed())
    await wait(rec.closed.get())
    await transport.close()


async def test_send_and_receive_before_connect_fail() -> None:
    transport = WebSocketTransport("ws://127.0.0.1:1/v1/realtime")
    with pytest.raises(TransportError, match="not connected"):
        await transport.send({"type": "input_audio_buffer.clear"})
    with pytest.raises(TransportError, match="not connected"):
        await anext(transport.receive())


async def test_loopback_ignores_proxy_environment(
    loopback: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    dead_proxy = f"http://127.0.0.1:{_closed_port()}"
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY"):
        monkeypatch.setenv(name, dead_proxy)
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    transport = WebSocketTransport(loopback.url)
    await wait(transport.connect())
    await transport.close()
