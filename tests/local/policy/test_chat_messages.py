"""Pure parts of the chat-model policy: conversation -> messages, settings, sentences, config,
and the scripted server's chunks against the ``openai`` package's published types."""

from __future__ import annotations

import json

import pytest
from openai.types.chat import ChatCompletionChunk, ChatCompletionMessageParam
from pydantic import TypeAdapter

from rtnb.local.policy.chat import LlmError, chat_request, parse_arguments
from rtnb.local.policy.chat_demo import ChatScript, _chunks, echo_answer
from rtnb.local.policy.chat_messages import chat_messages, chat_tool_choice, chat_tools
from rtnb.local.policy.chat_responder import take_sentences
from rtnb.local.policy.deterministic import PolicyInput
from rtnb.local.policy.llm_config import LlmConfig, llm_config
from tests.samples import WEATHER_TOOL

MESSAGES = TypeAdapter(list[ChatCompletionMessageParam])


def message(role: str, part: str, text: str, **extra: object) -> dict:
    key = "transcript" if part in ("input_audio", "output_audio") else "text"
    return {"type": "message", "role": role, "content": [{"type": part, key: text}], **extra}


CONVERSATION = [
    message("user", "input_audio", "weather in paris"),
    {"type": "function_call", "call_id": "c1", "name": "get_weather", "arguments": '{"city":1}'},
    message("user", "input_text", "hurry up"),  # spoken while the tool ran
    {"type": "function_call_output", "call_id": "c1", "output": "sunny"},
    message("assistant", "output_audio", "It is sunny."),
    message("system", "input_text", "Your last answer was blocked by guardrail x."),
    {"type": "function_call", "call_id": "c2", "name": "get_weather", "arguments": "{}"},
    message("user", "input_audio", None),  # never transcribed
    {
        "type": "mcp_call",
        "id": "mcp_1",
        "name": "get_forecast",
        "arguments": "{}",
        "output": "rain",
    },
    {"type": "mcp_approval_request", "id": "r1", "name": "get_population", "arguments": "{}"},
    {"type": "mcp_approval_response", "approval_request_id": "r1", "approve": False},
]


def test_conversation_maps_to_valid_chat_messages() -> None:
    messages = chat_messages(CONVERSATION, "Be kind.")
    assert messages == [
        {"role": "system", "content": "Be kind."},
        {"role": "user", "content": "weather in paris"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city":1}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "sunny"},  # right after its call
        {"role": "user", "content": "hurry up"},
        {"role": "assistant", "content": "It is sunny."},
        {"role": "system", "content": "Your last answer was blocked by guardrail x."},
        # c2 has no output yet: left out; the untranscribed audio too.
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "mcp_1",
                    "type": "function",
                    "function": {"name": "get_forecast", "arguments": "{}"},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "mcp_1", "content": "rain"},
        {"role": "system", "content": "The user declined the call of get_population."},
    ]
    MESSAGES.validate_python(messages)


def test_cut_off_calls_are_left_out() -> None:
    items = [
        {
            "type": "function_call",
            "call_id": "c",
            "name": "f",
            "arguments": "{",
            "status": "incomplete",
        },
        {"type": "function_call_output", "call_id": "c", "output": "x"},
    ]
    assert chat_messages(items) == []


def test_tools_and_tool_choice() -> None:
    mcp_tool = {"type": "function", "name": "get_forecast", "server_label": "weather"}
    hosted = {"type": "mcp", "server_label": "weather"}
    assert chat_tools([WEATHER_TOOL, mcp_tool, hosted]) == [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "parameters": WEATHER_TOOL["parameters"],
                "description": WEATHER_TOOL["description"],
            },
        },
        {
            "type": "function",
            "function": {
                "name": "get_forecast",
                "parameters": {"type": "object", "properties": {}},
            },
        },
    ]
    assert chat_tool_choice("required") == "required"
    assert chat_tool_choice({"type": "function", "name": "f"}) == {
        "type": "function",
        "function": {"name": "f"},
    }
    assert chat_tool_choice({"type": "mcp", "server_label": "x"}) is None


