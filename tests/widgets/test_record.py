"""Record a session's events as JSONL and replay them into the widgets without a backend."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pandas as pd
import pytest

from rtnb.analysis import guardrail_frame, history_frame, latency_frame, tool_frame
from rtnb.widgets import Approvals, console
from rtnb.widgets.record import ReplaySession, load, record
from tests.analysis.conversation import converse
from tests.session import wire

from .conftest import Sent, until


def all_widgets(widget):
    """The widget and all its descendants."""
    found = [widget]
    for child in getattr(widget, "children", ()):
        found += all_widgets(child)
    return found


@pytest.fixture(scope="module")
def conversation():
    return asyncio.run(converse())


async def test_a_recording_replays_into_the_console(conversation, tmp_path: Path) -> None:
    session, observer = conversation
    path = tmp_path / "talk.jsonl"
    record(session, path).close()  # an observed session: everything so far is written
    records = load(path)
    assert records[0]["event"] == "recording" and records[0]["agent"] == "Weather assistant"
    assert records[1:] == json.loads(json.dumps(observer.records))

    replay = ReplaySession(records, speed=None)
    ui = console(replay)
    # A replay offers no microphone and no text box: Play, Stop, the views and the player.
    assert ui.mic is None and ui.text not in all_widgets(ui)
    assert ui.connect_button.description == "Play"
    assert ui.transcript.hint == "Nothing replayed yet: press Play."  # not "type a message"
    assert 'data-status="disconnected"' in ui.status.value and "press Play" in ui.status.value
    sent = Sent(ui.player)
    ui.connect_button.click()  # Play plays the recording
    await asyncio.wait_for(replay.play(), 10)
    assert replay.status == "disconnected" and replay.finished
    await until(lambda: "replay finished" in ui.status.value)
    assert 'data-status="finished"' in ui.status.value

    ui.transcript.flush()
    text = ui.transcript.text
    assert "The weather in Paris is sunny." in text
    # The tool call as a row with its arguments, output and duration; the trip marked inline.
    (paris,) = [e for e in ui.transcript.entries.values() if "Paris" in e.get("arguments", "")]
    assert paris["kind"] == "tool" and "sunny" in paris["output"] and paris["ms"] >= 0
    assert "[guardrail tripped: no_london]" in text
    ui.history.refresh()
    pd.testing.assert_frame_equal(ui.history.frame, history_frame(session))
    for frame in (latency_frame, tool_frame, guardrail_frame):
        pd.testing.assert_frame_equal(frame(replay), frame(session))
    audio_ms = sum(r["ms"] for r in observer.records if r["event"] == "audio")
    await sent.wait(lambda: ui.player.sent_ms == pytest.approx(audio_ms))
    assert sent.of_type("clear")  # the guardrail cut the London answer
    await replay.close()


async def test_replay_paces_records_and_skips_unrecorded_audio() -> None:
    records = [
        {
            "t": 0.0,
            "event": "audio",
            "item_id": "i",
            "content_index": 0,
            "response_id": "r",
            "ms": 5,
        },
        {"t": 0.2, "event": "error", "message": "late"},
    ]
    replay = ReplaySession(records, speed=2.0)
    seen: list[tuple[str, float]] = []
    loop = asyncio.get_running_loop()
    replay.on("audio", lambda e: seen.append(("audio", loop.time())))
    replay.on("error", lambda e: seen.append((e.error["message"], loop.time())))
    start = loop.time()
    await asyncio.wait_for(replay.play(), 5)
    await replay.close()
    assert [name for name, _ in seen] == ["late"]  # no pcm recorded: nothing to play
    assert seen[0][1] - start >= 0.1 - 1e-3  # 0.2 s at double speed


async def test_recording_writes_as_events_arrive(scripted, tmp_path: Path) -> None:
    session, transport = scripted
    path = tmp_path / "live.jsonl"
    recorder = record(session, path, audio=False)
    await session.connect()
    transport.push(wire.item_added(wire.user_text_item("item_u", "hello")))
    transport.push(wire.response_created("resp_1"))
    transport.push(wire.audio_delta("resp_1", "item_a", wire.pcm_ms(100)))
    await transport.settle()
    await asyncio.wait_for(_lines_until(path, "audio"), 5)
    recorder.close()
    events = [r["event"] for r in load(path)]
    assert events[0] == "recording" and "history_updated" in events
    audio = [r for r in load(path) if r["event"] == "audio"]
    assert audio and all("pcm" not in r and r["ms"] == 100 for r in audio)


async def test_replayed_approval_requests_show_cards_that_decide_nothing() -> None:
    records = [
        {"t": 0.0, "event": "tool_approval_requested", "agent": "A", "tool": "rm"}
        | {"arguments": '{"path": "/"}', "call_id": "call_1"}
    ]
    replay = ReplaySession(records, speed=None)
    approvals = Approvals(replay)
    await replay.play()
    await replay.close()
    (card,) = approvals.pending
    assert "rm" in card.header.value
    card.approve_button.click()  # a replay cannot talk: ignored, no error
    assert card.decision == "approved"


async def _lines_until(path: Path, event: str) -> None:
    while not any(json.loads(line)["event"] == event for line in path.read_text().splitlines()):
        await asyncio.sleep(0.01)


async def test_a_replay_shows_the_turns_as_they_arrive(conversation, tmp_path: Path) -> None:
    session, _ = conversation
    path = tmp_path / "talk.jsonl"
    record(session, path).close()
    replay = ReplaySession.load(path, speed=8.0)
    ui = console(replay, history=False)
    sent = Sent(ui.transcript)
    # One page update per history change (the transcript's own throttle would merge changes
    # that come closer than its interval, as a fast replay does on a fast machine).
    replay.on("history_updated", lambda _event: ui.transcript.flush())
    await asyncio.wait_for(replay.play(), 30)
    ui.transcript.flush()
    shown: list[str] = []  # the transcript's text after each update the page got
    entries: dict[str, str] = {}
    for content, _ in sent.of_type("update"):
        entries |= {e["key"]: e.get("text") or e.get("name") or "" for e in content["entries"]}
        shown.append(" | ".join(entries.values()))
    # The page saw the first question before the last answer existed, then the rest arriving.
    first = next(i for i, text in enumerate(shown) if "Paris" in text)
    last = next(i for i, text in enumerate(shown) if "London is sunny" in text)
    assert first < last
    await until(lambda: "replay finished" in ui.status.value)
    await replay.close()


async def test_replayed_text_equals_live_text(scripted, tmp_path: Path) -> None:
    """An answer whose last words arrive just before an edit removes it reads the same live and
    replayed, however the views' renders fall between the replayed events."""
    from rtnb.widgets import Transcript

    session, transport = scripted
    path = tmp_path / "live.jsonl"
    recorder = record(session, path, audio=False)
    live = Transcript(session, interval=0.0)

    def live_items() -> list:  # the history as recorded so far
        return recorder.observer.history()

    await session.connect()
    transport.push(wire.item_added(wire.user_text_item("item_u", "I like tea.")))
    transport.push(wire.response_created("resp_1"))
    transport.push(wire.item_added(wire.assistant_item("item_a", "")))
    said = ""
    for words in ("You said:", " I", " like", " tea."):
        said += words
        transport.push(wire.transcript_delta("resp_1", "item_a", words))
        await until(lambda text=said: text in [getattr(i, "text", "") for i in live_items()])
    transport.push(wire.response_done("resp_1"))
    await until(lambda: "You said: I like tea." in live.text)
    transport.push(wire.item_deleted("item_a"))  # the notebook's history edit
    await until(lambda: "[removed]" in live.text)
    recorder.close()
    assert live.text.splitlines()[-1] == "Weather assistant: You said: I like tea. [removed]"

    replay = ReplaySession(load(path), speed=None)
    replayed = Transcript(replay, interval=30.0)  # renders only when flushed

    def render_the_partial_answer(event) -> None:
        # The replay's view renders once while the answer reads "You said: I"; the rest of the
        # words and the edit then come before its next render (as in a fast replay).
        if any(getattr(item, "text", "") == "You said: I" for item in event.history):
            replayed.flush()

    replay.on("history_updated", render_the_partial_answer)  # after the view's own handler
    await asyncio.wait_for(replay.play(), 10)
    replayed.flush()
    assert replayed.text == live.text
    await replay.close()
