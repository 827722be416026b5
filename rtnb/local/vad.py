"""Sans-I/O voice-activity detection for the local server's ``server_vad`` turn detection.

:class:`ServerVad` takes PCM16 audio in chunks of any size and returns turn events; it never
touches a socket, a clock or a thread, so the server decides what to do with the events. All
times are positions in the input audio stream (milliseconds of audio fed so far), not wall-clock
time, which makes the detector deterministic and independent of how the audio was chunked.

A 20 ms frame counts as *voiced* when three tests all pass:

* webrtcvad (GMM speech/noise model) says speech, at an aggressiveness chosen from ``threshold``;
* its RMS level reaches an absolute floor that rises with ``threshold`` (louder speech needed);
* its RMS level is ``margin`` dB above the noise floor, the minimum frame level of the last 2 s.
  webrtcvad alone keeps flagging steady background noise as speech after an utterance (its noise
  model adapts slowly), which would stop a turn from ever ending in a noisy room.

Speech starts after a short run of voiced frames (so clicks do not open a turn) and stops after
``silence_duration_ms`` of unvoiced frames.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np
import webrtcvad

__all__ = [
    "IdleTimeout",
    "ServerVad",
    "SpeechStarted",
    "SpeechStopped",
    "VadConfig",
    "VadEvent",
]

FRAME_MS = 20
"""Analysis frame length; 20 ms divides the usual padding and silence settings exactly."""

START_MS = 80
"""Voiced audio needed in a row before a turn starts (rejects clicks and pops)."""

NOISE_WINDOW_MS = 2_000
"""Window of the minimum-level noise-floor estimate: long enough to span the quiet moments of
continuous speech, short enough to adapt to a new background noise within a couple of seconds."""

_VAD_RATE = 16_000
_WEBRTC_RATES = (8_000, 16_000, 32_000, 48_000)
_SILENT_DB = -100.0  # level given to digital silence instead of -inf

EAGERNESS_SILENCE_MS: dict[str, int] = {"low": 800, "medium": 500, "high": 300, "auto": 500}
"""``semantic_vad`` eagerness mapped onto the silence that ends a turn."""


def _aggressiveness(threshold: float) -> int:
    return min(3, int(threshold * 4))


def _min_level_db(threshold: float) -> float:
    # 0.0 -> -70 dBFS (barely audible), 0.5 -> -47.5 dBFS, 1.0 -> -25 dBFS (close, loud speech).
    return -70.0 + 45.0 * threshold


def _snr_margin_db(threshold: float) -> float:
    # Frame-level spread of steady noise is well under 1 dB, so even 3 dB rejects it.
    return 3.0 + 9.0 * threshold


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
    """No speech started between ``audio_start_ms`` (timer armed) and ``audio_end_ms``."""

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
    """

    def __init__(
        self, config: VadConfig = VadConfig(), sample_rate: int = 24_000, *, engine: str = "auto"
    ) -> None:
        if engine not in ("auto", "webrtc"):
            raise ValueError(f"vad: unknown engine {engine!r}; choose 'auto' or 'webrtc'")
        self.engine = "webrtc"
        frame = sample_rate * FRAME_MS // 1000
        if sample_rate <= 0 or frame * 1000 != sample_rate * FRAME_MS:
            raise ValueError(f"sample_rate must give whole {FRAME_MS} ms frames, got {sample_rate}")
        self.config = config
        self.sample_rate = sample_rate
        self._frame = frame
        self._vad = webrtcvad.Vad(_aggressiveness(config.threshold))
        self._min_db = _min_level_db(config.threshold)
        self._margin_db = _snr_margin_db(config.threshold)
        self._start_frames = max(1, math.ceil(START_MS / FRAME_MS))
        self._stop_frames = max(1, math.ceil(config.silence_duration_ms / FRAME_MS))
        self._prefix = config.prefix_padding_ms * sample_rate // 1000
        self._idle = (
            None if config.idle_timeout_ms is None else config.idle_timeout_ms * sample_rate // 1000
        )
        if sample_rate in _WEBRTC_RATES:
            self._vad_rate, self._interp = sample_rate, None
        else:
            # Other rates (the API's 24 kHz) go to 16 kHz rather than up to 48 kHz: webrtcvad
            # analyses only 0-4 kHz after its own downsampling to 8 kHz, so 16 kHz loses nothing
            # and needs a third of the samples. Linear interpolation aliases 8-12 kHz into
            # 4-8 kHz, which webrtcvad's half-band filter then removes. Interpolating each frame
            # on its own (precomputed indices) keeps the result independent of the chunking.
            out = _VAD_RATE * FRAME_MS // 1000
            pos = np.arange(out) * (frame / out)
            lo = np.minimum(np.floor(pos).astype(np.intp), frame - 1)
            self._vad_rate = _VAD_RATE
            self._interp = (lo, np.minimum(lo + 1, frame - 1), pos - lo)
        self._noise: deque[tuple[int, float]] = deque()  # (frame index, level) rising minima
        self._frames_seen = 0
        self._noise_frames = NOISE_WINDOW_MS // FRAME_MS
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
        """Unvoiced audio since the last voiced frame of the turn in progress (0 outside one)."""
        return self._silence * FRAME_MS if self._in_speech else 0

    def turn_audio(self) -> bytes:
        """The audio of the turn in progress so far, prefix padding included (not consumed)."""
        return self._audio(self._turn_start, self._next_frame) if self._in_speech else b""

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
            self._analyse(block.reshape(n, self._frame), events)
        self._trim()
        return events

    def _analyse(self, frames: np.ndarray, events: list[VadEvent]) -> None:
        x = frames.astype(np.float32)
        power = np.einsum("ij,ij->i", x, x) / frames.shape[1]
        levels = (10.0 * np.log10(np.maximum(power, 1e-10) / 32768.0**2)).tolist()
        if self._interp is not None:
            lo, hi, frac = self._interp
            x = x[:, lo] * (1.0 - frac) + x[:, hi] * frac
            frames = np.rint(x).astype("<i2")
        raw = frames.astype("<i2", copy=False).tobytes()
        size = frames.shape[1] * 2
        for i, level in enumerate(levels):
            level = max(level, _SILENT_DB)
            noise = self._noise_floor(level)
            speech = self._vad.is_speech(raw[i * size : (i + 1) * size], self._vad_rate)
            voiced = speech and level >= self._min_db and level >= noise + self._margin_db
            self._step(voiced, events)

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
            events.append(IdleTimeout(self._ms(self._idle_from), self._ms(end)))
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
