"""The input audio of one local-server connection: buffer, server VAD and turn transcription.

Audio from ``input_audio_buffer.append`` goes either to the manual buffer (no turn detection)
or through :class:`~rtnb.local.speech.vad.ServerVad`, whose turn events
:class:`~rtnb.local.input_pipeline.InputPipeline` turns into server events.

Transcription is speculative: when the speaker pauses in a turn, the turn so far is transcribed
in a worker thread while the VAD waits out ``silence_duration_ms``. If the pause ends the turn,
its transcript is ready (or nearly) when ``speech_stopped`` is sent; if the speaker goes on, the
guess is dropped. This hides most of the recogniser's cost behind the silence that ends a turn.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass
from typing import Any

from rtnb.local.speech.stt import SpeechToText
from rtnb.local.speech.vad import ServerVad, VadConfig, VadEvent
from rtnb.protocol.audio import SAMPLE_RATE, duration_ms
from rtnb.protocol.events import ProtocolError

__all__ = ["MAX_BUFFER_MS", "InputAudio", "speculation_delay_ms"]

MAX_BUFFER_MS = 10 * 60 * 1000  # manual-commit input buffer cap


def speculation_delay_ms(silence_duration_ms: int) -> int:
    """Silence after which the turn so far is transcribed (a fifth of the turn-ending silence,
    60-200 ms: long enough to skip most gaps between words, short enough to finish early)."""
    return max(60, min(200, silence_duration_ms // 5))


@dataclass
class _Guess:
    audio: bytes
    transcript: asyncio.Future[str]
    valid: bool = True


class InputAudio:
    """Input audio buffer, turn detection and transcription for one connection."""

    def __init__(self, stt: SpeechToText, *, vad_engine: str = "auto") -> None:
        self.stt = stt
        self.vad: ServerVad | None = None
        self.prompt = ""
        self.language = ""
        self._vad_engine = vad_engine
        self._manual = bytearray()
        self._guess: _Guess | None = None
        self._speculate_ms = 0
        self._stt_lock = threading.Lock()  # pocketsphinx decoders are not thread-safe

    def configure(self, turn_detection: dict[str, Any] | None) -> None:
        """Start over with this turn detection (``None``: manual commits); drops buffered audio."""
        if turn_detection:
            config = VadConfig.from_turn_detection(turn_detection)
            self.vad = ServerVad(config, engine=self._vad_engine)
            self._speculate_ms = speculation_delay_ms(config.silence_duration_ms)
        else:
            self.vad = None
        self._manual.clear()
        self._guess = None

    def append(self, pcm: bytes) -> list[VadEvent]:
        """Add audio; returns the VAD's turn events (none without turn detection)."""
        if self.vad is None:
            if duration_ms(len(self._manual) + len(pcm)) > MAX_BUFFER_MS:
                raise ProtocolError(
                    "input audio buffer is full (10 minutes); commit or clear it",
                    code="input_audio_buffer_full",
                    param="audio",
                )
            self._manual += pcm
            return []
        events = self.vad.feed(pcm)
        self._speculate()
        return events

    def commit(self) -> bytes:
        """Take the buffered audio (a manual commit)."""
        pcm = self.vad.flush() if self.vad is not None else bytes(self._manual)
        self._manual.clear()
        self._guess = None
        return pcm

    def clear(self) -> None:
        """Drop the buffered audio and the turn in progress."""
        if self.vad is not None:
            self.vad.clear()
        self._manual.clear()
        self._guess = None

    def _speculate(self) -> None:
        vad = self.vad
        assert vad is not None
        if not vad.in_speech:
            return
        silence = vad.silence_ms
        if silence == 0:
            if self._guess is not None:
                self._guess.valid = False  # the speaker went on: the guess is incomplete
            return
        if silence < self._speculate_ms or (self._guess is not None and self._guess.valid):
            return
        audio = vad.turn_audio()
        self._guess = _Guess(audio, self._transcribe_in_thread(audio))

    def transcript(self, pcm: bytes) -> asyncio.Future[str]:
        """The transcript of a finished turn: the pause's guess when it covers all the speech,
        else a new transcription."""
        guess, self._guess = self._guess, None
        if guess is not None and guess.valid and pcm[: len(guess.audio)] == guess.audio:
            return guess.transcript
        return self._transcribe_in_thread(pcm)

    def _transcribe_in_thread(self, pcm: bytes) -> asyncio.Future[str]:
        prompt, language = self.prompt, self.language

        def run() -> str:
            with self._stt_lock:
                return self.stt.transcribe(pcm, SAMPLE_RATE, prompt, language)

        future = asyncio.ensure_future(asyncio.to_thread(run))
        future.add_done_callback(_retrieve_exception)
        return future

    async def prepare(self) -> None:
        """Let the engine get ready for the current prompt (off the event loop)."""
        prompt = self.prompt

        def run() -> None:
            with self._stt_lock:
                self.stt.prepare(prompt)

        await asyncio.to_thread(run)


def _retrieve_exception(future: asyncio.Future[str]) -> None:
    # A dropped guess may fail with nobody awaiting it; its error is not news.
    if not future.cancelled():
        future.exception()
