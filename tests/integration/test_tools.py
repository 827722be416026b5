"""Tool approval, timeouts, background results and ToolContext against the local server.

Each test runs a session on the default backend (the embedded server, over a loopback socket)
with a scripted policy that records every turn it is asked to answer: what the server received
is read from those turns.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from rtnb import (
    ErrorEvent,
    RealtimeAgent,
    RealtimeSession,
    ToolApprovalRequestedEvent,
    ToolContext,
    ToolTimeoutError,
    background_result,
    tool,
)
from rtnb.local.policy.deterministic import CallTool, PolicyInput, Say, item_text
from tests.session.conftest import Recorder

TIMEOUT = 30.0


@pytest.fixture(autouse=True)
def no_api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)


class ScriptedPolicy:
    """``call NAME {json}`` calls a tool; a tool output is read back as ``Result: ...``;
    anything else is echoed as ``You said ...``. Every turn is kept in :attr:`turns`."""

    def __init__(self) -> None:
        self.turns: list[PolicyInput] = []

    def __call__(self, turn: PolicyInput) -> Say | CallTool:
        self.turns.append(turn)
        last = turn.items[-1]
        if last.get("type") == "function_call_output":
            return Say(f"Result: {last['output']}")
        text = item_text(last)
        if text.startswith("call "):
            name, _, arguments = text.removeprefix("call ").partition(" ")
            return CallTool(name, json.loads(arguments or "{}"))
        return Say(f"You said {text}")

    def outputs(self, turn: int) -> list[str]:
        """The function call outputs the server held when it was asked for turn ``turn``."""
        return [
            i["output"] for i in self.turns[turn].items if i.get("type") == "function_call_output"
        ]


class Till:
    """Tools whose calls block on an event that is never set (to hit their timeout)."""

    def __init__(self) -> None:
        self.paid: list[int] = []
        self.contexts: list[ToolContext[Any]] = []
        self.seen: list[str] = []
        self.never = asyncio.Event()

        @tool(needs_approval=True)
        def pay(amount: int) -> str:
            """Pay an amount."""
            self.paid.append(amount)
            return f"paid {amount}"

        @tool(timeout=0.2)
        async def stuck() -> str:
            """Wait for something that never comes."""
            await self.never.wait()
            return "never"

        @tool(timeout=0.2, timeout_behavior="raise_exception")
        async def stuck_raising() -> str:
            """Wait for something that never comes, loudly."""
            await self.never.wait()
            return "never"

        @tool
        def remember(fact: str) -> Any:
            """Store a fact quietly."""
            return background_result(f"stored {fact}")

        @tool
        async def whoami(ctx: ToolContext[dict[str, str]]) -> str:
            """Tell the user who they are."""
            self.contexts.append(ctx)
            self.seen = [getattr(item, "text", item.type) for item in ctx.history]
            ctx.history[0].content[0].text = "tampered"  # a copy: the session's stays intact
            ctx.history.clear()
            return ctx.context["user"]

        self.agent = RealtimeAgent(name="Till", tools=[pay, stuck, stuck_raising, remember, whoami])


@pytest.fixture
def till() -> Till:
    return Till()


@pytest.fixture
def policy() -> ScriptedPolicy:
    return ScriptedPolicy()


@pytest.fixture
def options() -> dict[str, Any]:
    return {}


@pytest.fixture
async def session(
    till: Till, policy: ScriptedPolicy, options: dict[str, Any]
) -> AsyncIterator[RealtimeSession]:
    session = RealtimeSession(
        till.agent,
        config={"output_modalities": ["text"]},
        server_options={"policy": policy, "realtime_pacing": False},
        context={"user": "ada"},
        **options,
    )
    async with session:
        assert session.backend == "local"
        yield session


def recorder(session: RealtimeSession) -> Recorder:
    return Recorder(
        session, "tool_approval_requested", "agent_tool_end", "error", "history_updated"
    )


async def answer(events: Recorder, text: str) -> None:
    """Wait until the assistant has said ``text``."""

    def said(event: Any) -> bool:
        return any(
            getattr(i, "role", None) == "assistant" and i.text == text for i in event.history
        )

    await events.wait_for("history_updated", said, timeout=TIMEOUT)


async def test_nothing_runs_until_approved(
    session: RealtimeSession, policy: ScriptedPolicy, till: Till
) -> None:
    events = recorder(session)
    session.send_message('call pay {"amount": 5}')
    request: ToolApprovalRequestedEvent = await events.wait_for(
        "tool_approval_requested", timeout=TIMEOUT
    )
    # While the call waits, the server holds no output for it.
    session.send_message("are you there")
    await answer(events, "You said are you there")
    assert policy.outputs(-1) == []
    assert till.paid == []

    session.approve(request.approval)
    await answer(events, "Result: paid 5")
    assert till.paid == [5]
    assert policy.outputs(-1) == ["paid 5"]


@pytest.mark.parametrize(
    "options", [{"tool_error_formatter": lambda args: f"{args.tool_name} refused ({args.kind})"}]
)
async def test_rejection_reaches_the_server_formatted(
    session: RealtimeSession, policy: ScriptedPolicy, till: Till
) -> None:
    events = recorder(session)
    session.send_message('call pay {"amount": 5}')
    request = await events.wait_for("tool_approval_requested", timeout=TIMEOUT)
    session.reject(request.approval)
    await answer(events, "Result: pay refused (approval_rejected)")
    assert policy.outputs(-1) == ["pay refused (approval_rejected)"]
    assert till.paid == []


async def test_always_approve_runs_later_calls_without_asking(
    session: RealtimeSession, policy: ScriptedPolicy, till: Till
) -> None:
    events = recorder(session)
    session.send_message('call pay {"amount": 1}')
    request = await events.wait_for("tool_approval_requested", timeout=TIMEOUT)
    session.approve(request.approval, always_approve=True)
    await answer(events, "Result: paid 1")
    session.send_message('call pay {"amount": 2}')
    await answer(events, "Result: paid 2")
    assert len(events.of("tool_approval_requested")) == 1
    assert till.paid == [1, 2]
    assert policy.outputs(-1) == ["paid 1", "paid 2"]


async def test_timeout_sends_the_timeout_message(
    session: RealtimeSession, policy: ScriptedPolicy
) -> None:
    events = recorder(session)
    session.send_message("call stuck")
    await answer(events, "Result: Tool 'stuck' timed out after 0.2 seconds.")
    assert policy.outputs(-1) == ["Tool 'stuck' timed out after 0.2 seconds."]


async def test_timeout_raising_reports_an_error_and_sends_no_output(
    session: RealtimeSession, policy: ScriptedPolicy
) -> None:
    events = recorder(session)
    session.send_message("call stuck_raising")
    error: ErrorEvent = await events.wait_for(
        "error", lambda e: isinstance(e.error, ToolTimeoutError), timeout=TIMEOUT
    )
    assert error.error.tool_name == "stuck_raising"  # type: ignore[union-attr]
    session.send_message("next")
    await answer(events, "You said next")
    assert len(policy.turns) == 2  # the call, then "next": no response for the timed-out call
    assert policy.outputs(-1) == []


async def test_background_result_reaches_the_server_without_a_response(
    session: RealtimeSession, policy: ScriptedPolicy
) -> None:
    events = recorder(session)
    session.send_message('call remember {"fact": "tea"}')
    await events.wait_for("agent_tool_end", timeout=TIMEOUT)
    session.send_message("next")
    await answer(events, "You said next")
    assert len(policy.turns) == 2  # the call, then "next": the output asked for no response
    assert policy.outputs(-1) == ["stored tea"]


async def test_tool_context_sees_context_and_a_history_copy(
    session: RealtimeSession, till: Till
) -> None:
    events = recorder(session)
    session.send_message("call whoami")
    await answer(events, "Result: ada")
    [ctx] = till.contexts
    assert ctx.context is session.context
    assert (ctx.tool_name, ctx.arguments) == ("whoami", "{}")
    assert till.seen[0] == "call whoami"
    assert ctx.history == []  # the tool cleared and changed its copy, not the session's history
    user, call, said = session.history
    assert user.text == "call whoami"  # type: ignore[union-attr]
    assert call.call_id == ctx.call_id  # type: ignore[union-attr]
    assert said.text == "Result: ada"  # type: ignore[union-attr]
