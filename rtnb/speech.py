"""Talk to a session without a microphone: :func:`speak` streams speech as a mic would.

The tutorials, the terminal demo and tests use it where no browser microphone is present: a
sentence is spoken by the local text-to-speech (in :data:`~rtnb.local.speech.tts.USER_VOICE`, the
voice the offline recogniser hears best), or a recorded WAV file or raw PCM16 is sent as it is, in
20 ms chunks through :meth:`RealtimeSession.send_audio`, followed by silence so that server
voice activity detection hears the end of the turn. It works on both backends (the OpenAI
Realtime API hears the synthetic voice too).

::

    await rtnb.speak(session, "What is the weather in Paris?")
    await rtnb.speak(session, Path("question.wav"))           # a recording (any rate, mono)
"""

from __future__ import annotations

import asyncio
import os
import wave
from pathlib import Path
from typing import Any

import numpy as np

from rtnb.protocol.audio import SAMPLE_RATE, bytes_for_ms, chunk, resample, to_bytes, to_int16

__all__ = ["read_wav", "speak"]

CHUNK_MS = 20
"""Size of each ``send_audio`` chunk, as a browser microphone sends them."""


def read_wav(path: str | os.PathLike[str]) -> bytes:
    """A 16-bit WAV file as PCM16 mono at 24 kHz (channels are mixed, the rate converted)."""
    with wave.open(str(path), "rb") as wav:
        if wav.getsampwidth() != 2:
            raise ValueError(f"{path}: expected 16-bit PCM, got {8 * wav.getsampwidth()}-bit")
        channels, rate = wav.getnchannels(), wav.getframerate()
        samples = to_int16(wav.readframes(wav.getnframes()))
    if channels > 1:
        samples = samples.reshape(-1, channels).mean(axis=1).astype(np.int16)
    return to_bytes(resample(samples, rate, SAMPLE_RATE))


def _speech_pcm16(speech: str | bytes | bytearray | os.PathLike[str], voice: str | None) -> bytes:
    if isinstance(speech, str):
        from rtnb.local.speech.tts import USER_VOICE, synthesize  # espeak-ng loads on first use

        return synthesize(speech, voice=voice or USER_VOICE)
    if isinstance(speech, bytes | bytearray):
        return bytes(speech)
    if isinstance(speech, os.PathLike):
        return read_wav(Path(speech))
    raise TypeError(f"speak() takes text, PCM16 bytes or a WAV path, not {type(speech).__name__}")


async def speak(
    session: Any,
    speech: str | bytes | bytearray | os.PathLike[str],
    *,
    voice: str | None = None,
    realtime: bool = True,
    silence_ms: float = 1000,
    commit: bool = False,
) -> float:
    """Stream ``speech`` into ``session`` like a microphone; return its duration in seconds.

    ``speech`` is text (spoken by the local TTS in ``voice``, default
    :data:`~rtnb.local.speech.tts.USER_VOICE`), PCM16 mono 24 kHz bytes, or a path to a 16-bit WAV
    file. ``silence_ms`` of silence follow, so that server VAD ends the turn; with turn
    detection off, pass ``commit=True`` to end the turn (and ask for a response) yourself.
    ``realtime=True`` paces the chunks at the speed of speech, as a real microphone does;
    ``False`` sends them as fast as the session takes them. Returns once everything is queued.
    """
    pcm = _speech_pcm16(speech, voice)
    audio = pcm + b"\x00" * bytes_for_ms(silence_ms)
    loop = asyncio.get_running_loop()
    start = loop.time()
    sent_ms = 0.0
    for piece in chunk(audio, CHUNK_MS):
        if realtime:
            await asyncio.sleep(max(0.0, start + sent_ms / 1000 - loop.time()))
        else:
            await asyncio.sleep(0)  # let the session's tasks run between chunks
        session.send_audio(piece)
        sent_ms += len(piece) / 2 / SAMPLE_RATE * 1000
    if commit:
        session.send_audio(b"", commit=True)
    return len(pcm) / 2 / SAMPLE_RATE
