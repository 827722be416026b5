"""Offline text-to-speech: piper (neural, optional) or espeak-ng (core install), chosen by name.

``engine="auto"`` speaks the ten Realtime voice names (:data:`VOICES`) with piper when piper-tts and
a voice package are installed (see :mod:`rtnb.local.speech.piper_voice`), else with espeak-ng. An
espeak-ng voice name such as ``"en-us+f5"`` (:data:`USER_VOICE`, the simulated user's side of demos
and tests) always goes to espeak-ng.

espeak-ng is loaded through ctypes. It keeps its state (current voice, parameters, synth callback)
in process globals, so every call goes through one module lock and the library is initialised
lazily, once. Audio comes out at espeak's native 22 050 Hz and is resampled to the 24 kHz PCM16
of the Realtime API.
"""

from __future__ import annotations

import ctypes
import re
import threading
from collections.abc import Iterator

import espeakng_loader
import numpy as np

from rtnb.local.speech import piper_voice
from rtnb.local.speech.whisper import whisper_available
from rtnb.protocol.audio import SAMPLE_RATE, resample, to_bytes, to_int16

__all__ = [
    "PIPER_USER_VOICE",
    "SPHINX_USER_VOICE",
    "TTS_ENGINES",
    "USER_VOICE",
    "VOICES",
    "WHISPER_USER_VOICE",
    "default_tts_engine",
    "split_sentences",
    "synthesize",
    "synthesize_sentences",
    "tts_engines_available",
]

TTS_ENGINES = ("piper", "espeak")
"""Text-to-speech engines by name, best first; ``"auto"`` picks the first one installed."""

VOICES: dict[str, str] = {
    "alloy": "en-us+m3",
    "ash": "en-us+m1",
    "ballad": "en-us+m7",
    "coral": "en-us+f2",
    "echo": "en-us+m2",
    "sage": "en-us+f4",
    "shimmer": "en-us+f1",
    "verse": "en-us+m4",
    "marin": "en-us+f3",
    "cedar": "en-us+m6",
}
"""OpenAI Realtime voice names mapped to espeak-ng voice variants (piper's are in
:data:`rtnb.local.speech.piper_voice.STYLES`)."""

SPHINX_USER_VOICE = "en-us+f5"
"""The espeak-ng voice pocketsphinx hears best (17 of 20 test sentences exact, against 3-15 for
the other variants)."""

WHISPER_USER_VOICE = "en-us+m3"
"""The espeak-ng voice Whisper tiny.en hears best of those measured (word error rate 0.11 on the
speech benchmark's tuning sentences, tied with ``en-gb-x-rp``; it mishears "who are you")."""

PIPER_USER_VOICE = "shimmer"
"""The piper voice style Whisper tiny.en hears best (word error rate 0.011 through server VAD, 22
of 24 tuning sentences exact; ``sage`` tied, ``alloy`` 0.039, the espeak-ng voices 0.11-0.16).
It speaks without piper's random timbre and timing (0.033 and 20/24 without the VAD, against
0.055 and 19/24 for a noisy take), so the same sentence is the same audio every time: an
evaluation's simulated user, a test or a demo does not hear a new draw on each run. Higher than
the assistant's default ``alloy``, so the two sides of a conversation sound apart."""


def _user_voice() -> str:
    if not whisper_available():
        return SPHINX_USER_VOICE
    return PIPER_USER_VOICE if piper_voice.available() else WHISPER_USER_VOICE


USER_VOICE = _user_voice()
"""The voice demos, tutorials and tests speak the user's side with: the one the default
recogniser hears best (Whisper with the ``speech`` extra, else pocketsphinx)."""

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INITIALIZE_DONT_EXIT = 0x8000  # otherwise espeak-ng calls exit() when its data is missing
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_PARAM_RATE = 1
_DEFAULT_WPM = 175
_MIN_WPM, _MAX_WPM = 80, 450

_MAX_EDGE_SILENCE_MS = 50
_SILENCE_LEVEL = 64  # int16 amplitude below which a sample counts as silence

_SynthCallback = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
)

_lock = threading.Lock()
_lib: ctypes.CDLL | None = None
_native_rate = 0
_chunks: list[bytes] = []


def _on_samples(wav: ctypes._Pointer[ctypes.c_short], n_samples: int, _events: int | None) -> int:
    if wav and n_samples > 0:
        _chunks.append(ctypes.string_at(wav, n_samples * 2))
    return 0  # keep synthesising


_callback = _SynthCallback(_on_samples)  # module-level so ctypes never frees it


def _library() -> ctypes.CDLL:
    """Load and initialise espeak-ng once; the caller must hold ``_lock``."""
    global _lib, _native_rate
    if _lib is not None:
        return _lib
    lib = ctypes.CDLL(espeakng_loader.get_library_path())
    lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
    lib.espeak_Initialize.restype = ctypes.c_int
    lib.espeak_SetSynthCallback.argtypes = [_SynthCallback]
    lib.espeak_SetSynthCallback.restype = None
    lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
    lib.espeak_SetVoiceByName.restype = ctypes.c_int
    lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
    lib.espeak_SetParameter.restype = ctypes.c_int
    lib.espeak_Synth.argtypes = [
        ctypes.c_char_p,
        ctypes.c_size_t,
        ctypes.c_uint,
        ctypes.c_int,
        ctypes.c_uint,
        ctypes.c_uint,
        ctypes.c_void_p,
        ctypes.c_void_p,
    ]
    lib.espeak_Synth.restype = ctypes.c_int
    data_path = espeakng_loader.get_data_path().encode()
    rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, data_path, _INITIALIZE_DONT_EXIT)
    if rate <= 0:
        raise RuntimeError(f"espeak-ng failed to initialise with data at {data_path.decode()}")
    lib.espeak_SetSynthCallback(_callback)
    _lib, _native_rate = lib, rate
    return lib


