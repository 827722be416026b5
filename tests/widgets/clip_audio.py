"""Recorded clips for the push-to-talk tests, made with PyAV's encoders as a browser makes them."""

from __future__ import annotations

import io

import av
import numpy as np

from rtnb.protocol.audio import SAMPLE_RATE, resample, to_int16


def encode(samples: np.ndarray, rate: int, *, fmt: str = "webm", codec: str = "libopus") -> bytes:
    """``samples`` (int16, shape (n,) mono or (n, 2) stereo) encoded into a ``fmt`` file."""
    layout = "mono" if samples.ndim == 1 else "stereo"
    buffer = io.BytesIO()
    with av.open(buffer, "w", format=fmt) as container:
        stream = container.add_stream(codec, rate=rate, layout=layout)
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(samples, dtype=np.int16).reshape(1, -1),  # interleaved
            format="s16",
            layout=layout,
        )
        frame.rate = rate
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return buffer.getvalue()


def webm_opus(pcm16: bytes) -> bytes:
    """PCM16 mono 24 kHz as a browser's MediaRecorder clip: WebM/Opus, mono, 48 kHz."""
    return encode(resample(to_int16(pcm16), SAMPLE_RATE, 48_000).astype(np.int16), 48_000)


def tone(hz: float, seconds: float, rate: int, amplitude: int = 10_000) -> np.ndarray:
    """A sine of ``hz`` as int16 samples at ``rate``."""
    t = np.arange(round(seconds * rate)) / rate
    return (amplitude * np.sin(2 * np.pi * hz * t)).astype(np.int16)
