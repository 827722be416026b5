"""Who can reach the local server: loopback only by default, same-origin only, token if set."""

from __future__ import annotations

import subprocess
import sys

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from rtnb.local.server import start_local_server
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
