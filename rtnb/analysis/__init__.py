"""Session records -> pandas DataFrames -> matplotlib Axes.

Attach an observer before connecting (``observe(session)``; the console does it), then build
frames at any time: :func:`history_frame`, :func:`latency_frame`, :func:`tool_frame`,
:func:`guardrail_frame`; plots are in :mod:`rtnb.analysis.plots`. The frames keep missing values
as ``NaN``/``None`` but show them as blank cells (:class:`BlankFrame`); :func:`html_table`
renders a frame that way for a widget.
"""

from .display import BlankFrame, html_table
from .frames import guardrail_frame, history_frame, history_records, latency_frame, tool_frame
from .observer import SessionObserver, observe

__all__ = [
    "BlankFrame",
    "SessionObserver",
    "guardrail_frame",
    "history_frame",
    "history_records",
    "html_table",
    "latency_frame",
    "observe",
    "tool_frame",
]
