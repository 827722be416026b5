"""The local server's MCP client: one connection to one remote MCP server (streamable HTTP).

The local server plays the part the OpenAI Realtime service plays for hosted MCP tools: it
connects to the servers a session names, lists their tools and calls them. This module wraps the
official ``mcp`` package (optional: ``pip install 'rtnb[mcp]'``). The ``mcp`` client's context
managers must be left in the task that entered them, so each :class:`McpClient` runs one owner
task that holds the connection open until :meth:`McpClient.aclose`; list and call requests are
made from any task, each within a timeout. Every failure becomes an :class:`McpClientError` with a
clear message and the wire error object of an ``mcp_call`` item; headers never appear in reprs
or messages.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("rtnb.server")

CONNECT_TIMEOUT_S = 10.0
LIST_TIMEOUT_S = 15.0
CALL_TIMEOUT_S = 30.0
CLOSE_TIMEOUT_S = 5.0


class McpClientError(Exception):
    """A failure talking to an MCP server; :meth:`to_wire` gives the ``mcp_call`` error."""

    def __init__(self, message: str, *, kind: str = "tool_execution_error", code: int = 0):
        super().__init__(message)
        self.message = message
        self.kind = kind
        self.code = code

    def to_wire(self) -> dict[str, Any]:
        """The GA error object: ``protocol_error``/``http_error`` (with ``code``) or
        ``tool_execution_error``."""
        if self.kind == "tool_execution_error":
            return {"type": self.kind, "message": self.message}
        return {"type": self.kind, "code": self.code, "message": self.message}


@dataclass(frozen=True)
class McpCallOutcome:
    """What one tool call gave: ``output`` text, or the wire ``error`` of a failed call."""

    output: str | None
    error: dict[str, Any] | None = None


def _root(exc: BaseException) -> BaseException:
    """The single exception inside (nested) exception groups, or ``exc`` itself."""
    while isinstance(getattr(exc, "exceptions", None), tuple) and len(exc.exceptions) == 1:  # type: ignore[attr-defined]
        exc = exc.exceptions[0]  # type: ignore[attr-defined]
    return exc


def _describe(exc: BaseException) -> McpClientError:
    """Map an exception of the ``mcp``/``httpx2`` stack to an :class:`McpClientError`."""
    exc = _root(exc)
    if isinstance(exc, McpClientError):
        return exc
    status = getattr(getattr(exc, "response", None), "status_code", None)
    if isinstance(status, int):
        return McpClientError(f"HTTP {status} from the MCP server", kind="http_error", code=status)
    try:
        from mcp import MCPError
    except ImportError:  # pragma: no cover - without mcp nothing raises it
        MCPError = ()  # type: ignore[assignment,misc]
    if isinstance(exc, MCPError):  # a JSON-RPC error of the server
        return McpClientError(exc.message or str(exc), kind="protocol_error", code=exc.code)
    text = str(exc) or type(exc).__name__
    return McpClientError(f"{type(exc).__name__}: {text}")


def result_outcome(result: Any) -> McpCallOutcome:
    """Turn an ``mcp`` ``CallToolResult`` into output text (text parts joined; other parts and
    structured content as JSON) or a ``tool_execution_error``."""
    texts: list[str] = []
    for part in getattr(result, "content", None) or []:
        text = getattr(part, "text", None)
        if isinstance(text, str):
            texts.append(text)
        else:
            texts.append(json.dumps(part.model_dump(mode="json", by_alias=True, exclude_none=True)))
    structured = getattr(result, "structured_content", None)
    if not texts and structured is not None:
        texts.append(json.dumps(structured))
    output = "\n".join(texts)
    if getattr(result, "is_error", False):
        return McpCallOutcome(None, {"type": "tool_execution_error", "message": output or "error"})
    return McpCallOutcome(output)


class McpClient:
    """A connection to the MCP server at ``url`` (labelled ``label`` in errors and logs)."""

    def __init__(
        self,
        label: str,
        url: str,
        headers: Mapping[str, str] | None = None,
        *,
        connect_timeout: float = CONNECT_TIMEOUT_S,
        call_timeout: float = CALL_TIMEOUT_S,
    ) -> None:
        self.label = label
        self.url = url
        self._headers = dict(headers or {})
        self._connect_timeout = connect_timeout
        self._call_timeout = call_timeout
        self._client: Any = None  # mcp.Client, once connected
        self._owner: asyncio.Task[None] | None = None
        self._closing = asyncio.Event()

    def __repr__(self) -> str:
        state = "connected" if self._client is not None else "not connected"
        return f"McpClient(label={self.label!r}, url={self.url!r}, {state})"

    async def start(self) -> None:
        """Connect and initialise; raise :class:`McpClientError` if the server is not there."""
        try:
            from mcp import Client
            from mcp.client.streamable_http import streamable_http_client
            from mcp.shared._httpx_utils import create_mcp_http_client
        except ImportError:
            raise McpClientError(
                "the local server needs the 'mcp' package to reach MCP servers: "
                "pip install 'rtnb[mcp]'"
            ) from None
        ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        async def own() -> None:
            http = create_mcp_http_client(headers=self._headers or None)
            try:
                async with http, Client(streamable_http_client(self.url, http_client=http)) as c:
                    self._client = c
                    ready.set_result(None)
                    await self._closing.wait()
            except BaseException as exc:
                if not ready.done():
                    ready.set_exception(_describe(exc))
                elif not isinstance(exc, asyncio.CancelledError):
                    log.warning("MCP server %r connection ended: %s", self.label, _describe(exc))
                if isinstance(exc, asyncio.CancelledError):
                    raise
            finally:
                self._client = None

        self._owner = asyncio.get_running_loop().create_task(own(), name=f"rtnb-mcp-{self.label}")
        try:
            await asyncio.wait_for(asyncio.shield(ready), self._connect_timeout)
        except asyncio.TimeoutError:
            await self.aclose()
            raise McpClientError(
                f"MCP server {self.label!r} did not answer within {self._connect_timeout:g} s"
            ) from None
        except McpClientError as exc:
            await self.aclose()
            raise McpClientError(
                f"cannot connect to MCP server {self.label!r} at {self.url}: {exc.message}",
                kind=exc.kind,
                code=exc.code,
            ) from None
        except asyncio.CancelledError:
            await self.aclose()
            raise

    async def list_tools(self, timeout: float = LIST_TIMEOUT_S) -> list[dict[str, Any]]:
        """The server's tools as ``mcp_list_tools`` entries (name, description, input_schema,
        annotations)."""
        result = await self._request(lambda c: c.list_tools(), timeout, "listing tools")
        tools = []
        for tool in result.tools:
            entry: dict[str, Any] = {"name": tool.name, "input_schema": tool.input_schema or {}}
            if tool.description is not None:
                entry["description"] = tool.description
            if tool.annotations is not None:
                entry["annotations"] = tool.annotations.model_dump(
                    mode="json", by_alias=True, exclude_none=True
                )
            tools.append(entry)
        return tools

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> McpCallOutcome:
        """Call ``name``; failures come back as the outcome's ``error``, never raised."""
        try:
            result = await self._request(
                lambda c: c.call_tool(name, arguments), self._call_timeout, f"calling {name!r}"
            )
        except McpClientError as exc:
            return McpCallOutcome(None, exc.to_wire())
        return result_outcome(result)

    async def _request(self, make: Any, timeout: float, what: str) -> Any:
        client = self._client
        if client is None:
            raise McpClientError(f"MCP server {self.label!r} is not connected")
        try:
            return await asyncio.wait_for(make(client), timeout)
        except asyncio.TimeoutError:
            raise McpClientError(
                f"MCP server {self.label!r} did not answer within {timeout:g} s ({what})"
            ) from None
        except Exception as exc:
            error = _describe(exc)
            error.message = f"MCP server {self.label!r} failed {what}: {error.message}"
            raise error from None

    async def aclose(self) -> None:
        """Close the connection (idempotent); waits a little for a clean goodbye."""
        self._closing.set()
        owner, self._owner = self._owner, None
        if owner is None or owner.done():
            return
        with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError, Exception):
            await asyncio.wait_for(asyncio.shield(owner), CLOSE_TIMEOUT_S)
        if not owner.done():
            owner.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await owner
