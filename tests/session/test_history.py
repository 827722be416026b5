"""History rules, on the History container and through a session fed by server events."""

from __future__ import annotations

import copy

from rtnb import AssistantMessageItem, FunctionCallItem, RealtimeSession, UserMessageItem
from rtnb.session.history import History
from rtnb.session.items import ContentPart, item_from_wire
from rtnb.testing import ScriptedTransport

from . import wire as w
from .conftest import Recorder


def _ids(items: object) -> list[str]:
    return [item.item_id for item in items]  # type: ignore[attr-defined]


def _wire(item: dict, previous: str | None = None) -> object:
    converted = item_from_wire(item, previous)
    assert converted is not None
    return converted


def test_append_insert_after_previous_and_replace_by_id() -> None:
    history = History()
    history.upsert(_wire(w.user_text_item("a", "one")))
    history.upsert(_wire(w.user_text_item("c", "three"), previous="a"))
    history.upsert(_wire(w.user_text_item("b", "two"), previous="a"))
    history.upsert(_wire(w.user_text_item("d", "four"), previous="unknown"))
    assert _ids(history) == ["a", "b", "c", "d"]
    assert history.get("c") is history.snapshot()[2]

    item, added, changed = history.upsert(_wire(w.user_text_item("b", "TWO")))
    assert (item.item_id, added, changed) == ("b", False, True)
    assert _ids(history) == ["a", "b", "c", "d"]
    assert history.get("b").text == "TWO"  # type: ignore[union-attr]


def test_remove_reindexes() -> None:
    history = History()
    for name in "abcd":
        history.upsert(_wire(w.user_text_item(name, name)))
    assert history.remove("b") is not None
    assert history.remove("b") is None
    assert _ids(history) == ["a", "c", "d"]
    history.upsert(_wire(w.user_text_item("e", "e"), previous="c"))
    assert _ids(history) == ["a", "c", "e", "d"]


def test_empty_transcript_does_not_erase_known_words() -> None:
    history = History()
    history.write_text("a1", 0, "output_audio", "Hello ", append=True)
    history.write_text("a1", 0, "output_audio", "there", append=True)
    truncated = w.assistant_item("a1", transcript="", status="incomplete")
    item, added, changed = history.upsert(_wire(truncated))
    assert (added, changed) == (False, True)  # the status changed, the words stayed
    assert isinstance(item, AssistantMessageItem)
    assert item.content == [ContentPart(type="output_audio", transcript="Hello there")]
    assert item.status == "incomplete"


def test_announced_empty_item_keeps_parts_written_by_deltas() -> None:
    history = History()
    history.write_text("a1", 0, "output_text", "Hi", append=True)
    history.upsert(_wire(w.assistant_item("a1")))  # content [] as in conversation.item.added
    assert history.get("a1").text == "Hi"  # type: ignore[union-attr]


def test_replacing_with_same_content_reports_no_change() -> None:
    history = History()
    history.upsert(_wire(w.user_text_item("a", "one")))
    _, added, changed = history.upsert(_wire(w.user_text_item("a", "one")))
    assert (added, changed) == (False, False)


def test_snapshot_is_cached_while_only_words_change() -> None:
    history = History()
    history.upsert(_wire(w.user_text_item("a", "one")))
    first = history.snapshot()
    history.write_text("a", 0, "input_text", "!", append=True)
    assert history.snapshot() is first  # a delta builds nothing
    assert first[0].text == "one!"  # items are live


def test_snapshots_stay_valid_after_appends_inserts_and_removals() -> None:
    history = History()
    history.upsert(_wire(w.user_text_item("a", "a")))
    v1 = history.snapshot()
    history.upsert(_wire(w.user_text_item("c", "c")))
    v2 = history.snapshot()
    history.upsert(_wire(w.user_text_item("b", "b"), previous="a"))
    v3 = history.snapshot()
    history.remove("a")
    history.upsert(_wire(w.assistant_item("c", "now assistant")))  # kind changed: replaced
    v4 = history.snapshot()
    assert [_ids(v) for v in (v1, v2, v3, v4)] == [["a"], ["a", "c"], ["a", "b", "c"], ["b", "c"]]
    assert isinstance(v3[2], UserMessageItem)
    assert isinstance(v4[1], AssistantMessageItem)
    assert v3[-1] is v3[2]
    assert _ids(v3[1:]) == ["b", "c"]
    assert v4 == list(history)


