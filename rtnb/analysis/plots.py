"""matplotlib plots of a session (or an observer, or a replay): each returns its Axes.

Pass ``ax`` to draw into an existing Axes; otherwise a new pyplot figure is made (so notebooks
show it), sized from the number of rows it shows. Live versions that redraw as the session goes
are in :mod:`rtnb.widgets.plots`.

Every plot is drawn in one style (:data:`STYLE`): transparent backgrounds and mid-grey text, so a
figure reads on JupyterLab's light and dark themes alike, legends outside the data, and notes
written beside the bars, never on them.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import matplotlib
import matplotlib.axes
import matplotlib.ticker
import pandas as pd

from .frames import guardrail_frame, latency_frame, tool_frame

INK = "#808080"
"""Text, ticks and frame: mid-grey, readable on a white and on a near-black page."""
# The tick labels: a shade either side of mid-grey. JupyterLab paints a transparent figure's
# background (dark or white: a block in one theme or the other) when all its tick labels are
# light or all are dark (matplotlib-inline's ``needs_background``); with both, it leaves the
# figure transparent.
X_INK, Y_INK = "#868686", "#7a7a7a"
STYLE: dict[Any, Any] = {  # matplotlib types its keys as a Literal of every rc name
    "figure.facecolor": "none",
    "axes.facecolor": "none",
    "savefig.facecolor": "none",
    "savefig.edgecolor": "none",
    "legend.facecolor": "none",
    "legend.edgecolor": "none",
    "legend.frameon": False,
    "text.color": INK,
    "axes.labelcolor": INK,
    "axes.titlecolor": INK,
    "axes.edgecolor": INK,
    "xtick.color": INK,
    "ytick.color": INK,
    "xtick.labelcolor": X_INK,
    "ytick.labelcolor": Y_INK,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.grid.axis": "x",
    "grid.color": INK,
    "grid.alpha": 0.25,
    "grid.linewidth": 0.6,
    "axes.titleweight": "bold",
    "axes.titlesize": "medium",
    "axes.labelsize": "small",
    "xtick.labelsize": "small",
    "ytick.labelsize": "small",
    "legend.fontsize": "small",
}
"""The rtnb plot style (matplotlib rc parameters), applied while a plot is drawn."""
ROW_INCHES, BASE_INCHES = 0.42, 1.3
"""A new figure's height: :data:`BASE_INCHES` (title, axis, legend) plus this per row."""

P = TypeVar("P", bound=Callable[..., matplotlib.axes.Axes])


def styled(plot: P) -> P:
    """Draw ``plot`` in :data:`STYLE` (and any figure it makes with it)."""

    @functools.wraps(plot)
    def draw(*args: Any, **kwargs: Any) -> matplotlib.axes.Axes:
        with matplotlib.rc_context(STYLE):
            return plot(*args, **kwargs)

    return draw  # type: ignore[return-value]


def figure_height(rows: int) -> float:
    """Inches for a plot of ``rows`` rows (bars or turns)."""
    return BASE_INCHES + ROW_INCHES * max(rows, 2)


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


def _axes(ax: matplotlib.axes.Axes | None, rows: int = 3) -> matplotlib.axes.Axes:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=(7.5, figure_height(rows)), layout="constrained")
    return ax


def _empty(ax: matplotlib.axes.Axes, text: str) -> matplotlib.axes.Axes:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes)
    ax.grid(False)
    return ax


def _ms_axis(ax: matplotlib.axes.Axes) -> None:
    """Readable millisecond ticks: a handful, with thousands separators."""
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10]))
    ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(_tick_ms))
    ax.tick_params(axis="y", length=0)


def _tick_ms(value: float, _position: Any = None) -> str:
    """A millisecond tick: ``1,500``, or ``0.25`` below 10 ms."""
    return f"{value:,.0f}" if abs(value) >= 10 or value == 0 else f"{value:g}"


