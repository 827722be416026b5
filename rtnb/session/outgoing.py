"""The outgoing queue of a session: client events waiting for the writer, with a bound.

``send_*`` only queue events; one writer task sends them in order. When the connection stops
draining (a stalled socket: the server or the network stops reading, so the writer's sends
block), the queue does not grow without limit:

* microphone audio (``input_audio_buffer.append``) is bounded by its duration: past
  ``max_audio_ms`` queued, the oldest appends are dropped (the newest is always kept) and an
  ``error`` session event carrying :class:`OutgoingAudioDropped` is emitted, once per stall (the
  next drop after the queue emptied reports again). The bound is large enough for any clip queued
  at once (push-to-talk) and small enough to keep memory flat however long the stall lasts.
* every other (control) event is kept: none is ever dropped. Past ``max_control_events`` queued,
  queuing one more raises :class:`OutgoingQueueFull` (a clear error instead of growing).

:class:`OutgoingStats` (``session.outgoing``) says what is queued and what was dropped.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from rtnb.protocol.events import Event

MAX_AUDIO_MS = 60_000
"""Default bound of queued microphone audio (about 3 MB of PCM16 at 24 kHz)."""
MAX_CONTROL_EVENTS = 10_000
"""Default bound of queued control events (every event that is not an audio append)."""

_BYTES_PER_MS = 48  # PCM16, 24 kHz mono
_APPEND = "input_audio_buffer.append"


class OutgoingAudioDropped(Exception):
    """The connection did not drain: the oldest queued microphone audio was dropped."""

    def __init__(self, dropped_ms: float, queued_ms: float) -> None:
        super().__init__(
            f"the connection is not sending: dropped the oldest {dropped_ms:.0f} ms of queued "
            f"microphone audio ({queued_ms:.0f} ms still queued)"
        )
        self.dropped_ms = dropped_ms
        self.queued_ms = queued_ms


class OutgoingQueueFull(RuntimeError):
    """Too many control events are queued on a connection that does not drain."""


@dataclass(frozen=True)
class OutgoingStats:
    """What the outgoing queue holds now, and what it dropped so far."""

    events: int
    """Events queued (audio appends and control events)."""
    audio_ms: float
    """Microphone audio queued, in milliseconds."""
    dropped_audio_ms: float
    """Microphone audio dropped because the connection did not drain, in milliseconds."""


class OutgoingQueue:
    """A FIFO of client events for one writer, bounded as the module docstring says."""

    def __init__(
        self,
        on_audio_dropped: Callable[[OutgoingAudioDropped], None],
        *,
        max_audio_ms: float = MAX_AUDIO_MS,
        max_control_events: int = MAX_CONTROL_EVENTS,
    ) -> None:
        self._on_audio_dropped = on_audio_dropped
        self._max_audio_bytes = int(max_audio_ms * _BYTES_PER_MS)
        self._max_control = max_control_events
        self._items: deque[tuple[Event, int]] = deque()  # (event, audio bytes; 0 for control)
        self._audio_bytes = 0
        self._control = 0
        self._dropped_bytes = 0
        self._reported = False  # a drop was reported and the queue has not emptied since
        self._ending = False
        self._ready = asyncio.Event()

    @property
    def stats(self) -> OutgoingStats:
        """What is queued now and what was dropped so far."""
        return OutgoingStats(
            len(self._items),
            self._audio_bytes / _BYTES_PER_MS,
            self._dropped_bytes / _BYTES_PER_MS,
        )

    def put(self, event: Event) -> None:
        """Queue ``event``; may drop older audio; raises :class:`OutgoingQueueFull`."""
        audio = _audio_bytes(event)
        if not audio:
            if self._control >= self._max_control:
                raise OutgoingQueueFull(
                    f"{self._control} control events are waiting for a connection that does "
                    f"not send; {event.get('type')!r} was not queued"
                )
            self._control += 1
        self._items.append((event, audio))
        self._audio_bytes += audio
        if self._audio_bytes > self._max_audio_bytes:
            self._drop_oldest_audio()
        self._ready.set()

    def end(self) -> None:
        """No more events: :meth:`get` returns what is queued, then ``None``."""
        self._ending = True
        self._ready.set()

    async def get(self) -> Event | None:
        """The next event, waiting for one; ``None`` once :meth:`end` was called and it is empty."""
        while not self._items:
            if self._ending:
                return None
            self._ready.clear()
            await self._ready.wait()
        event, audio = self._items.popleft()
        if not self._items:
            self._reported = False  # drained: the next overflow is a new stall
        if audio:
            self._audio_bytes -= audio
        else:
            self._control -= 1
        return event

    def _drop_oldest_audio(self) -> None:
        dropped = 0
        controls: list[tuple[Event, int]] = []  # met on the way: kept, in order
        while self._audio_bytes > self._max_audio_bytes:
            event, audio = self._items[0]
            if audio == self._audio_bytes:
                break  # the newest append is all the audio left: it is kept
            self._items.popleft()
            if audio:
                self._audio_bytes -= audio
                dropped += audio
            else:
                controls.append((event, audio))
        self._items.extendleft(reversed(controls))
        self._dropped_bytes += dropped
        if dropped and not self._reported:
            self._reported = True
            stats = self.stats
            self._on_audio_dropped(OutgoingAudioDropped(dropped / _BYTES_PER_MS, stats.audio_ms))


def _audio_bytes(event: Event) -> int:
    if event.get("type") != _APPEND:
        return 0
    audio = event.get("audio")
    # base64: 4 characters carry 3 bytes; an empty append still counts as audio (1 byte).
    return max(1, len(audio) * 3 // 4) if isinstance(audio, str) else 1
