"""Recorded clips as user turns: decode a whole recording, send it as one committed turn.

A push-to-talk source (:class:`rtnb.widgets.PushToTalk`) hands over a finished recording, not a
stream: a browser's ``MediaRecorder`` clip (WebM/Opus) or any file FFmpeg reads.
:func:`decode_clip` turns it into PCM16 mono 24 kHz with PyAV (``pip install 'rtnb[webrtc]'``;
faster-whisper installs it too), and :func:`send_turn` sends that audio as exactly one committed
user turn and asks for the answer, whatever the session's turn detection: server VAD is switched
off for the clip and restored after it, so a pause inside the clip cannot split it in two.
"""

from __future__ import annotations

import io
from typing import Any

from rtnb.protocol.audio import SAMPLE_RATE, bytes_for_ms, duration_ms

__all__ = ["MIN_TURN_MS", "ClipError", "decode_clip", "send_turn"]

MIN_TURN_MS = 100
"""The shortest turn a Realtime server commits (shorter buffers are rejected as empty)."""

SEND_CHUNK_MS = 1000
"""Audio per ``input_audio_buffer.append`` event when a clip is sent (32 KB of base64)."""


class ClipError(ValueError):
    """A recording that cannot become a user turn: empty, unreadable, silent or too short."""


def decode_clip(data: bytes | bytearray | memoryview) -> bytes:
    """Decode a recorded clip (WebM/Opus from a browser, or any audio FFmpeg reads) to PCM16
    mono 24 kHz bytes. Raises :class:`ClipError` naming what is wrong with ``data``."""
    raw = bytes(data)
    if not raw:
        raise ClipError("clip: no data (was anything recorded?)")
    try:
        import av
    except ImportError as exc:  # pragma: no cover - av comes with faster-whisper and the extra
        raise ImportError("decoding clips needs PyAV: pip install 'rtnb[webrtc]'") from exc
    pieces: list[bytes] = []
    try:
        with av.open(io.BytesIO(raw), mode="r") as container:
            if not container.streams.audio:
                raise ClipError("clip: no audio stream in the recording")
            resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
            for frame in container.decode(container.streams.audio[0]):
                pieces.extend(f.to_ndarray().tobytes() for f in resampler.resample(frame))
            pieces.extend(f.to_ndarray().tobytes() for f in resampler.resample(None))
    except av.FFmpegError as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise ClipError(f"clip: not a readable audio recording ({reason})") from None
    pcm = b"".join(pieces)
    if not pcm:
        raise ClipError("clip: the recording holds no audio samples")
    return pcm


def send_turn(session: Any, pcm16: bytes, *, chunk_ms: float = SEND_CHUNK_MS) -> None:
    """Send ``pcm16`` (mono 24 kHz) as one committed user turn and ask for the answer.

    Only queues events (call it on the session's event loop): with turn detection on, a
    ``session.update`` turns it off, the input buffer is cleared (audio another source left
    there is not part of this turn), the clip is appended and committed, a response is
    requested unless the turn detection says ``create_response: false``, and the turn
    detection is restored. With it off, the clip is appended and committed
    (``send_audio(commit=True)`` asks for the response). Nothing is sent while the session
    is muted. Raises :class:`ClipError` for audio shorter than :data:`MIN_TURN_MS`.
    """
    if len(pcm16) % 2:
        raise ClipError("pcm16: needs an even number of bytes")
    if duration_ms(pcm16) < MIN_TURN_MS:
        raise ClipError(
            f"clip: {duration_ms(pcm16):.0f} ms of audio is too short for a turn "
            f"(at least {MIN_TURN_MS} ms)"
        )
    if session.muted:
        return
    turn_detection = session.turn_detection
    step = bytes_for_ms(chunk_ms)
    if turn_detection is None:
        for start in range(0, len(pcm16), step):
            session.send_audio(pcm16[start : start + step])
        session.send_audio(b"", commit=True)
        return
    session.send_event(_turn_detection_update(None))
    session.send_event({"type": "input_audio_buffer.clear"})
    for start in range(0, len(pcm16), step):
        session.send_audio(pcm16[start : start + step])
    session.send_event({"type": "input_audio_buffer.commit"})
    if turn_detection.get("create_response", True):
        session.send_event({"type": "response.create"})
    session.send_event(_turn_detection_update(dict(turn_detection)))


def _turn_detection_update(turn_detection: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "type": "session.update",
        "session": {"type": "realtime", "audio": {"input": {"turn_detection": turn_detection}}},
    }
