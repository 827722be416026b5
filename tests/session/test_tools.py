"""The @tool decorator: schemas from type hints and docstrings, validation, error outputs."""

from __future__ import annotations

import json
from typing import Literal

import pytest
from pydantic import BaseModel

from rtnb import FunctionTool, RealtimeAgent, tool
from rtnb.session.tools import parse_docstring


def test_bare_decorator_builds_schema_from_hints_and_docstring() -> None:
    @tool
    def get_weather(city: str, days: int = 1, unit: Literal["C", "F"] = "C") -> str:
        """Return the weather for a city.

        Args:
            city: The city name.
            days (int): How many days
                to forecast.
            unit: Temperature unit.
        """
        return city

    assert isinstance(get_weather, FunctionTool)
    assert get_weather.to_wire() == {
        "type": "function",
        "name": "get_weather",
        "description": "Return the weather for a city.",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "The city name."},
                "days": {
                    "type": "integer",
                    "default": 1,
                    "description": "How many days to forecast.",
                },
                "unit": {
                    "type": "string",
                    "enum": ["C", "F"],
                    "default": "C",
                    "description": "Temperature unit.",
                },
            },
            "required": ["city"],
        },
    }


def test_decorator_with_name_and_description() -> None:
    @tool(name="lookup", description="Look something up.")
    def find(query: str) -> str:
        """Ignored docstring."""
        return query

    assert find.name == "lookup"
    assert find.description == "Look something up."


def test_numpy_docstring_parameters() -> None:
    description, params = parse_docstring(
        """Add numbers.

        Parameters
        ----------
        a : int
            First number.
        b : int
            Second number.

        Returns
        -------
        int
        """
    )
    assert description == "Add numbers."
    assert params == {"a": "First number.", "b": "Second number."}


def test_property_named_title_is_kept() -> None:
    @tool
    def note(title: str) -> str:
        """Save a note."""
        return title

    assert note.params_json_schema["properties"] == {"title": {"type": "string"}}


def test_no_parameters_gives_empty_object_schema() -> None:
    @tool
    def now() -> str:
        """The time."""
        return "noon"

    assert now.params_json_schema == {"type": "object", "properties": {}}


def test_var_args_are_rejected() -> None:
    def bad(*args: int) -> int:
        return 0

    with pytest.raises(TypeError, match="args"):
        tool(bad)


async def test_sync_and_async_tools_run_with_validated_arguments() -> None:
    @tool
    def double(x: int) -> int:
        return 2 * x

    @tool
    async def greet(name: str) -> dict[str, str]:
        return {"greeting": f"hi {name}"}

    assert await double.invoke('{"x": "21"}') == "42"  # lax mode coerces numeric strings
    assert json.loads(await greet.invoke({"name": "Ada"})) == {"greeting": "hi Ada"}
    assert await greet(name="Bob") == '{"greeting": "hi Bob"}'


async def test_pydantic_return_value_is_serialised() -> None:
    class Forecast(BaseModel):
        city: str
        sunny: bool

    @tool
    def forecast(city: str) -> Forecast:
        return Forecast(city=city, sunny=True)

    assert json.loads(await forecast.invoke('{"city": "Oslo"}')) == {"city": "Oslo", "sunny": True}


async def test_invalid_arguments_become_error_text() -> None:
    @tool
    def double(x: int) -> int:
        return 2 * x

    missing = await double.invoke("{}")
    assert missing.startswith("Invalid arguments for tool 'double'")
    assert "x" in missing
    assert "Invalid arguments" in await double.invoke('{"x": "not a number"}')
    assert "Invalid arguments" in await double.invoke("{not json")


async def test_empty_arguments_mean_no_arguments() -> None:
    @tool
    def ping() -> str:
        return "pong"

    assert await ping.invoke("") == "pong"


async def test_exception_becomes_error_text() -> None:
    @tool
    async def fail() -> str:
        raise ValueError("no network")

    assert await fail.invoke("{}") == "Error running tool 'fail': ValueError: no network"


def test_agent_wraps_plain_functions_and_rejects_duplicates() -> None:
    def ping() -> str:
        """Reply pong."""
        return "pong"

    agent = RealtimeAgent(name="a", tools=[ping])
    assert isinstance(agent.get_tool("ping"), FunctionTool)
    assert agent.wire_tools()[0]["description"] == "Reply pong."
    with pytest.raises(ValueError, match="ping"):
        RealtimeAgent(name="b", tools=[ping, tool(ping)])