def _legend_below(ax: matplotlib.axes.Axes, columns: int) -> None:
    """The legend under the axis label, in one row: it never covers the data or the notes."""
    ax.legend(
        loc="upper center",
        bbox_to_anchor=(0.5, 0.0),
        borderaxespad=3.6,  # font sizes: below the tick labels and the axis label
        ncols=columns,
        handlelength=1.2,
        columnspacing=1.2,
    )


@styled
def guardrail_plot(source: Any, ax: matplotlib.axes.Axes | None = None) -> matplotlib.axes.Axes:
    """Guardrail trips over time: one cumulative step line per guardrail, a dot at each trip,
    over the whole session so far."""
    ax = _axes(ax)
    frame = guardrail_frame(source)
    ax.set(title="Guardrail trips", xlabel="time (s)", ylabel="trips")
    if frame.empty:
        return _empty(ax, "no guardrail trips")
    from .observer import observe

    records = observe(source).records
    end = max([*frame["t"], *(r["t"] for r in records[-1:])])
    most = 0
    for name, trips in frame.groupby("guardrail", sort=True):
        times = [0.0, *trips["t"]]
        (line,) = ax.step(times, range(len(times)), where="post", label=str(name))
        counts = range(1, len(times))
        ax.scatter(trips["t"], counts, color=line.get_color(), s=18, zorder=3)
        ax.hlines(len(times) - 1, times[-1], end, color=line.get_color())  # up to now
        most = max(most, len(times) - 1)
    ax.set_xlim(0, end * 1.04 or 1.0)
    ax.set_ylim(-0.12, most + 0.6)  # the line at 0 stands clear of the axis
    ax.yaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    ax.grid(True, axis="both")
    _legend_below(ax, frame["guardrail"].nunique())
    return ax


@styled
def latency_plot(
    source: Any,
    ax: matplotlib.axes.Axes | None = None,
    *,
    last: int | None = None,
    legend: bool = True,
    span_ms: float | None = None,
) -> matplotlib.axes.Axes:
    """Per-turn latency in milliseconds from the moment the user stopped speaking (or sent the
    message): one row of stacked segments per turn, the first turn on top.

    A spoken turn starts with the silence the VAD waited for before it ended the turn (grey),
    then come the transcript, the first audio and the end of the response. Tool calls are
    purple bars, taller than the others, where they ran (never narrower than
    :data:`TOOL_MIN_WIDTH` of the axis, so short ones stay visible); each row with tool calls
    ends with their number and total time written out. A turn that was not answered says why
    in its label (``1 spoken · no answer``, ``· interrupted``, ``· in progress``, ...), so a
    row without bars is explained. ``last=N`` shows only the latest ``N`` turns. The legend is
    under the plot (``legend=False``: none, e.g. for all but one of several plots);
    ``span_ms`` fixes the time axis (to compare plots side by side).
    """
    if last is not None and (isinstance(last, bool) or not isinstance(last, int) or last < 1):
        raise ValueError(f"last must be a whole number of turns (1 or more), got {last!r}")
    frame = latency_frame(source)
    if last is not None:
        frame = frame.tail(last)
    ax = _axes(ax, len(frame))
    ax.set(title="Latency per turn", xlabel="ms after the user stopped speaking (or sent)")
    if frame.empty:
        return _empty(ax, "no turns yet")
    rows = list(frame.itertuples())
    offsets = [0.0 if math.isnan(row.vad_ms) else row.vad_ms for row in rows]
    segments = _latency_segments(rows, offsets)
    tools = _tool_spans(tool_frame(source), frame, offsets)
    ends = [max([0.0, *(left + width for left, width in segments[i])]) for i in range(len(rows))]
    span = span_ms or max([*ends, *(left + width for _, left, width in tools), 1.0])

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
            note = f"{calls} · {_ms(row.tool_ms)}"
            # Beside the row's last bar, on the axis background: never on a bar.
            ax.text(end + span * 0.015, i, note, va="center", fontsize="x-small", clip_on=False)
    ax.set_yticks(range(len(rows)), [turn_label(row.turn, row.kind, row.outcome) for row in rows])
    ax.set_ylim(len(rows) - 0.5, -0.5)  # the first turn on top
    ax.set_xlim(0, span * 1.28)  # room for the tool notes
    _ms_axis(ax)
    if legend:
        _legend_below(ax, 1 + len(LATENCY_STEPS) + 1)
    return ax


