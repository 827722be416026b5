"""Playing a scenario's turns into a live session, one after the other.

A turn is over when the answer it asked for is over: a ``response.done`` that asks for no
follow-up (no function or MCP call in its output), or when a tool call waits for the user's
approval. A turn followed by a barge-in (``interrupt_after_ms``) waits only for the answer's first
audio: the simulated listener then reports that it heard ``interrupt_after_ms`` of it (the
session truncates the answer there) and the next turn speaks or types over it.

Each turn leaves an ``eval_turn`` record in the run's records (what was said or typed, in which
voice, with its audio), so a run can be scored, and listened to, from its records alone.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable
from functools import partial
from typing import Any

from rtnb.analysis.observer import SessionObserver
from rtnb.protocol.audio import duration_ms
from rtnb.speech import speak

from .guardrail_probe import GuardrailProbe
from .plan import RunSpec
from .scenarios import Turn

__all__ = ["SILENCE_MS", "TurnError", "TurnListener", "play_turns"]

SILENCE_MS = 1000.0
"""Silence sent after each spoken turn, so that the server's VAD hears the turn end."""

FINAL_TEXTS = {
    "response.output_audio_transcript.done": "transcript",
    "response.output_text.done": "text",
}
"""Events carrying an answer's final text (which output guardrails check), and its field."""
FOLLOW_UP_ITEMS = ("function_call", "mcp_call")
"""Output items after which the session asks for another response (the same turn goes on)."""


class TurnError(RuntimeError):
    """A turn that cannot be played (e.g. no tool call waits for the approval it gives)."""


class TurnListener:
    """Follows a session's events that end turns: responses, first audio, approvals."""

    def __init__(self, session: Any, probe: GuardrailProbe | None = None) -> None:
        self.session = session
        self.probe = probe or GuardrailProbe()
        self.probe.notify = self._notify
        self.final_texts: list[tuple[str, str]] = []
        """(response id, final text) of answers the current agent's guardrails check."""
        self.trip_mark: int | None = None
        """How many responses had started when the latest guardrail trip was reported."""
        self.tripped_responses: set[str] = set()
        self.created: list[str] = []
        """Response ids, in the order the responses started."""
        self.finals: set[str] = set()
        """Responses that ended without asking for a follow-up."""
        self.active: set[str] = set()
        self.audio_items: list[str] = []
        """Items whose audio started, in order."""
        self.approvals = 0
        self._changed = asyncio.Event()
        session.on("transport_event", self._on_wire)
        session.on("audio_start", self._on_audio_start)
        session.on("tool_approval_requested", self._on_approval)
        session.on("guardrail_tripped", self._on_trip)

    def _notify(self) -> None:
        self._changed.set()

    def _on_trip(self, event: Any) -> None:
        self.probe.reported(event.message)
        self.tripped_responses.add(event.response_id)
        self.trip_mark = len(self.created)
        self._changed.set()

    def _on_wire(self, event: Any) -> None:
        wire = event.event
        kind = wire.get("type")
        if kind == "response.created":
            response_id = str(wire.get("response", {}).get("id"))
            self.created.append(response_id)
            self.active.add(response_id)
        elif kind in FINAL_TEXTS:
            if self.session.agent.output_guardrails and wire.get(FINAL_TEXTS[kind]):
                self.final_texts.append((str(wire.get("response_id")), wire[FINAL_TEXTS[kind]]))
        elif kind == "response.done":
            response = wire.get("response") or {}
            self.active.discard(str(response.get("id")))
            output = response.get("output") or []
            if not any(item.get("type") in FOLLOW_UP_ITEMS for item in output):
                self.finals.add(str(response.get("id")))
        else:
            return
        self._changed.set()

    def _on_audio_start(self, event: Any) -> None:
        self.audio_items.append(event.item_id)
        self._changed.set()

    def _on_approval(self, _event: Any) -> None:
        self.approvals += 1
        self._changed.set()

    def answered_since(self, mark: int) -> bool:
        """A response started after the ``mark``-th one ended the turn, none is active, and the
        output guardrails are done (a trip's new response answered too)."""
        if self.active or not any(r in self.finals for r in self.created[mark:]):
            return False
        probe = self.probe
        if probe.running or probe.tripped:
            return False
        unchecked = [
            text
            for response_id, text in self.final_texts
            if text not in probe.checked and response_id not in self.tripped_responses
        ]
        if unchecked:
            return False
        return self.trip_mark is None or self.trip_mark <= mark or self._answered_after_trip()

    def _answered_after_trip(self) -> bool:
        assert self.trip_mark is not None
        return any(r in self.finals for r in self.created[self.trip_mark :])

    @property
    def waiting_for_approval(self) -> bool:
        """A tool call waits for the user's decision."""
        return bool(self.session.pending_approvals)

    async def until(self, condition: Callable[[], bool]) -> None:
        """Return once ``condition()`` holds (checked after each relevant event)."""
        while not condition():
            self._changed.clear()
            await self._changed.wait()


