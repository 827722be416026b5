"""Turns and what answered them, on a server that streams in real time (``converse_paced``)."""

from __future__ import annotations

import math

import pytest

from rtnb.analysis import latency_frame, tool_frame
from rtnb.analysis.turns import split_turns

from .conversation import VAD


def test_an_answer_that_ends_in_the_next_turn_stays_with_its_turn(paced) -> None:
    frame = latency_frame(paced.session)
    spoken, typed = frame.iloc[0], frame.iloc[1]
    # What the conversation set up: turn 1 began before turn 0's answer ended.
    assert typed.t < spoken.t + spoken.done_ms / 1000
    assert spoken.outcome == "answered"
    assert spoken.transcript_ms <= spoken.first_audio_ms <= spoken.done_ms
    # The typed turn's first audio is its own answer's, which waited for turn 0's to end.
    assert typed.t + typed.first_audio_ms / 1000 >= spoken.t + spoken.done_ms / 1000
    assert typed.first_audio_ms <= typed.done_ms
    assert list(tool_frame(paced.session)["turn"]) == [0]
    assert (spoken.tools, typed.tools) == (1, 0)


def test_each_turn_says_how_it_ended(paced) -> None:
    frame = latency_frame(paced.session)
    assert list(frame["kind"]) == ["spoken", "typed", "typed", "spoken"]
    assert list(frame["outcome"]) == ["answered", "answered", "interrupted", "no answer"]
    assert math.isnan(frame["done_ms"].iloc[3]) and frame["tools"].iloc[3] == 0


def test_turns_still_waiting_are_in_progress(paced) -> None:
    # Taken while turn 0's answer was held on the server and turn 1 had no response yet.
    held = paced.while_held
    assert list(held["outcome"]) == ["in progress", "in progress"]
    assert math.isnan(held["first_audio_ms"].iloc[0])


def test_spoken_turns_carry_the_silence_the_vad_waited_for(paced) -> None:
    frame = latency_frame(paced.session)
    vad = frame["vad_ms"]
    assert list(vad[frame["kind"] == "spoken"]) == [VAD["silence_duration_ms"]] * 2
    assert vad[frame["kind"] == "typed"].isna().all()
    kept = [r for r in paced.observer.records if r["event"].startswith("session.")]
    assert kept and all("turn_detection" in r for r in kept)


def test_turns_of_records_match_the_frame(paced) -> None:
    turns, calls = split_turns(paced.observer.records)
    assert [turn.number for turn in turns] == list(latency_frame(paced.observer)["turn"])
    assert [call.turn for call in calls] == [0]
    assert turns[0].tools[0] is calls[0]


def test_audio_committed_by_hand_is_a_spoken_turn_without_vad_silence() -> None:
    # Push to talk: no speech_stopped, the user's audio item arrives after the commit.
    audio_item = {"item_id": "u1", "type": "message", "role": "user"}
    audio_item["content"] = [{"type": "input_audio", "transcript": None}]
    vad = {"type": "semantic_vad", "eagerness": "auto"}
    records = [
        {"t": 0.0, "event": "connection_change", "status": "connected", "backend": "openai"},
        {"t": 0.0, "event": "session.updated", "turn_detection": vad},
        {"t": 1.0, "event": "history_updated", "items": [audio_item], "order": ["u1"]},
        {"t": 1.2, "event": "agent_start", "response_id": "r1"},
        {"t": 1.9, "event": "agent_end", "response_id": "r1", "status": "failed"},
    ]
    turns, _ = split_turns(records)
    assert [(turn.kind, turn.item_id, turn.outcome) for turn in turns] == [
        ("spoken", "u1", "failed")
    ]
    assert math.isnan(turns[0].vad_ms)  # OpenAI's semantic VAD waits as long as it judges
    assert turns[0].ms(turns[0].done) == pytest.approx(900)


def test_an_interrupt_with_nothing_playing_marks_no_turn() -> None:
    typed = {"item_id": "u1", "type": "message", "role": "user"}
    typed["content"] = [{"type": "input_text", "text": "hi"}]
    records = [
        {"t": 1.0, "event": "history_updated", "items": [typed], "order": ["u1"]},
        {"t": 1.2, "event": "agent_start", "response_id": "r1"},
        {"t": 1.3, "event": "audio", "item_id": "a1", "response_id": "r1", "ms": 500},
        {"t": 1.9, "event": "agent_end", "response_id": "r1", "status": "completed"},
        # Interrupt clicked after the answer: the session reports that nothing was cut.
        {"t": 3.0, "event": "audio_interrupted", "item_id": None, "audio_end_ms": None},
    ]
    turns, _ = split_turns(records)
    assert [turn.outcome for turn in turns] == ["answered"]


def test_a_turn_is_done_when_its_last_response_ends() -> None:
    # A typed question, a response asking for a tool, the tool, the spoken answer; the frame is
    # read while the answer plays (as right after an interrupt(), before the server's
    # response.done), then once it ended.
    typed = {"item_id": "u1", "type": "message", "role": "user"}
    typed["content"] = [{"type": "input_text", "text": "tell a story"}]
    records = [
        {"t": 1.0, "event": "history_updated", "items": [typed], "order": ["u1"]},
        {"t": 1.1, "event": "agent_start", "response_id": "r1"},
        {"t": 1.2, "event": "agent_end", "response_id": "r1", "status": "completed"},
        {"t": 1.2, "event": "agent_tool_start", "call_id": "c1", "tool": "story"},
        {"t": 1.3, "event": "agent_tool_end", "call_id": "c1", "tool": "story", "output": "x"},
        {"t": 1.4, "event": "agent_start", "response_id": "r2"},
        {"t": 1.7, "event": "audio", "item_id": "a2", "response_id": "r2", "ms": 500},
    ]
    (playing,), _ = split_turns(records)
    assert playing.done is None and playing.outcome == "in progress"
    assert playing.ms(playing.first_audio) == pytest.approx(700)
    records.append({"t": 3.0, "event": "agent_end", "response_id": "r2", "status": "completed"})
    (ended,), _ = split_turns(records)
    assert ended.ms(ended.done) == pytest.approx(2000)
    assert ended.ms(ended.done) >= ended.ms(ended.first_audio)
    assert ended.outcome == "answered"
