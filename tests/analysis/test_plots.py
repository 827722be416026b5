"""The plots return Axes drawn from the frames of a real conversation."""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from rtnb.analysis import SessionObserver
from rtnb.analysis.plots import guardrail_plot, latency_plot, tool_plot


def axes():
    return Figure().subplots()


def test_latency_plot_stacks_three_steps_per_turn(conversation) -> None:
    session, _ = conversation
    ax = latency_plot(session, ax=axes())
    assert len(ax.patches) == 3 * 2  # three steps, two turns
    assert [t.get_text() for t in ax.get_yticklabels()] == ["0 (spoken)", "1 (typed)"]
    assert "tool time" in [t.get_text() for t in ax.get_legend().get_texts()]


def test_guardrail_plot_has_a_line_per_guardrail(conversation) -> None:
    session, _ = conversation
    ax = guardrail_plot(session, ax=axes())
    assert [line.get_label() for line in ax.get_lines()] == ["no_london"]
    assert list(ax.get_lines()[0].get_ydata()) == [0, 1]


def test_tool_plot_has_a_bar_per_call(conversation) -> None:
    session, _ = conversation
    ax = tool_plot(session, ax=axes())
    assert len(ax.patches) == 3
    assert ax.get_yticklabels()[0].get_text() == "0: get_weather #0"


def test_plots_of_nothing_say_so() -> None:
    empty = SessionObserver()
    for plot, text in (
        (latency_plot, "no turns"),
        (guardrail_plot, "no guardrail"),
        (tool_plot, "no tool"),
    ):
        ax = plot(empty, ax=axes())
        assert text in ax.texts[0].get_text()


def test_a_plot_without_axes_makes_a_figure(conversation) -> None:
    session, _ = conversation
    ax = tool_plot(session)
    assert ax.figure in [plt.figure(n) for n in plt.get_fignums()]
    plt.close(ax.figure)