async def test_session_history_follows_server_events(
    session: RealtimeSession, transport: ScriptedTransport
) -> None:
    recorder = Recorder(session, "history_added", "history_updated")
    transport.push(w.item_added(w.user_audio_item("u1")))
    transport.push(w.item_added(w.assistant_item("a1"), previous_item_id="u1"))
    transport.push(w.item_added(w.user_text_item("u0", "first"), previous_item_id=None))
    transport.push(w.item_added(w.user_text_item("u2", "between"), previous_item_id="u1"))
    await transport.settle()
    assert _ids(session.history) == ["u1", "u2", "a1", "u0"]
    added = await recorder.wait_for("history_added", count=4)
    assert added.item.item_id == "u2"

    transport.push(w.item_deleted("u0"))
    await transport.settle()
    assert _ids(session.history) == ["u1", "u2", "a1"]
    last = await recorder.wait_for("history_updated", lambda e: len(e.history) == 3, count=2)
    assert _ids(last.history) == ["u1", "u2", "a1"]


async def test_input_transcription_is_merged_into_the_user_item(
    session: RealtimeSession, transport: ScriptedTransport
) -> None:
    recorder = Recorder(session, "history_updated")
    transport.push(w.item_added(w.user_audio_item("u1")))
    transport.push(w.transcription_delta("u1", "What's the "))
    transport.push(w.transcription_delta("u1", "weather"))
    await recorder.wait_for("history_updated", lambda e: e.history[0].text == "What's the weather")
    transport.push(w.transcription_completed("u1", "What's the weather in Paris?"))
    transport.push(w.item_done(w.user_audio_item("u1", transcript=None)))
    await transport.settle()
    [item] = session.history
    assert isinstance(item, UserMessageItem)
    assert item.content == [
        ContentPart(type="input_audio", transcript="What's the weather in Paris?")
    ]


async def test_transcription_for_unknown_item_creates_user_item(
    session: RealtimeSession, transport: ScriptedTransport
) -> None:
    transport.push(w.transcription_completed("u9", "Hello"))
    await transport.settle()
    [item] = session.history
    assert isinstance(item, UserMessageItem)
    assert item.text == "Hello"


async def test_transcript_deltas_emit_history_updated(
    session: RealtimeSession, transport: ScriptedTransport
) -> None:
    recorder = Recorder(session, "history_updated", "history_added")
    transport.push(w.response_created("r1"))
    transport.push(w.item_added(w.assistant_item("a1")))
    await recorder.wait_for("history_added")
    updates_before = len(recorder.of("history_updated"))
    transport.push(w.transcript_delta("r1", "a1", "It is "))
    transport.push(w.transcript_delta("r1", "a1", "sunny."))
    event = await recorder.wait_for("history_updated", count=updates_before + 2)
    assert event.history[0].text == "It is sunny."
    assert event.history[0].content[0].type == "output_audio"

    transport.push(w.text_delta("r1", "a2", "text"))
    update = await recorder.wait_for("history_updated", lambda e: len(e.history) == 2)
    assert update.history[1].content == [ContentPart(type="output_text", text="text")]


async def test_interrupted_item_keeps_transcript_when_it_comes_back_empty(
    session: RealtimeSession, transport: ScriptedTransport
) -> None:
    transport.push(w.item_added(w.assistant_item("a1")))
    transport.push(w.transcript_delta("r1", "a1", "The weather in Paris is"))
    transport.push(w.item_retrieved(w.assistant_item("a1", transcript="", status="incomplete")))
    await transport.settle()
    [item] = session.history
    assert item.text == "The weather in Paris is"
    assert item.status == "incomplete"


async def test_history_items_carry_no_audio(
    session: RealtimeSession, transport: ScriptedTransport
) -> None:
    transport.push(w.item_added(w.assistant_item("a1")))
    transport.push(w.audio_delta("r1", "a1", w.pcm_ms(50)))
    await transport.settle()
    [item] = session.history
    assert not any(isinstance(v, bytes) for v in vars(item).values())
    assert all(part.audio is None for part in item.content)  # history_store_audio=False


async def test_function_call_item_gets_its_output(
    session: RealtimeSession, transport: ScriptedTransport
) -> None:
    call = w.function_call_item("f1", "call_1", "get_weather", '{"city": "Paris"}')
    transport.push(w.item_added(call))
    transport.push(
        w.item_added({"type": "function_call_output", "call_id": "call_1", "output": "sunny"})
    )
    await transport.settle()
    [item] = copy.deepcopy(session.history)
    assert item == FunctionCallItem(
        item_id="f1",
        call_id="call_1",
        name="get_weather",
        arguments='{"city": "Paris"}',
        output="sunny",
        status="completed",
    )