async def play_turns(
    session: Any,
    run: RunSpec,
    audio: dict[int, bytes],
    observer: SessionObserver,
    *,
    realtime: bool,
    on_turn: Callable[[int], None] = lambda _index: None,
    probe: GuardrailProbe | None = None,
) -> None:
    """Play ``run``'s turns into the connected ``session``; return when the last one is over.

    ``audio`` holds the rendered audio of the spoken turns (by index); ``realtime`` paces it at
    the speed of speech (for the OpenAI API; the embedded server takes it as fast as it comes).
    ``on_turn(i)`` is called as turn ``i`` starts (a timeout names the turn it stopped in).
    ``probe`` follows the guardrails of the agent the session was made with (see
    :mod:`rtnb.eval.guardrail_probe`).
    """
    listener = TurnListener(session, probe)
    turns = run.scenario.turns
    for index, turn in enumerate(turns):
        on_turn(index)
        mark, audio_seen = len(listener.created), len(listener.audio_items)
        observer.add({"t": round(observer.now(), 6), **_turn_record(index, turn, run, audio)})
        if turn.interrupt_after_ms is not None:
            _barge_in(session, listener, turn, turn.interrupt_after_ms)
        await _act(session, listener, turn, audio.get(index), realtime)
        barge_in_next = index + 1 < len(turns) and turns[index + 1].interrupt_after_ms is not None
        if turn.action == "wait_ms":
            await listener.until(lambda: not listener.active)
        elif barge_in_next:
            await listener.until(partial(_answer_started, listener, audio_seen, mark))
        else:
            await listener.until(partial(_answered, listener, mark))


def _answered(listener: TurnListener, mark: int) -> bool:
    return listener.answered_since(mark) or listener.waiting_for_approval


def _answer_started(listener: TurnListener, audio_seen: int, mark: int) -> bool:
    """The answer's audio began (the next turn barges in on it), or the turn ended."""
    return len(listener.audio_items) > audio_seen or _answered(listener, mark)


def _barge_in(session: Any, listener: TurnListener, turn: Turn, after_ms: float) -> None:
    """The user heard ``after_ms`` of the answer, then speaks or types over it."""
    if listener.audio_items:
        session.set_playback_position(listener.audio_items[-1], float(after_ms))
    if turn.action == "type":
        session.interrupt()


async def _act(
    session: Any, listener: TurnListener, turn: Turn, pcm: bytes | None, realtime: bool
) -> None:
    if turn.action in ("say", "audio"):
        await speak(session, pcm or b"", realtime=realtime, silence_ms=SILENCE_MS)
    elif turn.action == "type":
        session.send_message(turn.value)
    elif turn.action == "wait_ms":
        await speak(session, b"", silence_ms=float(turn.value), realtime=realtime)
    else:
        await listener.until(
            lambda: _pending(session, turn.value) is not None or not listener.active
        )
        item = _pending(session, turn.value)
        if item is None:
            waiting = [item.tool_name for item in session.pending_approvals]
            raise TurnError(
                f"{turn.action} {turn.value}: no call of {turn.value!r} waits for approval "
                f"(waiting: {', '.join(waiting) or 'none'})"
            )
        if turn.action == "approve":
            session.approve(item)
        else:
            session.reject(item, message=turn.message)


def _pending(session: Any, tool: str) -> Any:
    return next((item for item in session.pending_approvals if item.tool_name == tool), None)


def _turn_record(index: int, turn: Turn, run: RunSpec, audio: dict[int, bytes]) -> dict[str, Any]:
    record: dict[str, Any] = {"event": "eval_turn", "index": index, "action": turn.action}
    if turn.action in ("say", "type"):
        record["text"] = turn.value
    elif turn.action == "audio":
        record["path"] = turn.value
    elif turn.action == "wait_ms":
        record["ms"] = record["sent_ms"] = float(turn.value)
    else:
        record["tool"] = turn.value
    if turn.interrupt_after_ms is not None:
        record["interrupt_after_ms"] = float(turn.interrupt_after_ms)
    if index in audio:
        pcm = audio[index]
        options = turn.options
        if turn.action == "say":
            record["voice"] = options.get("voice") or run.voice
        record["noise_db"] = options.get("noise_db", run.noise_db)
        record["ms"] = duration_ms(pcm)
        record["sent_ms"] = record["ms"] + SILENCE_MS
        record["pcm"] = base64.b64encode(pcm).decode("ascii")
    return record
