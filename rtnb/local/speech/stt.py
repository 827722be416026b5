"""Speech-to-text engines of the local server behind one small interface.

An engine turns one utterance of PCM16 mono audio into text. ``prompt`` carries domain text the
speaker is likely to use (the session's instructions, tool names and descriptions, recent
messages): Whisper reads it as its initial prompt, pocketsphinx builds its language model from it.
Streaming is done by the caller (:mod:`rtnb.local.input_audio`), which transcribes the turn so
far during the speaker's pauses.

Engines: ``"whisper"`` (faster-whisper, the ``speech`` extra; default when installed),
``"pocketsphinx"`` (core install) or any callable ``(pcm16, sample_rate, prompt) -> str``.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from rtnb.local.speech.sphinx import Transcriber
from rtnb.local.speech.whisper import DEFAULT_BEAM_SIZE, load_whisper, whisper_available

__all__ = [
    "SpeechEngineError",
    "SpeechToText",
    "SttChoice",
    "default_stt_engine",
    "load_stt",
    "stt_engines_available",
]

log = logging.getLogger("rtnb.server")

SttFunction = Callable[[bytes, int, str], str]
SttChoice = str | SttFunction | None
"""``None`` (the default engine), an engine name, or a transcribe function."""


class SpeechEngineError(ValueError):
    """A speech engine option is invalid; the message names the option."""


class SpeechToText(Protocol):
    """What the server needs of a speech-to-text engine."""

    name: str

    def prepare(self, prompt: str) -> None:
        """Get ready for ``prompt`` off the hot path (may build a language model)."""

    def transcribe(
        self, pcm16: bytes, sample_rate: int = 24_000, prompt: str = "", language: str = ""
    ) -> str:
        """Text of one utterance (``""`` when there is no speech)."""


@dataclass
class SphinxEngine:
    """pocketsphinx with a language model built from the prompt's lines (one per connection)."""

    name: str = "pocketsphinx"
    _transcriber: Transcriber | None = field(default=None, repr=False)

    def prepare(self, prompt: str) -> None:
        """Build (or rebuild, when the prompt changed) the language model."""
        texts = prompt.splitlines()
        if self._transcriber is None:
            self._transcriber = Transcriber(texts)
        else:
            self._transcriber.set_vocabulary(texts)

    def transcribe(
        self, pcm16: bytes, sample_rate: int = 24_000, prompt: str = "", language: str = ""
    ) -> str:
        """Recognise lowercase words within the prompt's vocabulary (English only)."""
        self.prepare(prompt)
        assert self._transcriber is not None
        return self._transcriber.transcribe(pcm16, sample_rate)


@dataclass
class FunctionEngine:
    """A user's transcribe function as an engine."""

    function: SttFunction
    name: str = "custom"

    def prepare(self, prompt: str) -> None:
        """Nothing to prepare."""

    def transcribe(
        self, pcm16: bytes, sample_rate: int = 24_000, prompt: str = "", language: str = ""
    ) -> str:
        """Call the function; anything but a string is an error."""
        text = self.function(pcm16, sample_rate, prompt)
        if not isinstance(text, str):
            raise TypeError(f"the stt function returned {type(text).__name__}, not str")
        return text


def stt_engines_available() -> list[str]:
    """Engine names that can run here, best first."""
    return ["whisper", "pocketsphinx"] if whisper_available() else ["pocketsphinx"]


@functools.cache
def default_stt_engine() -> str:
    """``"whisper"`` when the speech extra is installed, else ``"pocketsphinx"`` (said once)."""
    if whisper_available():
        return "whisper"
    log.warning(
        "faster-whisper is not installed: offline speech-to-text uses pocketsphinx, which "
        "knows a small vocabulary only (pip install 'rtnb[speech]' for Whisper)"
    )
    return "pocketsphinx"


def check_stt(engine: SttChoice) -> None:
    """Raise :class:`SpeechEngineError` for an engine option that cannot work here."""
    if engine is None or callable(engine):
        return
    if engine not in ("whisper", "pocketsphinx"):
        raise SpeechEngineError(
            f"stt: unknown engine {engine!r}; choose 'whisper', 'pocketsphinx' or a function "
            "(pcm16, sample_rate, prompt) -> str"
        )
    if engine == "whisper" and not whisper_available():
        raise SpeechEngineError(
            "stt: 'whisper' needs the speech extra (pip install 'rtnb[speech]')"
        )


def load_stt(
    engine: SttChoice = None, model: str | None = None, beam_size: int = DEFAULT_BEAM_SIZE
) -> SpeechToText:
    """The engine for one connection: shared Whisper weights, or a fresh pocketsphinx decoder.

    ``model`` (Whisper only) is a faster-whisper model name or directory; ``None`` is the
    bundled, hash-checked tiny.en. ``beam_size`` is Whisper's decoding beam (1 = greedy).
    Raises :class:`SpeechEngineError` for a bad option and
    :class:`~rtnb.local.speech.whisper.ModelFileError` for a missing or altered model file.
    """
    check_stt(engine)
    if callable(engine):
        return FunctionEngine(engine)
    name = engine or default_stt_engine()
    if name == "whisper":
        return load_whisper(model, beam_size)
    return SphinxEngine()
