"""The live plot widget redraws when records arrive, at a bounded rate."""

from __future__ import annotations

from rtnb.analysis import SessionObserver
from rtnb.widgets.plots import live_latency, live_tools

from .conftest import until


async def test_live_plot_redraws_when_records_arrive() -> None:
    observer = SessionObserver()
    plot = live_tools(observer, interval=0.05)
    first = bytes(plot.value)
    assert first.startswith(b"\x89PNG")
    for i in range(20):
        observer.add({"t": i / 10, "event": "agent_tool_start", "call_id": f"c{i}", "tool": "t"})
    await until(lambda: bytes(plot.value) != first)
    assert plot._throttle.calls <= 2  # 20 records: one redraw (two at most)


async def test_live_latency_of_an_empty_session_draws() -> None:
    assert bytes(live_latency(SessionObserver()).value).startswith(b"\x89PNG")
