"""A scripted OpenAI-compatible Chat Completions server on loopback, for tests, benchmarks and
the tutorial: it answers ``POST /v1/chat/completions`` with ``stream: true`` in the published wire
format (``chat.completion.chunk`` objects as server-sent events, then ``data: [DONE]``), text word
by word and tool calls with their arguments in pieces.

>>> server = await start_scripted_chat_server(ChatScript(text="Hello there. How are you?"))
>>> ...                      # LlmConfig(server.url, "scripted") points the local server at it
>>> server.requests[-1].body["messages"]
>>> await server.close()

A script can also hold the answer until an event is set, wait before the first token, close the
connection mid-answer or answer with an HTTP error; each request's log tells how many deltas went
out and whether the client hung up first. HTTP/1.1 by hand on ``asyncio`` streams, one request
per connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ChatRequest", "ChatScript", "ScriptedChatServer", "start_scripted_chat_server"]


@dataclass
class ChatScript:
    """One scripted answer: ``text`` word by word, then ``tool_calls`` as ``(name, arguments)``."""

    text: str = ""
    tool_calls: list[tuple[str, str]] = field(default_factory=list)
    first_token_delay_s: float = 0.0
    """Wait this long before the first delta (the model "thinking"; benchmarks)."""
    hold: asyncio.Event | None = None
    """Before delta number ``hold_after`` wait until this is set (or the client leaves)."""
    hold_after: int = 0
    disconnect_after: int | None = None
    """Drop the connection after this many deltas, without ending the stream."""
    status: int = 200
    """An HTTP error status answers ``{"error": {"message": error_message}}`` instead."""
    error_message: str = "scripted failure"
    finish_reason: str | None = None
    """Default: ``"tool_calls"`` after tool calls, else ``"stop"``."""


@dataclass
class ChatRequest:
    """What one request asked and what became of its answer."""

    body: dict[str, Any]
    authorization: str | None
    deltas_sent: int = 0
    finished: bool = False
    received_at: float = field(default_factory=time.perf_counter)
    """``time.perf_counter()`` when the request arrived."""
    first_token_at: float | None = None
    """``time.perf_counter()`` when the first delta after the role went out."""
    holding: asyncio.Event = field(default_factory=asyncio.Event)
    """Set when the answer reached the script's ``hold`` (and waits there)."""
    client_left: asyncio.Event = field(default_factory=asyncio.Event)
    """Set when the client closed the connection before the answer was complete."""


Answer = ChatScript | Callable[[dict[str, Any]], ChatScript]