def _espeak_voice(voice: str) -> str:
    return VOICES.get(voice.lower(), voice)


def _trim(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """Cut leading and trailing silence down to at most ``_MAX_EDGE_SILENCE_MS``."""
    loud = np.flatnonzero(np.abs(samples.astype(np.int32)) > _SILENCE_LEVEL)
    if loud.size == 0:
        return samples[:0]
    keep = sample_rate * _MAX_EDGE_SILENCE_MS // 1000
    return samples[max(0, loud[0] - keep) : loud[-1] + 1 + keep]


def tts_engines_available() -> list[str]:
    """Names of the text-to-speech engines installed here, best first (``"espeak"`` always)."""
    return [name for name in TTS_ENGINES if name == "espeak" or piper_voice.available()]


def default_tts_engine() -> str:
    """The engine ``"auto"`` stands for: ``"piper"`` when installed, else ``"espeak"``."""
    return tts_engines_available()[0]


def _engine_for(voice: str, engine: str) -> str:
    if engine not in ("auto", *TTS_ENGINES):
        raise ValueError(
            f"unknown tts engine {engine!r}; choose one of auto, {', '.join(TTS_ENGINES)}"
        )
    if voice.lower() not in VOICES:
        return "espeak"  # an espeak-ng voice name (or an unknown one, which espeak rejects)
    if engine == "piper" and not piper_voice.available():
        raise piper_voice.PiperVoiceError(
            "the piper tts engine needs piper-tts, onnxruntime and a voice package installed"
        )
    return default_tts_engine() if engine == "auto" else engine


def synthesize(
    text: str, *, voice: str = "alloy", speed: float = 1.0, engine: str = "auto"
) -> bytes:
    """Speak ``text`` and return PCM16 mono audio at 24 kHz.

    ``voice`` is an OpenAI Realtime voice name (see :data:`VOICES`) or any espeak-ng voice name
    such as ``"en-us+f3"``; an unknown voice raises :class:`ValueError`. ``speed`` scales the
    speaking rate (1.0 is the voice's normal rate). ``engine`` is ``"auto"``, ``"piper"`` or
    ``"espeak"`` (see the module docstring); an unknown engine raises :class:`ValueError`, and
    ``"piper"`` without piper installed raises
    :class:`~rtnb.local.speech.piper_voice.PiperVoiceError`. Blank text gives ``b""``. Safe to call
    from several threads.
    """
    name = _engine_for(voice, engine)
    if not text.strip():
        return b""
    if speed <= 0:
        raise ValueError(f"speed must be positive, got {speed}")
    if name == "piper":
        return to_bytes(piper_voice.speak(text, voice=voice, speed=speed))
    return _espeak(text, voice, speed)


def _espeak(text: str, voice: str, speed: float) -> bytes:
    name = _espeak_voice(voice)
    wpm = min(_MAX_WPM, max(_MIN_WPM, round(_DEFAULT_WPM * speed)))
    encoded = text.encode("utf-8")
    with _lock:
        lib = _library()
        if lib.espeak_SetVoiceByName(name.encode("utf-8")) != 0:
            raise ValueError(f"unknown voice {voice!r}")
        lib.espeak_SetParameter(_PARAM_RATE, wpm, 0)
        _chunks.clear()
        try:
            err = lib.espeak_Synth(
                encoded, len(encoded) + 1, 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None
            )
            pcm = b"".join(_chunks)
        finally:
            _chunks.clear()
        native_rate = _native_rate
    if err != 0:
        raise RuntimeError(f"espeak-ng synthesis failed with error {err}")
    samples = _trim(to_int16(pcm), native_rate)
    return to_bytes(resample(samples, native_rate, SAMPLE_RATE))


_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+|\n+")


def split_sentences(text: str) -> list[str]:
    """Split text into sentences at ``.``, ``!``, ``?``, ``;`` followed by space, and newlines."""
    return [part.strip() for part in _SENTENCE_END.split(text) if part.strip()]


def synthesize_sentences(
    text: str, *, voice: str = "alloy", speed: float = 1.0, engine: str = "auto"
) -> Iterator[tuple[str, bytes]]:
    """Yield ``(sentence, pcm16)`` per sentence so the first one can be streamed early.

    Arguments are as for :func:`synthesize`; ``engine`` is checked on the call. Sentences that
    make no sound are skipped.
    """
    _engine_for(voice, engine)
    return _spoken_sentences(text, voice, speed, engine)


def _spoken_sentences(
    text: str, voice: str, speed: float, engine: str
) -> Iterator[tuple[str, bytes]]:
    for sentence in split_sentences(text):
        pcm = synthesize(sentence, voice=voice, speed=speed, engine=engine)
        if pcm:
            yield sentence, pcm