@styled
def compare_latency(sources: Mapping[str, Any], *, last: int | None = None) -> Any:
    """:func:`latency_plot` of several sessions (name -> session), one above the other on one
    time axis, with one legend; returns the figure (its height grows with the turns)."""
    import matplotlib.pyplot as plt

    frames = {name: latency_frame(source) for name, source in sources.items()}
    if not frames:
        raise ValueError("compare_latency needs at least one session")
    turns = [len(f) if last is None else min(len(f), last) for f in frames.values()]
    figure, axes = plt.subplots(
        len(frames),
        1,
        figsize=(7.5, sum(figure_height(n) - 0.6 for n in turns) + 0.6),
        layout="constrained",
        squeeze=False,
        height_ratios=[max(n, 2) for n in turns],
    )
    span = max(_latency_span(source, last) for source in sources.values())
    for ax, (name, source) in zip(axes[:, 0], sources.items(), strict=True):
        latency_plot(source, ax=ax, last=last, legend=False, span_ms=span)
        ax.set_title("")
        ax.set_title(name, loc="left")
        ax.set_xlabel("")
    axes[-1, 0].set_xlabel("ms after the user stopped speaking (or sent)")
    handles: dict[str, Any] = {}
    for ax in axes[:, 0]:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(label, handle)
    order = [VAD_LABEL, *(label for label, _, _ in LATENCY_STEPS), TOOL_LABEL]
    shown = [label for label in order if label in handles]
    figure.legend(
        handles=[handles[label] for label in shown],
        labels=shown,
        loc="outside lower center",
        ncols=len(shown),
    )
    figure.suptitle("Latency per turn", fontweight="bold", fontsize="medium")
    return figure


def _latency_span(source: Any, last: int | None) -> float:
    """The time axis :func:`latency_plot` would choose for ``source`` (ms)."""
    frame = latency_frame(source)
    if last is not None:
        frame = frame.tail(last)
    rows = list(frame.itertuples())
    offsets = [0.0 if math.isnan(row.vad_ms) else row.vad_ms for row in rows]
    ends = [left + width for steps in _latency_segments(rows, offsets) for left, width in steps]
    tools = _tool_spans(tool_frame(source), frame, offsets)
    return max([*ends, *(left + width for _, left, width in tools), 1.0])


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


@styled
def tool_plot(source: Any, ax: matplotlib.axes.Axes | None = None) -> matplotlib.axes.Axes:
    """Tool call durations: one bar per call, labelled with its turn (when it has one) and
    tool, its duration written after it (``running`` while it runs)."""
    frame = tool_frame(source)
    ax = _axes(ax, len(frame))
    ax.set(title="Tool calls", xlabel="duration (ms)")
    if frame.empty:
        return _empty(ax, "no tool calls yet")
    labels = [
        f"{row.tool} #{i}" if pd.isna(row.turn) else f"{int(row.turn)}: {row.tool} #{i}"
        for i, row in enumerate(frame.itertuples())
    ]
    bars = ax.barh(labels, frame["duration_ms"].fillna(0.0), color=TOOL_COLOR, height=0.6)
    notes = ["running" if math.isnan(v) else _ms(v) for v in frame["duration_ms"]]
    ax.bar_label(bars, notes, padding=3, fontsize="x-small", color=INK)
    ax.margins(x=0.18)  # room for the notes
    ax.set_xlim(left=0)
    _ms_axis(ax)
    ax.invert_yaxis()
    return ax
