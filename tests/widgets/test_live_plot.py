"""The live plot widgets redraw when records arrive, at a bounded rate."""

from __future__ import annotations

import pytest

from rtnb.analysis import SessionObserver
from rtnb.widgets.plots import LIVE_LATENCY_TURNS, live_latency, live_tools

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


def typed_turn(observer: SessionObserver, n: int, *, answered: bool) -> None:
    """Add the records of a typed turn (and, if ``answered``, of its spoken answer)."""
    t = float(n)
    user = {"item_id": f"u{n}", "type": "message", "role": "user", "content": []}
    observer.add({"t": t, "event": "history_updated", "items": [user], "order": []})
    if answered:
        response = {"agent": "A", "response_id": f"r{n}"}
        observer.add({"t": t + 0.1, "event": "agent_start", **response})
        audio = {"item_id": f"a{n}", "content_index": 0, "response_id": f"r{n}", "ms": 100.0}
        observer.add({"t": t + 0.2, "event": "audio", **audio})
        observer.add({"t": t + 0.5, "event": "agent_end", **response, "status": "completed"})


async def test_live_latency_shows_the_last_turns_and_the_one_in_progress() -> None:
    observer = SessionObserver()
    for n in range(11):
        typed_turn(observer, n, answered=True)
    typed_turn(observer, 11, answered=False)
    plot = live_latency(observer, interval=0.05)
    labels = [t.get_text() for t in plot.axes.get_yticklabels()]
    assert labels == [f"{n} typed" for n in range(4, 11)] + ["11 typed · in progress"]
    assert len(labels) == LIVE_LATENCY_TURNS
    first = bytes(plot.value)
    observer.add({"t": 12.0, "event": "agent_start", "agent": "A", "response_id": "r11"})
    observer.add({"t": 12.5, "event": "agent_end", "agent": "A", "response_id": "r11"})
    await until(lambda: bytes(plot.value) != first)
    assert plot.axes.get_yticklabels()[-1].get_text() == "11 typed"


async def test_live_latency_checks_how_many_turns() -> None:
    with pytest.raises(ValueError, match="last"):
        live_latency(SessionObserver(), last=-1)
