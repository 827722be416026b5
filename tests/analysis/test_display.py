"""Frames keep NaN/None as data but show blank cells (notebook HTML, repr, widget HTML)."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from rtnb.analysis import guardrail_frame, history_frame, latency_frame, tool_frame
from rtnb.analysis.display import BlankFrame, BlankSeries, html_table

FRAMES = (history_frame, latency_frame, tool_frame, guardrail_frame)
MISSING_TEXT = re.compile(r"\b(NaN|None|nan|<NA>|NaT)\b")


def test_frames_show_blanks_where_values_are_missing(conversation) -> None:
    session, _ = conversation
    for make in FRAMES:
        frame = make(session)
        assert isinstance(frame, BlankFrame)
        for text in (repr(frame), frame._repr_html_(), frame.to_string(index=False)):
            assert not MISSING_TEXT.search(text), make.__name__


def test_the_data_keep_their_missing_values(conversation) -> None:
    session, _ = conversation
    history = history_frame(session)
    call = history[history["type"] == "function_call"].iloc[0]
    assert pd.isna(call.role) and pd.isna(call.text) and pd.isna(call.audio_ms)
    assert history["tool"].isna().any() and history["audio_ms"].isna().any()
    # What pandas itself would show for the same data: the words the display leaves out.
    assert MISSING_TEXT.search(pd.DataFrame(history).to_string())
    latency = latency_frame(session)
    assert latency["transcript_ms"].isna().iloc[1]  # typed: no transcript
    assert latency["first_audio_ms"].mean() > 0  # numbers stay numbers


def test_selections_stay_blank_frames(conversation) -> None:
    session, _ = conversation
    frame = history_frame(session)
    for part in (frame[["type", "role", "tool"]], frame.head(2), frame.tail(3), frame.copy()):
        assert isinstance(part, BlankFrame)
        assert not MISSING_TEXT.search(part._repr_html_())
    assert type(pd.DataFrame(frame)) is pd.DataFrame
    column = frame["tool"]
    assert isinstance(column, BlankSeries) and column.isna().any()
    assert not MISSING_TEXT.search(repr(column)) and MISSING_TEXT.search(repr(pd.Series(column)))
    roles = frame[["role"]].to_string(na_rep="-", index=False).split()
    assert roles[:4] == ["role", "user", "-", "assistant"]  # na_rep as asked, None included


def test_html_table_for_widgets(conversation) -> None:
    session, _ = conversation
    frame = history_frame(session)
    table = html_table(frame, classes="rtnb-history", float_format="{:.0f}")
    assert table.startswith("<table") and 'class="dataframe rtnb-table rtnb-history"' in table
    assert not MISSING_TEXT.search(table)
    cells = re.findall(r"<td>(.*?)</td>", table)
    assert "" in cells and len(cells) == frame.size  # one cell per value, blanks included
    audio = [f"{value:.0f}" for value in frame["audio_ms"].dropna()]
    assert set(audio) <= set(cells)


def test_html_table_escapes_and_checks_its_classes() -> None:
    frame = pd.DataFrame({"text": ["<b>hi</b>", None], "ms": [1.0, float("nan")]})
    table = html_table(frame)
    assert "&lt;b&gt;hi&lt;/b&gt;" in table and "<b>" not in table
    assert not MISSING_TEXT.search(table)
    with pytest.raises(ValueError, match="classes"):
        html_table(frame, classes='x" onclick="y')


def test_the_display_formats_for_reading_and_the_data_keep_full_precision() -> None:
    frame = BlankFrame(
        pd.DataFrame(
            {
                "item_id": ["item_CxZ2yQ9f0a1b2c3d4e5f", "u1"],
                "t": [2.935630, 10.0],
                "done_ms": [1001.575, 0.25],
                "audio_ms": [365.0, float("nan")],
                "count": [2517.0, 3.0],
                "arguments": [{"city": "Paris"}, '{"city": "Paris"}'],
                "text": ["It is sunny.", None],
            }
        )
    )
    shown = repr(frame)
    assert "1,002" in shown and "0.2" in shown and "1001.575" not in shown  # ms as integers
    assert "2.9" in shown and "2.935630" not in shown  # seconds with one decimal
    assert "365" in shown and "365.0" not in shown and "2,517" in shown
    assert shown.count('{"city": "Paris"}') == 2 and "{'city'" not in shown  # JSON as JSON
    assert "item_…3d4e5f" in shown and "item_CxZ2yQ9f0a1b2c3d4e5f" not in shown
    assert " u1" in shown  # short ids stay whole
    html = frame._repr_html_()
    assert "1,002" in html and "item_…3d4e5f" in html
    # Text columns (ids, JSON, words) read from the left; numbers stay right-aligned.
    style = re.search(r"<style>(.*?)</style>", html).group(1)
    table = re.search(r'class="dataframe rtnb-frame (rtnb-frame-\d+)"', html).group(1)
    left = {int(n) for n in re.findall(rf"table\.{table} td:nth-child\((\d+)\)", style)}
    assert left == {2, 7, 8} and "text-align: left" in style
    # The data themselves are untouched.
    assert frame["done_ms"].iloc[0] == 1001.575 and frame["t"].iloc[0] == 2.935630
    assert frame["item_id"].iloc[0] == "item_CxZ2yQ9f0a1b2c3d4e5f"
    assert frame["arguments"].iloc[0] == {"city": "Paris"}
