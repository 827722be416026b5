"""One client connection to the local server: the Realtime protocol state machine.

It holds the session config, the conversation, the input audio buffer with server VAD, the
speech recogniser and the active response, and turns each client event into the server events
the OpenAI Realtime API would send. Invalid client events get an ``error`` event naming the
field; nothing a client sends ends the connection. The session's hosted MCP servers are reached
through :class:`~rtnb.local.mcp_tools.McpServers` (one MCP client per server, closed with the
connection).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from rtnb.local.conversation import Conversation, Item, validate_item
from rtnb.local.input_audio import InputAudio
from rtnb.local.mcp_tools import McpServers
from rtnb.local.policy import Policy, PolicyInput, default_policy, item_text
from rtnb.local.responder import Responder, ResponseRun
from rtnb.local.session_config import (
    Session,
    apply_update,
    default_session,
    reported_session,
    vocabulary_texts,
)
from rtnb.local.stt import SpeechToText
from rtnb.local.vad import IdleTimeout, SpeechStarted, SpeechStopped
from rtnb.protocol.audio import AudioFormatError, decode_audio, duration_ms
from rtnb.protocol.events import Event, ProtocolError, decode_client_event, error_event, new_id

log = logging.getLogger("rtnb.server")

Send = Callable[[Event], Awaitable[None]]

MAX_APPEND_CHARS = 15 * 1024 * 1024  # the OpenAI API's limit for one append event
MIN_COMMIT_MS = 100
RECENT_TEXTS = 20  # recent message texts added to the recogniser's vocabulary


class RealtimeConnection:
    """Protocol logic for one WebSocket connection (see :mod:`rtnb.transport.server`)."""

    def __init__(
        self,
        send: Send,
        *,
        model: str | None = None,
        policy: Policy | None = None,
        realtime_pacing: bool = True,
        stt: SpeechToText | None = None,
        vad_engine: str = "auto",
        tts_engine: str = "auto",
    ) -> None:
        self._send = send
        self.session: Session = default_session(model)
        self.conversation = Conversation()
        self._tasks: set[asyncio.Task[Any]] = set()
        self.mcp = McpServers(send, self.conversation, self._spawn, on_listed=self._mcp_listed)
        self._responder = Responder(
            send,
            self.conversation,
            policy or default_policy,
            realtime_pacing=realtime_pacing,
            mcp=self.mcp,
            tts_engine=tts_engine,
        )
        if stt is None:
            from rtnb.local.stt import load_stt

            stt = load_stt()
        self.input_audio = InputAudio(stt, vad_engine=vad_engine)
        self._speech_item_id: str | None = None
        self._response: ResponseRun | None = None
        self._response_task: asyncio.Task[None] | None = None
        self._turns: asyncio.Queue[tuple[Item, bytes, asyncio.Future[str]] | None] = asyncio.Queue()
        # Committed user audio whose words are not in its item yet (done: they are, or failed).
        self._untranscribed: deque[asyncio.Future[None]] = deque()
        self._handlers: dict[str, Callable[[Event], Awaitable[None]]] = {
            "session.update": self._session_update,
            "input_audio_buffer.append": self._append,
            "input_audio_buffer.commit": self._commit,
            "input_audio_buffer.clear": self._clear,
            "conversation.item.create": self._item_create,
            "conversation.item.delete": self._item_delete,
            "conversation.item.retrieve": self._item_retrieve,
            "conversation.item.truncate": self._item_truncate,
            "response.create": self._response_create,
            "response.cancel": self._response_cancel,
            "output_audio_buffer.clear": self._output_audio_clear,
        }

    # -- connection life ---------------------------------------------------------------------

    async def start(self) -> None:
        """Send ``session.created`` and start the turn worker."""
        self._configure_vad()
        self._spawn(self._turn_worker())
        self._refresh_soon()
        await self._event("session.created", session=copy.deepcopy(self.session))

    async def handle(self, message: str | bytes) -> None:
        """Handle one client message; any problem becomes an ``error`` event."""
        event: Event | None = None
        try:
            if isinstance(message, bytes):
                raise ProtocolError("binary frames are not supported; send JSON text events")
            event = decode_client_event(message)
            await self._handlers[event["type"]](event)
        except ProtocolError as exc:
            if exc.event_id is None and event is not None:
                exc.event_id = _client_event_id(event)
            await self._send(error_event(exc))
        except Exception as exc:  # a bug must not end the connection: report it as the API does
            log.exception("local server failed on a client event")
            failure = ProtocolError(
                f"the local server failed on this event: {type(exc).__name__}: {exc}",
                code="server_error",
                event_id=_client_event_id(event) if event is not None else None,
            )
            await self._send(error_event(failure, error_type="server_error"))

    async def aclose(self) -> None:
        """Stop the response and background work."""
        if self._response is not None:
            self._response.cancel("client_cancelled")
        await self.mcp.aclose()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    def _spawn(self, coro: Awaitable[Any]) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("local server task failed", exc_info=task.exception())

    async def _event(self, kind: str, **fields: Any) -> None:
        await self._send({"type": kind, "event_id": new_id("event"), **fields})

    # -- session -----------------------------------------------------------------------------

    async def _session_update(self, event: Event) -> None:
        before = self.session
        self.session = apply_update(self.session, event["session"])
        turn_detection = self.session["audio"]["input"]["turn_detection"]
        if turn_detection != before["audio"]["input"]["turn_detection"]:
            self._configure_vad()
        await self._event("session.updated", session=reported_session(self.session))
        self.mcp.configure(self.session["tools"])
        if self._recogniser_settings(self.session) != self._recogniser_settings(before):
            self._refresh_soon()

    def _mcp_listed(self) -> None:
        """An MCP server listed its tools: teach the recogniser their words."""
        self._refresh_soon()

    def _refresh_soon(self) -> None:
        """Give the recogniser the session's words now; it prepares for them off the hot path
        (pocketsphinx rebuilds its language model)."""
        transcription = self.session["audio"]["input"].get("transcription") or {}
        self.input_audio.prompt = "\n".join(self._vocabulary())
        self.input_audio.language = transcription.get("language") or ""
        self._spawn(self.input_audio.prepare())

    def _configure_vad(self) -> None:
        self.input_audio.configure(self.session["audio"]["input"]["turn_detection"])
        self._speech_item_id = None

    @property
    def _turn_detection(self) -> dict[str, Any]:
        return self.session["audio"]["input"]["turn_detection"] or {}

    # -- input audio -------------------------------------------------------------------------

    async def _append(self, event: Event) -> None:
        audio = event["audio"]
        if not isinstance(audio, str):
            raise ProtocolError("'audio' must be base64 text", param="audio")
        if len(audio) > MAX_APPEND_CHARS:
            raise ProtocolError(
                f"'audio' is larger than {MAX_APPEND_CHARS} characters; send smaller chunks",
                param="audio",
            )
        try:
            pcm = decode_audio(audio)
        except AudioFormatError as exc:
            raise ProtocolError(str(exc), param="audio") from None
        for vad_event in self.input_audio.append(pcm):
            await self._on_vad(vad_event)

    async def _on_vad(self, vad_event: SpeechStarted | SpeechStopped | IdleTimeout) -> None:
        if isinstance(vad_event, SpeechStarted):
            self._speech_item_id = new_id("item")
            await self._event(
                "input_audio_buffer.speech_started",
                audio_start_ms=vad_event.audio_start_ms,
                item_id=self._speech_item_id,
            )
            if self._response is not None and self._turn_detection.get("interrupt_response", True):
                self._response.cancel("turn_detected")
        elif isinstance(vad_event, SpeechStopped):
            item_id = self._speech_item_id or new_id("item")
            self._speech_item_id = None
            await self._event(
                "input_audio_buffer.speech_stopped",
                audio_end_ms=vad_event.audio_end_ms,
                item_id=item_id,
            )
            create = bool(self._turn_detection.get("create_response", True))
            await self._commit_audio(vad_event.audio, item_id, create_response=create)
        else:
            await self._event(
                "input_audio_buffer.timeout_triggered",
                audio_start_ms=vad_event.audio_start_ms,
                audio_end_ms=vad_event.audio_end_ms,
                item_id=new_id("item"),
            )

    async def _commit(self, event: Event) -> None:
        pcm = self.input_audio.commit()
        if duration_ms(pcm) < MIN_COMMIT_MS:
            raise ProtocolError(
                f"buffer too small: expected at least {MIN_COMMIT_MS} ms of audio, "
                f"got {duration_ms(pcm):.0f} ms",
                code="input_audio_buffer_commit_empty",
                event_id=event.get("event_id"),
            )
        item_id = self._speech_item_id or new_id("item")
        self._speech_item_id = None
        await self._commit_audio(pcm, item_id, create_response=False)

    async def _commit_audio(self, pcm: bytes, item_id: str, *, create_response: bool) -> None:
        """Add the user audio item and queue its transcription (and response)."""
        item: Item = {
            "id": item_id,
            "object": "realtime.item",
            "type": "message",
            "role": "user",
            "status": "completed",
            "content": [{"type": "input_audio", "transcript": None}],
        }
        previous = self.conversation.add(item)
        await self._event(
            "input_audio_buffer.committed", item_id=item_id, previous_item_id=previous
        )
        await self._event(
            "conversation.item.added", previous_item_id=previous, item=copy.deepcopy(item)
        )
        await self._event(
            "conversation.item.done", previous_item_id=previous, item=copy.deepcopy(item)
        )
        self._turns.put_nowait((item, pcm, self.input_audio.transcript(pcm)))
        self._untranscribed.append(asyncio.get_running_loop().create_future())
        if create_response:
            self._turns.put_nowait(None)  # marker: respond once the transcript is in

    async def _clear(self, event: Event) -> None:
        self.input_audio.clear()
        self._speech_item_id = None
        await self._event("input_audio_buffer.cleared")

    async def _turn_worker(self) -> None:
        """Transcribe committed audio in order; start a response where one was asked for."""
        while True:
            turn = await self._turns.get()
            if turn is None:
                if self._response_task is not None and not self._response_task.done():
                    # A barge-in cancelled it, or (interrupt_response off) it finishes first.
                    await asyncio.wait({self._response_task})
                await self._start_response({})
                continue
            await self._transcribe(*turn)

    async def _transcribe(self, item: Item, pcm: bytes, transcript: asyncio.Future[str]) -> None:
        try:
            await self._transcribe_turn(item, pcm, transcript)
        finally:
            # Turns are transcribed in commit order: the oldest waiting one is this one.
            if self._untranscribed:
                self._untranscribed.popleft().set_result(None)

    async def _transcribe_turn(
        self, item: Item, pcm: bytes, transcript: asyncio.Future[str]
    ) -> None:
        try:
            text = await transcript
        except Exception as exc:
            log.exception("transcription failed")
            if self._transcription_on:
                await self._event(
                    "conversation.item.input_audio_transcription.failed",
                    item_id=item["id"],
                    content_index=0,
                    error={"type": "server_error", "code": "stt_error", "message": str(exc)},
                )
            return
        # The policy needs the words even when the client did not ask for transcription events.
        item["content"][0]["transcript"] = text
        if self._transcription_on and item["id"] in self.conversation:
            await self._event(
                "conversation.item.input_audio_transcription.delta",
                item_id=item["id"],
                content_index=0,
                delta=text,
            )
            await self._event(
                "conversation.item.input_audio_transcription.completed",
                item_id=item["id"],
                content_index=0,
                transcript=text,
                usage={"type": "duration", "seconds": round(duration_ms(pcm) / 1000, 3)},
            )

    @property
    def _transcription_on(self) -> bool:
        return self.session["audio"]["input"].get("transcription") is not None

    @staticmethod
    def _recogniser_settings(session: Session) -> tuple[list[str], Any]:
        return vocabulary_texts(session), session["audio"]["input"].get("transcription")

    def _vocabulary(self) -> list[str]:
        recent = [item_text(i) for i in self.conversation.items[-RECENT_TEXTS:]]
        transcription = self.session["audio"]["input"].get("transcription") or {}
        prompt = transcription.get("prompt") or ""
        return [
            *vocabulary_texts(self.session),
            *self.mcp.vocabulary(),
            *(t for t in recent if t),
            *([prompt] if prompt else []),
        ]

    # -- conversation items ------------------------------------------------------------------

    async def _item_create(self, event: Event) -> None:
        item = copy.deepcopy(validate_item(event["item"]))
        item.setdefault("id", new_id("item"))
        item.setdefault("object", "realtime.item")
        item["status"] = "completed"
        previous_item_id = event.get("previous_item_id")
        if previous_item_id is not None and not isinstance(previous_item_id, str):
            raise ProtocolError("'previous_item_id' must be a string", param="previous_item_id")
        request_id = item.get("approval_request_id")
        if item["type"] == "mcp_approval_response" and (
            request_id not in self.conversation
            or self.conversation.get(request_id).get("type") != "mcp_approval_request"
        ):
            raise ProtocolError(
                f"no mcp_approval_request item with id {request_id!r} to answer",
                param="item.approval_request_id",
                event_id=event.get("event_id"),
            )
        try:
            previous = self.conversation.add(item, previous_item_id)
        except ProtocolError as exc:
            exc.event_id = event.get("event_id")
            raise
        await self._event(
            "conversation.item.added", previous_item_id=previous, item=copy.deepcopy(item)
        )
        await self._event(
            "conversation.item.done", previous_item_id=previous, item=copy.deepcopy(item)
        )

    async def _item_delete(self, event: Event) -> None:
        item_id = self._item_id(event)
        self.conversation.delete(item_id)
        self._responder.forget_audio(item_id)
        await self._event("conversation.item.deleted", item_id=item_id)

    async def _item_retrieve(self, event: Event) -> None:
        item = self.conversation.get(self._item_id(event))
        await self._event("conversation.item.retrieved", item=copy.deepcopy(item))

    async def _item_truncate(self, event: Event) -> None:
        item_id = self._item_id(event)
        item = self.conversation.get(item_id)
        content_index, audio_end_ms = event["content_index"], event["audio_end_ms"]
        audio_ms = self._responder.audio_length(item_id)
        if item.get("role") != "assistant" or audio_ms is None:
            raise ProtocolError(
                "only assistant messages with audio can be truncated", param="item_id"
            )
        if content_index != 0:
            raise ProtocolError("content_index must be 0", param="content_index")
        if not isinstance(audio_end_ms, int) or not 0 <= audio_end_ms <= audio_ms + 1:
            raise ProtocolError(
                f"audio_end_ms must be from 0 to the item's audio length ({audio_ms:.0f} ms)",
                param="audio_end_ms",
            )
        # As on the OpenAI service, the transcript goes: text the user never heard is dropped.
        for part in item["content"]:
            if "transcript" in part:
                part["transcript"] = ""
        self._responder.truncate_audio(item_id, audio_end_ms)
        await self._event(
            "conversation.item.truncated",
            item_id=item_id,
            content_index=0,
            audio_end_ms=audio_end_ms,
        )

    @staticmethod
    def _item_id(event: Event) -> str:
        item_id = event["item_id"]
        if not isinstance(item_id, str):
            raise ProtocolError("'item_id' must be a string", param="item_id")
        return item_id

    # -- responses ---------------------------------------------------------------------------

    async def _response_create(self, event: Event) -> None:
        if self._response is not None:
            raise ProtocolError(
                f"Conversation already has an active response in progress: {self._response.id}. "
                "Wait until the response is finished before creating a new one.",
                code="conversation_already_has_active_response",
                event_id=event.get("event_id"),
            )
        overrides = event.get("response") or {}
        if not isinstance(overrides, dict):
            raise ProtocolError("'response' must be an object", param="response")
        # The policy reads words: audio committed just before (turn detection off, or a clip
        # sent as one turn) is answered once its transcript is in its item.
        await self._start_response(overrides, after=list(self._untranscribed))

    async def _start_response(
        self, overrides: dict[str, Any], *, after: list[asyncio.Future[None]] | None = None
    ) -> None:
        session = self.session
        if overrides:
            allowed = {
                k: overrides[k]
                for k in ("instructions", "tools", "output_modalities", "audio")
                if k in overrides
            }
            session = apply_update(session, allowed)
        in_conversation = overrides.get("conversation", "auto") != "none"
        tools = [] if session.get("tool_choice") == "none" else session["tools"]

        def policy_input() -> PolicyInput:
            items = overrides.get("input") if "input" in overrides else self.conversation.items
            return PolicyInput(
                items=copy.deepcopy(items),
                instructions=session["instructions"],
                tools=copy.deepcopy(tools),
            )

        run = ResponseRun(new_id("resp"), session, in_conversation=in_conversation)
        self._response = run
        self._response_task = self._spawn(self._run_response(run, policy_input, after or []))

    async def _run_response(
        self,
        run: ResponseRun,
        policy_input: Callable[[], PolicyInput],
        after: list[asyncio.Future[None]],
    ) -> None:
        try:
            if after:
                await asyncio.wait(after)
            await self._responder.run(run, policy_input())
        finally:
            if self._response is run:
                self._response = None

    async def _response_cancel(self, event: Event) -> None:
        run = self._response
        wanted = event.get("response_id")
        if run is None or (wanted is not None and wanted != run.id):
            raise ProtocolError(
                "Cancellation failed: no active response found",
                code="response_cancel_not_active",
                event_id=event.get("event_id"),
            )
        run.cancel("client_cancelled")

    async def _output_audio_clear(self, event: Event) -> None:
        raise ProtocolError(
            "output_audio_buffer.clear is for WebRTC and SIP connections; over WebSocket the "
            "client owns playback (stop it locally and send conversation.item.truncate)",
            code="unsupported_for_transport",
            param="type",
            event_id=event.get("event_id"),
        )


def _client_event_id(event: Event) -> str | None:
    event_id = event.get("event_id")
    return event_id if isinstance(event_id, str) else None
