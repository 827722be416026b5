"""What the VAD's turn logic needs from a frame classifier, and the per-frame resampling they share.

:class:`~rtnb.local.speech.vad.ServerVad` cuts the input stream into frames of the detector's
length and asks the detector which of them are voiced; everything else (start runs, prefix
padding, closing silence, idle timeout) is common to all detectors.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

__all__ = ["FrameDetector", "FrameResampler", "frame_samples"]


class FrameDetector(Protocol):
    """Classifies consecutive frames of one audio stream as voiced or not.

    ``name`` is the engine's name (``"silero"``, ``"webrtc"``) and ``frame_ms`` the frame length
    it works on. :meth:`voiced` receives the frames in stream order, each exactly once, and may
    keep state between calls (a noise estimate, a recurrent network's memory); its answers must
    not depend on how the frames were grouped into calls, so the VAD stays independent of the
    chunking of its input.
    """

    name: str
    frame_ms: int

    def voiced(self, frames: np.ndarray) -> list[bool]:
        """Classify ``frames``, an ``(n, samples)`` int16 array at the stream's sample rate."""
        ...


def frame_samples(sample_rate: int, frame_ms: int) -> int:
    """Samples in a ``frame_ms`` frame; :class:`ValueError` naming ``sample_rate`` if fractional."""
    samples = sample_rate * frame_ms // 1000
    if sample_rate <= 0 or samples * 1000 != sample_rate * frame_ms:
        raise ValueError(f"sample_rate must give whole {frame_ms} ms frames, got {sample_rate}")
    return samples


class FrameResampler:
    """Resamples whole frames from one length to another by linear interpolation.

    Each frame is resampled on its own with precomputed indices, so the result does not depend
    on how frames are batched. Going down (24 -> 16 kHz) aliases the top band a little; both
    detectors care about the speech band well below the new Nyquist frequency.
    """

    def __init__(self, frame_in: int, frame_out: int) -> None:
        self.frame_in, self.frame_out = frame_in, frame_out
        pos = np.arange(frame_out) * (frame_in / frame_out)
        lo = np.minimum(np.floor(pos).astype(np.intp), frame_in - 1)
        self._lo, self._hi = lo, np.minimum(lo + 1, frame_in - 1)
        self._frac = pos - lo

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        """Resample ``(n, frame_in)`` samples to ``(n, frame_out)`` floats (same scale)."""
        x = frames.astype(np.float32)
        if self.frame_in == self.frame_out:
            return x
        return x[:, self._lo] * (1.0 - self._frac) + x[:, self._hi] * self._frac
