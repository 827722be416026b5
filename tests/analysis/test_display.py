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
