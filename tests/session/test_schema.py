"""Every client event the session sends matches the openai package's GA client event union."""

from __future__ import annotations

import pytest

from rtnb import RealtimeAgent, RealtimeSession
from rtnb.testing import ScriptedTransport
from tests.schema import validate_client_event, validate_server_event

from . import wire as w
from .conftest import get_weather


@pytest.mark.parametrize(
    "config",
    [
        {},
        {"output_modalities": ["text"], "turn_detection": None},
        {
            "audio": {
                "input": {"turn_detection": {"type": "server_vad", "silence_duration_ms": 300}}
            }
        },
    ],
)
async def test_all_client_events_match_the_schema(config: dict) -> None:
    transport = ScriptedTransport()
    agent = RealtimeAgent(
        name="Schema", instructions="Be brief.", tools=[get_weather], voice="marin"
    )
    session = RealtimeSession(agent, config=config, transport=transport)
    await session.connect()
    session.send_audio(w.pcm_ms(40), commit=True)
    session.send_message("Hello")
    session.send_message(
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Hi"}]}
    )
    transport.push(w.response_created("r1"))
    transport.push(w.audio_delta("r1", "a1", w.pcm_ms(100)))
    transport.push(w.arguments_done("r1", "f1", "call_1", "get_weather", '{"city": "Oslo"}'))
    await transport.wait_for_sent("conversation.item.create", count=3)
    session.interrupt()
    transport.push(w.response_done("r1", status="cancelled"))
    await transport.wait_for_sent("response.create", count=2)
    session.send_event({"type": "conversation.item.delete", "item_id": "a1"})
    session.send_event({"type": "output_audio_buffer.clear"})
    await session.close()

    kinds = {event["type"] for event in transport.sent}
    assert kinds == {
        "session.update",
        "input_audio_buffer.append",
        "input_audio_buffer.commit",
        "conversation.item.create",
        "response.create",
        "response.cancel",
        "conversation.item.truncate",
        "conversation.item.delete",
        "output_audio_buffer.clear",
    }
    for event in transport.sent:
        validate_client_event(event)


def test_the_scripted_server_events_match_the_schema() -> None:
    call = w.function_call_item("f1", "c1", "get_weather", "{}")
    events = [
        w.response_created("r1"),
        w.response_done("r1", output=[call]),
        w.item_added(w.user_audio_item("u1", "hi"), previous_item_id="u0"),
        w.item_added(w.assistant_item("a1", "x")),
        w.item_done(w.user_text_item("u2", "text")),
        w.item_retrieved(w.assistant_item("a1", "", status="incomplete")),
        w.output_item_done("r1", call),
        w.item_deleted("u2"),
        w.audio_delta("r1", "a1", w.pcm_ms(10)),
        w.transcript_delta("r1", "a1", "hi"),
        w.transcript_done("r1", "a1", "hi"),
        w.text_delta("r1", "a1", "hi"),
        w.arguments_done("r1", "f1", "c1", "get_weather", "{}"),
        w.transcription_delta("u1", "h"),
        w.transcription_completed("u1", "hi"),
        w.speech_started("u3"),
        w.output_audio_buffer_stopped("r1"),
        w.session_updated({"type": "server_vad", "interrupt_response": False}),
        w.error("bad"),
    ]
    for event in events:
        validate_server_event(event)
