"""The simulated user's audio: speech from the local TTS (or a WAV file), white noise mixed in.

Speech is rendered where the suite is run from, once per (text, voice, speed) and kept, so every
executor (in process or on Ray) sends the same bytes for the same run: a run is reproducible.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from .plan import RunSpec
from .scenarios import Turn

__all__ = ["render_turns", "spoken", "with_noise"]


@functools.lru_cache(maxsize=256)
def spoken(text: str, voice: str, speed: float) -> bytes:
    """``text`` spoken by the local TTS in ``voice`` (PCM16, 24 kHz mono)."""
    from rtnb.local.speech.tts import synthesize

    return synthesize(text, voice=voice, speed=speed)


def with_noise(pcm16: bytes, snr_db: float, seed: int) -> bytes:
    """``pcm16`` with white noise ``snr_db`` decibels below the speech's power (seeded)."""
    speech = np.frombuffer(pcm16, "<i2").astype(np.float64)
    power = float(np.mean(speech**2)) if speech.size else 0.0
    power = power or 1.0
    noise = np.random.default_rng(seed).normal(
        0.0, np.sqrt(power / 10 ** (snr_db / 10)), speech.size
    )
    return np.clip(np.rint(speech + noise), -32768, 32767).astype("<i2").tobytes()


def turn_audio(turn: Turn, run: RunSpec, base_dir: Path, turn_index: int) -> bytes:
    """The audio of a ``say`` or ``audio`` turn of ``run``, noise included."""
    from rtnb.speech import read_wav

    options = turn.options
    if turn.action == "say":
        voice = options.get("voice") or run.voice
        pcm = spoken(turn.value, voice, float(options.get("speed", run.speed)))
    else:
        pcm = read_wav(resolve_path(turn.value, base_dir))
    noise_db = options.get("noise_db", run.noise_db)
    if noise_db is not None:
        pcm = with_noise(pcm, noise_db, run.seed + turn_index)
    return pcm


def render_turns(run: RunSpec, base_dir: Path) -> dict[int, bytes]:
    """Turn index -> audio, for the spoken turns of ``run``."""
    return {
        i: turn_audio(turn, run, base_dir, i)
        for i, turn in enumerate(run.scenario.turns)
        if turn.action in ("say", "audio")
    }


def resolve_path(path: str, base_dir: Path) -> Path:
    """An ``audio`` turn's file: absolute, or relative to the suite's folder."""
    candidate = Path(path).expanduser()
    return candidate if candidate.is_absolute() else base_dir / candidate
