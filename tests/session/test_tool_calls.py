"""Tool calls in a session (scripted transport): approval, context, timeouts, background results."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from rtnb import (
    ErrorEvent,
    FunctionCallItem,
    RealtimeAgent,
    RealtimeSession,
    ToolApprovalItem,
    ToolApprovalRequestedEvent,
    ToolContext,
    ToolErrorFormatterArgs,
    ToolTimeoutError,
    background_result,
    tool,
)
from rtnb.session import OutgoingQueueFull
from rtnb.session.approvals import DEFAULT_REJECTION_MESSAGE
from rtnb.testing import ScriptedTransport
from tests.schema import validate_client_event

from . import wire as w
from .conftest import Recorder

EVENTS = ("tool_approval_requested", "agent_tool_start", "agent_tool_end", "error")


class Calls:
    """Tools of the test agent; records the runs of ``pay``."""

    def __init__(self) -> None:
        self.paid: list[int] = []
        self.contexts: list[ToolContext[Any]] = []
        self.gate = asyncio.Event()

        @tool(needs_approval=True)
        def pay(amount: int) -> str:
            """Pay an amount."""
            self.paid.append(amount)
            return f"paid {amount}"

        @tool(needs_approval=lambda ctx, args: args["amount"] > 100)
        def tip(amount: int) -> str:
            """Tip, asking only for large amounts."""
            return f"tipped {amount}"

        @tool
        async def whoami(ctx: ToolContext[dict[str, str]]) -> str:
            """Say who the user is."""
            self.contexts.append(ctx)
            ctx.history.clear()  # a copy: the session's history must not change
            return ctx.context["user"]

        @tool(timeout=0.2)
        async def stuck() -> str:
            """Never answers in time."""
            await self.gate.wait()
            return "late"

        @tool(timeout=0.2, timeout_behavior="raise_exception")
        async def stuck_raising() -> str:
            """Never answers in time, loudly."""
            await self.gate.wait()
            return "late"

        @tool
        def remember(fact: str) -> Any:
            """Store a fact without interrupting."""
            return background_result(f"stored {fact}")

        self.agent = RealtimeAgent(
            name="Cashier", tools=[pay, tip, whoami, stuck, stuck_raising, remember]
        )


@pytest.fixture
def calls() -> Calls:
    return Calls()


@pytest.fixture
def session_options() -> dict[str, Any]:
    return {}


@pytest.fixture
async def session(
    calls: Calls, transport: ScriptedTransport, session_options: dict[str, Any]
) -> AsyncIterator[RealtimeSession]:
    session = RealtimeSession(
        calls.agent, transport=transport, context={"user": "ada"}, **session_options
    )
    await session.connect()
    yield session
    await session.close()
    for event in transport.sent:
        validate_client_event(event)


def call(transport: ScriptedTransport, call_id: str, name: str, arguments: str = "{}") -> None:
    """Push a finished function call of a response that is already done."""
    item = w.function_call_item(f"item_{call_id}", call_id, name, arguments)
    transport.push(w.item_added(item))
    transport.push(w.response_created(f"resp_{call_id}"))
    transport.push(w.response_done(f"resp_{call_id}", output=[item]))


async def outputs(transport: ScriptedTransport, count: int = 1) -> list[dict[str, Any]]:
    await transport.wait_for_sent("conversation.item.create", count=count)
    return [e["item"] for e in transport.sent_of_type("conversation.item.create")]


async def test_nothing_runs_until_approved(
    session: RealtimeSession, transport: ScriptedTransport, calls: Calls
) -> None:
    recorder = Recorder(session, *EVENTS)
    call(transport, "c1", "pay", '{"amount": 5}')
    request: ToolApprovalRequestedEvent = await recorder.wait_for("tool_approval_requested")
    assert (request.agent, request.tool.name, request.arguments, request.call_id) == (
        calls.agent,
        "pay",
        '{"amount": 5}',
        "c1",
    )
    assert request.approval == ToolApprovalItem("c1", "pay", '{"amount": 5}')
    assert session.pending_approvals == [request.approval]
    await transport.settle()
    assert calls.paid == []
    assert transport.sent_of_type("conversation.item.create") == []
    assert recorder.of("agent_tool_start") == []

    session.approve(request.approval)
    [output] = await outputs(transport)
    assert output == {"type": "function_call_output", "call_id": "c1", "output": "paid 5"}
    await transport.wait_for_sent("response.create")
    assert calls.paid == [5]
    assert session.pending_approvals == []
    assert (await recorder.wait_for("agent_tool_end")).output == "paid 5"
    with pytest.raises(ValueError, match="already decided"):
        session.approve(request.approval)
    with pytest.raises(ValueError, match="'c1' of tool 'pay'"):
        session.reject(request.approval)


async def test_unknown_item_cannot_be_decided(session: RealtimeSession) -> None:
    with pytest.raises(ValueError, match="unknown"):
        session.approve(ToolApprovalItem("nope", "pay", "{}"))
    with pytest.raises(ValueError, match="unknown"):
        session.reject(ToolApprovalItem("nope", "pay", "{}"), always_reject=True)


async def test_reject_sends_default_message_and_runs_nothing(
    session: RealtimeSession, transport: ScriptedTransport, calls: Calls
) -> None:
    recorder = Recorder(session, *EVENTS)
    call(transport, "c1", "pay", '{"amount": 5}')
    request = await recorder.wait_for("tool_approval_requested")
    session.reject(request.approval)
    [output] = await outputs(transport)
    assert output["output"] == DEFAULT_REJECTION_MESSAGE
    await transport.wait_for_sent("response.create")
    assert calls.paid == []
    assert recorder.of("agent_tool_start") == recorder.of("agent_tool_end") == []
    [item] = session.history
    assert isinstance(item, FunctionCallItem)
    assert item.output == DEFAULT_REJECTION_MESSAGE


async def test_reject_with_explicit_message(
    session: RealtimeSession, transport: ScriptedTransport
) -> None:
    recorder = Recorder(session, *EVENTS)
    call(transport, "c1", "pay", '{"amount": 5}')
    request = await recorder.wait_for("tool_approval_requested")
    session.reject(request.approval, message="Not today.")
    assert (await outputs(transport))[0]["output"] == "Not today."


def sync_formatter(args: ToolErrorFormatterArgs) -> str:
    assert args.default_message == DEFAULT_REJECTION_MESSAGE
    return f"{args.kind}: {args.tool_name} {args.call_id} {args.arguments} for {args.context}"


async def async_formatter(args: ToolErrorFormatterArgs) -> str:
    return sync_formatter(args)


def broken_formatter(args: ToolErrorFormatterArgs) -> str:
    raise RuntimeError("formatter bug")


@pytest.mark.parametrize(
    ("session_options", "expected"),
    [
        (
            {"tool_error_formatter": sync_formatter},
            "approval_rejected: pay c1 {\"amount\": 5} for {'user': 'ada'}",
        ),
        (
            {"tool_error_formatter": async_formatter},
            "approval_rejected: pay c1 {\"amount\": 5} for {'user': 'ada'}",
        ),
        ({"tool_error_formatter": broken_formatter}, DEFAULT_REJECTION_MESSAGE),
        ({"tool_error_formatter": lambda args: None}, DEFAULT_REJECTION_MESSAGE),
    ],
)
async def test_rejection_goes_through_the_formatter(
    session: RealtimeSession, transport: ScriptedTransport, expected: str
) -> None:
    recorder = Recorder(session, *EVENTS)
    call(transport, "c1", "pay", '{"amount": 5}')
    session.reject((await recorder.wait_for("tool_approval_requested")).approval)
    assert (await outputs(transport))[0]["output"] == expected


async def test_always_approve_remembers_the_tool(
    session: RealtimeSession, transport: ScriptedTransport, calls: Calls
) -> None:
    recorder = Recorder(session, *EVENTS)
    call(transport, "c1", "pay", '{"amount": 1}')
    session.approve(
        (await recorder.wait_for("tool_approval_requested")).approval, always_approve=True
    )
    await outputs(transport)
    call(transport, "c2", "pay", '{"amount": 2}')
    assert [o["output"] for o in await outputs(transport, 2)] == ["paid 1", "paid 2"]
    assert len(recorder.of("tool_approval_requested")) == 1
    assert calls.paid == [1, 2]


async def test_always_reject_remembers_the_tool_and_message(
    session: RealtimeSession, transport: ScriptedTransport, calls: Calls
) -> None:
    recorder = Recorder(session, *EVENTS)
    call(transport, "c1", "pay", '{"amount": 1}')
    request = await recorder.wait_for("tool_approval_requested")
    session.reject(request.approval, always_reject=True, message="Payments are off.")
    await outputs(transport)
    call(transport, "c2", "pay", '{"amount": 2}')
    assert [o["output"] for o in await outputs(transport, 2)] == ["Payments are off."] * 2
    assert len(recorder.of("tool_approval_requested")) == 1
    assert calls.paid == []


async def test_approval_rule_sees_the_arguments(
    session: RealtimeSession, transport: ScriptedTransport
) -> None:
    recorder = Recorder(session, *EVENTS)
    call(transport, "c1", "tip", '{"amount": 5}')
    assert (await outputs(transport))[0]["output"] == "tipped 5"
    call(transport, "c2", "tip", '{"amount": 500}')
    request = await recorder.wait_for("tool_approval_requested")
    assert request.call_id == "c2"


async def test_invalid_arguments_are_answered_without_asking(
    session: RealtimeSession, transport: ScriptedTransport
) -> None:
    recorder = Recorder(session, *EVENTS)
    call(transport, "c1", "pay", '{"amount": "lots"}')
    [output] = await outputs(transport)
    assert output["output"].startswith("Invalid arguments for tool 'pay'")
    assert recorder.of("tool_approval_requested") == []


async def test_closing_while_waiting_for_approval(
    calls: Calls, transport: ScriptedTransport
) -> None:
    session = RealtimeSession(calls.agent, transport=transport)
    recorder = Recorder(session, *EVENTS)
    await session.connect()
    call(transport, "c1", "pay", '{"amount": 5}')
    request = await recorder.wait_for("tool_approval_requested")
    await session.close()
    assert session.pending_approvals == []
    with pytest.raises(ValueError):
        session.approve(request.approval)
    assert calls.paid == []


async def test_tool_context_has_context_and_a_copy_of_the_history(
    session: RealtimeSession, transport: ScriptedTransport, calls: Calls
) -> None:
    transport.push(w.item_added(w.user_text_item("u1", "who am I?")))
    call(transport, "c1", "whoami")
    [output] = await outputs(transport)
    assert output["output"] == "ada"
    [ctx] = calls.contexts
    assert ctx.context is session.context
    assert (ctx.call_id, ctx.tool_name, ctx.arguments) == ("c1", "whoami", "{}")
    assert ctx.history == []  # the tool cleared its copy...
    user, function_call = session.history  # ...not the session's history
    assert user.text == "who am I?"  # type: ignore[union-attr]
    assert function_call.output == "ada"  # type: ignore[union-attr]


async def test_history_copy_is_deep(
    session: RealtimeSession, transport: ScriptedTransport, calls: Calls
) -> None:
    copies: list[list[Any]] = []

    @tool
    def edit(ctx: ToolContext) -> str:
        """Edit the history copy."""
        copies.append(ctx.history)
        ctx.history[0].content[0].text = "changed"
        return "ok"

    calls.agent.tools = [*calls.agent.tools, edit]
    transport.push(w.item_added(w.user_text_item("u1", "original")))
    call(transport, "c1", "edit")
    await outputs(transport)
    assert copies[0][0].text == "changed"
    assert session.history[0].text == "original"  # type: ignore[union-attr]


async def test_timeout_as_result(session: RealtimeSession, transport: ScriptedTransport) -> None:
    call(transport, "c1", "stuck")
    [output] = await outputs(transport)
    assert output["output"] == "Tool 'stuck' timed out after 0.2 seconds."
    await transport.wait_for_sent("response.create")


async def test_timeout_raise_exception_reports_and_sends_nothing(
    session: RealtimeSession, transport: ScriptedTransport
) -> None:
    recorder = Recorder(session, *EVENTS)
    call(transport, "c1", "stuck_raising")
    error: ErrorEvent = await recorder.wait_for("error")
    assert isinstance(error.error, ToolTimeoutError)
    assert (error.error.tool_name, error.error.timeout) == ("stuck_raising", 0.2)
    assert recorder.of("agent_tool_end") == []
    # The next thing sent is the marker's own item and response.create: nothing for c1.
    session.send_message("marker")
    await transport.wait_for_sent("response.create")
    [item] = [e["item"] for e in transport.sent_of_type("conversation.item.create")]
    assert item["type"] == "message"
    assert len(transport.sent_of_type("response.create")) == 1


async def test_an_output_that_cannot_be_queued_is_an_error_event(
    transport: ScriptedTransport,
) -> None:
    holder: list[RealtimeSession] = []

    @tool
    async def stall() -> str:
        """Answer while the connection stops draining."""
        # As if the socket had stalled with the queue at its bound (tests/reliability stalls a
        # real one): the next control event is refused with OutgoingQueueFull.
        holder[0]._link.outgoing._max_control = 0
        return "done"

    session = RealtimeSession(RealtimeAgent(name="a", tools=[stall]), transport=transport)
    holder.append(session)
    await session.connect()
    try:
        recorder = Recorder(session, *EVENTS)
        call(transport, "c1", "stall")
        error: ErrorEvent = await recorder.wait_for("error")
        assert isinstance(error.error, OutgoingQueueFull)
        assert "'conversation.item.create' was not queued" in str(error.error)
        [item] = session.history  # the call and its output are kept
        assert isinstance(item, FunctionCallItem) and item.output == "done"
    finally:
        await session.close()


async def test_background_result_sends_output_without_a_response(
    session: RealtimeSession, transport: ScriptedTransport
) -> None:
    recorder = Recorder(session, *EVENTS)
    call(transport, "c1", "remember", '{"fact": "tea"}')
    [output] = await outputs(transport)
    assert output["output"] == "stored tea"
    assert (await recorder.wait_for("agent_tool_end")).output == "stored tea"
    session.send_message("marker")
    create = await transport.wait_for_sent("response.create")
    # The only response.create follows the marker message.
    assert transport.sent.index(create) > transport.sent.index(
        transport.sent_of_type("conversation.item.create")[1]
    )
    assert len(transport.sent_of_type("response.create")) == 1


async def test_a_tool_output_is_announced_as_a_history_update(
    session: RealtimeSession, transport: ScriptedTransport
) -> None:
    # The outputs as each history_updated saw them when it was emitted (the items are live).
    seen: list[list[str | None]] = []
    announced = asyncio.Event()

    def on_update(event: Any) -> None:
        outputs_now = [i.output for i in event.history if isinstance(i, FunctionCallItem)]
        seen.append(outputs_now)
        if outputs_now == ["stored tea"]:
            announced.set()

    session.on("history_updated", on_update)
    call(transport, "c1", "remember", '{"fact": "tea"}')  # a background result: no new response
    await asyncio.wait_for(announced.wait(), timeout=10)
    assert seen[0] == [None]  # the call arrived before its output


async def test_each_decision_of_a_pending_call_is_an_event(
    session: RealtimeSession, transport: ScriptedTransport
) -> None:
    recorder = Recorder(session, *EVENTS, "tool_approval_decided")
    call(transport, "c1", "pay", '{"amount": 1}')
    first = (await recorder.wait_for("tool_approval_requested")).approval
    session.approve(first)
    decided = await recorder.wait_for("tool_approval_decided")
    assert (decided.approval, decided.approved, decided.always) == (first, True, False)
    call(transport, "c2", "pay", '{"amount": 2}')
    second = (await recorder.wait_for("tool_approval_requested", count=2)).approval
    session.reject(second, always_reject=True)
    decided = await recorder.wait_for("tool_approval_decided", count=2)
    assert (decided.approval, decided.approved, decided.always) == (second, False, True)
    # Remembered: the third call is decided without a request, and without a decision event.
    call(transport, "c3", "pay", '{"amount": 3}')
    await outputs(transport, 3)
    assert len(recorder.of("tool_approval_decided")) == 2
