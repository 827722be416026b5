"""Recorded clips: PyAV decoding to PCM16 24 kHz mono, and sending one committed user turn."""

from __future__ import annotations

import asyncio
import base64

import numpy as np
import pytest

from rtnb import RealtimeAgent, RealtimeSession
from rtnb.clips import MIN_TURN_MS, ClipError, decode_clip, send_turn
from rtnb.local.policy.numbers import canonical_words
from rtnb.protocol.audio import SAMPLE_RATE, bytes_for_ms, duration_ms, to_int16
from rtnb.testing import ScriptedTransport
from tests.spoken import USER_VOICE, spoken

from .clip_audio import encode, tone, webm_opus
from .conftest import get_weather


def dominant_hz(pcm16: bytes) -> float:
    samples = to_int16(pcm16).astype(np.float64)
    spectrum = np.abs(np.fft.rfft(samples))
    return float(np.argmax(spectrum) * SAMPLE_RATE / samples.size)


def test_browser_webm_opus_decodes_to_pcm16_mono_24k() -> None:
    clip = encode(tone(440, 1.0, 48_000), 48_000)  # what chromium's MediaRecorder makes
    assert clip[:4] == b"\x1a\x45\xdf\xa3"  # an EBML (WebM) header
    pcm = decode_clip(clip)
    assert duration_ms(pcm) == pytest.approx(1000, abs=25)  # Opus pads at most a frame
    assert dominant_hz(pcm) == pytest.approx(440, abs=2)  # not sped up or slowed down
    rms = np.sqrt(np.mean(to_int16(pcm)[2400:-2400].astype(np.float64) ** 2))
    assert rms == pytest.approx(10_000 / np.sqrt(2), rel=0.1)


def test_other_rates_and_stereo_are_mixed_to_mono_24k() -> None:
    left, right = tone(300, 0.5, 44_100), tone(300, 0.5, 44_100)
    clip = encode(np.stack([left, right], axis=1), 44_100, fmt="wav", codec="pcm_s16le")
    pcm = decode_clip(clip)
    assert len(pcm) == bytes_for_ms(500)
    assert dominant_hz(pcm) == pytest.approx(300, abs=2)
    assert np.max(np.abs(to_int16(pcm))) == pytest.approx(10_000, rel=0.05)  # not doubled


@pytest.mark.parametrize(
    ("clip", "reason"),
    [
        (b"", "no data"),
        (b"this is not a recording" * 4, "not a readable audio recording"),
        (encode(tone(440, 1.0, 48_000), 48_000)[:60], "not a readable audio recording"),
        (memoryview(b""), "no data"),
    ],
)
def test_bad_clips_raise_a_clip_error(clip: bytes, reason: str) -> None:
    with pytest.raises(ClipError, match=reason) as caught:
        decode_clip(clip)
    assert str(caught.value).startswith("clip:")  # names the field
    assert isinstance(caught.value, ValueError)


def appended(transport: ScriptedTransport) -> bytes:
    events = transport.sent_of_type("input_audio_buffer.append")
    return b"".join(base64.b64decode(event["audio"]) for event in events)


def kinds_after_connect(transport: ScriptedTransport) -> list[str]:
    kinds = [event["type"] for event in transport.sent]
    del kinds[: kinds.index("session.update") + 1]  # the session's own configuration
    return [kind for i, kind in enumerate(kinds) if i == 0 or kind != kinds[i - 1]]


async def test_with_turn_detection_the_clip_is_one_turn_and_it_comes_back(scripted) -> None:
    session, transport = scripted
    await session.connect()
    vad = session.turn_detection
    assert vad is not None and vad["type"] == "semantic_vad"  # the session's default
    pcm = bytes(range(256)) * 300  # 1.6 s
    send_turn(session, pcm)
    await transport.wait_for_sent("session.update", count=3)
    assert kinds_after_connect(transport) == [
        "session.update",
        "input_audio_buffer.clear",
        "input_audio_buffer.append",
        "input_audio_buffer.commit",
        "response.create",
        "session.update",
    ]
    off, back = transport.sent_of_type("session.update")[1:]
    assert off["session"]["audio"]["input"]["turn_detection"] is None
    assert back["session"]["audio"]["input"]["turn_detection"] == vad
    assert appended(transport) == pcm
    assert len(transport.sent_of_type("input_audio_buffer.append")) == 2  # 1 s pieces


