"""Live plots: a matplotlib plot of :mod:`rtnb.analysis.plots` redrawn as the session goes.

The figure is drawn off-screen (no pyplot) and shown as a PNG, at most once per ``interval``
seconds, when the session's observer records something.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable
from typing import Any

import ipywidgets
import matplotlib
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from rtnb.analysis import observe
from rtnb.analysis.plots import STYLE, guardrail_plot, latency_plot, tool_plot

from ._bridge import LoopBridge, Throttle

PlotFunction = Callable[..., Axes]


class LivePlot(ipywidgets.Image):
    """``plot(session, ax=..., **plot_options)`` redrawn when the session's observer records
    events. :attr:`axes` is the latest drawing (its figure is not shown anywhere else)."""

    def __init__(
        self,
        session: Any,
        plot: PlotFunction,
        *,
        loop: asyncio.AbstractEventLoop | None = None,
        interval: float = 1.0,
        figsize: tuple[float, float] = (7.5, 3.5),
        plot_options: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(format="png", **kwargs)
        self.session = session
        self.plot = plot
        self.plot_options = dict(plot_options or {})
        self.figsize = figsize
        self.axes: Axes | None = None
        self._throttle = Throttle(self.redraw, interval, LoopBridge(loop).loop)
        observe(session).on_record(lambda _record: self._throttle.trigger())
        self.redraw()

    def redraw(self) -> None:
        """Draw the plot now (in the rtnb style: a transparent PNG, readable on either theme)."""
        with matplotlib.rc_context(STYLE):
            figure = Figure(figsize=self.figsize, layout="constrained")
            self.axes = self.plot(self.session, ax=figure.subplots(), **self.plot_options)
            buffer = io.BytesIO()
            figure.savefig(buffer, format="png", dpi=80)
        self.value = buffer.getvalue()


LIVE_LATENCY_TURNS = 8
"""How many of the latest turns :func:`live_latency` shows by default."""


def live_latency(
    session: Any, *, last: int | None = LIVE_LATENCY_TURNS, **options: Any
) -> LivePlot:
    """:func:`~rtnb.analysis.plots.latency_plot` of the ``last`` turns (``None``: all), kept up
    to date; a turn still waiting for its answer is labelled ``in progress``."""
    return LivePlot(session, latency_plot, plot_options={"last": last}, **options)


def live_guardrails(session: Any, **options: Any) -> LivePlot:
    """:func:`~rtnb.analysis.plots.guardrail_plot`, kept up to date."""
    return LivePlot(session, guardrail_plot, **options)


def live_tools(session: Any, **options: Any) -> LivePlot:
    """:func:`~rtnb.analysis.plots.tool_plot`, kept up to date."""
    return LivePlot(session, tool_plot, **options)
