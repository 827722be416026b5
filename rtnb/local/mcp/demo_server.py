"""A small MCP server for tests and tutorials: city weather forecasts and populations.

:func:`start_demo_mcp_server` serves it over streamable HTTP on ``127.0.0.1`` (a free port) in a
background thread with its own event loop, so it works from plain code, ``asyncio.run`` scripts
and notebooks alike, and records every tool call it receives::

    server = start_demo_mcp_server()       # server.url == "http://127.0.0.1:PORT/mcp"
    agent = RealtimeAgent(
        name="Weather",
        tools=[hosted_mcp_tool(server_label="weather", server_url=server.url,
                               require_approval="never")],
    )
    ...
    print(server.calls)                    # [McpDemoCall(name='get_forecast', arguments=...)]
    server.stop()

Needs the ``mcp`` package (``pip install 'rtnb[mcp]'``), which brings uvicorn.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "FORECASTS",
    "DemoMcpServer",
    "McpDemoCall",
    "build_demo_mcp_server",
    "start_demo_mcp_server",
]

FORECASTS: dict[str, str] = {
    "oslo": "light rain and 12 degrees",
    "paris": "sunny and 24 degrees",
    "london": "cloudy and 17 degrees",
    "tokyo": "humid and 28 degrees",
    "berlin": "windy and 15 degrees",
}
"""Tomorrow's weather by city; other cities get a mild default."""

POPULATIONS: dict[str, str] = {
    "oslo": "about 700 thousand",
    "paris": "about 2 million",
    "london": "about 9 million",
    "tokyo": "about 14 million",
    "berlin": "about 3.8 million",
}


@dataclass(frozen=True)
class McpDemoCall:
    """One tool call the demo server received."""

    name: str
    arguments: dict[str, Any]


def build_demo_mcp_server(calls: list[McpDemoCall] | None = None) -> Any:
    """The demo ``mcp`` server (an ``MCPServer``): ``get_forecast(city)`` and
    ``get_population(city)``, appending each call to ``calls``."""
    from mcp.server.mcpserver import MCPServer
    from mcp.types import ToolAnnotations

    record = calls if calls is not None else []
    server = MCPServer("rtnb-demo", log_level="WARNING")
    read_only = ToolAnnotations(read_only_hint=True)

    @server.tool(annotations=read_only)
    def get_forecast(city: str) -> str:
        """Return tomorrow's weather forecast for a city."""
        record.append(McpDemoCall("get_forecast", {"city": city}))
        forecast = FORECASTS.get(city.strip().lower(), "mild and 20 degrees")
        return f"Tomorrow in {city.strip().title()}: {forecast}."

    @server.tool(annotations=read_only)
    def get_population(city: str) -> str:
        """Return how many people live in a city."""
        record.append(McpDemoCall("get_population", {"city": city}))
        people = POPULATIONS.get(city.strip().lower(), "not known to me")
        return f"The population of {city.strip().title()} is {people}."

    return server


@dataclass
class DemoMcpServer:
    """A running demo MCP server: ``url`` to connect to, ``calls`` it received, :meth:`stop`."""

    url: str
    calls: list[McpDemoCall] = field(default_factory=list)
    _uvicorn: Any = field(default=None, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop serving and wait for the server thread (idempotent)."""
        if self._uvicorn is not None:
            self._uvicorn.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def __enter__(self) -> DemoMcpServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    async def __aenter__(self) -> DemoMcpServer:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await asyncio.to_thread(self.stop)


def _require_headers(app: Any, required: Mapping[str, str]) -> Any:
    """Wrap an ASGI app: HTTP requests without the ``required`` headers get ``401``."""
    wanted = {k.lower().encode(): v.encode() for k, v in required.items()}

    async def guarded(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            headers = dict(scope.get("headers") or [])
            if any(headers.get(name) != value for name, value in wanted.items()):
                await send({"type": "http.response.start", "status": 401, "headers": []})
                await send({"type": "http.response.body", "body": b"missing credentials"})
                return
        await app(scope, receive, send)

    return guarded


def start_demo_mcp_server(
    host: str = "127.0.0.1",
    port: int = 0,
    timeout: float = 10.0,
    *,
    require_headers: Mapping[str, str] | None = None,
) -> DemoMcpServer:
    """Serve the demo MCP server at ``http://host:port/mcp`` (``port=0``: a free port).

    ``require_headers`` (e.g. ``{"X-Api-Key": "..."}``) makes it answer ``401`` to requests
    without them, like a server that needs credentials. Returns once the server accepts
    requests; raises :class:`RuntimeError` if it does not start within ``timeout`` seconds.
    """
    import uvicorn

    calls: list[McpDemoCall] = []
    app = build_demo_mcp_server(calls).streamable_http_app(host=host)
    if require_headers:
        app = _require_headers(app, require_headers)
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    bound = sock.getsockname()[1]
    config = uvicorn.Config(
        app, log_level="warning", lifespan="on", timeout_graceful_shutdown=2, access_log=False
    )
    server = uvicorn.Server(config)
    started = threading.Event()
    failure: list[BaseException] = []

    async def serve() -> None:
        task = asyncio.get_running_loop().create_task(server.serve(sockets=[sock]))
        while not server.started and not task.done():
            await asyncio.sleep(0.01)
        started.set()
        await task

    def run() -> None:
        try:
            asyncio.run(serve())
        except BaseException as exc:  # reported to the starting thread
            failure.append(exc)
            logging.getLogger("rtnb.server").exception("the demo MCP server failed")
        finally:
            started.set()
            sock.close()

    thread = threading.Thread(target=run, name="rtnb-demo-mcp", daemon=True)
    thread.start()
    if not started.wait(timeout) or failure or not server.started:
        server.should_exit = True
        raise RuntimeError(f"the demo MCP server did not start on {host}:{bound}: {failure}")
    url_host = f"[{host}]" if ":" in host else host
    return DemoMcpServer(f"http://{url_host}:{bound}/mcp", calls, server, thread)
