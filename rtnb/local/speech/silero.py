"""Silero VAD v6 (ONNX, on onnxruntime) as a streaming frame detector.

The model file ships in the ``faster-whisper`` package (``faster_whisper/assets/
silero_vad_v6.onnx``); it is found without importing faster-whisper, and neither onnxruntime nor
the model is loaded until a detector is made. One ONNX session per process is shared by all
streams (``InferenceSession.run`` is thread-safe); each :class:`SileroDetector` holds its own
stream's recurrent state.

The graph takes 16 kHz float audio in 32 ms frames (512 samples) with the previous frame's last
64 samples prepended as context, plus the LSTM's ``h`` and ``c`` (1 x 1 x 128 each), and returns a
speech probability per frame with the new ``h`` and ``c``. A frame counts as voiced once its
probability reaches ``threshold`` and stays voiced until it drops below a lower release threshold
(hysteresis), so a word's soft ending does not flicker between voiced and unvoiced.
"""

from __future__ import annotations

import importlib.util
import threading
from pathlib import Path
from typing import Any

import numpy as np

from rtnb.local.speech.frames import FrameResampler, frame_samples

__all__ = [
    "FRAME_MS",
    "SileroDetector",
    "SileroModelError",
    "available",
    "model_path",
    "speech_probabilities",
]

FRAME_MS = 32
"""Frame length of the model: 512 samples at 16 kHz."""

MODEL_RATE = 16_000
FRAME = 512
CONTEXT = 64
HYSTERESIS = 0.15
"""How far below ``threshold`` the probability must fall for a voiced run to end."""

_MODEL_FILE = "silero_vad_v6.onnx"
_STATE_SHAPE = (1, 1, 128)
_INPUTS = {"input", "h", "c"}

_lock = threading.Lock()
_sessions: dict[Path, Any] = {}


class SileroModelError(RuntimeError):
    """The Silero model file is missing, unreadable or not the expected graph (names the file)."""


def model_path() -> Path | None:
    """Path of ``silero_vad_v6.onnx`` in the installed faster-whisper, or ``None``."""
    try:
        spec = importlib.util.find_spec("faster_whisper")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        path = Path(folder) / "assets" / _MODEL_FILE
        if path.is_file():
            return path
    return None


def available() -> bool:
    """Whether onnxruntime is installed and the model file is present (nothing is loaded)."""
    return importlib.util.find_spec("onnxruntime") is not None and model_path() is not None


def _session(path: Path) -> Any:
    """The process-wide ONNX session for ``path``, created on first use."""
    with _lock:
        session = _sessions.get(path)
        if session is not None:
            return session
        import onnxruntime

        options = onnxruntime.SessionOptions()
        # One thread each: a 32 ms frame costs a fraction of a millisecond, and the server shares
        # its cores with speech recognition and synthesis.
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        try:
            session = onnxruntime.InferenceSession(
                str(path), options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own exception types
            raise SileroModelError(f"cannot load the Silero VAD model {path}: {exc}") from exc
        names = {i.name for i in session.get_inputs()}
        if names != _INPUTS:
            raise SileroModelError(
                f"{path} is not the Silero VAD v6 graph: inputs {sorted(names)}, "
                f"expected {sorted(_INPUTS)}"
            )
        _sessions[path] = session
        return session


def _load(path: Path | None) -> Any:
    if path is None:
        path = model_path()
        if path is None:
            raise SileroModelError(f"{_MODEL_FILE} not found: install faster-whisper")
    if not path.is_file():
        raise SileroModelError(f"Silero VAD model file not found: {path}")
    return _session(path.resolve())


class SileroDetector:
    """:class:`~rtnb.local.speech.frames.FrameDetector` on Silero VAD v6 for one audio stream.

    ``threshold`` is the speech probability (0..1) at which a frame becomes voiced; the run
    ends when the probability falls below ``threshold - HYSTERESIS`` (at least 0.01).
    ``sample_rate`` is the stream's rate; frames are resampled to 16 kHz. ``model`` overrides
    the model file (default: the one in faster-whisper). Raises :class:`SileroModelError` when
    the model cannot be loaded, and :class:`ValueError` when ``sample_rate`` does not give whole
    32 ms frames.
    """

    name = "silero"
    frame_ms = FRAME_MS

    def __init__(self, threshold: float, sample_rate: int, *, model: Path | None = None) -> None:
        frame = frame_samples(sample_rate, FRAME_MS)
        self._session = _load(model)
        self.threshold = threshold
        self.release = max(threshold - HYSTERESIS, 0.01)
        self._resample = FrameResampler(frame, FRAME)
        self._h = np.zeros(_STATE_SHAPE, np.float32)
        self._c = np.zeros(_STATE_SHAPE, np.float32)
        self._context = np.zeros(CONTEXT, np.float32)
        self._active = False

    def probabilities(self, frames: np.ndarray) -> np.ndarray:
        """Speech probability of each ``(n, samples)`` int16 frame, advancing the stream state."""
        x = self._resample(frames).astype(np.float32) / np.float32(32768.0)
        out = np.empty(len(x), np.float32)
        # One frame per run: the model's answer for a frame then never depends on how many
        # frames arrived together, which keeps the VAD independent of the input chunking.
        for i, frame in enumerate(x):
            window = np.concatenate([self._context, frame])[None, :]
            prob, self._h, self._c = self._session.run(
                None, {"input": window, "h": self._h, "c": self._c}
            )
            out[i] = prob.reshape(-1)[0]
            self._context = frame[-CONTEXT:]
        return out

    def voiced(self, frames: np.ndarray) -> list[bool]:
        """Classify ``(n, samples)`` int16 frames at the stream rate, with hysteresis."""
        out = []
        for p in self.probabilities(frames).tolist():
            self._active = p >= self.threshold or (self._active and p >= self.release)
            out.append(self._active)
        return out


def speech_probabilities(pcm16: bytes, sample_rate: int = MODEL_RATE) -> np.ndarray:
    """Speech probability per 32 ms frame of a whole PCM16 clip (fresh state; tail dropped)."""
    detector = SileroDetector(0.5, sample_rate)
    frame = frame_samples(sample_rate, FRAME_MS)
    samples = np.frombuffer(pcm16[: len(pcm16) // 2 * 2], "<i2")
    n = samples.size // frame
    return detector.probabilities(samples[: n * frame].reshape(n, frame))
