"""What a run's records say: the words heard and answered, the tools called, the latencies.

A pure function of the records (:func:`run_facts`), so a saved recording gives the same facts
as the live run, and its expectations can be scored again (:mod:`rtnb.eval.expectations`).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from rtnb.analysis.observer import SessionObserver
from rtnb.analysis.records import Record
from rtnb.analysis.turns import split_turns

__all__ = ["TOOL_ERROR_PREFIX", "RunFacts", "ToolCallFact", "run_facts"]

TOOL_ERROR_PREFIX = "Error running tool "
"""How a session words the output of a tool that raised (``rtnb.session.tools``)."""


@dataclass(frozen=True)
class ToolCallFact:
    """One tool call the model made: a function call (approved, rejected or not run), in order,
    then the hosted MCP calls that completed."""

    name: str
    arguments: Any
    """The arguments, parsed from JSON when they are JSON (else the text)."""
    output: str | None


@dataclass(frozen=True)
class RunFacts:
    """The facts expectations are scored on."""

    said: list[str] = field(default_factory=list)
    """The words of the ``say`` turns, in order."""
    heard: list[str] = field(default_factory=list)
    """What the speech-to-text made of each spoken user turn, in order."""
    spoken_turns: int = 0
    """How many turns were spoken (``say`` and ``audio``)."""
    answer: str = ""
    """Everything the assistant said or wrote, in order (messages joined by spaces)."""
    tool_calls: list[ToolCallFact] = field(default_factory=list)
    handoffs: list[str] = field(default_factory=list)
    """The agents the conversation was handed to, in order."""
    guardrails: list[str] = field(default_factory=list)
    """The output guardrails that tripped, in order."""
    first_audio_ms: list[float] = field(default_factory=list)
    """Per answered user turn: milliseconds from the end of the user's speech (or message) to
    the first audio of the answer (``NaN`` for a turn answered without audio)."""
    tool_errors: list[str] = field(default_factory=list)
    """Outputs of tools that raised."""
    errors: list[str] = field(default_factory=list)
    """``error`` events of the session."""
    user_s: float = 0.0
    """Seconds of audio the user sent (speech, the silence after it, waits)."""
    assistant_s: float = 0.0
    """Seconds of the assistant's audio, as heard (cut where it was interrupted)."""

    @property
    def conversation_s(self) -> float:
        """The length of the conversation as a person would live it: both sides' audio."""
        return self.user_s + self.assistant_s


def run_facts(records: list[Record]) -> RunFacts:
    """The facts of a run's records."""
    observer = SessionObserver.from_records(records)
    items = [observer.items[item_id] for item_id in observer.order]
    turns = [r for r in records if r["event"] == "eval_turn"]
    heard = [
        _words(item)
        for item in items
        if item["type"] == "message"
        and item.get("role") == "user"
        and any("audio" in part["type"] for part in item.get("content", []))
    ]
    answer = " ".join(
        words
        for item in items
        if item["type"] == "message" and item.get("role") == "assistant"
        if (words := _words(item))
    )
    calls = [
        ToolCallFact(item.get("name") or "", _parse(item.get("arguments")), item.get("output"))
        for item in items
        if item["type"] in ("function_call", "mcp_call")
    ]
    # A recording without MCP history items: the calls' completion events say what ran.
    calls += [
        ToolCallFact(str(r.get("tool") or ""), _parse(r.get("arguments")), r.get("output"))
        for r in records
        if r["event"] == "mcp_tool_call_completed" and r.get("item_id") not in observer.items
    ]
    tool_errors = [
        str(r.get("output"))
        for r in records
        if r["event"] == "agent_tool_end" and str(r.get("output", "")).startswith(TOOL_ERROR_PREFIX)
    ]
    user_turns, _ = split_turns(records)
    latencies = [
        (turn.vad_ms if not math.isnan(turn.vad_ms) else 0.0) + turn.ms(turn.first_audio)
        for turn in user_turns
        if turn.responses
    ]
    cuts = {
        r["item_id"]: r["audio_end_ms"]
        for r in records
        if r["event"] == "audio_interrupted" and r.get("audio_end_ms") is not None
    }
    assistant_ms = sum(
        min(ms, cuts.get(item_id, math.inf)) for item_id, ms in _audio_ms(records).items()
    )
    return RunFacts(
        said=[r["text"] for r in turns if r.get("action") == "say"],
        heard=heard,
        spoken_turns=sum(r.get("action") in ("say", "audio") for r in turns),
        answer=answer,
        tool_calls=calls,
        handoffs=[r["to_agent"] for r in records if r["event"] == "agent_handoff"],
        guardrails=[
            n for r in records if r["event"] == "guardrail_tripped" for n in r["guardrails"]
        ],
        first_audio_ms=latencies,
        tool_errors=tool_errors,
        errors=[str(r.get("message")) for r in records if r["event"] == "error"],
        user_s=sum(float(r.get("sent_ms", 0.0)) for r in turns) / 1000,
        assistant_s=assistant_ms / 1000,
    )


def _audio_ms(records: list[Record]) -> dict[str, float]:
    """Milliseconds of the assistant's audio received per item."""
    totals: dict[str, float] = {}
    for record in records:
        if record["event"] == "audio":
            totals[record["item_id"]] = totals.get(record["item_id"], 0.0) + record["ms"]
    return totals


def _words(item: dict[str, Any]) -> str:
    return " ".join(
        text.strip()
        for part in item.get("content", [])
        if (text := (part.get("transcript") if "audio" in part["type"] else part.get("text")))
    ).strip()


def _parse(arguments: Any) -> Any:
    if not isinstance(arguments, str):
        return arguments
    try:
        return json.loads(arguments)
    except ValueError:
        return arguments
