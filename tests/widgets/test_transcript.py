"""The transcript and the history table send the page only what changed, mark interruptions
inline, keep items removed from the history, and show readable tables with blanks."""

from __future__ import annotations

import math

from rtnb import RealtimeAgent
from rtnb.analysis.frames import HISTORY_COLUMNS
from rtnb.widgets import HistoryTable, Transcript
from rtnb.widgets.history import READABLE_COLUMNS, cell, table_rows
from tests.session import wire

from .conftest import Sent, until


def entries_sent(sent: Sent) -> list[list[str]]:
    """The keys of the entries (or rows) in each update sent to the page."""
    return [
        [e["key"] for e in content.get("entries", content.get("rows", []))]
        for content, _ in sent.of_type("update")
    ]


async def push_turns(transport, turns: int) -> None:
    for n in range(turns):
        transport.push(wire.item_added(wire.user_text_item(f"u{n}", f"question {n}")))
        transport.push(wire.item_added(wire.assistant_item(f"a{n}", f"answer {n}", "completed")))
    await transport.settle()


async def test_transcript_updates_carry_only_the_changed_entries(scripted) -> None:
    session, transport = scripted
    transcript = Transcript(session)
    sent = Sent(transcript)
    await session.connect()
    await push_turns(transport, 10)
    await until(lambda: "answer 9" in transcript.text)
    transcript.flush()
    assert len(transcript.order) == 20

    # One streamed word to the last answer: the page gets that entry, nothing else.
    before = len(sent.of_type("update"))
    transport.push(wire.response_created("r"))
    transport.push(wire.item_added(wire.assistant_item("a10")))
    transport.push(wire.transcript_delta("r", "a10", "Stream"))
    await until(lambda: "Stream" in transcript.text)
    transport.push(wire.transcript_delta("r", "a10", "ing on."))
    await until(lambda: "Streaming on." in transcript.text)
    transcript.flush()
    updates = sent.of_type("update")[before:]
    assert updates and all(keys == ["a10"] for keys in entries_sent(sent)[before:])
    # The order goes along only when it changed (the new item), not with every word.
    assert [("order" in content) for content, _ in updates] == [True] + [False] * (len(updates) - 1)


async def test_a_new_view_gets_everything(scripted) -> None:
    session, transport = scripted
    transcript = Transcript(session)
    await session.connect()
    await push_turns(transport, 2)
    await until(lambda: "answer 1" in transcript.text)
    sent = Sent(transcript)
    transcript._on_browser_message(transcript, {"type": "sync"}, [])
    await sent.wait(lambda: bool(sent.of_type("update")))
    ((content, _),) = sent.of_type("update")
    assert content["order"] == ["u0", "a0", "u1", "a1"]
    assert [e["text"] for e in content["entries"]] == [
        "question 0",
        "answer 0",
        "question 1",
        "answer 1",
    ]


async def test_interruptions_are_marked_on_the_answer(scripted) -> None:
    session, transport = scripted
    transcript = Transcript(session)
    await session.connect()
    transport.push(wire.response_created("r1"))
    transport.push(wire.item_added(wire.assistant_item("a1", "A long answer")))
    transport.push(wire.audio_delta("r1", "a1", wire.pcm_ms(300)))
    await until(lambda: "A long answer" in transcript.text)
    session.set_playback_position("a1", 1500)
    transport.push(wire.speech_started("u2"))
    await until(lambda: "[interrupted" in transcript.text)
    (line,) = [t for t in transcript.text.splitlines() if "A long answer" in t]
    assert line.endswith("[interrupted at 0.3 s]")  # clamped to the audio received


async def test_an_interrupt_with_nothing_playing_adds_nothing(scripted) -> None:
    session, transport = scripted
    transcript = Transcript(session)
    await session.connect()
    await push_turns(transport, 1)
    await until(lambda: "answer 0" in transcript.text)
    before = transcript.text
    seen: list[object] = []
    session.on("audio_interrupted", seen.append)  # runs after the transcript's handler
    session.interrupt()
    await until(lambda: bool(seen))
    transcript.flush()
    assert transcript.text == before


async def test_items_removed_from_the_history_stay_marked(scripted) -> None:
    session, transport = scripted
    transcript = Transcript(session)
    await session.connect()
    await push_turns(transport, 2)
    await until(lambda: "answer 1" in transcript.text)
    transport.push(wire.item_deleted("u0"))
    transport.push(wire.item_added(wire.user_text_item("u2", "question 2"), "a1"))
    await until(lambda: "question 2" in transcript.text and "[removed]" in transcript.text)
    assert transcript.text.splitlines() == [
        "user: question 0 [removed]",
        "Weather assistant: answer 0",
        "user: question 1",
        "Weather assistant: answer 1",
        "user: question 2",
    ]


