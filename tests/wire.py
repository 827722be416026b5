"""A raw Realtime client for tests: sends client events, records every server event.

Every server event received is checked against the ``openai`` package's schema, so any test that
talks to the local server through this client is also a conformance test.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

from rtnb.protocol.audio import chunk, encode_audio
from tests.schema import validate_client_event, validate_server_event

Event = dict[str, Any]
DEFAULT_TIMEOUT = 30.0


class WireClient:
    """One WebSocket connection with a log of received events and waits on them."""

    def __init__(self, ws: ClientConnection, *, validate: bool = True) -> None:
        self.ws = ws
        self.events: list[Event] = []
        self.invalid: list[str] = []
        self._validate = validate
        self._changed = asyncio.Condition()
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def open(cls, url: str, **kwargs: Any) -> WireClient:
        """Connect and wait for ``session.created``."""
        client = cls(await connect(url, **kwargs))
        await client.wait_for("session.created")
        return client

    async def _read(self) -> None:
        async for message in self.ws:
            event = json.loads(message)
            if self._validate:
                try:
                    validate_server_event(event)
                except AssertionError as exc:
                    self.invalid.append(str(exc))
            async with self._changed:
                self.events.append(event)
                self._changed.notify_all()

    async def send(self, event: Event, *, check: bool = True) -> None:
        """Send a client event (checked against the schema unless ``check`` is False)."""
        if check:
            validate_client_event(event)
        await self.ws.send(json.dumps(event))

    async def send_raw(self, text: str | bytes) -> None:
        """Send anything, valid or not."""
        await self.ws.send(text)

    async def send_audio(self, pcm16: bytes, chunk_ms: int = 20) -> None:
        """Append audio in microphone-sized chunks."""
        for piece in chunk(pcm16, chunk_ms):
            await self.send({"type": "input_audio_buffer.append", "audio": encode_audio(piece)})

    def of_type(self, kind: str) -> list[Event]:
        """Received events of one type, in order."""
        return [e for e in self.events if e["type"] == kind]

    async def wait_for(
        self,
        kind: str,
        where: Callable[[Event], bool] = lambda _: True,
        *,
        after: int = 0,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> Event:
        """The first event of ``kind`` at index >= ``after`` matching ``where``."""

        def found() -> Event | None:
            for event in self.events[after:]:
                if event["type"] == kind and where(event):
                    return event
            return None

        async def wait() -> Event:
            async with self._changed:
                await self._changed.wait_for(lambda: found() is not None or self._reader.done())
            event = found()
            if event is None:
                raise AssertionError(f"connection closed before {kind!r}")
            return event

        try:
            return await asyncio.wait_for(wait(), timeout)
        except TimeoutError:
            seen = [e["type"] for e in self.events[after:]]
            raise AssertionError(f"no {kind!r} within {timeout} s; got {seen}") from None

    async def close(self) -> None:
        """Close the connection and stop reading."""
        await self.ws.close()
        await asyncio.gather(self._reader, return_exceptions=True)
