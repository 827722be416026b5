"""One response of the local server: ask the policy, then stream its reply as GA server events.

A reply is either spoken/written text (an assistant message), a function call, or a call of a
hosted MCP tool, which the server makes itself (see :mod:`rtnb.local.mcp.steps`). Streaming can
be cancelled at any point (``response.cancel`` or barge-in); the items then end ``incomplete``
and ``response.done`` reports ``cancelled`` with the reason. Speech streams sentence by
sentence in 100 ms audio chunks, each preceded by a transcript delta with the words it speaks.
"""

from __future__ import annotations

import asyncio
import copy
import inspect
import json
import time
from typing import Any

from rtnb.local.conversation import ConversationItems, Item
from rtnb.local.mcp.steps import McpSteps, mcp_label
from rtnb.local.mcp.tools import McpServers
from rtnb.local.policy.chat import ChatPolicy
from rtnb.local.policy.chat_responder import ChatReply
from rtnb.local.policy.deterministic import CallTool, Policy, PolicyInput, Reply, Say
from rtnb.local.response_run import (
    AUDIO_CHUNK_MS,
    PACING_LEAD_MS,
    ResponseCancelled,
    ResponseEnded,
    ResponseRun,
    assistant_message,
    part_text,
    response_object,
    transcript_pieces,
)
from rtnb.local.speech.tts import synthesize_sentences
from rtnb.protocol.audio import chunk, duration_ms, encode_audio
from rtnb.protocol.events import new_id
from rtnb.transport.server import Send

__all__ = ["Responder"]


