"""Analysis frames of a real conversation on the local server, and of its saved records."""

from __future__ import annotations

import json
import math

import pandas as pd

from rtnb.analysis import (
    SessionObserver,
    guardrail_frame,
    history_frame,
    latency_frame,
    observe,
    tool_frame,
)
from rtnb.analysis.frames import GUARDRAIL_COLUMNS, HISTORY_COLUMNS, LATENCY_COLUMNS
from rtnb.local.policy.numbers import canonical_words
from rtnb.local.speech.vad import EAGERNESS_SILENCE_MS


def test_history_frame(conversation) -> None:
    session, observer = conversation
    frame = history_frame(session)
    assert list(frame.columns) == HISTORY_COLUMNS
    assert list(frame["type"][:3]) == ["message", "function_call", "message"]
    user, call, answer = frame.iloc[0], frame.iloc[1], frame.iloc[2]
    assert user.role == "user"
    assert canonical_words(user.text) == canonical_words("What is the weather in Paris?")
    assert 1000 < user.audio_ms < 3000  # speech_started -> speech_stopped
    assert (call.tool, call.arguments) == ("get_weather", '{"city": "Paris"}')
    assert call.output == "The weather in Paris is sunny." and math.isnan(call.audio_ms)
    assert (answer.role, answer.text) == ("assistant", "The weather in Paris is sunny.")
    assert answer.audio_ms > 1000
    assert set(frame["agent"]) == {"Weather assistant"}
    assert "system" in set(frame["role"])  # the guardrail's notice to the model
    # The observer's own copy of the history gives the same frame.
    assert history_frame(observer).equals(frame)


def test_latency_frame(conversation) -> None:
    session, _ = conversation
    frame = latency_frame(session)
    assert list(frame.columns) == LATENCY_COLUMNS
    assert list(frame["kind"]) == ["spoken", "typed"]
    spoken, typed = frame.iloc[0], frame.iloc[1]
    assert 0 <= spoken.transcript_ms <= spoken.first_audio_ms <= spoken.done_ms
    assert spoken.tools == 1 and spoken.tool_ms >= 0
    assert math.isnan(typed.transcript_ms) and 0 <= typed.first_audio_ms <= typed.done_ms
    assert typed.tools == 2  # the blocked answer was retried with a new call
    assert spoken.t < typed.t
    assert list(frame["outcome"]) == ["answered", "answered"]  # the retry answered London
    # The session's default semantic_vad, which the local server maps onto a fixed silence.
    assert spoken.vad_ms == EAGERNESS_SILENCE_MS["auto"] and math.isnan(typed.vad_ms)


def test_tool_frame(conversation) -> None:
    session, _ = conversation
    frame = tool_frame(session)
    assert list(frame["tool"]) == ["get_weather"] * 3
    assert list(frame["turn"]) == [0, 1, 1]
    assert frame["output"].iloc[0] == "The weather in Paris is sunny."
    assert (frame["duration_ms"] >= 0).all()


def test_guardrail_frame(conversation) -> None:
    session, _ = conversation
    frame = guardrail_frame(session)
    assert list(frame.columns) == GUARDRAIL_COLUMNS
    assert list(frame["guardrail"]) == ["no_london"]
    assert "London" in frame["message"].iloc[0]


def test_records_are_json_and_rebuild_the_same_frames(conversation) -> None:
    _, observer = conversation
    saved = [json.loads(json.dumps(record)) for record in observer.records]
    copy = SessionObserver.from_records(saved)
    for frame in (latency_frame, tool_frame, guardrail_frame, history_frame):
        pd.testing.assert_frame_equal(frame(copy), frame(observer))
    assert any("pcm" in r for r in saved if r["event"] == "audio")  # observe(audio=True)


def test_history_records_hold_only_what_changed(conversation) -> None:
    _, observer = conversation
    updates = [r for r in observer.records if r["event"] == "history_updated"]
    assert all(len(r["items"]) <= 2 for r in updates)
    assert sum("order" in r for r in updates) == len(observer.order)  # one per new item


def test_observe_returns_one_observer_per_session(conversation) -> None:
    session, observer = conversation
    assert observe(session) is observer
    assert observe(observer) is observer


def test_an_empty_latency_frame_keeps_its_numeric_columns() -> None:
    frame = latency_frame(SessionObserver())
    assert list(frame.columns) == LATENCY_COLUMNS and frame.empty
    assert frame["done_ms"].dtype == float and frame["tools"].dtype == int


def test_an_empty_history_frame_keeps_its_numeric_column() -> None:
    # What a console shows before the first turn: pandas 2 refuses to round an object column.
    frame = history_frame(SessionObserver())
    assert list(frame.columns) == HISTORY_COLUMNS and frame.empty
    assert frame["audio_ms"].dtype == float
    assert frame["audio_ms"].round(0).empty
