"""matplotlib plots of a session (or an observer, or a replay): each returns its Axes.

Pass ``ax`` to draw into an existing Axes; otherwise a new pyplot figure is made (so notebooks
show it). Live versions that redraw as the session goes are in :mod:`rtnb.widgets.plots`.
"""

from __future__ import annotations

from typing import Any

import matplotlib.axes

from .frames import guardrail_frame, latency_frame, tool_frame

LATENCY_STEPS = [
    ("speech end → transcript", "transcript_ms"),
    ("→ first audio", "first_audio_ms"),
    ("→ response done", "done_ms"),
]


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
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.legend(loc="upper left")
    return ax


def latency_plot(source: Any, ax: matplotlib.axes.Axes | None = None) -> matplotlib.axes.Axes:
    """Per-turn latency: stacked bars from the end of speech (or the typed message) to the
    transcript, the first audio and the end of the response, with tool time marked."""
    ax = _axes(ax)
    frame = latency_frame(source)
    ax.set(title="Latency per turn", xlabel="ms after the user's turn ended")
    if frame.empty:
        return _empty(ax, "no turns yet")
    labels = [f"{row.turn} ({row.kind})" for row in frame.itertuples()]
    start = [0.0] * len(frame)
    for label, column in LATENCY_STEPS:
        ends = [e if e == e else s for e, s in zip(frame[column], start, strict=True)]  # NaN: 0
        widths = [max(0.0, e - s) for e, s in zip(ends, start, strict=True)]
        ax.barh(labels, widths, left=start, label=label)
        start = [max(s, e) for s, e in zip(start, ends, strict=True)]
    tools = frame["tool_ms"] > 0
    if tools.any():
        ax.scatter(
            frame["tool_ms"][tools],
            [labels[i] for i in frame.index[tools]],
            marker="|",
            s=200,
            color="black",
            label="tool time",
            zorder=3,
        )
    ax.invert_yaxis()
    ax.legend(loc="lower right", fontsize="small")
    return ax


def tool_plot(source: Any, ax: matplotlib.axes.Axes | None = None) -> matplotlib.axes.Axes:
    """Tool call durations: one bar per call, labelled with its turn and tool."""
    ax = _axes(ax)
    frame = tool_frame(source)
    ax.set(title="Tool calls", xlabel="duration (ms)")
    if frame.empty:
        return _empty(ax, "no tool calls yet")
    labels = [f"{row.turn}: {row.tool} #{i}" for i, row in enumerate(frame.itertuples())]
    ax.barh(labels, frame["duration_ms"].fillna(0.0), color="tab:purple")
    ax.invert_yaxis()
    return ax
