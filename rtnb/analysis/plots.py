"""matplotlib plots of a session (or an observer, or a replay): each returns its Axes.

Pass ``ax`` to draw into an existing Axes; otherwise a new pyplot figure is made (so notebooks
show it). Live versions that redraw as the session goes are in :mod:`rtnb.widgets.plots`.
"""

from __future__ import annotations

import math
from typing import Any

import matplotlib.axes
import matplotlib.ticker
import pandas as pd

from .frames import guardrail_frame, latency_frame, tool_frame

LATENCY_STEPS = [
    ("→ transcript", "transcript_ms", "tab:blue"),
    ("→ first audio", "first_audio_ms", "tab:orange"),
    ("→ response done", "done_ms", "tab:green"),
]
"""The latency plot's segments after the VAD silence: (legend label, frame column, colour)."""
VAD_LABEL, VAD_COLOR = "VAD silence", "0.78"
TOOL_LABEL, TOOL_COLOR = "tool time", "tab:purple"
TOOL_MIN_WIDTH = 0.01
"""The narrowest tool bar, as a fraction of the time axis (a 1 ms tool stays visible)."""


def _axes(ax: matplotlib.axes.Axes | None) -> matplotlib.axes.Axes:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=(7, 3), layout="constrained")
    return ax


def _empty(ax: matplotlib.axes.Axes, text: str) -> matplotlib.axes.Axes:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="0.4")
    return ax


def guardrail_plot(source: Any, ax: matplotlib.axes.Axes | None = None) -> matplotlib.axes.Axes:
    """Guardrail trips over time: one cumulative step line per guardrail."""
    ax = _axes(ax)
    frame = guardrail_frame(source)
    ax.set(title="Guardrail trips", xlabel="time (s)", ylabel="trips")
    if frame.empty:
        return _empty(ax, "no guardrail trips")
    for name, trips in frame.groupby("guardrail", sort=True):
        times = [0.0, *trips["t"]]
        ax.step(times, range(len(times)), where="post", label=str(name))
    locator = ax.yaxis.get_major_locator()
    if isinstance(locator, matplotlib.ticker.MaxNLocator):  # the default AutoLocator is one
        locator.set_params(integer=True)
    ax.legend(loc="upper left")
    return ax


def latency_plot(
    source: Any, ax: matplotlib.axes.Axes | None = None, *, last: int | None = None
) -> matplotlib.axes.Axes:
    """Per-turn latency in milliseconds from the moment the user stopped speaking (or sent the
    message): one row of stacked segments per turn, the first turn on top.

    A spoken turn starts with the silence the VAD waited for before it ended the turn (grey),
    then come the transcript, the first audio and the end of the response. Tool calls are
    purple bars, taller than the others, where they ran (never narrower than
    :data:`TOOL_MIN_WIDTH` of the axis, so short ones stay visible); each row with tool calls
    ends with their number and total time written out. A turn that was not answered says why
    in its label (``1 spoken · no answer``, ``· interrupted``, ``· in progress``, ...), so a
    row without bars is explained. ``last=N`` shows only the latest ``N`` turns.
    """
    if last is not None and (isinstance(last, bool) or not isinstance(last, int) or last < 1):
        raise ValueError(f"last must be a whole number of turns (1 or more), got {last!r}")
    ax = _axes(ax)
    frame = latency_frame(source)
    if last is not None:
        frame = frame.tail(last)
    ax.set(title="Latency per turn", xlabel="ms after the user stopped speaking (or sent)")
    if frame.empty:
        return _empty(ax, "no turns yet")
    rows = list(frame.itertuples())
    offsets = [0.0 if math.isnan(row.vad_ms) else row.vad_ms for row in rows]
    segments = _latency_segments(rows, offsets)
    tools = _tool_spans(tool_frame(source), frame, offsets)
    ends = [max([0.0, *(left + width for left, width in segments[i])]) for i in range(len(rows))]
    span = max([*ends, *(left + width for _, left, width in tools), 1.0])

    vad = [(i, 0.0, offsets[i]) for i in range(len(rows)) if offsets[i] > 0]
    _bars(ax, vad, VAD_LABEL, color=VAD_COLOR)
    for step, (label, _, color) in enumerate(LATENCY_STEPS):
        spans = [(i, *segments[i][step]) for i in range(len(rows)) if segments[i][step][1] > 0]
        _bars(ax, spans, label, color=color)
    min_width = span * TOOL_MIN_WIDTH
    tool_bars = [(i, left, max(width, min_width)) for i, left, width in tools]
    _bars(ax, tool_bars, TOOL_LABEL, color=TOOL_COLOR, height=0.8, zorder=3)
    for i, row in enumerate(rows):
        if row.tools:
            end = max([ends[i], *(left + width for j, left, width in tool_bars if j == i)])
            calls = "1 tool" if row.tools == 1 else f"{row.tools} tools"
            note = f"{calls} {_ms(row.tool_ms)}"
            ax.text(end + span * 0.01, i, note, va="center", fontsize="small", color="0.25")
    ax.set_yticks(range(len(rows)), [turn_label(row.turn, row.kind, row.outcome) for row in rows])
    ax.set_ylim(len(rows) - 0.5, -0.5)  # the first turn on top
    ax.set_xlim(0, span * 1.3)  # room for the tool notes
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small")
    return ax