def test_request_passes_the_session_settings_on() -> None:
    config = LlmConfig("http://127.0.0.1:1/v1", "m", temperature=0.2)
    turn = PolicyInput([message("user", "input_text", "hi")], "", [WEATHER_TOOL])
    session = {"tool_choice": {"type": "function", "name": "get_weather"}, "max_output_tokens": 9}
    request = chat_request(turn, session, config)
    assert request["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
    assert request["max_tokens"] == 9 and request["temperature"] == 0.2
    assert chat_request(turn, {"temperature": 0.9}, config)["temperature"] == 0.9
    plain = chat_request(turn, {"tool_choice": "none", "max_output_tokens": "inf"}, config)
    assert {"tools", "tool_choice", "max_tokens"}.isdisjoint(plain)


@pytest.mark.parametrize(
    ("text", "sentences", "rest"),
    [
        ("Hello there. How", ["Hello there."], "How"),
        ("It costs 3.5 euros", [], "It costs 3.5 euros"),
        ("Done.", [], "Done."),
        ("One! Two? Three; four\nfive", ["One!", "Two?", "Three;", "four"], "five"),
        ("A. B. ", ["A.", "B."], ""),
    ],
)
def test_take_sentences(text: str, sentences: list[str], rest: str) -> None:
    assert take_sentences(text) == (sentences, rest)


def test_arguments_must_be_a_json_object() -> None:
    assert parse_arguments("f", '{"a": 1}') == {"a": 1}
    assert parse_arguments("f", "") == {}
    for bad in ('{"a": ', "[1]", "null"):
        with pytest.raises(LlmError) as failed:
            parse_arguments("f", bad)
        assert failed.value.code == "llm_bad_tool_arguments"


def test_config_from_options_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RTNB_LLM_URL", raising=False)
    monkeypatch.setenv("RTNB_LLM_API_KEY", "sk-env")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai-never-sent-elsewhere")
    assert llm_config(None) is None
    config = llm_config({"url": "http://u:p@127.0.0.1:11434/v1", "model": "llama3.2"})
    assert config is not None and config.api_key == "sk-env" and config.timeout_s == 30
    assert "sk-env" not in repr(config) and config.safe_url == "http://127.0.0.1:11434/v1"
    monkeypatch.delenv("RTNB_LLM_API_KEY")
    assert llm_config({"base_url": "http://h/v1", "model": "m"}).key == "no-key"
    monkeypatch.setenv("RTNB_LLM_URL", "http://127.0.0.1:8080/v1")
    with pytest.raises(ValueError, match="RTNB_LLM_MODEL"):
        llm_config(None)
    monkeypatch.setenv("RTNB_LLM_MODEL", "qwen")
    assert llm_config(None) == LlmConfig("http://127.0.0.1:8080/v1", "qwen")
    with pytest.raises(ValueError, match=r"unknown llm option\(s\) \['modle'\]"):
        llm_config({"base_url": "http://h/v1", "modle": "m"})
    with pytest.raises(ValueError, match="need model"):
        llm_config({"base_url": "http://h/v1"})
    with pytest.raises(ValueError, match="http"):
        llm_config({"base_url": "ws://h/v1", "model": "m"})


def test_scripted_chunks_follow_the_published_schema() -> None:
    script = ChatScript(text="Hi there.", tool_calls=[("get_weather", '{"city": "Oslo"}')])
    chunks = [ChatCompletionChunk.model_validate(c, strict=True) for c in _chunks(script, "m")]
    assert chunks[0].choices[0].delta.role == "assistant"
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "Hi there."
    calls = [call for c in chunks for call in c.choices[0].delta.tool_calls or []]
    assert calls[0].function.name == "get_weather"
    assert "".join(c.function.arguments or "" for c in calls) == '{"city": "Oslo"}'
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


def test_echo_answer_calls_a_named_tool_then_says_its_output() -> None:
    tools = chat_tools([WEATHER_TOOL])
    asked = {"messages": [{"role": "user", "content": "Get the weather in Paris?"}], "tools": tools}
    assert echo_answer(asked).tool_calls == [("get_weather", json.dumps({"city": "Paris"}))]
    told = {"messages": [{"role": "tool", "content": "sunny"}]}
    assert echo_answer(told).text == "sunny"
    assert echo_answer({"messages": [{"role": "user", "content": "hi"}]}).text == "You said: hi"
