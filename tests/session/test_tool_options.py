"""@tool options alone: ToolContext parameters, background results, timeouts, approval rules."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from rtnb import ToolContext, ToolTimeoutError, background_result, tool
from rtnb.session.tools import ToolOutput


def context(**overrides: Any) -> ToolContext[Any]:
    fields: dict[str, Any] = {
        "context": {"user": "ada"},
        "history": [],
        "call_id": "call_1",
        "tool_name": "t",
        "arguments": "{}",
    }
    return ToolContext(**{**fields, **overrides})


def test_tool_context_parameter_is_left_out_of_the_schema_whatever_its_name() -> None:
    @tool
    def lookup(query: str, where: ToolContext[dict[str, str]], limit: int = 3) -> str:
        """Look something up."""
        return query

    assert lookup.context_param == "where"
    assert lookup.params_json_schema["properties"].keys() == {"query", "limit"}
    assert lookup.params_json_schema["required"] == ["query"]


def test_unresolvable_hints_still_find_the_tool_context_parameter() -> None:
    def lookup(query: str, ctx: ToolContext[Missing]) -> str:  # type: ignore[name-defined]  # noqa: F821
        return query

    assert tool(lookup).context_param == "ctx"


def test_two_tool_context_parameters_are_rejected() -> None:
    def twice(a: ToolContext, b: ToolContext) -> str:
        return ""

    with pytest.raises(TypeError, match="one ToolContext"):
        tool(twice)


async def test_tool_receives_its_context_sync_and_async() -> None:
    seen: list[ToolContext[Any]] = []

    @tool
    def sync_tool(x: int, ctx: ToolContext) -> int:
        seen.append(ctx)
        return x

    @tool
    async def async_tool(ctx: ToolContext, x: int) -> int:
        seen.append(ctx)
        return x

    given = context()
    assert await sync_tool.invoke('{"x": 1}', given) == "1"
    assert await async_tool.invoke('{"x": 2}', given) == "2"
    assert seen == [given, given]


async def test_direct_call_gets_an_empty_context() -> None:
    @tool
    def who(ctx: ToolContext) -> str:
        return f"{ctx.context}|{ctx.history}|{ctx.call_id}|{ctx.tool_name}|{ctx.arguments}"

    assert await who() == "None|[]||who|{}"


async def test_background_result_is_marked() -> None:
    @tool
    async def note(text: str) -> Any:
        return background_result({"noted": text})

    assert await note.run('{"text": "hi"}') == ToolOutput('{"noted": "hi"}', background=True)
    assert await note.run('{"text": 1}') == ToolOutput(
        "Invalid arguments for tool 'note': text: Input should be a valid string"
    )


def never_finishes(**options: Any) -> Any:
    @tool(name="stuck", timeout=0.05, **options)
    async def stuck() -> str:
        await asyncio.Event().wait()
        return "never"

    return stuck


async def test_timeout_as_result_default_message() -> None:
    assert await never_finishes().invoke("{}") == "Tool 'stuck' timed out after 0.05 seconds."


async def test_timeout_error_function_sync_async_and_failing() -> None:
    calls: list[tuple[ToolContext[Any], ToolTimeoutError]] = []

    def sync_message(ctx: ToolContext[Any], error: ToolTimeoutError) -> str:
        calls.append((ctx, error))
        return f"{error.tool_name} gave up after {error.timeout}s"

    async def async_message(ctx: ToolContext[Any], error: ToolTimeoutError) -> str:
        return f"async: {ctx.call_id}"

    def broken(ctx: ToolContext[Any], error: ToolTimeoutError) -> str:
        raise RuntimeError("formatter bug")

    given = context()
    assert await never_finishes(timeout_error_function=sync_message).invoke("{}", given) == (
        "stuck gave up after 0.05s"
    )
    assert calls[0][0] is given
    assert await never_finishes(timeout_error_function=async_message).invoke("{}", given) == (
        "async: call_1"
    )
    assert await never_finishes(timeout_error_function=broken).invoke("{}") == (
        "Tool 'stuck' timed out after 0.05 seconds."
    )


async def test_timeout_raise_exception() -> None:
    with pytest.raises(ToolTimeoutError) as caught:
        await never_finishes(timeout_behavior="raise_exception").invoke("{}")
    assert (caught.value.tool_name, caught.value.timeout) == ("stuck", 0.05)
    assert isinstance(caught.value, TimeoutError)
    assert str(caught.value) == "Tool 'stuck' timed out after 0.05 seconds."


async def test_a_tool_raising_timeout_error_itself_is_not_a_timeout() -> None:
    @tool(timeout=5, timeout_behavior="raise_exception")
    async def flaky() -> str:
        raise TimeoutError("upstream slow")

    assert await flaky.invoke("{}") == "Error running tool 'flaky': TimeoutError: upstream slow"


async def test_fast_tool_within_its_timeout() -> None:
    @tool(timeout=5)
    def quick(x: int) -> int:
        return x + 1

    assert await quick.invoke('{"x": 1}') == "2"


@pytest.mark.parametrize(
    ("options", "error", "match"),
    [
        ({"timeout": 0}, ValueError, "positive"),
        ({"timeout": -1.5}, ValueError, "positive"),
        ({"timeout_behavior": "ignore"}, ValueError, "timeout_behavior"),
        ({"needs_approval": "yes"}, TypeError, "needs_approval"),
    ],
)
def test_bad_options_are_rejected(options: dict[str, Any], error: type, match: str) -> None:
    with pytest.raises(error, match=match):

        @tool(**options)
        def t() -> str:
            return ""


async def test_requires_approval_rules() -> None:
    seen: list[tuple[ToolContext[Any], dict[str, Any]]] = []

    def big_amounts(ctx: ToolContext[Any], arguments: dict[str, Any]) -> bool:
        seen.append((ctx, arguments))
        return arguments["amount"] > 100

    async def async_rule(ctx: ToolContext[Any], arguments: dict[str, Any]) -> bool:
        return ctx.context["user"] != "ada"

    def broken(ctx: ToolContext[Any], arguments: dict[str, Any]) -> bool:
        raise RuntimeError("rule bug")

    def pay(amount: int) -> str:
        return "paid"

    given = context()
    assert await tool(pay).requires_approval(given, {"amount": 5}) is False
    assert await tool(needs_approval=True)(pay).requires_approval(given, {"amount": 5}) is True
    rule_tool = tool(needs_approval=big_amounts)(pay)
    assert await rule_tool.requires_approval(given, {"amount": 5}) is False
    assert await rule_tool.requires_approval(given, {"amount": 500}) is True
    assert seen[0] == (given, {"amount": 5})
    assert await tool(needs_approval=async_rule)(pay).requires_approval(given, {}) is False
    # A failing rule asks: nothing runs unapproved.
    assert await tool(needs_approval=broken)(pay).requires_approval(given, {}) is True


def test_options_do_not_change_the_wire_definition() -> None:
    def pay(amount: int) -> str:
        """Pay."""
        return "paid"

    plain = tool(pay).to_wire()
    assert tool(needs_approval=True, timeout=3, timeout_behavior="raise_exception")(
        pay
    ).to_wire() == (plain)


def test_sees_context_only_when_something_receives_it() -> None:
    def plain() -> str:
        return ""

    def with_context(ctx: ToolContext) -> str:
        return ""

    def message(ctx: ToolContext[Any], error: ToolTimeoutError) -> str:
        return ""

    assert not tool(plain).sees_context
    assert not tool(needs_approval=True, timeout=1)(plain).sees_context
    assert tool(with_context).sees_context
    assert tool(needs_approval=lambda ctx, args: True)(plain).sees_context
    assert tool(timeout=1, timeout_error_function=message)(plain).sees_context
