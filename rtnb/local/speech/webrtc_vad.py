"""The light frame detector of the core install: webrtcvad plus level and noise-floor gates.

A 20 ms frame counts as *voiced* when three tests all pass:

* webrtcvad (GMM speech/noise model) says speech, at an aggressiveness chosen from ``threshold``;
* its RMS level reaches an absolute floor that rises with ``threshold`` (louder speech needed);
* its RMS level is a margin above the noise floor, the minimum frame level of the last
  :data:`NOISE_WINDOW_MS`. webrtcvad alone keeps flagging steady background noise as speech after
  an utterance (its noise model adapts slowly), which would stop a turn from ever ending in a
  noisy room.
"""

from __future__ import annotations

from collections import deque

import numpy as np
import webrtcvad

from rtnb.local.speech.frames import FrameResampler, frame_samples

__all__ = ["FRAME_MS", "NOISE_WINDOW_MS", "WebrtcDetector"]

FRAME_MS = 20
"""Analysis frame length; 20 ms divides the usual padding and silence settings exactly."""

NOISE_WINDOW_MS = 2_000
"""Window of the minimum-level noise-floor estimate: long enough to span the quiet moments of
continuous speech, short enough to adapt to a new background noise within a couple of seconds."""

_VAD_RATE = 16_000
_WEBRTC_RATES = (8_000, 16_000, 32_000, 48_000)
_SILENT_DB = -100.0  # level given to digital silence instead of -inf


def _aggressiveness(threshold: float) -> int:
    return min(3, int(threshold * 4))


def _min_level_db(threshold: float) -> float:
    # 0.0 -> -70 dBFS (barely audible), 0.5 -> -47.5 dBFS, 1.0 -> -25 dBFS (close, loud speech).
    return -70.0 + 45.0 * threshold


def _snr_margin_db(threshold: float) -> float:
    # Frame-level spread of steady noise is well under 1 dB, so even 3 dB rejects it.
    return 3.0 + 9.0 * threshold


class WebrtcDetector:
    """:class:`~rtnb.local.speech.frames.FrameDetector` on webrtcvad with level and noise gates."""

    name = "webrtc"
    frame_ms = FRAME_MS

    def __init__(self, threshold: float, sample_rate: int) -> None:
        frame = frame_samples(sample_rate, FRAME_MS)
        self._vad = webrtcvad.Vad(_aggressiveness(threshold))
        self._min_db = _min_level_db(threshold)
        self._margin_db = _snr_margin_db(threshold)
        # Other rates (the API's 24 kHz) go to 16 kHz rather than up to 48 kHz: webrtcvad analyses
        # only 0-4 kHz after its own downsampling to 8 kHz, so 16 kHz loses nothing and needs a
        # third of the samples. Linear interpolation aliases 8-12 kHz into 4-8 kHz, which
        # webrtcvad's half-band filter then removes.
        self._vad_rate = sample_rate if sample_rate in _WEBRTC_RATES else _VAD_RATE
        self._resample = FrameResampler(frame, self._vad_rate * FRAME_MS // 1000)
        self._noise: deque[tuple[int, float]] = deque()  # (frame index, level) rising minima
        self._frames_seen = 0
        self._noise_frames = NOISE_WINDOW_MS // FRAME_MS

    def voiced(self, frames: np.ndarray) -> list[bool]:
        """Classify ``(n, samples)`` int16 frames at the stream rate."""
        x = frames.astype(np.float32)
        power = np.einsum("ij,ij->i", x, x) / frames.shape[1]
        levels = (10.0 * np.log10(np.maximum(power, 1e-10) / 32768.0**2)).tolist()
        if self._resample.frame_in != self._resample.frame_out:
            frames = np.rint(self._resample(frames)).astype("<i2")
        raw = frames.astype("<i2", copy=False).tobytes()
        size = frames.shape[1] * 2
        out = []
        for i, level in enumerate(levels):
            level = max(level, _SILENT_DB)
            noise = self._noise_floor(level)
            speech = self._vad.is_speech(raw[i * size : (i + 1) * size], self._vad_rate)
            out.append(speech and level >= self._min_db and level >= noise + self._margin_db)
        return out

    def _noise_floor(self, level: float) -> float:
        """Push this frame's level; return the minimum over the window before it."""
        q, k = self._noise, self._frames_seen
        floor = q[0][1] if q else level
        while q and q[-1][1] >= level:
            q.pop()
        q.append((k, level))
        if q[0][0] <= k - self._noise_frames:
            q.popleft()
        self._frames_seen = k + 1
        return floor
