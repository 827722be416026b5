"""update_history: the diff into deletions/creations, refused edits, confirmation by the server."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from rtnb import (
    AssistantMessageItem,
    ContentPart,
    FunctionCallItem,
    HistoryEditError,
    HistoryItem,
    RealtimeAgent,
    RealtimeSession,
    SystemMessageItem,
    UserMessageItem,
)
from rtnb.session.history_edit import plan_history_edit
from rtnb.testing import ScriptedTransport

from . import wire as w


def user(item_id: str, text: str) -> UserMessageItem:
    return UserMessageItem(item_id, [ContentPart("input_text", text=text)])


def spoken(item_id: str, transcript: str) -> AssistantMessageItem:
    return AssistantMessageItem(item_id, [ContentPart("output_audio", transcript=transcript)])


def call(item_id: str, output_item_id: str | None = None) -> FunctionCallItem:
    return FunctionCallItem(
        item_id, "call_" + item_id, "get_weather", "{}", "sunny", "completed", None, output_item_id
    )


CURRENT: list[HistoryItem] = [
    user("u1", "hi"),
    spoken("a1", "hello"),
    call("f1", "o1"),
    user("u2", "bye"),
]


def creates(plan: Any) -> list[tuple[str | None, str, str]]:
    """(previous_item_id, role, text) of each creation."""
    return [
        (e.get("previous_item_id"), e["item"]["role"], e["item"]["content"][0]["text"])
        for e in plan.creates
    ]


# ------------------------------------------------------------------------- the diff


def test_unchanged_history_needs_nothing() -> None:
    plan = plan_history_edit(CURRENT, list(CURRENT))
    assert plan.events() == []


def test_removed_items_are_deleted_a_call_with_its_output_item() -> None:
    plan = plan_history_edit(CURRENT, [CURRENT[0], CURRENT[3]])
    assert plan.deletes == ["a1", "f1", "o1"]
    assert plan.creates == []


def test_new_text_messages_go_after_the_item_before_them() -> None:
    wanted = [
        SystemMessageItem.from_text("be brief"),
        CURRENT[0],
        CURRENT[1],
        CURRENT[2],
        AssistantMessageItem.from_text("(after the tool)"),
        CURRENT[3],
        UserMessageItem.from_text("last"),
    ]
    plan = plan_history_edit(CURRENT, wanted)
    assert plan.deletes == []
    first, after_call, _ = plan.creates
    assert creates(plan) == [
        ("root", "system", "be brief"),
        ("o1", "assistant", "(after the tool)"),  # after the call's hidden output item
        ("u2", "user", "last"),
    ]
    assert first["item"]["content"][0]["type"] == "input_text"
    assert after_call["item"]["content"][0]["type"] == "output_text"
    assert len({e["item"]["id"] for e in plan.creates}) == 3


def test_consecutive_new_messages_chain_on_each_other() -> None:
    plan = plan_history_edit(
        CURRENT[:1], [UserMessageItem.from_text("a"), UserMessageItem.from_text("b"), CURRENT[0]]
    )
    a, b = plan.creates
    assert a["previous_item_id"] == "root"
    assert b["previous_item_id"] == a["item"]["id"]


def test_a_changed_text_message_is_deleted_and_created_again() -> None:
    edited = user("u2", "see you")
    plan = plan_history_edit(CURRENT, [*CURRENT[:3], edited])
    assert plan.deletes == ["u2"]
    assert creates(plan) == [("o1", "user", "see you")]
    assert plan.creates[0]["item"]["id"] != "u2"


def test_reordering_moves_the_fewest_text_messages() -> None:
    # u2 moved to the front: only u2 is recreated, the rest stays in place.
    plan = plan_history_edit(CURRENT, [CURRENT[3], *CURRENT[:3]])
    assert plan.deletes == ["u2"]
    assert creates(plan) == [("root", "user", "bye")]


def test_reordering_around_a_tool_call_moves_the_text_message() -> None:
    current = [user("u1", "hi"), call("f1", "o1"), user("u2", "bye")]
    plan = plan_history_edit(current, [current[1], current[0], current[2]])
    assert plan.deletes == ["u1"]
    assert creates(plan) == [("o1", "user", "hi")]


@pytest.mark.parametrize(
    ("wanted", "message"),
    [
        ([CURRENT[0], CURRENT[1], call("f1", "o1"), CURRENT[3]], None),  # equal copy: fine
        (
            [CURRENT[0], CURRENT[1], FunctionCallItem("f1", "call_f1", "other", "{}"), CURRENT[3]],
            "cannot change tool call 'f1'",
        ),
        (
            [CURRENT[0], spoken("a1", "HELLO"), CURRENT[2], CURRENT[3]],
            "cannot change assistant audio message 'a1'",
        ),
        ([CURRENT[0], CURRENT[2], CURRENT[1], CURRENT[3]], "cannot move"),
        ([*CURRENT, FunctionCallItem("", "call_x", "get_weather", "{}")], "cannot add tool call"),
        ([*CURRENT, spoken("", "made up")], "cannot add assistant audio message"),
        ([*CURRENT, UserMessageItem("", [])], "cannot add user message"),
        ([CURRENT[0], CURRENT[0]], "appears twice"),
    ],
)
def test_refused_edits_name_the_item(wanted: list[HistoryItem], message: str | None) -> None:
    if message is None:
        assert plan_history_edit(CURRENT, wanted).events() == []
        return
    with pytest.raises(ValueError, match=message):
        plan_history_edit(CURRENT, wanted)


def test_something_else_than_an_item_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="history item 1 is a str"):
        plan_history_edit(CURRENT, [CURRENT[0], "hello"])  # type: ignore[list-item]


# ------------------------------------------------------------------------- on a session


async def answer_edits(transport: ScriptedTransport, deletes: int, creates: int) -> None:
    """Act as the server: confirm the edit events the session sent."""
    for count in range(1, deletes + 1):
        event = await transport.wait_for_sent("conversation.item.delete", count=count)
        transport.push(w.item_deleted(event["item_id"]))
    for count in range(1, creates + 1):
        event = await transport.wait_for_sent("conversation.item.create", count=count)
        item = {**event["item"], "object": "realtime.item", "status": "completed"}
        previous = event.get("previous_item_id")
        added = w.item_added(item)
        added["previous_item_id"] = None if previous == "root" else previous
        transport.push(added)


async def test_update_history_returns_once_the_server_confirmed(
    session: RealtimeSession, transport: ScriptedTransport
) -> None:
    transport.push(w.item_added(w.user_text_item("u1", "first")))
    transport.push(w.item_added(w.user_text_item("u2", "second"), previous_item_id="u1"))
    await transport.settle()

    def edit(items: list[HistoryItem]) -> list[HistoryItem]:
        first, second = items
        first.content[0].text = "FIRST"  # a copy: the live item is untouched
        return [UserMessageItem.from_text("zero"), second, first]

    server = asyncio.create_task(answer_edits(transport, deletes=1, creates=2))
    await asyncio.wait_for(session.update_history(edit), 2)
    # Returned: every step was confirmed already, so the history is the edited one now (before
    # the server task is awaited).
    assert [item.text for item in session.history] == ["zero", "second", "FIRST"]
    assert session.history[1].item_id == "u2"
    await server


async def test_update_history_raises_when_the_server_refuses(
    session: RealtimeSession, transport: ScriptedTransport
) -> None:
    transport.push(w.item_added(w.user_text_item("u1", "first")))
    await transport.settle()
    task = asyncio.create_task(session.update_history([]))
    delete = await transport.wait_for_sent("conversation.item.delete")
    transport.push(w.error("no such item", code="item_not_found", event_id=delete["event_id"]))
    with pytest.raises(HistoryEditError, match="no such item"):
        await asyncio.wait_for(task, 2)


async def test_refused_edit_sends_nothing(
    session: RealtimeSession, transport: ScriptedTransport
) -> None:
    transport.push(w.item_added(w.function_call_item("f1", "c1", "get_weather", "{}")))
    await transport.settle()
    sent = len(transport.sent)
    before = [(item.item_id, type(item).__name__) for item in session.history]
    assert before == [("f1", "FunctionCallItem")]
    with pytest.raises(ValueError, match="tool call 'f1'"):
        await session.update_history(lambda items: [FunctionCallItem("f1", "c1", "add", "{}")])
    assert [(item.item_id, type(item).__name__) for item in session.history] == before
    # The writer sends in order: once a later message went out, anything the refused edit had
    # queued would have gone before it.
    session.send_message("after the refusal")
    await transport.wait_for_sent(
        "conversation.item.create", where=lambda e: e["item"]["role"] == "user"
    )
    first_after = transport.sent[sent]
    assert first_after["type"] == "conversation.item.create"
    assert first_after["item"]["content"][0]["text"] == "after the refusal"
    item_events = [e for e in transport.sent[sent:] if e["type"].startswith("conversation.item.")]
    assert item_events == [first_after]  # no deletion or creation of the refused edit at all


async def test_update_history_needs_a_connection() -> None:
    session = RealtimeSession(RealtimeAgent(name="a"), transport=ScriptedTransport())
    with pytest.raises(RuntimeError, match="not connected"):
        await session.update_history([])


async def test_items_placed_after_a_tool_output_or_first_land_there(
    session: RealtimeSession, transport: ScriptedTransport
) -> None:
    transport.push(w.item_added(w.function_call_item("f1", "c1", "get_weather", "{}")))
    output = {"id": "o1", "type": "function_call_output", "call_id": "c1", "output": "sunny"}
    transport.push(w.item_added(output, previous_item_id="f1"))
    transport.push(w.item_added(w.user_text_item("u2", "later"), previous_item_id="o1"))
    transport.push(w.item_added(w.user_text_item("u1", "between"), previous_item_id="o1"))
    first = w.item_added(w.user_text_item("u0", "first"))
    first["previous_item_id"] = None  # the server says: no predecessor
    transport.push(first)
    await transport.settle()
    assert [item.item_id for item in session.history] == ["u0", "f1", "u1", "u2"]
    call = session.history[1]
    assert isinstance(call, FunctionCallItem)
    assert (call.output, call.output_item_id) == ("sunny", "o1")
