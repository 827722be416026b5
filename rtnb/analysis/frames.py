"""pandas DataFrames of a session: its history, per-turn latencies, tool calls, guardrail trips.

Each function takes a session (its observer is attached on first use: call
:func:`~rtnb.analysis.observe` before connecting to see everything), an observer, or a replayed
session. Times are seconds since the observer started; durations are milliseconds.

Missing values stay missing (``NaN`` for numbers, ``None`` for the rest), so pandas' ``isna``,
``dropna`` and arithmetic work; the frames are :class:`~rtnb.analysis.display.BlankFrame` objects,
which a notebook (and ``repr``) shows with blank cells there instead of ``NaN`` or ``None``.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from rtnb.session.items import call_output, mcp_tool_name

from .display import BlankFrame
from .observer import SessionObserver, observe
from .records import item_to_dict
from .turns import split_turns

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
    "vad_ms",
    "transcript_ms",
    "first_audio_ms",
    "done_ms",
    "tools",
    "tool_ms",
    "outcome",
]
# Numbers even for an empty frame (whose columns would otherwise be object).
_LATENCY_FLOATS = ("t", "vad_ms", "transcript_ms", "first_audio_ms", "done_ms", "tool_ms")
_LATENCY_TYPES = {"turn": int, "tools": int, **dict.fromkeys(_LATENCY_FLOATS, float)}
TOOL_COLUMNS = ["call_id", "tool", "agent", "arguments", "output", "t", "duration_ms", "turn"]
GUARDRAIL_COLUMNS = ["t", "guardrail", "item_id", "response_id", "message"]


def history_frame(source: Any) -> BlankFrame:
    """One row per history item: id, type, role, agent, status, words, tool call, audio length.

    ``text`` is the message's words (text and transcripts); ``tool``, ``arguments`` and
    ``output`` are set for function calls and hosted MCP calls (``type`` ``mcp_call``, the tool
    named ``server.tool``); ``audio_ms`` is the audio heard or spoken.
    """
    return records_frame(history_records(source))


def records_frame(records: list[dict[str, Any]]) -> BlankFrame:
    """The frame of rows made by :func:`history_records`."""
    # Float even when empty (an empty column is object, which pandas 2 will not round).
    frame = pd.DataFrame(records, columns=HISTORY_COLUMNS)
    return BlankFrame(frame.astype({"audio_ms": float}))


def history_records(source: Any) -> list[dict[str, Any]]:
    """The rows of :func:`history_frame` as plain dicts (keys :data:`HISTORY_COLUMNS`), without
    pandas: what a view that refreshes several times a second reads."""
    observer = observe(source)
    live = getattr(source, "history", None)
    if isinstance(source, SessionObserver) or live is None:
        items = [observer.items[i] for i in observer.order]
    else:
        items = [item_to_dict(item) for item in live]
    return [_history_row(item, observer) for item in items]


def _history_row(item: dict[str, Any], observer: SessionObserver) -> dict[str, Any]:
    item_id = item["item_id"]
    call = item["type"] in ("function_call", "mcp_call")
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
        "tool": mcp_tool_name(item.get("server_label") or "", item["name"]) if call else None,
        "arguments": item.get("arguments") if call else None,
        "output": call_output(item.get("output"), item.get("error")) if call else None,
        "audio_ms": observer.item_audio_ms.get(item_id, math.nan),
    }


def latency_frame(source: Any) -> BlankFrame:
    """One row per user turn: how long the answer took, in milliseconds.

    ``t`` is when the user's turn ended (seconds): ``speech_stopped`` for a spoken turn, the
    message's arrival for a typed one. ``transcript_ms``, ``first_audio_ms`` and ``done_ms`` (the
    end of the turn's last response) count from there; ``vad_ms`` is the silence the server's
    VAD waited for before it ended a spoken turn (``silence_duration_ms``), so the user stopped
    speaking ``vad_ms`` before ``t``. ``tools`` and ``tool_ms`` are the turn's tool calls and
    their total duration; ``outcome`` says how the turn ended (``answered``, ``interrupted``,
    ``no answer``, ``in progress``, ...: see :attr:`rtnb.analysis.turns.Turn.outcome`).

    Responses are paired with the turn they answer, not with the time they end in (see
    :mod:`rtnb.analysis.turns`). Missing times are ``NaN`` (shown blank).
    """
    turns, _ = split_turns(observe(source).records)
    rows = [
        {
            "turn": turn.number,
            "kind": turn.kind,
            "item_id": turn.item_id,
            "t": turn.t,
            "vad_ms": turn.vad_ms,
            "transcript_ms": turn.ms(turn.transcript),
            "first_audio_ms": turn.ms(turn.first_audio),
            "done_ms": turn.ms(turn.done),
            "tools": len(turn.tools),
            "tool_ms": sum(call.duration_ms for call in turn.tools if call.end is not None),
            "outcome": turn.outcome,
        }
        for turn in turns
    ]
    return BlankFrame(pd.DataFrame(rows, columns=LATENCY_COLUMNS).astype(_LATENCY_TYPES))


def tool_frame(source: Any) -> BlankFrame:
    """One row per tool call: tool, agent, arguments, output, start time (s), duration (ms) and
    the turn it belongs to (that of the response which asked for it; ``None`` before any)."""
    _, calls = split_turns(observe(source).records)
    rows = [
        {
            "call_id": call.call_id,
            "tool": call.tool,
            "agent": call.agent,
            "arguments": call.arguments,
            "output": call.output,
            "t": call.t,
            "duration_ms": call.duration_ms,
            "turn": call.turn,
        }
        for call in calls
    ]
    return BlankFrame(pd.DataFrame(rows, columns=TOOL_COLUMNS))


def guardrail_frame(source: Any) -> BlankFrame:
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
    return BlankFrame(pd.DataFrame(rows, columns=GUARDRAIL_COLUMNS))
