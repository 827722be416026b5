"""Independent Realtime clients hold a spoken turn with the local server.

The ``openai`` package's realtime client parses every event into its typed models, and the
``openai-agents`` realtime runner drives a whole agent turn (tool call included) through its own
GA model code. Both are test-only dependencies.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest

from rtnb.local.server import LocalServer, start_local_server
from rtnb.protocol.audio import bytes_for_ms, chunk, encode_audio
from tests.samples import WEATHER_TOOL
from tests.schema import validate_server_event
from tests.spoken import USER_VOICE, spoken

QUESTION = "What is the weather in Paris?"
TIMEOUT = 90.0  # a guard against a hang: a loaded machine loads the speech models slowly

pytestmark = pytest.mark.timeout(300)


def spoken_question() -> bytes:
    silence = b"\x00" * bytes_for_ms(300)
    return silence + spoken(QUESTION, USER_VOICE) + b"\x00" * bytes_for_ms(900)


@pytest.fixture
async def server() -> AsyncIterator[LocalServer]:
    async with await start_local_server(realtime_pacing=False) as running:
        yield running


async def test_openai_client_completes_a_spoken_turn(server: LocalServer) -> None:
    import openai

    client = openai.AsyncOpenAI(
        api_key="not-used", websocket_base_url=server.url[: -len("/realtime")]
    )
    async with client.realtime.connect(model="gpt-realtime") as connection:
        await connection.session.update(
            session={
                "type": "realtime",
                "instructions": "You answer questions about the weather.",
                "tools": [WEATHER_TOOL],
                "audio": {"input": {"transcription": {"model": "gpt-4o-mini-transcribe"}}},
            }
        )
        for piece in chunk(spoken_question(), 20):
            await connection.input_audio_buffer.append(audio=encode_audio(piece))

        seen: list[str] = []

        async def until_response_done() -> object:
            async for event in connection:
                validate_server_event(event.model_dump(mode="json", exclude_unset=True))
                seen.append(event.type)
                if event.type == "response.done":
                    return event
            raise AssertionError("connection closed")

        done = await asyncio.wait_for(until_response_done(), TIMEOUT)
    call = done.response.output[0]
    assert call.type == "function_call"
    assert call.name == "get_weather"
    assert json.loads(call.arguments) == {"city": "Paris"}
    assert "conversation.item.input_audio_transcription.completed" in seen
    assert seen.index("input_audio_buffer.speech_stopped") < seen.index("response.created")


async def test_openai_agents_runner_completes_a_spoken_turn(
    server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_AGENTS_DISABLE_TRACING", "1")
    from agents import function_tool
    from agents.realtime import RealtimeAgent, RealtimeRunner

    calls: list[str] = []

    @function_tool
    def get_weather(city: str) -> str:
        """Return the weather for a city."""
        calls.append(city)
        return f"The weather in {city} is sunny."

    agent = RealtimeAgent(
        name="Weather assistant",
        instructions="You answer questions about the weather.",
        tools=[get_weather],
    )
    runner = RealtimeRunner(
        agent,
        config={
            "model_settings": {
                "input_audio_transcription": {"model": "gpt-4o-mini-transcribe"},
                "turn_detection": {"type": "server_vad"},
            }
        },
    )
    session = await runner.run(
        model_config={"url": f"{server.url}?model=gpt-realtime", "api_key": "not-used"}
    )
    audio_bytes = 0
    transcripts: list[str] = []
    errors: list[object] = []
    async with session:
        for piece in chunk(spoken_question(), 20):
            await session.send_audio(piece)

        async def converse() -> None:
            nonlocal audio_bytes
            async for event in session:
                if event.type == "error":
                    errors.append(event.error)
                elif event.type == "audio":
                    audio_bytes += len(event.audio.data)
                elif event.type == "history_updated":
                    transcripts[:] = [
                        getattr(part, "transcript", None) or ""
                        for item in event.history
                        if getattr(item, "role", None) == "assistant"
                        for part in item.content
                    ]
                elif event.type == "agent_end" and calls and audio_bytes:
                    return

        await asyncio.wait_for(converse(), TIMEOUT)
    assert errors == []
    assert calls == ["Paris"]
    assert audio_bytes > bytes_for_ms(1000), "the tool result should be spoken"
    assert any("sunny" in t for t in transcripts), transcripts
