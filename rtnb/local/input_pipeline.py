"""The input-audio pipeline of one local-server connection: user audio in, turn events out.

``input_audio_buffer.append`` audio goes through :class:`~rtnb.local.input_audio.InputAudio`
(buffer, server VAD, speculative transcription); this module turns what it reports into the
server events of the Realtime API, in the API's order:

- ``speech_started`` (cancelling the active response when ``interrupt_response`` asks for it),
  ``speech_stopped``, ``timeout_triggered``;
- a commit (by VAD or ``input_audio_buffer.commit``): ``input_audio_buffer.committed`` and the
  user audio item (``conversation.item.added``/``.done``);
- the transcripts, one turn after another in commit order: the words go into the item (the
  policy needs them) and ``conversation.item.input_audio_transcription.*`` events go out when
  transcription is configured; then, if the turn asked for one, a response starts.

It needs no socket: events go to ``send``, background work to ``spawn`` and the response side is
reached through two callbacks (see :class:`InputPipeline`).
"""

from __future__ import annotations

import asyncio
import copy
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from rtnb.local.conversation import ConversationItems, Item
from rtnb.local.input_audio import InputAudio
from rtnb.local.policy.deterministic import item_text
from rtnb.local.session_config import Session, vocabulary_texts
from rtnb.local.speech.vad import SpeechStarted, SpeechStopped, VadEvent
from rtnb.protocol.audio import AudioFormatError, decode_audio, duration_ms
from rtnb.protocol.events import Event, ProtocolError, new_id
from rtnb.transport.server import Send, Spawn

__all__ = [
    "MAX_APPEND_CHARS",
    "MIN_COMMIT_MS",
    "RECENT_TEXTS",
    "InputPipeline",
    "recogniser_settings",
]

log = logging.getLogger("rtnb.server")


MAX_APPEND_CHARS = 15 * 1024 * 1024  # the OpenAI API's limit for one append event
MIN_COMMIT_MS = 100
RECENT_TEXTS = 20  # recent message texts added to the recogniser's vocabulary


def recogniser_settings(session: Session) -> tuple[list[str], Any]:
    """What of a session the recogniser depends on (its vocabulary needs refreshing if it
    changes)."""
    return vocabulary_texts(session), session["audio"]["input"].get("transcription")


class InputPipeline:
    """Input audio of one connection, from ``input_audio_buffer.*`` events to user items.

    ``session`` returns the current session config; ``interrupt(reason)`` cancels the active
    response, if any (barge-in); ``respond()`` starts a response once the active one is over;
    ``extra_vocabulary()`` gives more words the recogniser should expect (MCP tool names).
    """

    def __init__(
        self,
        send: Send,
        audio: InputAudio,
        conversation: ConversationItems,
        session: Callable[[], Session],
        *,
        spawn: Spawn,
        interrupt: Callable[[str], None],
        respond: Callable[[], Awaitable[None]],
        extra_vocabulary: Callable[[], list[str]] = list,
    ) -> None:
        self._send = send
        self.audio = audio
        self._conversation = conversation
        self._session = session
        self._spawn = spawn
        self._interrupt = interrupt
        self._respond = respond
        self._extra_vocabulary = extra_vocabulary
        self._speech_item_id: str | None = None
        self._turns: asyncio.Queue[tuple[Item, bytes, asyncio.Future[str]] | None] = asyncio.Queue()
        # Committed user audio whose words are not in its item yet (done: they are, or failed).
        self._untranscribed: deque[asyncio.Future[None]] = deque()

    def start(self) -> None:
        """Set up turn detection, start the turn worker and prepare the recogniser."""
        self.restart_turn_detection()
        self._spawn(self._turn_worker())
        self.refresh_vocabulary()

    def restart_turn_detection(self) -> None:
        """Use the session's turn detection from now on (drops the buffered audio)."""
        self.audio.configure(self._session()["audio"]["input"]["turn_detection"])
        self._speech_item_id = None

    def refresh_vocabulary(self) -> None:
        """Give the recogniser the session's words now; it prepares for them off the hot path
        (pocketsphinx rebuilds its language model)."""
        transcription = self._session()["audio"]["input"].get("transcription") or {}
        self.audio.prompt = "\n".join(self.vocabulary())
        self.audio.language = transcription.get("language") or ""
        self._spawn(self.audio.prepare())

    def vocabulary(self) -> list[str]:
        """Texts the recogniser should expect: session, MCP tools, recent messages, prompt."""
        session = self._session()
        recent = [item_text(i) for i in self._conversation.items[-RECENT_TEXTS:]]
        transcription = session["audio"]["input"].get("transcription") or {}
        prompt = transcription.get("prompt") or ""
        return [
            *vocabulary_texts(session),
            *self._extra_vocabulary(),
            *(t for t in recent if t),
            *([prompt] if prompt else []),
        ]

    def pending_transcripts(self) -> list[asyncio.Future[None]]:
        """Futures done when the audio committed so far has its words in its item."""
        return list(self._untranscribed)

    # -- client events -----------------------------------------------------------------------

    async def append(self, event: Event) -> None:
        """``input_audio_buffer.append``: check and decode the audio, then :meth:`feed` it."""
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
        await self.feed(pcm)

    async def feed(self, pcm: bytes) -> None:
        """Add PCM16 24 kHz mono audio; send the turn events it causes."""
        for vad_event in self.audio.append(pcm):
            await self._on_vad(vad_event)

    async def commit(self, event: Event) -> None:
        """``input_audio_buffer.commit``: the buffered audio becomes a user item."""
        pcm = self.audio.commit()
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

    async def clear(self, event: Event) -> None:
        """``input_audio_buffer.clear``: drop the buffered audio and the turn in progress."""
        self.audio.clear()
        self._speech_item_id = None
        await self._event("input_audio_buffer.cleared")

    # -- turns -------------------------------------------------------------------------------

    @property
    def _turn_detection(self) -> dict[str, Any]:
        return self._session()["audio"]["input"]["turn_detection"] or {}

    @property
    def _transcription_on(self) -> bool:
        return self._session()["audio"]["input"].get("transcription") is not None

    async def _on_vad(self, vad_event: VadEvent) -> None:
        if isinstance(vad_event, SpeechStarted):
            self._speech_item_id = new_id("item")
            await self._event(
                "input_audio_buffer.speech_started",
                audio_start_ms=vad_event.audio_start_ms,
                item_id=self._speech_item_id,
            )
            if self._turn_detection.get("interrupt_response", True):
                self._interrupt("turn_detected")
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
        previous = self._conversation.add(item)
        await self._event(
            "input_audio_buffer.committed", item_id=item_id, previous_item_id=previous
        )
        await self._event(
            "conversation.item.added", previous_item_id=previous, item=copy.deepcopy(item)
        )
        await self._event(
            "conversation.item.done", previous_item_id=previous, item=copy.deepcopy(item)
        )
        self._turns.put_nowait((item, pcm, self.audio.transcript(pcm)))
        self._untranscribed.append(asyncio.get_running_loop().create_future())
        if create_response:
            self._turns.put_nowait(None)  # marker: respond once the transcript is in

    async def _turn_worker(self) -> None:
        """Transcribe committed audio in order; start a response where one was asked for."""
        while True:
            turn = await self._turns.get()
            if turn is None:
                await self._respond()
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
        if self._transcription_on and item["id"] in self._conversation:
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

    async def _event(self, kind: str, **fields: Any) -> None:
        await self._send({"type": kind, "event_id": new_id("event"), **fields})