class Responder:
    """Runs responses for one connection: policy call, then item events on the wire."""

    def __init__(
        self,
        send: Send,
        conversation: ConversationItems,
        policy: Policy,
        *,
        realtime_pacing: bool = True,
        mcp: McpServers | None = None,
        tts_engine: str = "auto",
    ) -> None:
        self._send = send
        self.tts_engine = tts_engine
        self._mcp = McpSteps(self, mcp)
        self._conversation = conversation
        self._policy = policy
        self._pacing = realtime_pacing
        # Milliseconds of audio streamed for each assistant item (for truncation checks); only
        # this object writes it.
        self._audio_ms: dict[str, float] = {}

    @property
    def pacing(self) -> bool:
        """Whether audio is paced like a live voice (``realtime_pacing``)."""
        return self._pacing

    def audio_length(self, item_id: str) -> float | None:
        """Milliseconds of audio the item has (after truncation), ``None`` if it has no audio."""
        return self._audio_ms.get(item_id)

    def open_audio(self, item_id: str) -> None:
        """Start counting the audio of an assistant item."""
        self._audio_ms[item_id] = 0.0

    async def audio_delta(self, ids: dict[str, Any], pcm: bytes) -> None:
        """Send one ``response.output_audio.delta`` and count its audio."""
        await self.event(
            "response.output_audio.delta", **ids, content_index=0, delta=encode_audio(pcm)
        )
        self._audio_ms[ids["item_id"]] += duration_ms(pcm)

    def truncate_audio(self, item_id: str, audio_end_ms: float) -> None:
        """The item's audio now ends at ``audio_end_ms`` (``conversation.item.truncate``)."""
        self._audio_ms[item_id] = float(audio_end_ms)

    def forget_audio(self, item_id: str) -> None:
        """The item was deleted."""
        self._audio_ms.pop(item_id, None)

    async def mcp_reply(self, run: ResponseRun, reply: CallTool, label: str) -> None:
        """Answer the policy's call of a hosted MCP tool: ask for approval, or run it."""
        await self._mcp.reply(run, reply, label)

    async def run(self, run: ResponseRun, turn: PolicyInput) -> None:
        """Stream one response from ``response.created`` to ``response.done``."""
        await self._send(
            {
                "type": "response.created",
                "event_id": new_id("event"),
                "response": response_object(run, "in_progress"),
            }
        )
        try:
            turn = await self._mcp.offer_tools(run, turn)
            if isinstance(self._policy, ChatPolicy):
                await self._chat(run, turn, self._policy)
            elif not await self._mcp.run_approved(run, turn):
                reply = await self._ask(run, turn)
                label = mcp_label(reply, turn.tools) if isinstance(reply, CallTool) else None
                if isinstance(reply, Say):
                    await self._message(run, reply.text)
                elif label is not None:
                    await self.mcp_reply(run, reply, label)
                else:
                    await self._function_call(run, reply)
        except ResponseCancelled as cancelled:
            details = {"type": "cancelled", "reason": cancelled.reason}
            await self._done(run, "cancelled", details)
        except ResponseEnded as ended:
            await self._done(run, ended.status, ended.details)
        except Exception as exc:  # a policy or TTS failure ends the response, not the connection
            error = {"type": "server_error", "code": "policy_error", "message": str(exc)}
            await self._done(run, "failed", {"type": "failed", "error": error})
        else:
            await self._done(run, "completed", None)

    async def _chat(self, run: ResponseRun, turn: PolicyInput, policy: ChatPolicy) -> None:
        """Stream the answer of a chat model (an approved MCP call runs first, as above)."""
        if not await self._mcp.run_approved(run, turn):
            await ChatReply(self, policy, run).stream(turn)

    async def _ask(self, run: ResponseRun, turn: PolicyInput) -> Reply:
        result = self._policy(turn)
        if inspect.isawaitable(result):
            result = await result
        run.check()
        if not isinstance(result, Say | CallTool):
            raise TypeError(f"policy returned {type(result).__name__}, expected Say or CallTool")
        return result

    async def open_item(self, run: ResponseRun, item: Item) -> int:
        output_index = len(run.output)
        run.output.append(item)
        previous = None
        if run.in_conversation:
            previous = self._conversation.add(item)
        await self.event(
            "response.output_item.added",
            response_id=run.id,
            output_index=output_index,
            item=copy.deepcopy(item),
        )
        if run.in_conversation:
            await self.event(
                "conversation.item.added", previous_item_id=previous, item=copy.deepcopy(item)
            )
        return output_index

    async def close_item(self, run: ResponseRun, item: Item, output_index: int) -> None:
        await self.event(
            "response.output_item.done",
            response_id=run.id,
            output_index=output_index,
            item=copy.deepcopy(item),
        )
        if run.in_conversation:
            await self.event(
                "conversation.item.done",
                previous_item_id=self._conversation.previous_id(item["id"]),
                item=copy.deepcopy(item),
            )

    async def _function_call(self, run: ResponseRun, reply: CallTool) -> None:
        arguments = json.dumps(reply.arguments)
        item: Item = {
            "id": new_id("item"),
            "object": "realtime.item",
            "type": "function_call",
            "status": "in_progress",
            "name": reply.name,
            "call_id": new_id("call"),
            "arguments": "",
        }
        index = await self.open_item(run, item)
        ids = {"response_id": run.id, "item_id": item["id"], "output_index": index}
        await self.event(
            "response.function_call_arguments.delta",
            **ids,
            call_id=item["call_id"],
            delta=arguments,
        )
        item.update(arguments=arguments, status="completed")
        await self.event(
            "response.function_call_arguments.done",
            **ids,
            call_id=item["call_id"],
            name=reply.name,
            arguments=arguments,
        )
        await self.close_item(run, item, index)

    async def _message(self, run: ResponseRun, text: str) -> None:
        audio_out = run.session["output_modalities"] == ["audio"]
        item, part = assistant_message(audio_out)
        index = await self.open_item(run, item)
        ids = {"response_id": run.id, "item_id": item["id"], "output_index": index}
        wire_part = {"type": "audio" if audio_out else "text", **part_text(part)}
        await self.event("response.content_part.added", **ids, content_index=0, part=wire_part)
        item["content"] = [part]
        try:
            if audio_out:
                await self._stream_audio(run, ids, part, text)
            else:
                part["text"] = text
                await self.event("response.output_text.delta", **ids, content_index=0, delta=text)
        except ResponseCancelled:
            item["status"] = "incomplete"
            await self.finish_part(run, ids, item, part, audio_out)
            raise
        item["status"] = "completed"
        await self.finish_part(run, ids, item, part, audio_out)

    async def _stream_audio(
        self, run: ResponseRun, ids: dict[str, Any], part: dict[str, Any], text: str
    ) -> None:
        output = run.session["audio"]["output"]
        item_id = ids["item_id"]
        self.open_audio(item_id)
        started = time.monotonic()
        sentences = synthesize_sentences(
            text, voice=output["voice"], speed=output["speed"], engine=self.tts_engine
        )
        while True:
            spoken = await asyncio.to_thread(next, sentences, None)
            run.check()
            if spoken is None:
                break
            sentence, pcm = spoken
            pieces = chunk(pcm, AUDIO_CHUNK_MS)
            words = transcript_pieces(sentence, len(pieces))
            if part["transcript"]:
                words[0] = " " + words[0]
            for piece, delta in zip(pieces, words, strict=True):
                if self._pacing:
                    ahead_ms = self._audio_ms[item_id] - (time.monotonic() - started) * 1000
                    await run.wait((ahead_ms - PACING_LEAD_MS) / 1000)
                run.check()
                if delta:
                    part["transcript"] += delta
                    await self.event(
                        "response.output_audio_transcript.delta",
                        **ids,
                        content_index=0,
                        delta=delta,
                    )
                await self.audio_delta(ids, piece)

    async def finish_part(
        self,
        run: ResponseRun,
        ids: dict[str, Any],
        item: Item,
        part: dict[str, Any],
        audio_out: bool,
    ) -> None:
        if audio_out:
            await self.event("response.output_audio.done", **ids, content_index=0)
            await self.event(
                "response.output_audio_transcript.done",
                **ids,
                content_index=0,
                transcript=part["transcript"],
            )
        else:
            await self.event("response.output_text.done", **ids, content_index=0, text=part["text"])
        wire_part = {"type": "audio" if audio_out else "text", **part_text(part)}
        await self.event("response.content_part.done", **ids, content_index=0, part=wire_part)
        await self.close_item(run, item, ids["output_index"])

    async def _done(self, run: ResponseRun, status: str, details: dict[str, Any] | None) -> None:
        await self.event("response.done", response=response_object(run, status, details))

    async def event(self, kind: str, **fields: Any) -> None:
        await self._send({"type": kind, "event_id": new_id("event"), **fields})
