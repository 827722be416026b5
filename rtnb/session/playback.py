"""Bookkeeping of the model's audio for interruption: what was received, what was played.

The session knows how much audio of the current item it received. How much of it the user really
heard is reported by the player (``RealtimeSession.set_playback_position``); until a position is
reported for the item, the tracker assumes everything received was played. The cut point is the
played position clamped to the audio received, so a truncation is never longer than the audio.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from rtnb.protocol.audio import duration_ms


@dataclass(frozen=True)
class Cut:
    """Where to cut the playing item, and whether the server copy must be truncated."""

    item_id: str
    content_index: int
    audio_end_ms: int
    truncate: bool


@dataclass
class PlaybackTracker:
    """Audio state of the item being played and of the responses that produced audio."""

    item_id: str | None = None
    content_index: int = 0
    response_id: str | None = None
    received_bytes: int = 0
    played_ms: float | None = None
    audio_responses: dict[str, str] = field(default_factory=dict)  # response -> last item
    interrupted_responses: set[str] = field(default_factory=set)

    @property
    def received_ms(self) -> float:
        """Duration of the audio received for the current item."""
        return duration_ms(self.received_bytes)

    def accepts(self, response_id: str) -> bool:
        """False for audio of a response that was interrupted (late deltas are dropped)."""
        return response_id not in self.interrupted_responses

    def on_delta(self, item_id: str, content_index: int, response_id: str, n_bytes: int) -> bool:
        """Count received audio; return True when this delta starts a new item."""
        started = (item_id, content_index) != (self.item_id, self.content_index)
        if started:
            self.item_id, self.content_index, self.response_id = item_id, content_index, response_id
            self.received_bytes = 0
            self.played_ms = None
        self.received_bytes += n_bytes
        self.audio_responses[response_id] = item_id
        return started

    def set_position(self, item_id: str, ms: float, content_index: int = 0) -> None:
        """Record how many milliseconds of an item the player has played."""
        if (item_id, content_index) == (self.item_id, self.content_index):
            self.played_ms = max(0.0, float(ms))

    def cut(self, active_response_id: str | None) -> Cut | None:
        """Stop tracking the current item and say where it was cut (``None`` if no audio).

        The server copy is truncated when the user heard less than was received, or when the
        response that streams the item is still active (more audio would follow).
        """
        if self.item_id is None:
            return None
        received = self.received_ms
        played = received if self.played_ms is None else min(self.played_ms, received)
        end_ms = max(0, math.floor(played))
        streaming = active_response_id is not None and active_response_id == self.response_id
        if streaming:
            self.interrupted_responses.add(active_response_id)
        cut = Cut(
            self.item_id, self.content_index, end_ms, end_ms < math.floor(received) or streaming
        )
        self._forget_item()
        return cut

    def finish_response(self, response_id: str | None) -> str | None:
        """Forget a finished response; return its last audio item id, or ``None`` if it had none.

        A given response's audio is reported finished once (here or by :meth:`playback_stopped`).
        """
        if response_id is None:
            return None
        self.interrupted_responses.discard(response_id)
        return self.audio_responses.pop(response_id, None)

    def playback_stopped(self, response_id: str | None) -> str | None:
        """The output buffer finished playing a response (WebRTC/SIP): nothing is playing now.

        Returns the response's last audio item id if its end was not reported yet.
        """
        if response_id is not None and response_id == self.response_id:
            self._forget_item()
        return self.audio_responses.pop(response_id, None) if response_id else None

    def _forget_item(self) -> None:
        self.item_id, self.response_id = None, None
        self.content_index, self.received_bytes, self.played_ms = 0, 0, None
