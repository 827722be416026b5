"""The local server over a real loopback WebSocket, spoken audio in, spoken audio out.

Every server event is validated against the ``openai`` package's schema by :class:`WireClient`.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest

from rtnb.local.policy.deterministic import PolicyInput, Say, item_text
from rtnb.local.policy.numbers import canonical_words
from rtnb.local.server import LocalServer, start_local_server
from rtnb.local.speech.tts import SPHINX_USER_VOICE, USER_VOICE, WHISPER_USER_VOICE
from rtnb.protocol.audio import bytes_for_ms, decode_audio, duration_ms
from tests.samples import WEATHER_TOOL
from tests.spoken import spoken
from tests.wire import WireClient

WEATHER_SESSION = {
    "type": "realtime",
    "instructions": "You answer questions about the weather.",
    "tools": [WEATHER_TOOL],
    "audio": {"input": {"transcription": {"model": "local"}}},
}


def silence(ms: int) -> bytes:
    return b"\x00" * bytes_for_ms(ms)


@pytest.fixture
async def server() -> AsyncIterator[LocalServer]:
    async with await start_local_server(realtime_pacing=False) as running:
        yield running


@pytest.fixture
async def client(server: LocalServer) -> AsyncIterator[WireClient]:
    wire = await WireClient.open(server.url + "?model=gpt-realtime")
    yield wire
    await wire.close()
    assert wire.invalid == [], "server sent events outside the schema"


async def configure(client: WireClient, session: dict) -> dict:
    after = len(client.events)
    await client.send({"type": "session.update", "session": session})
    return await client.wait_for("session.updated", after=after)


@pytest.mark.parametrize(
    ("question", "city"),
    [
        ("What is the weather in Paris?", "Paris"),
        ("What is the weather in London?", "London"),
        ("What is the weather in Tokyo?", "Tokyo"),
    ],
)
@pytest.mark.parametrize(
    ("engine", "voice"), [("whisper", WHISPER_USER_VOICE), ("pocketsphinx", SPHINX_USER_VOICE)]
)
async def test_spoken_question_calls_tool_with_spoken_argument(
    engine: str, voice: str, question: str, city: str
) -> None:
    async with await start_local_server(realtime_pacing=False, stt=engine) as server:
        assert server.engines["stt"].startswith(engine)
        client = await WireClient.open(server.url + "?model=gpt-realtime")
        try:
            await check_spoken_question(client, question, city, voice)
        finally:
            await client.close()
        assert client.invalid == [], "server sent events outside the schema"


async def check_spoken_question(client: WireClient, question: str, city: str, voice: str) -> None:
    await configure(client, WEATHER_SESSION)
    await client.send_audio(silence(300) + spoken(question, voice) + silence(900))

    started = await client.wait_for("input_audio_buffer.speech_started")
    stopped = await client.wait_for("input_audio_buffer.speech_stopped")
    assert started["item_id"] == stopped["item_id"]
    assert 150 <= started["audio_start_ms"] <= 600
    transcript = await client.wait_for("conversation.item.input_audio_transcription.completed")
    assert transcript["item_id"] == stopped["item_id"]
    assert canonical_words(transcript["transcript"]) == canonical_words(question)
    call = await client.wait_for("response.function_call_arguments.done")
    assert call["name"] == "get_weather"
    assert json.loads(call["arguments"]) == {"city": city}
    done = await client.wait_for("response.done")
    assert done["response"]["status"] == "completed"
    assert done["response"]["output"][0]["type"] == "function_call"

    after = len(client.events)
    answer = f"The weather in {city} is sunny."
    await client.send(
        {
            "type": "conversation.item.create",
            "item": {"type": "function_call_output", "call_id": call["call_id"], "output": answer},
        }
    )
    await client.send({"type": "response.create"})
    done = await client.wait_for("response.done", after=after)
    assert done["response"]["status"] == "completed"
    said = await client.wait_for("response.output_audio_transcript.done", after=after)
    assert said["transcript"] == answer
    audio = b"".join(
        decode_audio(e["delta"]) for e in client.of_type("response.output_audio.delta")
    )
    assert duration_ms(audio) > 1000, "the answer should be spoken, not silent"


async def test_text_message_and_text_modality(client: WireClient) -> None:
    await configure(client, {"type": "realtime", "output_modalities": ["text"]})
    await client.send(
        {
            "type": "conversation.item.create",
            "item": {
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": "Hello there"}],
            },
        }
    )
    await client.send({"type": "response.create"})
    done = await client.wait_for("response.done")
    text = await client.wait_for("response.output_text.done")
    assert text["text"].startswith("Hello")
    assert done["response"]["output"][0]["content"][0]["text"] == text["text"]
    assert client.of_type("response.output_audio.delta") == []


async def test_manual_commit_without_turn_detection(client: WireClient) -> None:
    session = {**WEATHER_SESSION, "audio": {"input": {"transcription": {"model": "local"}}}}
    session["audio"]["input"]["turn_detection"] = None
    updated = await configure(client, session)
    assert updated["session"]["audio"]["input"]["turn_detection"] is None
    await client.send_audio(spoken("What is the weather in Paris?", USER_VOICE))
    assert client.of_type("input_audio_buffer.speech_started") == []
    await client.send({"type": "input_audio_buffer.commit"})
    committed = await client.wait_for("input_audio_buffer.committed")
    transcript = await client.wait_for("conversation.item.input_audio_transcription.completed")
    assert transcript["item_id"] == committed["item_id"]
    assert client.of_type("response.created") == [], "no response without response.create"


async def test_a_response_asked_right_after_a_commit_hears_the_words() -> None:
    """Turn detection off, ``commit`` then ``response.create`` at once (as a client sends a
    push-to-talk clip): the response waits for the transcript, so the policy gets the words."""
    heard: list[list[str]] = []

    def echo(turn: PolicyInput) -> Say:
        heard.append([item_text(item) for item in turn.items])
        return Say("Heard you.")

    async with await start_local_server(policy=echo, realtime_pacing=False) as server:
        client = await WireClient.open(server.url)
        await configure(client, {"type": "realtime", "audio": {"input": {"turn_detection": None}}})
        await client.send_audio(spoken("What is the weather in Paris?", USER_VOICE))
        await client.send({"type": "input_audio_buffer.commit"})
        await client.send({"type": "response.create"})
        done = await client.wait_for("response.done")
        await client.close()
    assert done["response"]["status"] == "completed"
    ((words,),) = heard
    assert canonical_words(words) == canonical_words("What is the weather in Paris?")
    assert client.invalid == []


async def test_empty_commit_is_an_error(client: WireClient) -> None:
    await configure(client, {"type": "realtime", "audio": {"input": {"turn_detection": None}}})
    await client.send({"type": "input_audio_buffer.append", "audio": ""})
    await client.send({"type": "input_audio_buffer.commit", "event_id": "evt_commit"})
    error = await client.wait_for("error")
    assert error["error"]["code"] == "input_audio_buffer_commit_empty"
    assert error["error"]["event_id"] == "evt_commit"


async def test_barge_in_cancels_the_response() -> None:
    def long_answer(turn: PolicyInput) -> Say:
        return Say("This is a long answer. " * 30)

    async with await start_local_server(policy=long_answer, realtime_pacing=True) as server:
        client = await WireClient.open(server.url)
        await client.send({"type": "response.create"})
        await client.wait_for("response.output_audio.delta")
        await client.send_audio(spoken("Stop please", USER_VOICE) + silence(700))
        await client.wait_for("input_audio_buffer.speech_started")
        done = await client.wait_for("response.done")
        assert done["response"]["status"] == "cancelled"
        assert done["response"]["status_details"]["reason"] == "turn_detected"
        assert done["response"]["output"][0]["status"] == "incomplete"
        await client.close()
        assert client.invalid == []


async def test_cancel_and_truncate(server: LocalServer) -> None:
    client = await WireClient.open(server.url)
    await client.send({"type": "response.create"})
    done = await client.wait_for("response.done")
    item_id = done["response"]["output"][0]["id"]
    audio_ms = duration_ms(
        b"".join(decode_audio(e["delta"]) for e in client.of_type("response.output_audio.delta"))
    )
    await client.send(
        {
            "type": "conversation.item.truncate",
            "item_id": item_id,
            "content_index": 0,
            "audio_end_ms": int(audio_ms) + 500,
        }
    )
    error = await client.wait_for("error")
    assert error["error"]["param"] == "audio_end_ms"
    await client.send(
        {
            "type": "conversation.item.truncate",
            "item_id": item_id,
            "content_index": 0,
            "audio_end_ms": 200,
        }
    )
    truncated = await client.wait_for("conversation.item.truncated")
    assert truncated["audio_end_ms"] == 200
    await client.send({"type": "conversation.item.retrieve", "item_id": item_id})
    retrieved = await client.wait_for("conversation.item.retrieved")
    assert retrieved["item"]["content"][0]["transcript"] == ""

    await client.send({"type": "response.cancel"})
    not_active = await client.wait_for("error", after=client.events.index(truncated))
    assert not_active["error"]["code"] == "response_cancel_not_active"
    await client.close()
    assert client.invalid == []


async def test_items_insert_delete_retrieve(client: WireClient) -> None:
    def message(item_id: str, text: str) -> dict:
        return {
            "type": "conversation.item.create",
            "item": {
                "id": item_id,
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": text}],
            },
        }

    await client.send(message("item_a", "first"))
    await client.send(message("item_c", "third"))
    await client.send({**message("item_b", "second"), "previous_item_id": "item_a"})
    added = await client.wait_for("conversation.item.added", lambda e: e["item"]["id"] == "item_b")
    assert added["previous_item_id"] == "item_a"
    await client.send({"type": "conversation.item.delete", "item_id": "item_a"})
    deleted = await client.wait_for("conversation.item.deleted")
    assert deleted["item_id"] == "item_a"
    await client.send({"type": "conversation.item.retrieve", "item_id": "item_a"})
    error = await client.wait_for("error")
    assert error["error"]["code"] == "item_not_found"
    await client.send({"type": "conversation.item.retrieve", "item_id": "item_b"})
    retrieved = await client.wait_for("conversation.item.retrieved")
    assert retrieved["item"]["content"][0]["text"] == "second"


async def test_response_create_while_active_is_rejected() -> None:
    async with await start_local_server(realtime_pacing=True) as server:
        client = await WireClient.open(server.url)
        await client.send({"type": "response.create"})
        await client.wait_for("response.created")
        await client.send({"type": "response.create", "event_id": "evt_second"})
        error = await client.wait_for("error")
        assert error["error"]["code"] == "conversation_already_has_active_response"
        assert error["error"]["event_id"] == "evt_second"
        await client.send({"type": "response.cancel"})
        done = await client.wait_for("response.done")
        assert done["response"]["status_details"]["reason"] == "client_cancelled"
        assert len(client.of_type("response.created")) == 1
        await client.close()
        assert client.invalid == []
