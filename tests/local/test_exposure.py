"""Who can reach the local server: loopback only by default, same-origin only, token if set;
the server a session starts requires a token only that session knows."""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import os
import secrets
import subprocess
import sys
from collections.abc import AsyncIterator

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from rtnb import RealtimeAgent, RealtimeSession
from rtnb.cli import SERVE_TOKEN_VARIABLE
from rtnb.local.server import start_local_server
from rtnb.session import backend
from tests.wire import WireClient


async def test_binds_loopback_and_refuses_other_addresses_without_the_flag() -> None:
    async with await start_local_server() as server:
        sockets = server._server.sockets
        assert {s.getsockname()[0] for s in sockets} == {"127.0.0.1"}
        assert server.url.startswith("ws://127.0.0.1:")
    for host in ("0.0.0.0", "192.168.1.10", "::", "example.org"):
        with pytest.raises(ValueError, match="allow_remote"):
            await start_local_server(host)


async def test_browser_pages_from_other_origins_are_refused() -> None:
    async with await start_local_server(allowed_origins=["http://127.0.0.1:8888"]) as server:
        with pytest.raises(InvalidStatus) as refused:
            await connect(server.url, origin="http://evil.example")
        assert refused.value.response.status_code == 403
        allowed = await WireClient.open(server.url, origin="http://127.0.0.1:8888")
        await allowed.close()


async def test_token_is_required_when_set() -> None:
    async with await start_local_server(token="s3cret") as server:
        for headers in ({}, {"Authorization": "Bearer wrong"}):
            with pytest.raises(InvalidStatus) as refused:
                await connect(server.url, additional_headers=headers)
            assert refused.value.response.status_code == 401
        client = await WireClient.open(
            server.url, additional_headers={"Authorization": "Bearer s3cret"}
        )
        await client.close()


def test_serve_command_refuses_a_public_address() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "rtnb.cli", "serve", "--host", "0.0.0.0"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "--allow-remote" in result.stderr or "allow_remote" in result.stderr
    assert "Traceback" not in result.stderr


async def test_a_sessions_embedded_server_answers_only_that_session(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    issued: list[str] = []
    make_token = secrets.token_urlsafe

    def token_urlsafe(nbytes: int | None = None) -> str:
        issued.append(make_token(nbytes))
        return issued[-1]

    monkeypatch.setattr(backend.secrets, "token_urlsafe", token_urlsafe)
    seen: list[str] = []
    answered = asyncio.Event()
    session = RealtimeSession(RealtimeAgent(name="a"), server_options={"realtime_pacing": False})
    for name in ("transport_event", "error", "connection_change", "history_updated"):
        session.on(name, lambda event: seen.append(repr(event)))
    session.on("agent_end", lambda event: answered.set())
    with caplog.at_level(logging.DEBUG):
        await session.connect()
        url = session.server_url
        assert url is not None and url.startswith("ws://127.0.0.1:")
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Bearer "}):
            with pytest.raises(InvalidStatus) as refused:
                await connect(url, additional_headers=headers)
            assert refused.value.response.status_code == 401
        session.send_message("hello")  # the session itself presents the token
        await asyncio.wait_for(answered.wait(), 30)
        exported = io.StringIO()
        session.export_history(exported)
        state = str(session.widget().get_state())
        texts = [repr(session), url, exported.getvalue(), state]
        await session.close()
    [token] = issued
    assert len(token) >= 32
    texts += [*seen, caplog.text]
    assert [text[:200] for text in texts if token in text] == []


SERVE = ["serve", "--port", "0", "--stt", "pocketsphinx", "--vad", "webrtc", "--tts", "espeak"]


@contextlib.asynccontextmanager
async def serve_command(options: list[str], env: dict[str, str]) -> AsyncIterator[str]:
    """``rtnb serve`` in a subprocess; yields its start-up line."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "rtnb.cli",
        *SERVE,
        *options,
        stdout=asyncio.subprocess.PIPE,
        env={k: v for k, v in os.environ.items() if k != SERVE_TOKEN_VARIABLE} | env,
    )
    try:
        assert process.stdout is not None
        yield (await asyncio.wait_for(process.stdout.readline(), 120)).decode()
    finally:
        process.terminate()
        await process.wait()


@pytest.mark.parametrize(
    ("options", "env", "says"),
    [
        (["--token", "s3cret"], {}, "bearer token required"),
        ([], {SERVE_TOKEN_VARIABLE: "s3cret"}, "bearer token required"),
        ([], {}, "no token required"),
    ],
    ids=["option", "variable", "none"],
)
async def test_serve_command_says_whether_a_token_is_required(
    options: list[str], env: dict[str, str], says: str
) -> None:
    async with serve_command(options, env) as line:
        pass
    assert line.startswith("rtnb local realtime server at ws://127.0.0.1:")
    assert f"/v1/realtime  ({says}; Ctrl-C to stop)" in line
    assert "s3cret" not in line


async def test_serve_command_takes_its_token_from_the_environment() -> None:
    # Out of the command line, the token is out of `ps` for the machine's other users.
    async with serve_command([], {SERVE_TOKEN_VARIABLE: "s3cret"}) as line:
        url = line.split(" at ", 1)[1].split()[0]
        with pytest.raises(InvalidStatus) as refused:
            await connect(url)
        assert refused.value.response.status_code == 401
        client = await WireClient.open(url, additional_headers={"Authorization": "Bearer s3cret"})
        try:
            await client.wait_for("session.created")
        finally:
            await client.close()
