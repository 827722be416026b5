"""The state of one local-server response and the pieces every way of streaming it shares.

:class:`ResponseRun` is one response while it streams (cancellation, waiting, racing);
:class:`ResponseOutput` is what a reply streamer needs of the responder that owns the items and
their audio (:class:`rtnb.local.responder.Responder` implements it; the chat-model streamer of
:mod:`rtnb.local.policy.chat_responder` uses it, so neither module imports the other's internals).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import math
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any, Protocol

from rtnb.local.conversation import Item
from rtnb.local.policy.deterministic import CallTool
from rtnb.local.session_config import Session
from rtnb.protocol.events import Event, new_id

AUDIO_CHUNK_MS = 100
PACING_LEAD_MS = 250  # how far ahead of real time audio may run, so players never starve


class ResponseCancelled(Exception):
    """Raised inside a response when it is cancelled; carries the reason for ``response.done``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ResponseEnded(Exception):
    """Raised inside a response to end it early as ``failed`` or ``incomplete``."""

    def __init__(self, status: str, details: dict[str, Any]) -> None:
        super().__init__(status)
        self.status = status
        self.details = details


@dataclass
class ResponseRun:
    """State of one response while it streams."""

    id: str
    session: Session
    in_conversation: bool = True
    output: list[Item] = field(default_factory=list)
    reason: str | None = None
    _cancel: asyncio.Event = field(default_factory=asyncio.Event)

    def cancel(self, reason: str) -> None:
        """Ask the response to stop at its next step (``client_cancelled`` or ``turn_detected``)."""
        if self.reason is None:
            self.reason = reason
        self._cancel.set()

    def check(self) -> None:
        """Raise :class:`ResponseCancelled` if a cancel was asked for."""
        if self._cancel.is_set():
            raise ResponseCancelled(self.reason or "client_cancelled")

    async def wait(self, seconds: float) -> None:
        """Sleep up to ``seconds``, waking early (and raising) when cancelled."""
        if seconds > 0:
            with contextlib.suppress(asyncio.TimeoutError):  # the builtin only from 3.11
                await asyncio.wait_for(self._cancel.wait(), seconds)
        self.check()

    async def race(self, awaitable: Awaitable[Any]) -> Any:
        """Await ``awaitable``, unless the response is cancelled first (then raise)."""
        task = asyncio.ensure_future(awaitable)
        cancelled = asyncio.ensure_future(self._cancel.wait())
        try:
            await asyncio.wait({task, cancelled}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            cancelled.cancel()
            if not task.done():
                task.cancel()
        self.check()
        return task.result()


def response_object(run: ResponseRun, status: str, details: dict[str, Any] | None = None) -> Event:
    """The ``response`` resource of ``response.created``/``response.done``."""
    output_audio = run.session["audio"]["output"]
    words_out = sum(len(json.dumps(item).split()) for item in run.output)
    return {
        "id": run.id,
        "object": "realtime.response",
        "status": status,
        "status_details": details,
        "output": copy.deepcopy(run.output),
        "conversation_id": "conv_local" if run.in_conversation else None,
        "output_modalities": list(run.session["output_modalities"]),
        "max_output_tokens": run.session.get("max_output_tokens", "inf"),
        "audio": {"output": {"format": output_audio["format"], "voice": output_audio["voice"]}},
        "usage": None
        if status == "in_progress"
        else {"total_tokens": words_out, "input_tokens": 0, "output_tokens": words_out},
        "metadata": None,
    }


class ResponseOutput(Protocol):
    """What a reply streamer needs of the responder: item events and audio accounting."""

    tts_engine: str

    @property
    def pacing(self) -> bool:
        """Whether audio is paced like a live voice."""

    async def event(self, kind: str, **fields: Any) -> None:
        """Send a server event of this kind."""

    async def open_item(self, run: ResponseRun, item: Item) -> int:
        """Add an output item (``output_item.added``); returns its output index."""

    async def close_item(self, run: ResponseRun, item: Item, output_index: int) -> None:
        """End an output item (``output_item.done``)."""

    async def finish_part(
        self,
        run: ResponseRun,
        ids: dict[str, Any],
        item: Item,
        part: dict[str, Any],
        audio_out: bool,
    ) -> None:
        """End a message's only content part, then the message."""

    async def mcp_reply(self, run: ResponseRun, reply: CallTool, label: str) -> None:
        """Answer a call of a hosted MCP tool."""

    def open_audio(self, item_id: str) -> None:
        """Start counting the audio of an assistant item."""

    async def audio_delta(self, ids: dict[str, Any], pcm: bytes) -> None:
        """Send one audio chunk of an item and count it."""


def assistant_message(audio: bool) -> tuple[Item, dict[str, Any]]:
    """A new in-progress assistant message (no content yet) and the empty part it will get."""
    part: dict[str, Any] = (
        {"type": "output_audio", "transcript": ""} if audio else {"type": "output_text", "text": ""}
    )
    item: Item = {
        "id": new_id("item"),
        "object": "realtime.item",
        "type": "message",
        "role": "assistant",
        "status": "in_progress",
        "content": [],
    }
    return item, part


def transcript_pieces(sentence: str, parts: int) -> list[str]:
    """Split ``sentence`` at spaces into ``parts`` pieces, one per audio chunk, evenly by words.

    Each chunk's piece holds the words up to its share of the sentence (rounded up, so the
    transcript runs just ahead of the audio, as with OpenAI); pieces may be empty and their
    concatenation is the sentence.
    """
    words = sentence.split(" ")
    pieces: list[str] = []
    sent = 0
    for index in range(parts):
        upto = math.ceil((index + 1) * len(words) / parts)
        group = " ".join(words[sent:upto])
        pieces.append(group + " " if group and upto < len(words) else group)
        sent = upto
    return pieces


def part_text(part: dict[str, Any]) -> dict[str, Any]:
    """The text fields of a content part (as on the wire)."""
    return {k: v for k, v in part.items() if k in ("text", "transcript")}
