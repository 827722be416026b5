"""The plots return Axes drawn from the frames of a real conversation."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.container import BarContainer
from matplotlib.figure import Figure

from rtnb.analysis import SessionObserver, latency_frame, tool_frame
from rtnb.analysis.plots import (
    LATENCY_STEPS,
    TOOL_LABEL,
    TOOL_MIN_WIDTH,
    VAD_LABEL,
    guardrail_plot,
    latency_plot,
    tool_plot,
)


def axes():
    return Figure().subplots()


def bars(ax) -> dict[str, list[tuple[float, float, float]]]:
    """Legend label -> (row, left, width) of each bar of that series."""
    return {
        c.get_label(): [(p.get_y() + p.get_height() / 2, p.get_x(), p.get_width()) for p in c]
        for c in ax.containers
        if isinstance(c, BarContainer)
    }


def test_latency_plot_stacks_the_steps_of_each_turn(conversation) -> None:
    session, _ = conversation
    frame = latency_frame(session)
    ax = latency_plot(session, ax=axes())
    series = bars(ax)
    assert [label for label, _, _ in LATENCY_STEPS] == list(series)[1:4]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["0 spoken", "1 typed"]
    # The typed turn (row 1) starts at 0; each step begins where the one before it ended.
    typed = [(left, width) for row, left, width in series["→ first audio"] if row == 1]
    assert typed == [(0.0, pytest.approx(frame["first_audio_ms"].iloc[1]))]
    done = [(left, width) for row, left, width in series["→ response done"] if row == 1]
    assert done[0][0] == pytest.approx(sum(typed[0]))
    assert done[0][0] + done[0][1] == pytest.approx(frame["done_ms"].iloc[1])
    assert "tool time" in [t.get_text() for t in ax.get_legend().get_texts()]


def test_tool_time_is_a_visible_bar_where_the_tool_ran(conversation) -> None:
    session, _ = conversation
    frame, calls = latency_frame(session), tool_frame(session)
    ax = latency_plot(session, ax=axes())
    tools = bars(ax)[TOOL_LABEL]
    axis = ax.get_xlim()[1] - ax.get_xlim()[0]
    assert len(tools) == len(calls) == 3
    assert [row for row, _, _ in tools] == list(calls["turn"])
    for (row, left, width), call in zip(tools, calls.itertuples(), strict=True):
        turn = frame.iloc[int(row)]
        offset = 0.0 if math.isnan(turn.vad_ms) else turn.vad_ms
        assert left == pytest.approx(offset + (call.t - turn.t) * 1000)
        assert width / axis >= TOOL_MIN_WIDTH / 2  # a 0.3 ms tool stays visible
        # matplotlib keeps a bar's two ends: its width (their difference) may lose an ulp
        assert width >= call.duration_ms - 1e-9
    notes = [t.get_text() for t in ax.texts]
    assert notes[0].startswith("1 tool ") and notes[1].startswith("2 tools ")


def test_the_vad_silence_is_its_own_segment(paced) -> None:
    frame = latency_frame(paced.session)
    ax = latency_plot(paced.session, ax=axes())
    series = bars(ax)
    spoken = [i for i, kind in enumerate(frame["kind"]) if kind == "spoken"]
    assert series[VAD_LABEL] == [(i, 0.0, frame["vad_ms"].iloc[i]) for i in spoken]
    # After the silence, the transcript: its segment starts where the silence ends.
    transcript = {row: left for row, left, _ in series["→ transcript"]}
    assert [transcript[i] for i in spoken] == [frame["vad_ms"].iloc[i] for i in spoken]
    assert "ms after the user stopped speaking" in ax.get_xlabel()


def test_turns_without_an_answer_say_why(paced) -> None:
    ax = latency_plot(paced.session, ax=axes())
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        "0 spoken",
        "1 typed",
        "2 typed · interrupted",
        "3 spoken · no answer",
    ]
    rows = {label: [row for row, _, _ in spans] for label, spans in bars(ax).items()}
    assert 3 in rows["→ transcript"]  # heard, transcribed, not answered
    assert 3 not in rows["→ first audio"] + rows["→ response done"]


def test_latency_plot_can_show_the_last_turns(paced) -> None:
    ax = latency_plot(paced.session, ax=axes(), last=2)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["2 typed · interrupted", "3 spoken · no answer"]
    with pytest.raises(ValueError, match="last"):
        latency_plot(paced.session, ax=axes(), last=0)


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
    assert all(t.get_text().endswith(" ms") for t in ax.texts)  # durations written out
    assert len(ax.texts) == 3


def test_tool_plot_of_a_call_before_any_turn_still_running() -> None:
    observer = SessionObserver()
    observer.add({"t": 0.5, "event": "agent_tool_start", "call_id": "c1", "tool": "lookup"})
    ax = tool_plot(observer, ax=axes())
    assert [t.get_text() for t in ax.get_yticklabels()] == ["lookup #0"]
    assert [t.get_text() for t in ax.texts] == ["running"]


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


def _pixels(ax, artist):
    renderer = (
        ax.figure.canvas.get_renderer() if hasattr(ax.figure.canvas, "get_renderer") else None
    )
    if renderer is None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        renderer = FigureCanvasAgg(ax.figure).get_renderer()
    ax.figure.draw(renderer)
    return artist.get_window_extent(renderer)


def test_the_rtnb_style_reads_on_light_and_dark_pages(paced) -> None:
    from matplotlib.colors import to_rgba

    from rtnb.analysis.plots import INK

    ax = latency_plot(paced.session)
    figure = ax.figure
    try:
        # Transparent backgrounds: the page's own colour shows through, light or dark.
        assert to_rgba(figure.get_facecolor())[3] == 0 and to_rgba(ax.get_facecolor())[3] == 0
        # Mid-grey text: contrast with white and with JupyterLab's dark background.
        for text in [ax.title, ax.xaxis.label]:
            assert to_rgba(text.get_color()) == to_rgba(INK), text
        ticks = [*ax.get_yticklabels(), *ax.get_xticklabels()]
        assert all(abs(np.mean(to_rgba(t.get_color())[:3]) - 0.5) < 0.05 for t in ticks)
        # ... and JupyterLab is not told to paint a background behind the figure (it paints a
        # dark one in the light theme, a white one in the dark theme, for uniform ticks).
        from matplotlib_inline.backend_inline import _fetch_figure_metadata

        assert _fetch_figure_metadata(figure) is None
        # The legend is outside the data: below the axes.
        legend, frame = _pixels(ax, ax.get_legend()), _pixels(ax, ax.patch)
        assert legend.y1 <= frame.y0
        # The figure grows with the turns.
        assert figure.get_figheight() > latency_plot(paced.session, last=1).figure.get_figheight()
    finally:
        plt.close("all")


def test_tool_notes_never_overlap_a_bar(conversation) -> None:
    session, _ = conversation
    ax = latency_plot(session, ax=Figure(figsize=(6, 2.5), layout="constrained").subplots())
    bars_ = [_pixels(ax, patch) for patch in ax.patches]
    notes = [_pixels(ax, text) for text in ax.texts]
    assert notes
    for note in notes:
        assert not any(note.overlaps(bar) for bar in bars_), note
        assert note.x1 <= _pixels(ax, ax.patch).x1  # inside the axes


def test_compare_latency_has_one_legend_and_one_time_axis(conversation, paced) -> None:
    from rtnb.analysis.plots import compare_latency

    figure = compare_latency({"one": conversation[0], "two": paced.session})
    try:
        axes = figure.axes
        assert [ax.get_title(loc="left") for ax in axes] == ["one", "two"]
        assert all(ax.get_legend() is None for ax in axes) and len(figure.legends) == 1
        assert axes[0].get_xlim() == axes[1].get_xlim()
        shown = [t.get_text() for t in figure.legends[0].get_texts()]
        assert shown == [VAD_LABEL, *(label for label, _, _ in LATENCY_STEPS), TOOL_LABEL]
    finally:
        plt.close("all")


def test_small_millisecond_ticks_keep_their_decimals(conversation) -> None:
    ax = tool_plot(conversation[0], ax=axes())
    ax.figure.canvas.draw()
    ticks = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    assert len(set(ticks)) == len(ticks), ticks  # 0.05, 0.1, ... not "0, 0, 0"