class ScriptedChatServer:
    """A running scripted server; ``url`` is its OpenAI-style base URL (``.../v1``)."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.requests: list[ChatRequest] = []
        self.url = ""
        self._server: asyncio.base_events.Server | None = None
        self._connections: set[asyncio.Task[Any]] = set()
        self._arrived = asyncio.Condition()

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> ScriptedChatServer:
        """Listen on ``host:port`` (a free port by default)."""
        self._server = await asyncio.start_server(self._connection, host, port)
        bound = self._server.sockets[0].getsockname()[1]
        self.url = f"http://{host}:{bound}/v1"
        return self

    async def request(self, index: int, timeout: float = 30.0) -> ChatRequest:
        """Request number ``index`` (from 0), once it has arrived."""
        async with self._arrived:
            await asyncio.wait_for(
                self._arrived.wait_for(lambda: len(self.requests) > index), timeout
            )
        return self.requests[index]

    async def close(self) -> None:
        """Stop listening and drop open connections."""
        if self._server is not None:
            self._server.close()
        for task in list(self._connections):
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def __aenter__(self) -> ScriptedChatServer:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"ScriptedChatServer(url={self.url!r}, requests={len(self.requests)})"

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            await self._serve(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._connections.discard(task)
            writer.close()
            with contextlib.suppress(ConnectionError, asyncio.CancelledError):
                await writer.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        words = (await reader.readline()).decode("latin-1").split(" ")
        if len(words) != 3:
            return  # the client left without asking anything
        method, path = words[:2]
        headers: dict[str, str] = {}
        while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        if method != "POST" or not path.split("?")[0].rstrip("/").endswith("/chat/completions"):
            await _json_response(writer, 404, {"error": {"message": f"no route {path}"}})
            return
        request = ChatRequest(json.loads(body), headers.get("authorization"))
        async with self._arrived:
            self.requests.append(request)
            self._arrived.notify_all()
        script = self.answer(request.body) if callable(self.answer) else self.answer
        if script.status != 200:
            error = {"message": script.error_message, "type": "scripted", "code": None}
            await _json_response(writer, script.status, {"error": error})
            return
        if request.body.get("stream") is not True:
            error = {"message": "only stream=true is scripted"}
            await _json_response(writer, 400, {"error": error})
            return
        await self._stream(reader, writer, request, script)

    async def _stream(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        request: ChatRequest,
        script: ChatScript,
    ) -> None:
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
            b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        )
        left = asyncio.ensure_future(reader.read())  # b"" once the client closes its side
        try:
            chunks = _chunks(script, str(request.body.get("model", "scripted")))
            for index, chunk in enumerate(chunks):
                waits: list[asyncio.Future[Any]] = []
                if index == 1 and script.first_token_delay_s > 0:  # chunk 0 only says the role
                    waits.append(asyncio.ensure_future(asyncio.sleep(script.first_token_delay_s)))
                if script.hold is not None and index == script.hold_after + 1:
                    request.holding.set()
                    waits.append(asyncio.ensure_future(script.hold.wait()))
                for wait in waits:
                    await asyncio.wait({wait, left}, return_when=asyncio.FIRST_COMPLETED)
                    wait.cancel()
                if left.done():
                    request.client_left.set()
                    return
                if script.disconnect_after is not None and index > script.disconnect_after:
                    writer.transport.abort()
                    return
                _write_chunk(writer, f"data: {json.dumps(chunk)}\n\n".encode())
                await writer.drain()
                request.deltas_sent = index
                if index == 1:
                    request.first_token_at = time.perf_counter()
            _write_chunk(writer, b"data: [DONE]\n\n")
            writer.write(b"0\r\n\r\n")
            await writer.drain()
            request.finished = True
        except ConnectionError:
            request.client_left.set()
        finally:
            left.cancel()


async def start_scripted_chat_server(
    answer: Answer | None = None, host: str = "127.0.0.1", port: int = 0
) -> ScriptedChatServer:
    """Start a :class:`ScriptedChatServer` answering with ``answer`` (a script, or a function
    of the request body returning one; default: :func:`echo_answer`)."""
    return await ScriptedChatServer(answer or echo_answer).start(host, port)


def echo_answer(body: dict[str, Any]) -> ChatScript:
    """A stand-in model: it calls the first offered tool whose name's words (but "get", "set",
    "to") the user all said, with the words after the last "in"/"for" as its first parameter;
    says a tool's result once it arrives; otherwise repeats the user's words."""
    messages = body.get("messages") or [{}]
    last = messages[-1]
    if last.get("role") == "tool":
        return ChatScript(text=str(last.get("content", "")))
    said = str(last.get("content") or "")
    words = set(re.findall(r"[a-z]+", said.lower()))
    for tool in body.get("tools") or []:
        function = tool.get("function") or {}
        named = set(str(function.get("name", "")).lower().split("_")) - {"get", "set", "to"}
        if named and named <= words:
            parameters = list((function.get("parameters") or {}).get("properties") or {})
            value = re.split(r"\b(?:in|for)\b", said)[-1].strip(" ?.!")
            arguments = {parameters[0]: value} if parameters else {}
            return ChatScript(tool_calls=[(function["name"], json.dumps(arguments))])
    return ChatScript(text=f"You said: {said.strip()}" if said.strip() else "Hello!")


def _chunks(script: ChatScript, model: str) -> list[dict[str, Any]]:
    """The ``chat.completion.chunk`` objects of one answer (the first announces the role)."""
    base = {
        "id": "chatcmpl-scripted",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
    }

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        return {**base, "choices": [choice]}

    chunks = [chunk({"role": "assistant", "content": ""})]
    chunks += [chunk({"content": word}) for word in re.findall(r"\s*\S+\s*?", script.text)]
    for index, (name, arguments) in enumerate(script.tool_calls):
        head = {"index": index, "id": f"call_{index}", "type": "function"}
        opening = {**head, "function": {"name": name, "arguments": ""}}
        chunks.append(chunk({"tool_calls": [opening]}))
        for start in range(0, len(arguments), 8):
            piece = {"index": index, "function": {"arguments": arguments[start : start + 8]}}
            chunks.append(chunk({"tool_calls": [piece]}))
    finish = script.finish_reason or ("tool_calls" if script.tool_calls else "stop")
    chunks.append(chunk({}, finish))
    return chunks


def _write_chunk(writer: asyncio.StreamWriter, data: bytes) -> None:
    writer.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")


async def _json_response(writer: asyncio.StreamWriter, status: int, payload: Any) -> None:
    body = json.dumps(payload).encode()
    writer.write(
        f"HTTP/1.1 {status} Scripted\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
        + body
    )
    await writer.drain()
