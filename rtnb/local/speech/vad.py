"""Sans-I/O voice-activity detection for the local server's ``server_vad`` turn detection.

:class:`ServerVad` takes PCM16 audio in chunks of any size and returns turn events; it never
touches a socket, a clock or a thread, so the server decides what to do with the events. All
times are positions in the input audio stream (milliseconds of audio fed so far), not wall-clock
time, which makes the detector deterministic and independent of how the audio was chunked.

Which frames are voiced is decided by a frame detector
(:class:`~rtnb.local.speech.frames.FrameDetector`) chosen by name: ``"silero"`` (Silero VAD v6 on
onnxruntime, 32 ms frames; see :mod:`rtnb.local.speech.silero`) or ``"webrtc"`` (webrtcvad with
level and noise-floor gates, 20 ms frames; see :mod:`rtnb.local.speech.webrtc_vad`). The turn logic
is the same for both: speech starts after a short run of voiced frames (so clicks do not open a
turn) and stops after ``silence_duration_ms`` of unvoiced frames, both counted in the detector's
frames.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from rtnb.local.speech import silero
from rtnb.local.speech.frames import FrameDetector, frame_samples
from rtnb.local.speech.webrtc_vad import NOISE_WINDOW_MS, WebrtcDetector

__all__ = [
    "NOISE_WINDOW_MS",
    "VAD_ENGINES",
    "IdleTimeout",
    "ServerVad",
    "SpeechStarted",
    "SpeechStopped",
    "VadConfig",
    "VadEvent",
    "default_vad_engine",
    "make_detector",
    "vad_engines_available",
]

_log = logging.getLogger(__name__)

VAD_ENGINES = ("silero", "webrtc")
"""Frame detectors by name, best first; ``"auto"`` picks the first one available."""

START_MS = 80
"""Voiced audio needed in a row before a turn starts (rejects clicks and pops)."""

EAGERNESS_SILENCE_MS: dict[str, int] = {"low": 800, "medium": 500, "high": 300, "auto": 500}
"""``semantic_vad`` eagerness mapped onto the silence that ends a turn."""


def vad_engines_available() -> list[str]:
    """Names of the VAD engines that can run here, best first (``"webrtc"`` always)."""
    return [name for name in VAD_ENGINES if name == "webrtc" or silero.available()]


def default_vad_engine() -> str:
    """The engine ``"auto"`` stands for: ``"silero"`` when installed, else ``"webrtc"``."""
    return vad_engines_available()[0]


def make_detector(engine: str, threshold: float, sample_rate: int) -> FrameDetector:
    """A new frame detector for one stream; ``engine`` is ``"auto"``, ``"silero"`` or ``"webrtc"``.

    ``"auto"`` means webrtc when ``sample_rate`` does not give whole 32 ms frames (22.05 kHz), and
    falls back to it (with a logged warning) when the Silero model cannot be loaded; an explicit
    ``"silero"`` raises :class:`~rtnb.local.speech.silero.SileroModelError` instead. An unknown name
    raises :class:`ValueError`.
    """
    if engine not in ("auto", *VAD_ENGINES):
        raise ValueError(
            f"unknown vad engine {engine!r}; choose one of auto, {', '.join(VAD_ENGINES)}"
        )
    if engine == "auto":
        engine = default_vad_engine()
        if engine == "silero" and sample_rate * silero.FRAME_MS % 1000 == 0:
            try:
                return silero.SileroDetector(threshold, sample_rate)
            except silero.SileroModelError as exc:
                _log.warning("Silero VAD unavailable, using webrtcvad: %s", exc)
        return WebrtcDetector(threshold, sample_rate)
    if engine == "silero":
        if not silero.available():
            raise silero.SileroModelError(
                "the silero vad engine needs onnxruntime and faster-whisper installed"
            )
        return silero.SileroDetector(threshold, sample_rate)
    return WebrtcDetector(threshold, sample_rate)


def _ms_field(name: str, value: Any, *, positive: bool = False) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{name} must be a number of milliseconds, got {value!r}")
    if value < 0 or (positive and value == 0):
        limit = "positive" if positive else "non-negative"
        raise ValueError(f"{name} must be {limit}, got {value!r}")
    return int(value)


@dataclass(frozen=True)
class VadConfig:
    """Settings of ``server_vad`` turn detection (validated on construction).

    ``threshold`` (0..1) raises the level and clarity needed to count as speech;
    ``prefix_padding_ms`` of audio before the detected start is kept in the turn;
    ``silence_duration_ms`` of non-speech ends a turn; ``idle_timeout_ms``, if set, raises an
    :class:`IdleTimeout` when no speech starts that long after a turn ended.
    Out-of-range values raise :class:`ValueError` naming the field.
    """

    threshold: float = 0.5
    prefix_padding_ms: int = 300
    silence_duration_ms: int = 500
    idle_timeout_ms: int | None = None

    def __post_init__(self) -> None:
        t = self.threshold
        if isinstance(t, bool) or not isinstance(t, (int, float)) or not 0.0 <= t <= 1.0:
            raise ValueError(f"threshold must be a number between 0 and 1, got {t!r}")
        # Normalise numbers from JSON (300.0 -> 300) so frame arithmetic stays in integers.
        object.__setattr__(self, "threshold", float(t))
        for name in ("prefix_padding_ms", "silence_duration_ms"):
            object.__setattr__(self, name, _ms_field(name, getattr(self, name)))
        if self.idle_timeout_ms is not None:
            idle = _ms_field("idle_timeout_ms", self.idle_timeout_ms, positive=True)
            object.__setattr__(self, "idle_timeout_ms", idle)

    @classmethod
    def from_turn_detection(cls, turn_detection: dict[str, Any]) -> VadConfig:
        """Build a config from the wire ``turn_detection`` object of a session.

        ``server_vad`` reads ``threshold``, ``prefix_padding_ms``, ``silence_duration_ms`` and
        ``idle_timeout_ms`` (a missing or null field keeps its default; ``idle_timeout_ms`` null
        means no timeout). ``semantic_vad`` maps ``eagerness`` (low/medium/high/auto) onto
        ``silence_duration_ms`` and keeps the other defaults. A missing ``type`` means
        ``server_vad``. Unknown keys (``create_response``, ``interrupt_response``, ...) are
        ignored. Raises :class:`ValueError` naming the offending field.
        """
        if not isinstance(turn_detection, dict):
            raise ValueError(f"turn_detection must be an object, got {turn_detection!r}")
        kind = turn_detection.get("type") or "server_vad"
        if kind == "semantic_vad":
            eagerness = turn_detection.get("eagerness") or "auto"
            if eagerness not in EAGERNESS_SILENCE_MS:
                raise ValueError(
                    f"eagerness must be one of {', '.join(EAGERNESS_SILENCE_MS)}, got {eagerness!r}"
                )
            return cls(silence_duration_ms=EAGERNESS_SILENCE_MS[eagerness])
        if kind != "server_vad":
            raise ValueError(f"type must be 'server_vad' or 'semantic_vad', got {kind!r}")
        names = ("threshold", "prefix_padding_ms", "silence_duration_ms", "idle_timeout_ms")
        fields = {n: turn_detection[n] for n in names if turn_detection.get(n) is not None}
        return cls(**fields)


@dataclass(frozen=True)
class SpeechStarted:
    """Speech began at ``audio_start_ms`` (stream position; prefix padding not subtracted)."""

    audio_start_ms: int


@dataclass(frozen=True)
class SpeechStopped:
    """A turn ended at ``audio_end_ms`` (after the closing silence).

    ``audio`` is the whole turn as PCM16: prefix padding, speech and the trailing silence.
    """

    audio_end_ms: int
    audio: bytes


@dataclass(frozen=True)
class IdleTimeout:
    """No speech started between ``audio_start_ms`` (timer armed) and ``audio_end_ms`` (expiry).

    The event comes with the first analysis frame that ends at or after the expiry.
    """

    audio_start_ms: int
    audio_end_ms: int


VadEvent = SpeechStarted | SpeechStopped | IdleTimeout


class ServerVad:
    """Streaming ``server_vad`` turn detector over PCM16 mono audio.

    Feed audio with :meth:`feed` and act on the returned events. Memory stays bounded between
    turns: only ``prefix_padding_ms`` of history (plus the frame in progress) is kept until speech
    starts; during a turn the turn's audio is kept until :class:`SpeechStopped` hands it over.

    The idle timer (when ``idle_timeout_ms`` is set) is armed when a turn ends (speech stopped or
    :meth:`flush`) and by :meth:`arm_idle_timer`; it fires once, then waits to be armed again.
    Speech starting disarms it.

    ``engine`` picks the frame detector (see :func:`make_detector`): ``"auto"`` is Silero when
    onnxruntime and the model are installed, else webrtc; :attr:`engine` says which one runs.
    An unknown name raises :class:`ValueError`; an explicit ``"silero"`` that cannot load raises
    :class:`~rtnb.local.speech.silero.SileroModelError`; ``sample_rate`` must give whole frames.
    """

    def __init__(
        self, config: VadConfig = VadConfig(), sample_rate: int = 24_000, *, engine: str = "auto"
    ) -> None:
        detector = make_detector(engine, config.threshold, sample_rate)
        self.engine = detector.name
        """Which frame detector runs: ``"silero"`` or ``"webrtc"``."""
        self.config = config
        self.sample_rate = sample_rate
        self._detector = detector
        frame_ms = detector.frame_ms
        self.frame_ms = frame_ms
        """Length of the analysis frames (the detector's), in ms."""
        self._frame = frame_samples(sample_rate, frame_ms)
        self._start_frames = max(1, math.ceil(START_MS / frame_ms))
        self._stop_frames = max(1, math.ceil(config.silence_duration_ms / frame_ms))
        self._prefix = config.prefix_padding_ms * sample_rate // 1000
        self._idle = (
            None if config.idle_timeout_ms is None else config.idle_timeout_ms * sample_rate // 1000
        )
        self._buf = bytearray()
        self._buf_start = 0  # sample index of _buf[0]
        self._fed_bytes = 0
        self._reset_stream_state(0)
        self._idle_from: int | None = None

    def _reset_stream_state(self, at: int) -> None:
        self._next_frame = at  # sample index of the next frame to analyse
        self._consumed = at  # audio before this was handed out (turn audio or flushed)
        self._in_speech = False
        self._run = 0
        self._run_start = at
        self._silence = 0
        self._turn_start = at

    @property
    def position_ms(self) -> int:
        """Total milliseconds of audio fed so far (whole samples)."""
        return self._fed_bytes // 2 * 1000 // self.sample_rate

    @property
    def in_speech(self) -> bool:
        """Whether a turn is in progress (between speech started and stopped)."""
        return self._in_speech

    @property
    def silence_ms(self) -> int:
        """Unvoiced audio since the last voiced frame of the turn in progress, in ms (else 0).

        Counted in whole analysis frames; the turn ends when it reaches ``silence_duration_ms``
        (rounded up to whole frames).
        """
        return self._silence * self.frame_ms if self._in_speech else 0

    def turn_audio(self) -> bytes:
        """The turn in progress so far as PCM16 (prefix padding included), without consuming it.

        Runs to the last whole sample fed, like :meth:`flush`. ``b""`` when no turn is in
        progress.
        """
        if not self._in_speech:
            return b""
        return self._audio(self._turn_start, self._samples_fed())

    def _ms(self, sample: int) -> int:
        return sample * 1000 // self.sample_rate

    def _samples_fed(self) -> int:
        return self._fed_bytes // 2

    def _audio(self, start: int, end: int) -> bytes:
        a = (start - self._buf_start) * 2
        return bytes(self._buf[a : a + (end - start) * 2])

    def arm_idle_timer(self, at_ms: int | None = None) -> None:
        """(Re)arm the idle timer from stream position ``at_ms`` (default: now).

        The server can call this when the assistant's reply has finished playing, mapped onto
        the input stream. Does nothing when ``idle_timeout_ms`` is not configured.
        """
        if self._idle is None:
            return
        at = self._samples_fed() if at_ms is None else at_ms * self.sample_rate // 1000
        self._idle_from = at

    def feed(self, pcm16: bytes) -> list[VadEvent]:
        """Add PCM16 audio (any length, even an odd byte count) and return events in order."""
        self._buf += pcm16
        self._fed_bytes += len(pcm16)
        n = (self._samples_fed() - self._next_frame) // self._frame
        events: list[VadEvent] = []
        if n > 0:
            a = (self._next_frame - self._buf_start) * 2
            block = np.frombuffer(bytes(self._buf[a : a + n * self._frame * 2]), dtype="<i2")
            for voiced in self._detector.voiced(block.reshape(n, self._frame)):
                self._step(voiced, events)
        self._trim()
        return events

    def _step(self, voiced: bool, events: list[VadEvent]) -> None:
        start = self._next_frame
        end = start + self._frame
        self._next_frame = end
        if self._in_speech:
            self._silence = 0 if voiced else self._silence + 1
            if self._silence >= self._stop_frames:
                audio = self._audio(self._turn_start, end)
                events.append(SpeechStopped(self._ms(end), audio))
                self._in_speech = False
                self._consumed = end
                self._run = 0
                if self._idle is not None:
                    self._idle_from = end
            return
        if voiced:
            if self._run == 0:
                self._run_start = start
            self._run += 1
            if self._run >= self._start_frames:
                self._in_speech = True
                self._silence = 0
                self._turn_start = max(self._consumed, self._run_start - self._prefix)
                self._idle_from = None
                events.append(SpeechStarted(self._ms(self._run_start)))
                return
        else:
            self._run = 0
        if (
            self._idle is not None
            and self._idle_from is not None
            and end >= self._idle_from + self._idle
        ):
            # Report when the timer expired, not the end of the frame that noticed it, so the
            # event does not depend on the detector's frame length.
            expired = self._idle_from + self._idle
            events.append(IdleTimeout(self._ms(self._idle_from), self._ms(expired)))
            self._idle_from = None

    def _trim(self) -> None:
        if self._in_speech:
            keep = self._turn_start
        else:
            anchor = self._run_start if self._run else self._next_frame
            keep = max(self._consumed, anchor - self._prefix)
        if keep > self._buf_start:
            del self._buf[: (keep - self._buf_start) * 2]
            self._buf_start = keep

    def flush(self) -> bytes:
        """Commit manually: return the buffered audio and reset the turn state.

        In a turn this is the turn's audio so far (prefix padding included); otherwise it is the
        audio still held, at most ``prefix_padding_ms`` plus the frame in progress (older audio is
        not kept). Arms the idle timer, as the end of a turn.
        """
        now = self._samples_fed()
        audio = self._audio(self._buf_start, now)
        self._drop(now)
        if self._idle is not None:
            self._idle_from = now
        return audio

    def clear(self) -> None:
        """Drop buffered audio and the turn in progress (``input_audio_buffer.clear``).

        The stream position, the noise estimate and the idle timer are kept.
        """
        self._drop(self._samples_fed())

    def _drop(self, now: int) -> None:
        del self._buf[: (now - self._buf_start) * 2]  # an odd trailing byte stays
        self._buf_start = now
        self._reset_stream_state(now)
