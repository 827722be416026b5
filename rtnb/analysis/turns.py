"""Which records belong to which user turn: the pairing behind the latency and tool frames.

A turn starts where the user's turn ends: at ``speech_stopped`` (the server's VAD), or when a
user item first appears in the history (a typed message, or audio committed by hand). A response
belongs to the latest turn started before the response did (its ``agent_start``), and everything
of that response goes with it, wherever it falls in time: its audio (by ``response_id``), its end,
an interruption of its audio (by item id) and the tool calls it asked for. So an answer that is
still playing when the user types the next message stays with the turn it answers.

A response that follows a tool call belongs to the turn current when it starts: when the user
starts a new turn while a tool is running, the follow-up goes with the new turn.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from .records import Record

TRANSCRIPT = "conversation.item.input_audio_transcription.completed"

OUTCOMES = ("answered", "interrupted", "no answer", "in progress", "failed", "incomplete")
"""A turn's ``outcome``, from its last response (see :attr:`Turn.outcome`)."""


@dataclass
class ToolCall:
    """One tool call: what ran, when (seconds), and the turn it belongs to."""

    call_id: str
    tool: str | None
    agent: str | None
    arguments: str | None
    t: float
    turn: int | None
    end: float | None = None
    output: Any = None

    @property
    def duration_ms(self) -> float:
        """Milliseconds from start to end (``NaN`` while it runs)."""
        return math.nan if self.end is None else (self.end - self.t) * 1000


@dataclass
class Turn:
    """One user turn and the times (seconds, the records' clock) of what answered it."""

    number: int
    kind: str
    """``spoken`` or ``typed``."""
    item_id: str | None
    t: float
    """When the turn ended: ``speech_stopped``, or the user item's arrival."""
    vad_ms: float = math.nan
    """The silence the server's VAD waited for before ``speech_stopped`` (``server_vad``'s
    ``silence_duration_ms``); ``NaN`` when the VAD did not end the turn or did not say."""
    transcript: float | None = None
    first_audio: float | None = None
    done: float | None = None
    """The end of the turn's last response; ``None`` while it has not ended (an earlier
    response's end, e.g. the one that asked for a tool, is not the turn's)."""
    responses: list[str | None] = field(default_factory=list)
    statuses: dict[str | None, str] = field(default_factory=dict)
    """Response id -> the status it ended with."""
    interrupted: set[str | None] = field(default_factory=set)
    """Responses whose audio was interrupted."""
    tools: list[ToolCall] = field(default_factory=list)
    over: bool = False
    """Whether a later turn began or the session disconnected (no answer is to come)."""

    def ms(self, mark: float | None) -> float:
        """Milliseconds from the turn's end to ``mark`` (``NaN`` for no mark)."""
        return math.nan if mark is None else (mark - self.t) * 1000

    @property
    def outcome(self) -> str:
        """How the turn's last response went (one of :data:`OUTCOMES`).

        ``no answer``: no response started before the next turn or the end of the session
        (``create_response`` off, or nothing heard); ``in progress``: the answer is to come (no
        response yet), or the last response, or a tool call it asked for, has not finished;
        ``interrupted``: the last response was cancelled or its audio cut (barge-in,
        ``interrupt()``); ``failed``/``incomplete``: the response's own status.
        """
        if not self.responses:
            return "no answer" if self.over else "in progress"
        last = self.responses[-1]
        status = self.statuses.get(last)
        if last in self.interrupted or status == "cancelled":
            return "interrupted"
        if status is None or self.done is None:
            return "in progress"
        if any(call.end is None or call.t >= self.done for call in self.tools):
            return "in progress"  # the answer, or the response after a tool call, is to come
        if status in ("failed", "incomplete"):
            return status
        return "answered"


def silence_ms(turn_detection: dict[str, Any] | None, backend: str | None = None) -> float:
    """The silence the server's VAD waits for before it ends a turn; ``NaN`` if not known.

    ``server_vad``: its ``silence_duration_ms``. ``semantic_vad``: known only on the local
    server (``backend="local"``), which maps ``eagerness`` onto a fixed silence; OpenAI's model
    waits as long as what was said suggests.
    """
    kind = (turn_detection or {}).get("type", "server_vad")
    if not turn_detection or kind not in ("server_vad", "semantic_vad"):
        return math.nan
    if kind == "semantic_vad":
        if backend != "local":
            return math.nan
        from rtnb.local.speech.vad import EAGERNESS_SILENCE_MS  # the local server's own mapping

        value = EAGERNESS_SILENCE_MS.get(turn_detection.get("eagerness", "auto"))
    else:
        value = turn_detection.get("silence_duration_ms")
    return float(value) if isinstance(value, (int, float)) else math.nan


