"""The session observer: records session events for the analysis frames, plots and recordings.

It subscribes to a session's events; the session delivers them from its event task, after the
receive loop has moved on, so observing stays off the hot path. Each event becomes a plain
:data:`~rtnb.analysis.records.Record`; ``history_updated`` is recorded as the items that changed
(and the new order when it changed), not as the whole history.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable, Iterable
from typing import Any

from rtnb.session.items import HistoryItem

from ._session import agent_name, subscribe
from .records import Record, fingerprint, item_from_dict, item_to_dict, record_event

OBSERVED_EVENTS = (
    "audio",
    "audio_stopped",
    "audio_interrupted",
    "agent_start",
    "agent_end",
    "agent_tool_start",
    "agent_tool_end",
    "history_updated",
    "error",
    "connection_change",
    "transport_event",
    "tool_approval_requested",
    "tool_approval_decided",
    "mcp_tool_call_completed",
    "guardrail_tripped",
    "agent_handoff",
)
"""Session events an observer listens to (those a session does not know are skipped)."""


class SessionObserver:
    """Records of one session's events, and what the frames need from them.

    Build one with :func:`observe` (one per session), or from saved records with
    :meth:`from_records`. ``audio=True`` keeps the audio itself (base64) for replay.
    """

    def __init__(
        self,
        session: Any = None,
        *,
        audio: bool = False,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.records: list[Record] = []
        self.audio = audio
        self.agent: str | None = None
        self.items: dict[str, dict[str, Any]] = {}
        """Item id -> the latest version of the item, as a dict (see ``item_to_dict``)."""
        self.order: list[str] = []
        self.item_agent: dict[str, str | None] = {}
        self.item_audio_ms: dict[str, float] = {}
        self._clock = clock
        self._start = clock()
        self._fingerprints: dict[str, tuple[Any, ...]] = {}
        self._speech_start: dict[str, float] = {}
        self._listeners: list[Callable[[Record], Any]] = []
        self.session = session
        if session is not None:
            self.agent = agent_name(session)
            subscribe(session, dict.fromkeys(OBSERVED_EVENTS, self._on_event))

    @classmethod
    def from_records(cls, records: Iterable[Record]) -> SessionObserver:
        """An observer holding saved records (for frames and plots of a recording)."""
        observer = cls()
        for record in records:
            observer.add(record)
        return observer

    def on_record(self, callback: Callable[[Record], Any]) -> None:
        """Call ``callback(record)`` for every record added from now on."""
        self._listeners.append(callback)

    def history(self) -> list[HistoryItem]:
        """The history as last recorded (new item objects)."""
        return [item_from_dict(self.items[item_id]) for item_id in self.order]

    def add(self, record: Record) -> None:
        """Add a record (with its ``t``) and update what is derived from it."""
        self.records.append(record)
        self._derive(record)
        for callback in self._listeners:
            callback(record)

    def now(self) -> float:
        """Seconds since the observer started."""
        return self._clock() - self._start

    # ----------------------------------------------------------------- events

    def _on_event(self, event: Any) -> None:
        if event.type == "history_updated":
            record = self._history_record(event.history)
        else:
            record = record_event(
                event,
                agent=agent_name(self.session),
                audio=self.audio,
                backend=getattr(self.session, "backend", None),
            )
        if record is not None:
            self.add({"t": round(self.now(), 6), **record})

    def _history_record(self, history: Iterable[HistoryItem]) -> Record | None:
        changed = []
        order = []
        for item in history:
            order.append(item.item_id)
            mark = fingerprint(item)
            if self._fingerprints.get(item.item_id) != mark:
                self._fingerprints[item.item_id] = mark
                changed.append(item_to_dict(item))
        record: Record = {"event": "history_updated", "items": changed}
        if order != self.order:
            record["order"] = order
        elif not changed:
            return None
        return record

    # ----------------------------------------------------------------- derived state

    def _derive(self, record: Record) -> None:
        kind = record["event"]
        if kind in ("agent_start", "agent_end", "connection_change") and record.get("agent"):
            self.agent = record["agent"]
        elif kind == "agent_handoff" and record.get("to_agent"):
            self.agent = record["to_agent"]
        elif kind == "history_updated":
            for item in record["items"]:
                self.items[item["item_id"]] = item
                self.item_agent.setdefault(item["item_id"], self.agent)
            if "order" in record:
                self.order = list(record["order"])
        elif kind == "audio":
            item_id = record["item_id"]
            self.item_audio_ms[item_id] = self.item_audio_ms.get(item_id, 0.0) + record["ms"]
        elif kind == "input_audio_buffer.speech_started" and "item_id" in record:
            self._speech_start[record["item_id"]] = record.get("audio_start_ms", 0)
        elif kind == "input_audio_buffer.speech_stopped" and "item_id" in record:
            start = self._speech_start.get(record["item_id"])
            if start is not None and "audio_end_ms" in record:
                self.item_audio_ms[record["item_id"]] = float(record["audio_end_ms"] - start)


_observers: weakref.WeakKeyDictionary[Any, SessionObserver] = weakref.WeakKeyDictionary()


def observe(session: Any, *, audio: bool = False) -> SessionObserver:
    """The observer of ``session``, attached on first use (call it before connecting).

    An observer passed in is returned as is; a replayed session brings its own.
    """
    if isinstance(session, SessionObserver):
        return session
    own = getattr(session, "observer", None)
    if isinstance(own, SessionObserver):
        return own
    observer = _observers.get(session)
    if observer is None:
        observer = _observers[session] = SessionObserver(session, audio=audio)
    elif audio and not observer.audio:
        observer.audio = True
    return observer
