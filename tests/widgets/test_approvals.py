"""Approval cards: one per tool_approval_requested; Approve/Reject clicks decide on the loop."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest

from rtnb import RealtimeAgent, RealtimeSession, tool
from rtnb.testing import ScriptedTransport
from rtnb.widgets import Approvals
from rtnb.widgets.approvals import pretty_arguments
from tests.session import wire

from .conftest import from_thread, until


@tool(needs_approval=True)
def delete_file(path: str) -> str:
    """Delete a file."""
    return f"deleted {path}"


@pytest.fixture
async def session() -> AsyncIterator[tuple[RealtimeSession, ScriptedTransport]]:
    transport = ScriptedTransport()
    session = RealtimeSession(RealtimeAgent(name="Files", tools=[delete_file]), transport=transport)
    await session.connect()
    yield session, transport
    await session.close()


def request(transport: ScriptedTransport, call_id: str, path: str) -> None:
    arguments = json.dumps({"path": path})
    transport.push(wire.response_created(f"resp_{call_id}"))
    transport.push(
        wire.arguments_done(f"resp_{call_id}", f"item_{call_id}", call_id, "delete_file", arguments)
    )
    transport.push(wire.response_done(f"resp_{call_id}", "completed"))


async def test_approve_runs_the_tool(session) -> None:
    session, transport = session
    approvals = Approvals(session)
    request(transport, "call_1", "/tmp/a")
    await until(lambda: len(approvals.pending) == 1)
    card = approvals.pending[0]
    assert "delete_file" in card.header.value and "/tmp/a" in card.header.value
    from_thread(card.approve_button.click)
    output = await transport.wait_for_sent("conversation.item.create")
    assert (
        output["item"]
        == {
            "type": "function_call_output",
            "call_id": "call_1",
            "output": "deleted /tmp/a",
        }
        or output["item"]["output"] == "deleted /tmp/a"
    )
    assert card.decision == "approved" and card.approve_button.disabled
    assert approvals.pending == []


async def test_reject_with_a_message_and_always(session) -> None:
    session, transport = session
    approvals = Approvals(session)
    request(transport, "call_1", "/etc/passwd")
    await until(lambda: len(approvals.pending) == 1)
    card = approvals.pending[0]
    card.always.value = True
    card.message.value = "Not that file."
    from_thread(card.reject_button.click)
    output = await transport.wait_for_sent("conversation.item.create")
    assert output["item"]["output"] == "Not that file."
    assert card.decision == "rejected (always)"
    # Always rejected: the next call is refused without a card.
    request(transport, "call_2", "/etc/shadow")
    await transport.wait_for_sent(
        "conversation.item.create", where=lambda e: e["item"].get("call_id") == "call_2"
    )
    assert approvals.pending == []


def test_pretty_arguments() -> None:
    assert pretty_arguments('{"a": 1}') == '{\n  "a": 1\n}'
    assert pretty_arguments("not json") == "not json"


async def test_decisions_taken_in_code_close_the_cards(session) -> None:
    session, transport = session
    approvals = Approvals(session)
    request(transport, "call_1", "/tmp/a")
    request(transport, "call_2", "/tmp/b")
    await until(lambda: len(approvals.pending) == 2)
    first, second = approvals.pending
    session.approve(session.pending_approvals[0])
    await until(lambda: first.decision is not None)
    assert first.decision == "approved" and first.approve_button.disabled
    assert "approved" in first.header.value
    assert approvals.pending == [second]
    session.reject(session.pending_approvals[0], always_reject=True)
    await until(lambda: second.decision is not None)
    assert second.decision == "rejected (always)" and second.reject_button.disabled
    assert approvals.pending == []
