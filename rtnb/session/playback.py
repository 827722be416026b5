"""The model's audio: delivery as ``audio`` events, and interruption (barge-in, cuts, truncation).

:class:`PlaybackTracker` is the bookkeeping: what was received, what was played.
:class:`Playback` is the session's part that reacts to the audio server events with it.

The session knows how much audio of the current item it received. How much of it the user really
heard is reported by the player (``RealtimeSession.set_playback_position``); until a position is
reported for the item, the tracker assumes everything received was played. The cut point is the
played position clamped to the audio received, so a truncation is never longer than the audio.
An answer whose response is done and whose audio was all played is finished: an interruption
after it (Interrupt while idle, the next question's speech) cuts and marks nothing.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rtnb.protocol import client_events as ce
from rtnb.protocol.audio import AudioFormatError, decode_audio, decoded_size, duration_ms
from rtnb.protocol.events import Event
from rtnb.protocol.gate import ResponseGate

from .dispatch import EventDispatcher
from .events import (
    AudioEvent,
    AudioInterruptedEvent,
    AudioStartEvent,
    AudioStoppedEvent,
    ErrorEvent,
)
from .history import History

HEARD_SLACK_MS = 5.0
"""A player's last report may fall this short of the audio received (rounding to samples and
render quanta) for an item it played to its end."""


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

    def cut(self, active_response_id: str | None, *, spare_finished: bool = True) -> Cut | None:
        """Stop tracking the current item and say where it was cut (``None`` if no audio).

        With ``spare_finished``, an item whose response is done and whose audio was all played
        is not cut either (``None``): nothing is playing then. A guardrail's stop cuts it anyway,
        so that a player still holding its audio drops it.

        The server copy is truncated when the user heard less than was received, or when the
        response that streams the item is still active (more audio would follow).
        """
        if self.item_id is None:
            return None
        received = self.received_ms
        played = received if self.played_ms is None else min(self.played_ms, received)
        end_ms = max(0, math.floor(played))
        streaming = active_response_id is not None and active_response_id == self.response_id
        finished = not streaming and self.response_id not in self.audio_responses
        if (
            spare_finished and finished and played >= received - HEARD_SLACK_MS
        ):  # an answer heard to its end
            self._forget_item()
            return None
        if streaming and active_response_id is not None:
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


class Playback:
    """Audio deltas to ``audio`` events (and to history), barge-in, cuts and truncation."""

    def __init__(
        self,
        *,
        events: EventDispatcher,
        history: History,
        gate: ResponseGate,
        send: Callable[[Event], None],
        turn_detection: Callable[[], Any],
    ) -> None:
        self.tracker = PlaybackTracker()
        self._events = events
        self._history = history
        self._gate = gate
        self._send = send
        self._turn_detection = turn_detection

    def set_position(self, item_id: str, ms: float, content_index: int = 0) -> None:
        """Record how many milliseconds of an item the player has played."""
        self.tracker.set_position(item_id, ms, content_index)

    def on_audio_delta(self, event: Event) -> None:
        """``response.output_audio.delta``."""
        response_id = event["response_id"]
        tracker = self.tracker
        if not tracker.accepts(response_id):
            return  # late audio of an interrupted response
        b64 = event["delta"]
        history = self._history
        try:
            # The audio is decoded here only to be stored; else by whoever reads event.data.
            pcm = decode_audio(b64) if history.store_audio else None
            size = decoded_size(b64) if pcm is None else len(pcm)
        except AudioFormatError as exc:
            self._events.emit(ErrorEvent(exc))
            return
        item_id, content_index = event["item_id"], event["content_index"]
        events = self._events
        if tracker.on_delta(item_id, content_index, response_id, size):
            events.emit(AudioStartEvent(item_id, content_index, response_id))
        if pcm is not None:
            history.append_audio(item_id, content_index, pcm)
        if events.wants("audio"):
            if pcm is None:
                events.emit(AudioEvent.from_base64(b64, item_id, content_index, response_id))
            else:
                events.emit(AudioEvent(pcm, item_id, content_index, response_id))

    def on_response_done(self, event: Event) -> None:
        """``response.done``: the response's audio (if any) is finished."""
        response_id = event["response"].get("id")
        item_id = self.tracker.finish_response(response_id)
        if item_id is not None:
            self._events.emit(AudioStoppedEvent(response_id, item_id))

    def on_output_audio_stopped(self, event: Event) -> None:
        """``output_audio_buffer.stopped`` (WebRTC/SIP): nothing is playing now."""
        response_id = event["response_id"]
        item_id = self.tracker.playback_stopped(response_id)
        if item_id is not None:
            self._events.emit(AudioStoppedEvent(response_id, item_id))

    def on_speech_started(self, event: Event) -> None:
        """``input_audio_buffer.speech_started``: the user barges in."""
        turn_detection = self._turn_detection()
        if isinstance(turn_detection, dict) and turn_detection.get("interrupt_response") is False:
            return  # the user asked for no barge-in: let the answer play on
        self.cut()

    def interrupt(self) -> None:
        """Cancel the active response and cut the playing audio (``RealtimeSession.interrupt``)."""
        response_id = self._gate.active_response_id
        if response_id is not None:
            self.cancel_response(response_id)
        if not self.cut():
            self._events.emit(AudioInterruptedEvent(None, 0, None))

    def stop_response(self, response_id: str) -> None:
        """Cancel ``response_id`` if it is active and cut its audio if it is playing."""
        self.cancel_response(response_id)
        if self.tracker.response_id == response_id:
            self.cut(spare_finished=False)

    def cancel_response(self, response_id: str) -> None:
        """Cancel ``response_id`` if it is the active response; drop its late audio."""
        if response_id == self._gate.active_response_id:
            self.tracker.interrupted_responses.add(response_id)
            self._send(ce.cancel_response(response_id))

    def cut(self, *, spare_finished: bool = True) -> bool:
        """Emit ``audio_interrupted`` for the playing item and truncate it; False if none."""
        cut = self.tracker.cut(self._gate.active_response_id, spare_finished=spare_finished)
        if cut is None:
            return False
        self._events.emit(AudioInterruptedEvent(cut.item_id, cut.content_index, cut.audio_end_ms))
        if cut.truncate:
            self._send(ce.truncate_item(cut.item_id, cut.audio_end_ms, cut.content_index))
        return True
