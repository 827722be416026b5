"""pandas DataFrames of a session: its history, per-turn latencies, tool calls, guardrail trips.

Each function takes a session (its observer is attached on first use: call
:func:`~rtnb.analysis.observe` before connecting to see everything), an observer, or a replayed
session. Times are seconds since the observer started; durations are milliseconds.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from .observer import SessionObserver, observe
from .records import Record, item_to_dict

HISTORY_COLUMNS = [
    "item_id",
    "type",
    "role",
    "agent",
    "status",
    "text",
    "tool",
    "arguments",
    "output",
    "audio_ms",
]
LATENCY_COLUMNS = [
    "turn",
    "kind",
    "item_id",
    "t",
    "transcript_ms",
    "first_audio_ms",
    "done_ms",
    "tools",
    "tool_ms",
]
TOOL_COLUMNS = ["call_id", "tool", "agent", "arguments", "output", "t", "duration_ms", "turn"]
GUARDRAIL_COLUMNS = ["t", "guardrail", "item_id", "response_id", "message"]


def history_frame(source: Any) -> pd.DataFrame:
    """One row per history item: id, type, role, agent, status, words, tool call, audio length.

    ``text`` is the message's words (text and transcripts); ``tool``, ``arguments`` and
    ``output`` are set for function calls; ``audio_ms`` is the audio heard or spoken.
    """
    observer = observe(source)
    live = getattr(source, "history", None)
    if isinstance(source, SessionObserver) or live is None:
        items = [observer.items[i] for i in observer.order]
    else:
        items = [item_to_dict(item) for item in live]
    rows = [_history_row(item, observer) for item in items]
    # Float even when empty (an empty column is object, which pandas 2 will not round).
    return pd.DataFrame(rows, columns=HISTORY_COLUMNS).astype({"audio_ms": float})


def _history_row(item: dict[str, Any], observer: SessionObserver) -> dict[str, Any]:
    item_id = item["item_id"]
    call = item["type"] == "function_call"
    words = "".join(
        (part.get("transcript") if "audio" in part["type"] else part.get("text")) or ""
        for part in item.get("content", [])
    )
    return {
        "item_id": item_id,
        "type": item["type"],
        "role": None if call else item.get("role"),
        "agent": observer.item_agent.get(item_id, observer.agent),
        "status": item.get("status"),
        "text": None if call else words,
        "tool": item.get("name") if call else None,
        "arguments": item.get("arguments") if call else None,
        "output": item.get("output") if call else None,
        "audio_ms": observer.item_audio_ms.get(item_id, math.nan),
    }


def _turn_starts(records: list[Record]) -> list[tuple[int, str, str | None]]:
    """(record index, kind, item id) where a turn starts: end of speech, or a typed message."""
    starts: list[tuple[int, str, str | None]] = []
    spoken: set[str] = set()
    seen_user: set[str] = set()
    for index, record in enumerate(records):
        kind = record["event"]
        if kind == "input_audio_buffer.speech_stopped":
            spoken.add(record.get("item_id", ""))
            starts.append((index, "spoken", record.get("item_id")))
        elif kind == "history_updated":
            for item in record["items"]:
                if item.get("role") != "user" or item["item_id"] in seen_user:
                    continue
                seen_user.add(item["item_id"])
                audio = any("audio" in part["type"] for part in item.get("content", []))
                if not audio and item["item_id"] not in spoken:
                    starts.append((index, "typed", item["item_id"]))
    return starts


def latency_frame(source: Any) -> pd.DataFrame:
    """One row per user turn: milliseconds from the end of the user's speech (or the typed
    message) to the transcript, the first audio and the end of the last response, plus the
    number of tool calls and their total duration."""
    records = observe(source).records
    starts = _turn_starts(records)
    rows = []
    for turn, (begin, kind, item_id) in enumerate(starts):
        end = starts[turn + 1][0] if turn + 1 < len(starts) else len(records)
        t0 = records[begin]["t"]
        marks: dict[str, float] = {}
        tool_ms = 0.0
        tool_start: dict[str, float] = {}
        for record in records[begin:end]:
            event, t = record["event"], record["t"]
            if event == "conversation.item.input_audio_transcription.completed":
                marks.setdefault("transcript", t)
            elif event == "audio":
                marks.setdefault("first_audio", t)
            elif event == "agent_end":
                marks["done"] = t
            elif event == "agent_tool_start":
                tool_start[record["call_id"]] = t
            elif event == "agent_tool_end" and record["call_id"] in tool_start:
                tool_ms += (t - tool_start[record["call_id"]]) * 1000
        rows.append(
            {
                "turn": turn,
                "kind": kind,
                "item_id": item_id,
                "t": t0,
                **{
                    f"{mark}_ms": (marks[mark] - t0) * 1000 if mark in marks else math.nan
                    for mark in ("transcript", "first_audio", "done")
                },
                "tools": len(tool_start),
                "tool_ms": tool_ms,
            }
        )
    return pd.DataFrame(rows, columns=LATENCY_COLUMNS)


def tool_frame(source: Any) -> pd.DataFrame:
    """One row per tool call: tool, agent, arguments, output, start time and duration (ms)."""
    records = observe(source).records
    starts = _turn_starts(records)
    turn_at = {index: turn for turn, (index, _, _) in enumerate(starts)}
    calls: dict[str, dict[str, Any]] = {}
    turn = -1
    for index, record in enumerate(records):
        turn = turn_at.get(index, turn)
        if record["event"] == "agent_tool_start":
            calls[record["call_id"]] = {
                "call_id": record["call_id"],
                "tool": record.get("tool"),
                "agent": record.get("agent"),
                "arguments": record.get("arguments"),
                "output": None,
                "t": record["t"],
                "duration_ms": math.nan,
                "turn": turn if turn >= 0 else None,
            }
        elif record["event"] == "agent_tool_end" and record["call_id"] in calls:
            call = calls[record["call_id"]]
            call["output"] = record.get("output")
            call["duration_ms"] = (record["t"] - call["t"]) * 1000
    return pd.DataFrame(list(calls.values()), columns=TOOL_COLUMNS)


def guardrail_frame(source: Any) -> pd.DataFrame:
    """One row per guardrail that tripped: time, guardrail name, item, response, message."""
    rows = [
        {
            "t": record["t"],
            "guardrail": name,
            "item_id": record.get("item_id"),
            "response_id": record.get("response_id"),
            "message": record.get("message"),
        }
        for record in observe(source).records
        if record["event"] == "guardrail_tripped"
        for name in record.get("guardrails") or ["(unnamed)"]
    ]
    return pd.DataFrame(rows, columns=GUARDRAIL_COLUMNS)
