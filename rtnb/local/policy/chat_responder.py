"""One response streamed from a chat model: deltas in, Realtime output items out.

A task reads the model's stream (:meth:`rtnb.local.policy.chat.ChatPolicy.stream`) into a queue
while the response turns it into events, so the model keeps writing while earlier sentences are
spoken:

- text opens an assistant message. With text output each delta is an ``output_text.delta``;
  with audio output the text is cut into sentences and each finished sentence is spoken at once
  (TTS, then 100 ms audio chunks paced like a live voice, each with the words it says), so the
  first audio follows the first sentence, not the whole answer. Only spoken words enter the
  transcript;
- each tool call opens a ``function_call`` item whose arguments stream as
  ``function_call_arguments.delta``; at the end of the stream the arguments must be a JSON
  object, else the response fails. A call of a hosted MCP tool goes to the MCP server instead;
- cancelling (``response.cancel``, barge-in) cancels the reading task, which closes the HTTP
  stream, and ends open items ``incomplete``; a model failure sends an ``error`` event, ends open
  items ``incomplete`` and fails the response. The connection goes on either way.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from typing import Any

from rtnb.local.mcp.steps import mcp_label
from rtnb.local.policy.chat import (
    ChatDelta,
    ChatPolicy,
    Finished,
    LlmError,
    TextDelta,
    ToolCallDelta,
    parse_arguments,
)
from rtnb.local.policy.deterministic import CallTool, Item, PolicyInput
from rtnb.local.response_run import (
    AUDIO_CHUNK_MS,
    PACING_LEAD_MS,
    ResponseCancelled,
    ResponseEnded,
    ResponseOutput,
    ResponseRun,
    assistant_message,
    transcript_pieces,
)
from rtnb.local.speech.tts import synthesize
from rtnb.protocol.audio import chunk, duration_ms
from rtnb.protocol.events import new_id

__all__ = ["ChatReply", "speak", "take_sentences"]

_END = object()
_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+|\n+")


def speak(sentence: str, voice: str, speed: float, engine: str = "auto") -> bytes:
    """One sentence as 24 kHz PCM16: the only place this module makes speech."""
    return synthesize(sentence, voice=voice, speed=speed, engine=engine)


def take_sentences(text: str) -> tuple[list[str], str]:
    """The finished sentences at the start of ``text`` and the unfinished rest.

    A sentence is finished by ``.``, ``!``, ``?`` or ``;`` followed by white space, or by a
    newline: ``"3.5"`` or a final ``"Hi."`` still wait for what comes next.
    """
    last = None
    for last in _SENTENCE_END.finditer(text):  # noqa: B007 (the last match is wanted)
        pass
    if last is None:
        return [], text
    head = text[: last.start()]
    sentences = [s.strip() for s in _SENTENCE_END.split(head) if s.strip()]
    return sentences, text[last.end() :]


@dataclass
class _Message:
    item: Item
    part: dict[str, Any]
    ids: dict[str, Any]
    audio: bool
    unspoken: str = ""
    play_end: float = 0.0
    """When the audio sent so far ends, if played from its first chunk without gaps."""


@dataclass
class _Call:
    name: str
    arguments: str = ""
    label: str | None = None
    """The hosted MCP server of the tool (then no ``function_call`` item is streamed)."""
    item: Item | None = None
    ids: dict[str, Any] = field(default_factory=dict)


class ChatReply:
    """Streams one response of a :class:`ChatPolicy` through a responder's item helpers."""

    def __init__(self, responder: ResponseOutput, policy: ChatPolicy, run: ResponseRun) -> None:
        self._responder = responder
        self._policy = policy
        self._run = run
        self._message: _Message | None = None
        self._calls: dict[int, _Call] = {}
        self._finish_reason: str | None = None

    async def stream(self, turn: PolicyInput) -> None:
        """Run the response; raises ``ResponseCancelled`` or ``ResponseEnded`` as it ends."""
        queue: asyncio.Queue[Any] = asyncio.Queue()
        reader = asyncio.ensure_future(_read(self._policy.stream(turn, self._run.session), queue))
        try:
            while (delta := await self._next(queue)) is not _END:
                if isinstance(delta, LlmError):
                    raise delta
                await self._on_delta(delta, turn)
            await self._end_message()
            await self._end_calls()
        except ResponseCancelled:
            await self._abandon()
            raise
        except LlmError as exc:
            await self._abandon()
            error = {"type": "server_error", "code": exc.code, "message": exc.message}
            await self._responder.event("error", error={**error, "param": None, "event_id": None})
            raise ResponseEnded("failed", {"type": "failed", "error": error}) from None
        except Exception:  # e.g. TTS: the responder fails the response; close the items first
            await self._abandon()
            raise
        finally:
            reader.cancel()  # closes the HTTP stream if it is still open
            await asyncio.gather(reader, return_exceptions=True)
        if self._finish_reason == "length":
            raise ResponseEnded("incomplete", {"type": "incomplete", "reason": "max_output_tokens"})

    async def _next(self, queue: asyncio.Queue[Any]) -> Any:
        """The next delta; deltas already queued skip the wait (and its two tasks)."""
        if queue.empty():
            return await self._run.race(queue.get())
        self._run.check()
        return queue.get_nowait()

    async def _on_delta(self, delta: ChatDelta, turn: PolicyInput) -> None:
        if isinstance(delta, TextDelta):
            await self._text(delta.text)
        elif isinstance(delta, ToolCallDelta):
            await self._call_delta(delta, turn)
        elif isinstance(delta, Finished):
            self._finish_reason = delta.reason

    # -- text and speech ---------------------------------------------------------------------

    async def _text(self, text: str) -> None:
        message = self._message
        if message is None:
            if not text.strip():
                return
            message = self._message = await self._open_message()
            text = text.lstrip()
        if not message.audio:
            message.part["text"] += text
            await self._responder.event(
                "response.output_text.delta", **message.ids, content_index=0, delta=text
            )
            return
        sentences, message.unspoken = take_sentences(message.unspoken + text)
        for sentence in sentences:
            await self._say(message, sentence)

    async def _open_message(self) -> _Message:
        audio = self._run.session["output_modalities"] == ["audio"]
        item, part = assistant_message(audio)
        index = await self._responder.open_item(self._run, item)
        ids = {"response_id": self._run.id, "item_id": item["id"], "output_index": index}
        wire_part = {"type": "audio" if audio else "text", **{k: "" for k in part if k != "type"}}
        await self._responder.event(
            "response.content_part.added", **ids, content_index=0, part=wire_part
        )
        item["content"] = [part]
        if audio:
            self._responder.open_audio(item["id"])
        return _Message(item, part, ids, audio)

    async def _say(self, message: _Message, sentence: str) -> None:
        """Speak one sentence: its audio in paced chunks, each with its share of the words."""
        output = self._run.session["audio"]["output"]
        pcm = await self._run.race(
            asyncio.to_thread(
                speak, sentence, output["voice"], output["speed"], self._responder.tts_engine
            )
        )
        pieces = chunk(pcm, AUDIO_CHUNK_MS) or [b""]
        words = transcript_pieces(sentence, len(pieces))
        if message.part["transcript"]:
            words[0] = " " + words[0]
        for piece, delta in zip(pieces, words, strict=True):
            if self._responder.pacing:
                # Keep at most PACING_LEAD_MS ahead of a player that started with the first chunk
                # and stalled whenever it ran dry (the model may pause between sentences).
                await self._run.wait(message.play_end - time.monotonic() - PACING_LEAD_MS / 1000)
            self._run.check()
            if delta:
                message.part["transcript"] += delta
                await self._responder.event(
                    "response.output_audio_transcript.delta",
                    **message.ids,
                    content_index=0,
                    delta=delta,
                )
            if piece:
                await self._responder.audio_delta(message.ids, piece)
                message.play_end = max(message.play_end, time.monotonic()) + (
                    duration_ms(piece) / 1000
                )

    async def _end_message(self) -> None:
        message, self._message = self._message, None
        if message is None:
            return
        if message.audio and message.unspoken.strip():
            await self._say(message, message.unspoken.strip())
        complete = self._finish_reason != "length"
        await self._finish(message, "completed" if complete else "incomplete")

    async def _finish(self, message: _Message, status: str) -> None:
        message.item["status"] = status
        await self._responder.finish_part(
            self._run, message.ids, message.item, message.part, message.audio
        )

    # -- tool calls --------------------------------------------------------------------------

    async def _call_delta(self, delta: ToolCallDelta, turn: PolicyInput) -> None:
        call = self._calls.get(delta.index)
        if call is None:
            await self._end_message()  # text after the calls opens a new message
            name = delta.name or ""
            label = mcp_label(CallTool(name, {}), turn.tools) if name else None
            call = self._calls[delta.index] = _Call(name, label=label)
            if label is None:
                await self._open_call(call)
        elif delta.name and not call.name:
            call.name = delta.name
        if delta.arguments:
            call.arguments += delta.arguments
            if call.item is not None:
                await self._responder.event(
                    "response.function_call_arguments.delta",
                    **call.ids,
                    call_id=call.item["call_id"],
                    delta=delta.arguments,
                )

    async def _open_call(self, call: _Call) -> None:
        call.item = {
            "id": new_id("item"),
            "object": "realtime.item",
            "type": "function_call",
            "status": "in_progress",
            "name": call.name,
            "call_id": new_id("call"),
            "arguments": "",
        }
        index = await self._responder.open_item(self._run, call.item)
        call.ids = {"response_id": self._run.id, "item_id": call.item["id"], "output_index": index}

    async def _end_calls(self) -> None:
        calls = [self._calls[index] for index in sorted(self._calls)]
        parsed = [parse_arguments(call.name, call.arguments) for call in calls]  # all or none
        for call, arguments in zip(calls, parsed, strict=True):
            if call.item is None:
                await self._responder.mcp_reply(
                    self._run, CallTool(call.name, arguments), str(call.label)
                )
                continue
            call.item.update(name=call.name, arguments=call.arguments, status="completed")
            await self._responder.event(
                "response.function_call_arguments.done",
                **call.ids,
                call_id=call.item["call_id"],
                name=call.name,
                arguments=call.arguments,
            )
            await self._responder.close_item(self._run, call.item, call.ids["output_index"])
            call.item = None
        self._calls.clear()

    async def _abandon(self) -> None:
        """End every open item ``incomplete`` (no arguments ``done``: no tool runs)."""
        if self._message is not None:
            message, self._message = self._message, None
            await self._finish(message, "incomplete")
        for call in self._calls.values():
            if call.item is not None:
                call.item.update(arguments=call.arguments, status="incomplete")
                await self._responder.close_item(self._run, call.item, call.ids["output_index"])
        self._calls.clear()


async def _read(deltas: AsyncGenerator[ChatDelta, None], queue: asyncio.Queue[Any]) -> None:
    """Move the model's deltas into ``queue``; a failure goes in as an :class:`LlmError`."""
    try:
        async for delta in deltas:
            queue.put_nowait(delta)
    except LlmError as exc:
        queue.put_nowait(exc)
    except Exception as exc:  # a bug here must fail the response, not hang it
        queue.put_nowait(LlmError("llm_error", f"{type(exc).__name__}: {exc}"))
    else:
        queue.put_nowait(_END)
    finally:
        await deltas.aclose()
