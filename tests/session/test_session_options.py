"""Session options: tracing on the wire, audio kept in the history, mute."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from rtnb import MuteNotSupportedError, RealtimeAgent, RealtimeSession
from rtnb.protocol.config import ConfigError, tracing_config
from rtnb.testing import ScriptedTransport
from rtnb.transport import Mutable, WebSocketTransport
from tests.schema import unknown_fields

from . import wire as w


async def open_session(**options: Any) -> tuple[RealtimeSession, ScriptedTransport]:
    transport = ScriptedTransport()
    session = RealtimeSession(RealtimeAgent(name="a"), transport=transport, **options)
    await session.connect()
    await transport.wait_for_sent("session.update")
    return session, transport


# ------------------------------------------------------------------------- tracing


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({}, "auto"),
        ({"tracing_disabled": True}, None),
        ({"workflow_name": "support"}, {"workflow_name": "support"}),
        (
            {"workflow_name": "support", "group_id": "g1", "trace_metadata": {"user": "u1"}},
            {"workflow_name": "support", "group_id": "g1", "metadata": {"user": "u1"}},
        ),
        ({"group_id": "g1"}, {"group_id": "g1"}),
    ],
)
async def test_tracing_field_on_the_wire(options: dict[str, Any], expected: Any) -> None:
    session, transport = await open_session(**options)
    await session.close()
    [update] = transport.sent_of_type("session.update")
    assert update["session"]["tracing"] == expected
    assert unknown_fields(update, side="client") == []


def test_tracing_disabled_with_a_trace_name_is_contradictory() -> None:
    with pytest.raises(ConfigError, match="tracing_disabled=True contradicts workflow_name"):
        RealtimeSession(RealtimeAgent(name="a"), tracing_disabled=True, workflow_name="w")
    assert tracing_config(metadata={}) == {"metadata": {}}


async def test_config_tracing_wins_over_the_options() -> None:
    transport = ScriptedTransport()
    session = RealtimeSession(
        RealtimeAgent(name="a"), transport=transport, config={"tracing": None}, workflow_name="w"
    )
    await session.connect()
    update = await transport.wait_for_sent("session.update")
    await session.close()
    assert update["session"]["tracing"] is None


def test_mcp_auto_response_option_is_kept() -> None:
    agent = RealtimeAgent(name="a")
    assert RealtimeSession(agent).automatically_trigger_response_for_mcp_tool_calls is True
    session = RealtimeSession(agent, automatically_trigger_response_for_mcp_tool_calls=False)
    assert session.automatically_trigger_response_for_mcp_tool_calls is False


# ------------------------------------------------------------------------- audio in history


async def test_history_store_audio_keeps_model_audio_and_cuts_it_at_truncation() -> None:
    session, transport = await open_session(history_store_audio=True)
    transport.push(w.response_created("r1"))
    transport.push(w.item_added(w.assistant_item("a1")))
    first, second = b"\x01\x00" * 2400, b"\x02\x00" * 2400  # 100 ms each
    transport.push(w.audio_delta("r1", "a1", first))
    transport.push(w.transcript_delta("r1", "a1", "Hello"))
    transport.push(w.audio_delta("r1", "a1", second))
    transport.push(w.output_item_done("r1", w.assistant_item("a1", "Hello", "completed")))
    await transport.settle()
    [item] = session.history
    assert item.content[0].audio == first + second  # kept across the item's later versions
    assert item.text == "Hello"

    truncated = {
        "type": "conversation.item.truncated",
        "item_id": "a1",
        "content_index": 0,
        "audio_end_ms": 150,
    }
    transport.push(truncated)
    await transport.settle()
    assert session.history[0].content[0].audio == first + second[:2400]
    await session.close()


async def test_history_store_audio_keeps_audio_a_user_item_carries() -> None:
    session, transport = await open_session(history_store_audio=True)
    pcm = b"\x05\x00" * 480
    item = w.user_audio_item("u1", "hi")
    item["content"][0]["audio"] = base64.b64encode(pcm).decode()
    transport.push(w.item_added(item))
    transport.push(w.item_added(w.user_audio_item("u2", "streamed")))
    await transport.settle()
    assert session.history[0].content[0].audio == pcm
    assert session.history[1].content[0].audio is None  # send_audio() audio is not attached
    await session.close()


async def test_without_history_store_audio_no_bytes_are_kept() -> None:
    session, transport = await open_session()
    item = w.user_audio_item("u1", "hi")
    item["content"][0]["audio"] = base64.b64encode(b"\x05\x00" * 480).decode()
    transport.push(w.item_added(item))
    transport.push(w.item_added(w.assistant_item("a1")))
    transport.push(w.audio_delta("r1", "a1", w.pcm_ms(50)))
    transport.push(w.transcript_delta("r1", "a1", "Hi"))
    await transport.settle()
    parts = [part for entry in session.history for part in entry.content]  # type: ignore[union-attr]
    assert [part.audio for part in parts] == [None, None]
    await session.close()


# ------------------------------------------------------------------------- mute


async def test_mute_drops_audio_on_a_mutable_transport() -> None:
    session, transport = await open_session(config={"turn_detection": None})
    assert isinstance(transport, Mutable)
    assert session.muted is False
    session.mute()
    assert session.muted is True and transport.muted is True
    session.send_audio(w.pcm_ms(40), commit=True)
    session.mute(False)
    session.send_audio(w.pcm_ms(20))
    await transport.wait_for_sent("input_audio_buffer.append")
    await session.close()
    appends = transport.sent_of_type("input_audio_buffer.append")
    assert len(appends) == 1
    assert len(base64.b64decode(appends[0]["audio"])) == len(w.pcm_ms(20))
    assert transport.sent_of_type("input_audio_buffer.commit") == []
    assert transport.sent_of_type("response.create") == []


def test_websocket_transport_cannot_mute() -> None:
    agent = RealtimeAgent(name="a")
    for transport in (None, WebSocketTransport("ws://127.0.0.1:9/v1/realtime")):
        session = RealtimeSession(agent, transport=transport)
        assert session.muted is None
        with pytest.raises(MuteNotSupportedError, match="cannot mute"):
            session.mute()
        assert isinstance(MuteNotSupportedError(), NotImplementedError)
