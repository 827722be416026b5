"""Client-side response gate: hold ``response.create`` while a response is in progress.

The Realtime API rejects a ``response.create`` sent while another response is active
(``conversation_already_has_active_response``). The gate holds such requests and releases one when
the active response ends (``response.done``) or when an ``error`` names the request. Sans-I/O: the
caller feeds events in and sends what comes out.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from .events import Event, new_id

GATE_EVENTS = frozenset({"response.created", "response.done", "error"})
"""The server events :meth:`ResponseGate.on_server_event` reacts to (others may skip it)."""


@dataclass
class ResponseGate:
    """Tracks whether a response is active and queues ``response.create`` events meanwhile."""

    active_response_id: str | None = None
    _awaiting: str | None = None
    _held: deque[Event] = field(default_factory=deque)

    @property
    def busy(self) -> bool:
        """True while a response is active or a ``response.create`` awaits ``response.created``."""
        return self.active_response_id is not None or self._awaiting is not None

    @property
    def held(self) -> int:
        """Number of ``response.create`` events waiting."""
        return len(self._held)

    def request(self, event: Event) -> list[Event]:
        """Offer a ``response.create``; return it to send now, or ``[]`` if it is held."""
        event.setdefault("event_id", new_id("event"))
        if self.busy:
            self._held.append(event)
            return []
        self._awaiting = event["event_id"]
        return [event]

    def on_server_event(self, event: Event) -> list[Event]:
        """Update from a server event; return held requests that may be sent now."""
        kind = event["type"]
        if kind == "response.created":
            self._awaiting = None
            self.active_response_id = event["response"].get("id")
            return []
        if kind == "response.done":
            done_id = event["response"].get("id")
            if self.active_response_id in (None, done_id):
                self.active_response_id = None
            return self._release()
        if kind == "error":
            error = event.get("error") or {}
            if self._awaiting is not None and error.get("event_id") == self._awaiting:
                self._awaiting = None
                return self._release()
            if error.get("code") == "conversation_already_has_active_response":
                self._awaiting = None
        return []

    def reset(self) -> None:
        """Forget all state (after a reconnect)."""
        self.active_response_id = None
        self._awaiting = None
        self._held.clear()

    def _release(self) -> list[Event]:
        if self.busy or not self._held:
            return []
        event = self._held.popleft()
        self._awaiting = event["event_id"]
        return [event]