def _latency_segments(rows: list[Any], offsets: list[float]) -> list[list[tuple[float, float]]]:
    """Per row, per step of :data:`LATENCY_STEPS`: (left, width); width 0 for a missing step.

    Each step starts where the previous one ended (a step that came earlier is drawn empty).
    """
    segments = []
    for row, offset in zip(rows, offsets, strict=True):
        start, steps = offset, []
        for _, column, _ in LATENCY_STEPS:
            value = getattr(row, column)
            end = start if math.isnan(value) else max(start, offset + value)
            steps.append((start, end - start))
            start = end
        segments.append(steps)
    return segments


def _tool_spans(
    tools: pd.DataFrame, frame: pd.DataFrame, offsets: list[float]
) -> list[tuple[int, float, float]]:
    """(row, left, width) in the plot's milliseconds of each tool call that belongs to a turn."""
    row_of = {turn: i for i, turn in enumerate(frame["turn"])}
    spans = []
    for call in tools.itertuples():
        if call.turn is None or call.turn != call.turn or int(call.turn) not in row_of:
            continue
        i = row_of[int(call.turn)]
        left = offsets[i] + (call.t - frame["t"].iloc[i]) * 1000
        width = 0.0 if math.isnan(call.duration_ms) else call.duration_ms
        spans.append((i, left, width))
    return spans


def _bars(
    ax: matplotlib.axes.Axes,
    spans: list[tuple[int, float, float]],
    label: str,
    **style: Any,
) -> None:
    if spans:
        rows, lefts, widths = zip(*spans, strict=True)
        ax.barh(rows, widths, left=lefts, label=label, **{"height": 0.6, **style})


def turn_label(turn: int, kind: str, outcome: str) -> str:
    """A latency plot row's label: ``0 spoken``, or ``1 typed · interrupted`` when the turn was
    not answered."""
    label = f"{turn} {kind}"
    return label if outcome == "answered" else f"{label} · {outcome}"


def _ms(value: float) -> str:
    return f"{value:.1f} ms" if value < 10 else f"{value:,.0f} ms"


def tool_plot(source: Any, ax: matplotlib.axes.Axes | None = None) -> matplotlib.axes.Axes:
    """Tool call durations: one bar per call, labelled with its turn (when it has one) and
    tool, its duration written after it (``running`` while it runs)."""
    ax = _axes(ax)
    frame = tool_frame(source)
    ax.set(title="Tool calls", xlabel="duration (ms)")
    if frame.empty:
        return _empty(ax, "no tool calls yet")
    labels = [
        f"{row.tool} #{i}" if pd.isna(row.turn) else f"{int(row.turn)}: {row.tool} #{i}"
        for i, row in enumerate(frame.itertuples())
    ]
    bars = ax.barh(labels, frame["duration_ms"].fillna(0.0), color=TOOL_COLOR)
    notes = ["running" if math.isnan(v) else _ms(v) for v in frame["duration_ms"]]
    ax.bar_label(bars, notes, padding=3, fontsize="small", color="0.25")
    ax.margins(x=0.15)  # room for the notes
    ax.invert_yaxis()
    return ax