def split_turns(records: list[Record]) -> tuple[list[Turn], list[ToolCall]]:
    """The user turns of ``records`` and all tool calls (those before any turn have none)."""
    return _Splitter().run(records)


class _Splitter:
    def __init__(self) -> None:
        self.turns: list[Turn] = []
        self.calls: dict[str, ToolCall] = {}
        self.response_turn: dict[str | None, Turn | None] = {}
        self.item_response: dict[str, str | None] = {}
        self.last_response: str | None = None
        self.spoken: set[str | None] = set()
        self.seen_user: set[str] = set()
        self.turn_detection: dict[str, Any] | None = None
        self.backend: str | None = None

    def run(self, records: list[Record]) -> tuple[list[Turn], list[ToolCall]]:
        for record in records:
            self.add(record)
        return self.turns, list(self.calls.values())

    @property
    def current(self) -> Turn | None:
        return self.turns[-1] if self.turns else None

    def turn_of(self, response_id: str | None) -> Turn | None:
        if response_id in self.response_turn:
            return self.response_turn[response_id]
        return self.current  # a response that began before the observer did

    def start(self, kind: str, item_id: str | None, t: float, vad_ms: float) -> None:
        if self.turns:
            self.turns[-1].over = True
        self.turns.append(Turn(len(self.turns), kind, item_id, t, vad_ms))

    def add(self, record: Record) -> None:
        kind, t = record["event"], record["t"]
        response_id = record.get("response_id") or self.last_response
        if kind in ("session.created", "session.updated"):
            self.turn_detection = record.get("turn_detection")
        elif kind == "connection_change":
            self.backend = record.get("backend") or self.backend
            if record.get("status") == "disconnected" and self.turns:
                self.turns[-1].over = True
        elif kind == "input_audio_buffer.speech_stopped":
            self.spoken.add(record.get("item_id"))
            vad_ms = silence_ms(self.turn_detection, self.backend)
            self.start("spoken", record.get("item_id"), t, vad_ms)
        elif kind == "history_updated":
            for item in record["items"]:
                if item.get("role") != "user" or item["item_id"] in self.seen_user:
                    continue
                self.seen_user.add(item["item_id"])
                if item["item_id"] not in self.spoken:  # else its turn began at speech_stopped
                    audio = any("audio" in part["type"] for part in item.get("content", []))
                    self.start("spoken" if audio else "typed", item["item_id"], t, math.nan)
        elif kind == TRANSCRIPT:
            turn = next((u for u in self.turns if u.item_id == record.get("item_id")), None)
            if turn is not None and turn.transcript is None:
                turn.transcript = t
        elif kind == "agent_start":
            response_id = self.last_response = record.get("response_id")
            turn = self.response_turn[response_id] = self.current
            if turn is not None:
                turn.responses.append(response_id)
                turn.done = None  # the turn is answered again: done when this one ends
        elif kind == "audio":
            self.item_response[record["item_id"]] = response_id
            turn = self.turn_of(response_id)
            if turn is not None and turn.first_audio is None:
                turn.first_audio = t
        elif kind == "agent_end":
            turn = self.turn_of(response_id)
            if turn is not None:
                if response_id not in turn.responses[:-1]:  # not an earlier response's late end
                    turn.done = t
                turn.statuses[response_id] = record.get("status") or "completed"
        elif kind == "audio_interrupted" and record.get("item_id"):
            # No item: nothing was playing (a cancelled response says so by its status).
            interrupted = self.item_response.get(record["item_id"], self.last_response)
            turn = self.turn_of(interrupted)
            if turn is not None:
                turn.interrupted.add(interrupted)
        elif kind == "agent_tool_start":
            self.tool_started(record)
        elif kind == "agent_tool_end" and record.get("call_id") in self.calls:
            call = self.calls[record["call_id"]]
            call.end, call.output = t, record.get("output")

    def tool_started(self, record: Record) -> None:
        # Tool calls start as the response that asked for them ends, before any other begins.
        turn = self.turn_of(self.last_response)
        call = ToolCall(
            call_id=record["call_id"],
            tool=record.get("tool"),
            agent=record.get("agent"),
            arguments=record.get("arguments"),
            t=record["t"],
            turn=None if turn is None else turn.number,
        )
        self.calls[call.call_id] = call
        if turn is not None:
            turn.tools.append(call)
