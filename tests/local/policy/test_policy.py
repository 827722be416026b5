"""The default response policy: deterministic routing to tools and simple answers."""

from __future__ import annotations

from typing import Any

from rtnb.local.policy.deterministic import CallTool, PolicyInput, Say, default_policy, item_text
from tests.samples import WEATHER_TOOL as WEATHER

TIMER = {
    "type": "function",
    "name": "set_timer",
    "description": "Start a countdown timer.",
    "parameters": {
        "type": "object",
        "properties": {"minutes": {"type": "integer"}, "label": {"type": "string"}},
        "required": ["minutes"],
    },
}
UNITS = {
    "type": "function",
    "name": "convert_temperature",
    "description": "Convert a temperature between units.",
    "parameters": {
        "type": "object",
        "properties": {
            "degrees": {"type": "number"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        },
        "required": ["degrees", "unit"],
    },
}
CURRENCY = {
    "type": "function",
    "name": "convert_currency",
    "description": "Convert an amount of money to another currency.",
    "parameters": {
        "type": "object",
        "properties": {"amount": {"type": "number"}, "currency": {"type": "string"}},
        "required": ["amount", "currency"],
    },
}
TRANSFER = {
    "type": "function",
    "name": "transfer_to_billing_agent",
    "description": "Hand off to the billing agent for invoices and payments.",
    "parameters": {"type": "object", "properties": {}},
}
TOOLS = [WEATHER, TIMER, UNITS, TRANSFER]


def user(text: str, audio: bool = False) -> dict[str, Any]:
    part = (
        {"type": "input_audio", "transcript": text}
        if audio
        else {"type": "input_text", "text": text}
    )
    return {"type": "message", "role": "user", "content": [part]}


def reply(*items: dict[str, Any], tools: list[dict[str, Any]] = TOOLS) -> Any:
    return default_policy(PolicyInput(items=list(items), tools=tools))


def test_routes_to_the_tool_the_user_names_and_fills_the_city() -> None:
    assert reply(user("what is the weather in new york", audio=True)) == CallTool(
        "get_weather", {"city": "New York"}
    )


def test_numbers_enums_and_handoffs() -> None:
    assert reply(user("set a timer for 5 minutes")) == CallTool("set_timer", {"minutes": 5})
    assert reply(user("convert 30 degrees to fahrenheit")) == CallTool(
        "convert_temperature", {"degrees": 30.0, "unit": "fahrenheit"}
    )
    assert reply(user("I have a question about my invoice")) == CallTool(
        "transfer_to_billing_agent", {}
    )


def test_understands_what_whisper_writes() -> None:
    """Digits, currency symbols, times, capitals and punctuation, as Whisper transcribes."""
    said = {
        "Convert $20 to yen.": 20.0,
        "Convert twenty dollars to yen.": 20.0,
        "Could you convert 1,500 dollars to yen?": 1500.0,
        "Convert four hundred and two dollars to yen!": 402.0,
    }
    for text, amount in said.items():
        assert reply(user(text, audio=True), tools=[CURRENCY]) == CallTool(
            "convert_currency", {"amount": amount, "currency": "Yen"}
        ), text
    assert reply(user("Set a timer for 4:30, please.")) == CallTool("set_timer", {"minutes": 4})
    assert reply(user("What is the weather in New York?", audio=True)) == CallTool(
        "get_weather", {"city": "New York"}
    )


def test_speaks_a_fresh_tool_result() -> None:
    items = [
        user("weather in paris"),
        {"type": "function_call", "name": "get_weather", "call_id": "c1", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c1", "output": "It is sunny in Paris."},
    ]
    assert reply(*items) == Say("It is sunny in Paris.")
    items[-1] = {**items[-1], "output": '{"error": "city unknown"}'}
    assert reply(*items) == Say("Sorry, that did not work: city unknown")


def test_after_a_handoff_the_new_agent_takes_the_request_over() -> None:
    transfer = {"type": "function_call", "name": TRANSFER["name"], "call_id": "h1"}
    done = {"type": "function_call_output", "call_id": "h1", "output": '{"assistant": "Billing"}'}
    asked = user("set a timer for my invoice in 5 minutes")
    # Its own tools are routed to (never a transfer back), else it introduces itself.
    assert reply(asked, transfer, done) == CallTool("set_timer", {"minutes": 5})
    assert reply(user("hi"), transfer, done, tools=[TRANSFER]) == Say(
        "Hello, Billing here. How can I help?"
    )
    refused = {**done, "output": "Error: cannot switch agents"}
    assert reply(asked, transfer, refused) == Say("Error: cannot switch agents")


def test_answers_without_tools() -> None:
    assert reply(user("hello there")) == Say("Hello! How can I help you today?")
    assert reply(user("thank you"), tools=[]) == Say("You are welcome.")
    assert reply(user("the sky is green"), tools=[]) == Say("You said: the sky is green.")
    assert reply(user("I like tea."), tools=[]) == Say("You said: I like tea.")
    assert reply() == Say("Hello! How can I help?")


def test_policy_is_deterministic_and_does_not_touch_its_input() -> None:
    items = [user("what is the weather in rome")]
    first = reply(*items)
    assert all(reply(*items) == first for _ in range(5))
    assert items == [user("what is the weather in rome")]


def test_item_text_reads_text_and_transcripts() -> None:
    assert item_text(user("hi")) == "hi"
    assert item_text(user("spoken", audio=True)) == "spoken"
    assert item_text({"type": "function_call"}) == ""
