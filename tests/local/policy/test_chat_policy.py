"""The chat-model policy of the local server, over real sockets at both ends.

A real Realtime client (:class:`WireClient`, every event checked against the ``openai`` schema)
talks to the local server over a loopback WebSocket; the server asks a scripted Chat Completions
server over loopback HTTP (:mod:`rtnb.local.policy.chat_demo`, SSE in the published wire format),
which can hold its answer on an event, drop the connection, fail with an HTTP status or never
answer.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from typing import Any

import pytest

from rtnb.local.policy.chat import ChatPolicy
from rtnb.local.policy.chat_demo import ChatScript, ScriptedChatServer, start_scripted_chat_server
from rtnb.local.policy.deterministic import CallTool, PolicyInput, Say
from rtnb.local.policy.llm_config import LlmConfig
from rtnb.local.server import LocalServer, start_local_server
from rtnb.local.speech.tts import synthesize
from rtnb.protocol.audio import bytes_for_ms, decode_audio
from tests.samples import WEATHER_TOOL
from tests.wire import WireClient

SECRET = "sk-llm-THIS-KEY-MUST-NEVER-LEAK-42"
WAIT_S = 20.0


@pytest.fixture
async def chat() -> AsyncIterator[ScriptedChatServer]:
    async with await start_scripted_chat_server(ChatScript(text="Hello!")) as server:
        yield server


async def _local(chat: ScriptedChatServer, **llm: Any) -> LocalServer:
    options = {"base_url": chat.url, "model": "scripted", "api_key": SECRET, **llm}
    return await start_local_server(realtime_pacing=False, llm=options)


@pytest.fixture
async def client(chat: ScriptedChatServer) -> AsyncIterator[WireClient]:
    async with await _local(chat) as server:
        wire = await WireClient.open(server.url)
        yield wire
        await wire.close()
    assert wire.invalid == [], "server sent events outside the schema"
    assert SECRET not in json.dumps(wire.events)


async def ask(client: WireClient, text: str, session: dict[str, Any] | None = None) -> int:
    """Configure (optionally), add a user message and ask for a response; return the mark."""
    after = len(client.events)
    if session is not None:
        await client.send({"type": "session.update", "session": {"type": "realtime", **session}})
        await client.wait_for("session.updated", after=after)
    message = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}
    await client.send({"type": "conversation.item.create", "item": message})
    await client.send({"type": "response.create"})
    return after


async def done(client: WireClient, after: int) -> dict[str, Any]:
    return (await client.wait_for("response.done", after=after, timeout=WAIT_S))["response"]


async def test_first_audio_follows_the_first_sentence_not_the_whole_answer(
    client: WireClient, chat: ScriptedChatServer
) -> None:
    release = asyncio.Event()
    text = "The first sentence is short. The second one waits for the model."
    # Deltas 0-4 say sentence one, delta 5 (" The") ends it; the model holds before delta 6.
    chat.answer = ChatScript(text=text, hold=release, hold_after=6)
    after = await ask(client, "Say two sentences.")
    first_audio = await client.wait_for("response.output_audio.delta", after=after)
    assert not chat.requests[-1].finished, "audio came only after the whole answer"
    spoken = "".join(
        e["delta"] for e in client.of_type("response.output_audio_transcript.delta")[-20:]
    )
    assert spoken.strip().startswith("The first sentence")
    assert "second" not in spoken
    release.set()
    response = await done(client, after)
    assert response["status"] == "completed"
    transcript = await client.wait_for("response.output_audio_transcript.done", after=after)
    assert transcript["transcript"] == text
    audio = [e for e in client.events[after:] if e["type"] == "response.output_audio.delta"]
    assert first_audio in audio and len(audio) > 10
    assert sum(len(decode_audio(e["delta"])) for e in audio) > bytes_for_ms(1500)


async def test_text_output_streams_each_delta(client: WireClient, chat: ScriptedChatServer) -> None:
    chat.answer = ChatScript(text="Paris is the capital of France.")
    after = await ask(client, "Capital of France?", {"output_modalities": ["text"]})
    response = await done(client, after)
    deltas = [
        e["delta"] for e in client.events[after:] if e["type"] == "response.output_text.delta"
    ]
    assert len(deltas) == 6 and "".join(deltas) == "Paris is the capital of France."
    assert response["output"][0]["content"][0]["text"] == "Paris is the capital of France."
    assert client.of_type("response.output_audio.delta") == []


async def test_request_carries_conversation_tools_and_settings(
    client: WireClient, chat: ScriptedChatServer
) -> None:
    session = {
        "instructions": "You are terse.",
        "tools": [WEATHER_TOOL],
        "tool_choice": "required",
        "max_output_tokens": 77,
        "output_modalities": ["text"],
    }
    after = await ask(client, "Weather in Oslo?", session)
    await done(client, after)
    request = chat.requests[-1]
    assert request.authorization == f"Bearer {SECRET}"
    body = request.body
    assert body["stream"] is True and body["model"] == "scripted"
    assert body["messages"] == [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "Weather in Oslo?"},
    ]
    assert body["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": WEATHER_TOOL["description"],
                "parameters": WEATHER_TOOL["parameters"],
            },
        }
    ]
    assert body["tool_choice"] == "required" and body["max_tokens"] == 77
    after = await ask(client, "And now?", {"tool_choice": "none"})
    await done(client, after)
    assert "tools" not in chat.requests[-1].body


async def test_tool_call_streams_arguments_and_its_output_goes_back(
    client: WireClient, chat: ScriptedChatServer
) -> None:
    arguments = '{"city": "Paris", "unit": "celsius"}'
    chat.answer = ChatScript(tool_calls=[("get_weather", arguments)])
    after = await ask(client, "Weather in Paris?", {"tools": [WEATHER_TOOL]})
    response = await done(client, after)
    assert response["status"] == "completed"
    deltas = [
        e["delta"]
        for e in client.events[after:]
        if e["type"] == "response.function_call_arguments.delta"
    ]
    assert len(deltas) > 2 and "".join(deltas) == arguments
    call = await client.wait_for("response.function_call_arguments.done", after=after)
    assert call["name"] == "get_weather" and call["arguments"] == arguments
    assert response["output"][0]["status"] == "completed"

    chat.answer = ChatScript(text="It is sunny in Paris.")
    after = len(client.events)
    output = {"type": "function_call_output", "call_id": call["call_id"], "output": "sunny"}
    await client.send({"type": "conversation.item.create", "item": output})
    await client.send({"type": "response.create"})
    assert (await done(client, after))["status"] == "completed"
    messages = chat.requests[-1].body["messages"]
    assert messages[-2:] == [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": call["call_id"],
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": arguments},
                }
            ],
        },
        {"role": "tool", "tool_call_id": call["call_id"], "content": "sunny"},
    ]


async def test_cancel_mid_stream_closes_the_upstream_stream(
    client: WireClient, chat: ScriptedChatServer
) -> None:
    never = asyncio.Event()
    chat.answer = ChatScript(text="One two three four five six seven.", hold=never, hold_after=3)
    after = await ask(client, "Count.", {"output_modalities": ["text"]})
    await client.wait_for("response.output_text.delta", after=after)
    await asyncio.wait_for((await chat.request(0)).holding.wait(), WAIT_S)
    await client.send({"type": "response.cancel"})
    response = await done(client, after)
    assert response["status"] == "cancelled"
    assert response["status_details"]["reason"] == "client_cancelled"
    assert response["output"][0]["status"] == "incomplete"
    assert response["output"][0]["content"][0]["text"] == "One two three"
    await asyncio.wait_for(chat.requests[-1].client_left.wait(), WAIT_S)
    assert not chat.requests[-1].finished and chat.requests[-1].deltas_sent == 3


async def test_barge_in_closes_the_upstream_stream(
    client: WireClient, chat: ScriptedChatServer
) -> None:
    never = asyncio.Event()
    chat.answer = ChatScript(
        text="A long story begins. It goes on and on.", hold=never, hold_after=5
    )
    after = await ask(client, "Tell me a story.")
    await client.wait_for("response.output_audio.delta", after=after)
    await asyncio.wait_for((await chat.request(0)).holding.wait(), WAIT_S)
    speech = synthesize("Stop, please.", voice="en-us+m3")
    await client.send_audio(b"\x00" * bytes_for_ms(200) + speech + b"\x00" * bytes_for_ms(200))
    response = await done(client, after)
    assert response["status"] == "cancelled"
    assert response["status_details"]["reason"] == "turn_detected"
    await asyncio.wait_for(chat.requests[0].client_left.wait(), WAIT_S)
    assert not chat.requests[0].finished


async def test_slow_first_token_is_waited_for(client: WireClient, chat: ScriptedChatServer) -> None:
    release = asyncio.Event()
    chat.answer = ChatScript(text="Thought about it.", hold=release, hold_after=0)
    after = await ask(client, "Think.", {"output_modalities": ["text"]})
    await asyncio.wait_for((await chat.request(0)).holding.wait(), WAIT_S)
    assert [e["type"] for e in client.events[after:]][-1] == "response.created"
    release.set()
    response = await done(client, after)
    assert response["status"] == "completed"
    assert response["output"][0]["content"][0]["text"] == "Thought about it."


async def _assert_failed_then_recovers(
    client: WireClient, chat: ScriptedChatServer, after: int, code: str, words: str
) -> dict[str, Any]:
    response = await done(client, after)
    error = await client.wait_for("error", after=after)
    assert error["error"]["code"] == code
    assert words in error["error"]["message"]
    assert response["status"] == "failed"
    assert response["status_details"]["error"]["code"] == code
    chat.answer = ChatScript(text="Back again.")
    again = await ask(client, "Still there?")
    assert (await done(client, again))["status"] == "completed"
    return response


async def test_first_token_timeout_fails_the_response(chat: ScriptedChatServer) -> None:
    never = asyncio.Event()
    async with await _local(chat, timeout_s=0.3) as server:
        client = await WireClient.open(server.url)
        chat.answer = ChatScript(text="Too late.", hold=never, hold_after=0)
        after = await ask(client, "Hello?")
        await _assert_failed_then_recovers(client, chat, after, "llm_timeout", "did not answer")
        await asyncio.wait_for(chat.requests[0].client_left.wait(), WAIT_S)
        await client.close()
    assert client.invalid == []


async def test_disconnect_mid_answer_fails_the_response(
    client: WireClient, chat: ScriptedChatServer
) -> None:
    chat.answer = ChatScript(text="This answer breaks off in the middle.", disconnect_after=3)
    after = await ask(client, "Go on.", {"output_modalities": ["text"]})
    response = await _assert_failed_then_recovers(
        client, chat, after, "llm_unreachable", chat.url.removesuffix("/v1")
    )
    message = response["output"][0]
    assert message["status"] == "incomplete"
    assert message["content"][0]["text"] == "This answer breaks"


@pytest.mark.parametrize("status", [400, 401, 404, 500, 503])
async def test_http_errors_fail_the_response(
    client: WireClient, chat: ScriptedChatServer, status: int
) -> None:
    chat.answer = ChatScript(status=status, error_message=f"no luck with key {SECRET}")
    after = await ask(client, "Hello?")
    response = await _assert_failed_then_recovers(
        client, chat, after, "llm_http_error", f"HTTP {status}: no luck with key ***"
    )
    assert response["output"] == []


async def test_unreachable_server_fails_the_response() -> None:
    options = {"base_url": "http://127.0.0.1:9/v1", "model": "m", "api_key": SECRET}
    async with await start_local_server(realtime_pacing=False, llm=options) as server:
        client = await WireClient.open(server.url)
        after = await ask(client, "Anyone?")
        response = await done(client, after)
        error = await client.wait_for("error", after=after)
        assert error["error"]["code"] == "llm_unreachable"
        assert "cannot reach the model server at http://127.0.0.1:9/v1" in error["error"]["message"]
        assert response["status"] == "failed"
        await client.close()
    assert SECRET not in json.dumps(client.events)


async def test_malformed_tool_arguments_fail_without_a_tool_call(
    client: WireClient, chat: ScriptedChatServer
) -> None:
    chat.answer = ChatScript(tool_calls=[("get_weather", '{"city": "Par')])
    after = await ask(client, "Weather?", {"tools": [WEATHER_TOOL]})
    response = await _assert_failed_then_recovers(
        client, chat, after, "llm_bad_tool_arguments", "'get_weather'"
    )
    assert response["output"][0]["type"] == "function_call"
    assert response["output"][0]["status"] == "incomplete"
    assert client.of_type("response.function_call_arguments.done") == []
    # The broken call is left out of the next request (it has no output).
    assert all("tool_calls" not in m for m in chat.requests[-1].body["messages"])


async def test_length_limit_ends_the_response_incomplete(
    client: WireClient, chat: ScriptedChatServer
) -> None:
    chat.answer = ChatScript(text="This is cut", finish_reason="length")
    after = await ask(client, "Talk.", {"output_modalities": ["text"], "max_output_tokens": 3})
    response = await done(client, after)
    assert response["status"] == "incomplete"
    assert response["status_details"] == {"type": "incomplete", "reason": "max_output_tokens"}
    assert response["output"][0]["status"] == "incomplete"


async def test_key_stays_out_of_reprs_and_logs(
    chat: ScriptedChatServer, caplog: pytest.LogCaptureFixture
) -> None:
    chat.answer = ChatScript(status=401, error_message=f"bad key {SECRET}")
    with caplog.at_level(logging.DEBUG):
        async with await _local(chat) as server:
            client = await WireClient.open(server.url)
            after = await ask(client, "Hello?")
            await done(client, after)
            texts = [repr(server), repr(server._chat), repr(server._chat.config)]
            await client.close()
    assert "DEBUG" in caplog.text, "the scan must have something to scan"
    assert chat.requests[0].authorization == f"Bearer {SECRET}"
    for text in [*texts, caplog.text, json.dumps(client.events)]:
        assert SECRET not in text


async def test_rtnb_serve_speaks_for_the_model_given_on_the_command_line(
    chat: ScriptedChatServer,
) -> None:
    chat.answer = ChatScript(text="Hello from the command line.")
    env = {**os.environ, "RTNB_LLM_API_KEY": SECRET, "PYTHONUNBUFFERED": "1"}
    env.pop("RTNB_LLM_URL", None)
    serve = [sys.executable, "-m", "rtnb.cli", "serve", "--port", "0", "--fast"]
    process = await asyncio.create_subprocess_exec(
        *serve,
        "--llm-url",
        chat.url,
        "--llm-model",
        "cli-model",
        env=env,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), WAIT_S)).decode()
        url = line.split(" at ")[1].split()[0]
        client = await WireClient.open(url)
        after = await ask(client, "Hi", {"output_modalities": ["text"]})
        response = await done(client, after)
        await client.close()
    finally:
        process.terminate()
        await process.wait()
    assert response["output"][0]["content"][0]["text"] == "Hello from the command line."
    assert chat.requests[0].body["model"] == "cli-model"
    assert chat.requests[0].authorization == f"Bearer {SECRET}"
    half = subprocess.run(
        [*serve, "--llm-url", chat.url], env=env, capture_output=True, text=True, check=False
    )
    assert half.returncode == 2 and "--llm-url and --llm-model go together" in half.stderr


async def test_called_as_a_plain_policy_it_returns_the_whole_reply(
    chat: ScriptedChatServer,
) -> None:
    policy = ChatPolicy(LlmConfig(chat.url, "scripted"))
    user = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]}
    turn = PolicyInput([user], "Be brief.", [WEATHER_TOOL])
    chat.answer = ChatScript(text="Hello there. Nice day.")
    assert await policy(turn) == Say("Hello there. Nice day.")
    chat.answer = ChatScript(tool_calls=[("get_weather", '{"city": "Rome"}')])
    assert await policy(turn) == CallTool("get_weather", {"city": "Rome"})
    assert chat.requests[-1].authorization == "Bearer no-key"
    await policy.aclose()