def test_table_rows_are_readable_with_blanks() -> None:
    values = [
        ["u1", "message", "user", "A", "completed", "hi", None, None, None, math.nan],
        ["f1", "function_call", None, "A", "completed", None, "get", '{"c": 1}', None, 0.0],
        ["a1", "message", "assistant", "A", None, "", None, None, None, 5398.4],
        ["a2", "message", "assistant", "B", "completed", "yo", None, None, None, 120.0],
    ]
    rows = table_rows([dict(zip(HISTORY_COLUMNS, row, strict=True)) for row in values])
    shown = [
        [row[c] for c in ("who", "agent_shown", "text_shown", "status", "audio")] for row in rows
    ]
    assert shown == [
        ["user", "A", "hi", "completed", ""],
        ["tool", "", 'get({"c": 1}) → …', "completed", "0.0 s"],
        ["assistant", "", "", "", "5.4 s"],
        ["assistant", "B", "yo", "completed", "0.1 s"],
    ]
    assert all("nan" not in v.lower() and v != "None" for row in rows for v in row.values())
    assert [cell(v) for v in (None, math.nan, 12.0, "x")] == ["", "", "12", "x"]


async def test_the_history_table_sends_changed_rows_and_readable_columns(scripted) -> None:
    session, transport = scripted
    table = HistoryTable(session)
    sent = Sent(table)
    await session.connect()
    await push_turns(transport, 3)
    await until(lambda: len(table.frame) == 6)
    table.refresh()
    header, *lines = table.text.splitlines()
    # One agent: no agent column (it would be empty but for the first row).
    assert header.split("\t") == [c for c in READABLE_COLUMNS if c != "agent"]
    assert "u0" not in table.text and "nan" not in table.text.lower()
    assert "Weather assistant" not in table.text
    assert sent.messages[-1][0]["readable"] == header.split("\t")
    # A second agent answers: the column comes, the agent named where it changes.
    session.update_agent(RealtimeAgent(name="Billing"))
    transport.push(wire.item_added(wire.user_text_item("u9", "my invoice?")))
    transport.push(wire.response_created("r9"))  # agent_start: the observer learns the agent
    transport.push(wire.item_added(wire.assistant_item("a9", "Paid.", "completed")))
    await until(lambda: len(table.frame) == 8)
    table.refresh()
    header, *lines = table.text.splitlines()
    assert header.split("\t") == READABLE_COLUMNS
    agents = [line.split("\t")[1] for line in lines]
    assert agents == ["Weather assistant", *[""] * 6, "Billing"]
    assert sent.messages[-1][0]["readable"] == READABLE_COLUMNS
    before = len(sent.messages)
    transport.push(wire.item_added(wire.user_text_item("u3", "one more")))
    await until(lambda: len(table.frame) == 9)
    table.refresh()
    assert entries_sent(sent)[before:] == [["u3"]]
    table.show_all = True
    assert table.text.splitlines()[0].split("\t")[0] == "item_id"


async def test_an_edited_history_reads_in_the_order_it_happened(scripted) -> None:
    session, transport = scripted
    transcript = Transcript(session)
    await session.connect()
    await push_turns(transport, 2)
    await until(lambda: "answer 1" in transcript.text)
    # As update_history does: a message rewritten (deleted, created again) and one put first.
    transport.push(wire.item_deleted("u1"))
    transport.push(wire.item_added(wire.user_text_item("u1b", "question one, rewritten"), "a1"))
    first = wire.item_added(wire.user_text_item("s0", "first of all"))
    first["previous_item_id"] = None  # the server puts it at the start
    transport.push(first)
    await until(lambda: "first of all" in transcript.text)
    assert [line.split(": ", 1)[1] for line in transcript.text.splitlines()] == [
        "first of all",
        "question 0",
        "answer 0",
        "question 1 [removed]",
        "answer 1",
        "question one, rewritten",
    ]


async def test_hosted_mcp_calls_are_tool_rows_live_and_replayed(tmp_path) -> None:
    from rtnb import RealtimeAgent, RealtimeSession
    from rtnb.testing import ScriptedTransport
    from rtnb.widgets.record import ReplaySession, load, record
    from tests.session.test_mcp import push_question_and_two_calls, weather_server

    transport = ScriptedTransport()
    agent = RealtimeAgent(name="Forecaster", tools=[weather_server()])
    session = RealtimeSession(agent, transport=transport)
    recorder = record(session, tmp_path / "mcp.jsonl", audio=False)
    transcript = Transcript(session, interval=0.0)
    await session.connect()
    push_question_and_two_calls(transport)
    transport.push(wire.item_added(wire.assistant_item("a1", "Rain in Oslo.", "completed"), "m2"))
    await until(lambda: "Rain in Oslo." in transcript.text and "m2" in transcript.entries)
    transcript.flush()
    await session.close()
    recorder.close()
    assert transcript.text.splitlines() == [
        "user: Forecast for Oslo?",
        'tool weather.get_forecast({"city": "Oslo"}) → Tomorrow in Oslo: rain.',
        'tool weather.get_forecast({"city": "Oslo"}) → error: the city is unknown',
        "Forecaster: Rain in Oslo.",
    ]
    assert transcript.entries["m2"]["status"] == "failed"

    replay = ReplaySession(load(tmp_path / "mcp.jsonl"), speed=None)
    replayed = Transcript(replay, interval=0.0)
    await replay.play()
    replayed.flush()
    await replay.close()
    assert replayed.text == transcript.text
