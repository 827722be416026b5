"""PCM16 helpers: base64 framing, durations and resampling.

The Realtime API carries audio as little-endian signed 16-bit mono PCM at 24 kHz, base64-encoded
inside JSON events. These helpers are pure functions over ``bytes`` and numpy arrays.
"""

from __future__ import annotations

import base64
import binascii

import numpy as np

SAMPLE_RATE = 24_000
"""Sample rate of ``pcm16`` audio on the wire, in Hz."""

BYTES_PER_SAMPLE = 2


class AudioFormatError(ValueError):
    """Raised when audio bytes or base64 text cannot be PCM16."""


def encode_audio(pcm16: bytes) -> str:
    """Encode raw PCM16 bytes as the base64 text used in ``audio``/``delta`` fields."""
    return base64.b64encode(pcm16).decode("ascii")


def decode_audio(b64: str) -> bytes:
    """Decode base64 audio text to PCM16 bytes; raise :class:`AudioFormatError` if malformed."""
    try:
        pcm = base64.b64decode(b64, validate=True)
    except (binascii.Error, ValueError, TypeError) as exc:
        raise AudioFormatError(f"audio is not valid base64: {exc}") from exc
    if len(pcm) % BYTES_PER_SAMPLE:
        raise AudioFormatError("audio has an odd number of bytes; pcm16 needs 2 bytes a sample")
    return pcm


def decoded_size(b64: str) -> int:
    """Number of PCM16 bytes that base64 text decodes to, computed from its length alone.

    Raises :class:`AudioFormatError` when the length cannot be base64 (not a multiple of 4, or
    not ASCII) or would give an odd number of bytes. Characters outside the base64 alphabet are
    only found by :func:`decode_audio`: this check costs nothing per byte, so the session can
    count audio it does not decode.
    """
    n = len(b64)
    if n % 4 or not b64.isascii():
        raise AudioFormatError("audio is not valid base64: its length is not a multiple of 4")
    size = n // 4 * 3
    if n and b64[-1] == "=":
        size -= 2 if b64[-2] == "=" else 1
    if size % BYTES_PER_SAMPLE:
        raise AudioFormatError("audio has an odd number of bytes; pcm16 needs 2 bytes a sample")
    return size


def duration_ms(pcm16: bytes | int, sample_rate: int = SAMPLE_RATE) -> float:
    """Duration in milliseconds of PCM16 mono audio given as bytes or as a byte count."""
    n_bytes = pcm16 if isinstance(pcm16, int) else len(pcm16)
    return n_bytes / BYTES_PER_SAMPLE / sample_rate * 1000.0


def bytes_for_ms(ms: float, sample_rate: int = SAMPLE_RATE) -> int:
    """Number of PCM16 mono bytes holding ``ms`` milliseconds (rounded down to a whole sample)."""
    return int(ms * sample_rate / 1000.0) * BYTES_PER_SAMPLE


def to_int16(pcm16: bytes) -> np.ndarray:
    """View PCM16 bytes as an int16 array (no copy)."""
    return np.frombuffer(pcm16, dtype="<i2")


def to_bytes(samples: np.ndarray) -> bytes:
    """Convert float samples in [-1, 1] or int16 samples to PCM16 bytes, clipping floats."""
    if samples.dtype.kind == "f":
        samples = np.clip(np.rint(samples * 32767.0), -32768, 32767)
    return samples.astype("<i2").tobytes()


def resample(samples: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """Resample mono audio by linear interpolation, keeping the dtype.

    Linear interpolation is enough for speech going between 16, 22.05, 24 and 48 kHz: the local
    speech components and the browser both low-pass well below the new Nyquist frequency.
    """
    if from_rate <= 0 or to_rate <= 0:
        raise ValueError("sample rates must be positive")
    if from_rate == to_rate or samples.size == 0:
        same: np.ndarray = samples.copy()  # numpy's stubs type copy() as Any on Python 3.10
        return same
    n_out = round(samples.size * to_rate / from_rate)
    positions = np.arange(n_out, dtype=np.float64) * (from_rate / to_rate)
    out = np.interp(positions, np.arange(samples.size), samples.astype(np.float64))
    if samples.dtype.kind == "i":
        info = np.iinfo(samples.dtype)
        out = np.clip(np.rint(out), info.min, info.max)
    return out.astype(samples.dtype)


def resample_pcm16(pcm16: bytes, from_rate: int, to_rate: int) -> bytes:
    """Resample PCM16 mono bytes from one rate to another."""
    return resample(to_int16(pcm16), from_rate, to_rate).astype("<i2").tobytes()


def chunk(pcm16: bytes, ms: float, sample_rate: int = SAMPLE_RATE) -> list[bytes]:
    """Split PCM16 audio into chunks of ``ms`` milliseconds (the last one may be shorter)."""
    size = max(BYTES_PER_SAMPLE, bytes_for_ms(ms, sample_rate))
    return [pcm16[i : i + size] for i in range(0, len(pcm16), size)]