async def test_without_turn_detection_the_commit_asks_for_the_answer(agent) -> None:
    transport = ScriptedTransport()
    config = {"audio": {"input": {"turn_detection": None}}}
    session = RealtimeSession(agent, transport=transport, config=config)
    await session.connect()
    assert session.turn_detection is None
    pcm = b"\x01\x00" * (SAMPLE_RATE // 2)
    send_turn(session, pcm)
    await transport.wait_for_sent("response.create")
    assert kinds_after_connect(transport) == [
        "input_audio_buffer.append",
        "input_audio_buffer.commit",
        "response.create",
    ]
    assert appended(transport) == pcm
    await session.close()


async def test_no_answer_is_asked_when_turn_detection_does_not_create_one(agent) -> None:
    transport = ScriptedTransport()
    vad = {"type": "server_vad", "create_response": False}
    session = RealtimeSession(agent, transport=transport, config={"turn_detection": vad})
    await session.connect()
    send_turn(session, b"\x00\x00" * SAMPLE_RATE)
    await transport.wait_for_sent("session.update", count=3)
    assert "response.create" not in kinds_after_connect(transport)
    assert transport.sent_of_type("input_audio_buffer.commit")
    await session.close()


async def test_too_short_or_muted_sends_nothing(scripted) -> None:
    session, transport = scripted
    await session.connect()
    await transport.wait_for_sent("session.update")
    before = len(transport.sent)
    with pytest.raises(ClipError, match=f"at least {MIN_TURN_MS} ms"):
        send_turn(session, b"\x00\x00" * (SAMPLE_RATE // 20))  # 50 ms
    with pytest.raises(ClipError, match="even number"):
        send_turn(session, b"\x00" * 4801)
    session.mute(True)
    send_turn(session, b"\x00\x00" * SAMPLE_RATE)
    session.send_message("typed")  # not muted: marks where the clip's events would be
    await transport.wait_for_sent("response.create")
    assert [event["type"] for event in transport.sent[before:]] == [
        "conversation.item.create",
        "response.create",
    ]


async def history_until(session: RealtimeSession, condition, timeout: float = 90) -> None:
    """Wait until ``condition(session.history)`` holds, re-checked on every history update."""
    changed = asyncio.Event()

    def on_update(_event) -> None:
        changed.set()

    session.on("history_updated", on_update)
    try:

        async def wait() -> None:
            while not condition(session.history):
                changed.clear()
                await changed.wait()

        await asyncio.wait_for(wait(), timeout)
    except TimeoutError:
        said = [(item.type, getattr(item, "text", "")) for item in session.history]
        pytest.fail(f"history: {said}")
    finally:
        session.off("history_updated", on_update)


def answered(history, users: int) -> bool:
    """``users`` user items have their words, and an assistant message follows the last one."""
    roles = [(getattr(item, "role", ""), getattr(item, "text", "")) for item in history]
    said = [i for i, (role, text) in enumerate(roles) if role == "user" and text]
    return len(said) >= users and any(
        role == "assistant" and text for role, text in roles[said[-1] :]
    )


@pytest.mark.timeout(300)
async def test_a_clip_with_a_pause_is_one_turn_on_the_local_server(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Turn detection on (the default): the pauses around and between two questions would end a
    turn there; the clip stays one user item with both questions."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    agent = RealtimeAgent(name="Weather assistant", tools=[get_weather])
    config = {"audio": {"input": {"transcription": {"model": "local"}}}}
    session = RealtimeSession(agent, config=config, server_options={"realtime_pacing": False})
    pause = b"\x00" * bytes_for_ms(1500)  # three times the VAD's 500 ms of silence
    first, second = "What is the weather in Paris?", "And in Rome?"
    speech = pause + spoken(first, USER_VOICE) + pause + spoken(second, USER_VOICE) + pause
    pcm = decode_clip(webm_opus(speech))  # through the browser's codec
    async with session:
        assert session.turn_detection is not None
        send_turn(session, pcm)
        await history_until(session, lambda history: answered(history, 1))
        # VAD is back: streamed speech is a turn of its own again.
        session.send_audio(spoken(first, USER_VOICE) + pause)
        await history_until(session, lambda history: answered(history, 2))
        users = [item for item in session.history if getattr(item, "role", "") == "user"]
    assert len(users) == 2, [user.text for user in users]
    words = canonical_words(users[0].text)
    assert "paris" in words and "rome" in words, users[0].text
    assert canonical_words(users[1].text) == canonical_words(first)
