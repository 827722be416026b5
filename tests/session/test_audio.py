"""Audio events, barge-in and interrupt(): truncation clamped to the audio received."""

from __future__ import annotations

import pytest

from rtnb import AudioEvent, RealtimeAgent, RealtimeSession
from rtnb.protocol.audio import AudioFormatError
from rtnb.testing import ScriptedTransport

from . import wire as w
from .conftest import Recorder

AUDIO_EVENTS = ("audio", "audio_start", "audio_stopped", "audio_interrupted")


async def writer_flushed(session: RealtimeSession, transport: ScriptedTransport) -> None:
    """Return once everything the session queued so far was sent: the writer sends in order, so
    a message queued now goes out after all of it."""
    session.send_message("flush")
    await transport.wait_for_sent(
        "conversation.item.create", where=lambda e: e["item"]["content"][0].get("text") == "flush"
    )


async def test_audio_deltas_become_audio_events(
    session: RealtimeSession, transport: ScriptedTransport
) -> None:
    recorder = Recorder(session, *AUDIO_EVENTS)
    chunk = bytes(range(200))
    transport.push(w.response_created("r1"))
    transport.push(w.audio_delta("r1", "a1", chunk))
    transport.push(w.audio_delta("r1", "a1", chunk))
    transport.push(w.response_done("r1"))
    stopped = await recorder.wait_for("audio_stopped")
    assert (stopped.response_id, stopped.item_id) == ("r1", "a1")
    audio: list[AudioEvent] = recorder.of("audio")
    assert [a.data for a in audio] == [chunk, chunk]
    assert (audio[0].item_id, audio[0].content_index, audio[0].response_id) == ("a1", 0, "r1")
    assert len(recorder.of("audio_start")) == 1
    # output_audio_buffer.stopped after response.done does not report the end twice.
    transport.push(w.output_audio_buffer_stopped("r1"))
    await transport.settle()
    transport.push(w.response_created("r2"))
    transport.push(w.response_done("r2"))
    await transport.settle()
    await session.close()
    assert len(recorder.of("audio_stopped")) == 1


async def test_output_audio_buffer_stopped_reports_audio_stopped(
    session: RealtimeSession, transport: ScriptedTransport
) -> None:
    recorder = Recorder(session, *AUDIO_EVENTS)
    transport.push(w.response_created("r1"))
    transport.push(w.audio_delta("r1", "a1", w.pcm_ms(10)))
    transport.push(w.output_audio_buffer_stopped("r1"))
    stopped = await recorder.wait_for("audio_stopped")
    assert stopped.item_id == "a1"


@pytest.mark.parametrize(
    ("played_ms", "expected_ms"),
    [(None, 300), (120.7, 120), (5000, 300), (-10, 0)],
)
async def test_speech_truncates_at_played_position_clamped_to_received(
    session: RealtimeSession,
    transport: ScriptedTransport,
    played_ms: float | None,
    expected_ms: int,
) -> None:
    recorder = Recorder(session, *AUDIO_EVENTS)
    transport.push(w.response_created("r1"))
    transport.push(w.audio_delta("r1", "a1", w.pcm_ms(200)))
    transport.push(w.audio_delta("r1", "a1", w.pcm_ms(100)))
    await recorder.wait_for("audio", count=2)
    if played_ms is not None:
        session.set_playback_position("a1", played_ms)
    transport.push(w.speech_started("u2"))
    truncate = await transport.wait_for_sent("conversation.item.truncate")
    assert truncate["item_id"] == "a1"
    assert truncate["content_index"] == 0
    assert truncate["audio_end_ms"] == expected_ms
    interrupted = await recorder.wait_for("audio_interrupted")
    assert (interrupted.item_id, interrupted.audio_end_ms) == ("a1", expected_ms)
    # Audio still arriving for the interrupted response is dropped.
    transport.push(w.audio_delta("r1", "a1", w.pcm_ms(100)))
    transport.push(w.response_done("r1", status="cancelled"))
    await transport.settle()
    await session.close()
    assert len(recorder.of("audio")) == 2
    assert len(transport.sent_of_type("conversation.item.truncate")) == 1


async def test_speech_after_playback_finished_does_not_truncate(
    session: RealtimeSession, transport: ScriptedTransport
) -> None:
    recorder = Recorder(session, *AUDIO_EVENTS)
    transport.push(w.response_created("r1"))
    transport.push(w.audio_delta("r1", "a1", w.pcm_ms(100)))
    transport.push(w.response_done("r1"))
    transport.push(w.speech_started("u2"))  # the answer was done and (assumed) heard
    transport.push(w.response_created("r2"))
    await recorder.wait_for("audio_stopped")
    await writer_flushed(session, transport)
    assert recorder.of("audio_interrupted") == []  # a finished answer is never marked cut
    assert transport.sent_of_type("conversation.item.truncate") == []


async def test_speech_after_partial_playback_truncates_even_when_done(
    session: RealtimeSession, transport: ScriptedTransport
) -> None:
    transport.push(w.response_created("r1"))
    transport.push(w.audio_delta("r1", "a1", w.pcm_ms(400)))
    transport.push(w.response_done("r1"))
    await transport.settle()
    session.set_playback_position("a1", 250)
    transport.push(w.speech_started("u2"))
    truncate = await transport.wait_for_sent("conversation.item.truncate")
    assert truncate["audio_end_ms"] == 250


@pytest.mark.parametrize("reported", [None, 400.0, 398.0], ids=["unreported", "all", "rounded"])
async def test_interrupt_after_a_finished_answer_heard_to_its_end_cuts_nothing(
    session: RealtimeSession, transport: ScriptedTransport, reported: float | None
) -> None:
    recorder = Recorder(session, "audio_interrupted", "agent_start")
    transport.push(w.response_created("r1"))
    transport.push(w.audio_delta("r1", "a1", w.pcm_ms(400)))
    transport.push(w.response_done("r1"))
    await transport.settle()
    if reported is not None:  # the player's last report: the whole answer (or rounded down)
        session.set_playback_position("a1", reported)
    session.interrupt()  # Interrupt clicked while idle
    transport.push(w.response_created("r2"))
    await recorder.wait_for("agent_start", count=2)  # every earlier event was delivered
    await writer_flushed(session, transport)
    assert [e.item_id for e in recorder.of("audio_interrupted")] == [None]  # only "idle"
    assert transport.sent_of_type("conversation.item.truncate") == []
    assert transport.sent_of_type("response.cancel") == []


async def test_speech_without_audio_does_nothing(
    session: RealtimeSession, transport: ScriptedTransport
) -> None:
    recorder = Recorder(session, "audio_interrupted", "agent_start")
    transport.push(w.speech_started("u1"))
    transport.push(w.response_created("r1"))
    await recorder.wait_for("agent_start")
    assert recorder.of("audio_interrupted") == []
    assert transport.sent_of_type("conversation.item.truncate") == []


@pytest.mark.parametrize(
    ("config", "barge_in"),
    [
        ({"turn_detection": {"type": "server_vad", "interrupt_response": False}}, False),
        # The control: the same conversation with interrupt_response on is cut, so the case
        # above passes because of the option, not because barge-in handling is missing.
        ({"turn_detection": {"type": "server_vad", "interrupt_response": True}}, True),
    ],
    ids=["interrupt_response_false", "control_interrupt_response_true"],
)
async def test_no_truncation_when_interrupt_response_is_false(
    session: RealtimeSession, transport: ScriptedTransport, barge_in: bool
) -> None:
    recorder = Recorder(session, "audio", "agent_end", "audio_interrupted")
    transport.push(w.response_created("r1"))
    transport.push(w.audio_delta("r1", "a1", w.pcm_ms(100)))
    await recorder.wait_for("audio")
    session.set_playback_position("a1", 40)
    transport.push(w.speech_started("u2"))
    transport.push(w.audio_delta("r1", "a1", w.pcm_ms(100)))
    transport.push(w.response_done("r1"))
    await recorder.wait_for("agent_end")
    await writer_flushed(session, transport)
    truncates = [
        (e["item_id"], e["audio_end_ms"])
        for e in transport.sent_of_type("conversation.item.truncate")
    ]
    interrupted = [(e.item_id, e.audio_end_ms) for e in recorder.of("audio_interrupted")]
    if barge_in:
        assert truncates == interrupted == [("a1", 40)]
        assert len(recorder.of("audio")) == 1  # audio after the cut is dropped
    else:
        assert truncates == interrupted == []
        assert len(recorder.of("audio")) == 2  # the answer played on


async def test_server_session_updated_decides_interrupt_response(
    session: RealtimeSession, transport: ScriptedTransport
) -> None:
    recorder = Recorder(session, "audio", "agent_end", "audio_interrupted")
    # The server says speech does not interrupt: the answer plays on, nothing is cut.
    transport.push(w.session_updated({"type": "server_vad", "interrupt_response": False}))
    transport.push(w.response_created("r1"))
    transport.push(w.audio_delta("r1", "a1", w.pcm_ms(100)))
    transport.push(w.speech_started("u2"))
    transport.push(w.audio_delta("r1", "a1", w.pcm_ms(100)))
    transport.push(w.response_done("r1"))
    await recorder.wait_for("agent_end")
    assert len(recorder.of("audio")) == 2
    assert recorder.of("audio_interrupted") == []
    assert transport.sent_of_type("conversation.item.truncate") == []
    # The server now says speech interrupts: the same barge-in cuts the playing answer.
    transport.push(w.session_updated({"type": "server_vad", "interrupt_response": True}))
    transport.push(w.response_created("r2"))
    transport.push(w.audio_delta("r2", "a2", w.pcm_ms(100)))
    await recorder.wait_for("audio", count=3)
    session.set_playback_position("a2", 40)
    transport.push(w.speech_started("u3"))
    truncate = await transport.wait_for_sent("conversation.item.truncate")
    assert (truncate["item_id"], truncate["audio_end_ms"]) == ("a2", 40)
    interrupted = await recorder.wait_for("audio_interrupted")
    assert (interrupted.item_id, interrupted.audio_end_ms) == ("a2", 40)


async def test_interrupt_cancels_truncates_and_reports(
    session: RealtimeSession, transport: ScriptedTransport
) -> None:
    recorder = Recorder(session, "audio_interrupted", "audio")
    transport.push(w.response_created("r1"))
    transport.push(w.audio_delta("r1", "a1", w.pcm_ms(500)))
    await recorder.wait_for("audio")
    session.set_playback_position("a1", 180)
    session.interrupt()
    cancel = await transport.wait_for_sent("response.cancel")
    truncate = await transport.wait_for_sent("conversation.item.truncate")
    assert cancel["response_id"] == "r1"
    assert transport.sent.index(cancel) < transport.sent.index(truncate)
    assert truncate["audio_end_ms"] == 180
    event = await recorder.wait_for("audio_interrupted")
    assert event.item_id == "a1"


async def test_interrupt_when_idle_only_reports(
    session: RealtimeSession, transport: ScriptedTransport
) -> None:
    recorder = Recorder(session, "audio_interrupted")
    session.interrupt()
    event = await recorder.wait_for("audio_interrupted")
    assert (event.item_id, event.audio_end_ms) == (None, None)
    await transport.settle()
    assert transport.sent_of_type("response.cancel") == []
    assert transport.sent_of_type("conversation.item.truncate") == []


async def test_bad_audio_delta_is_an_error_not_a_crash(
    session: RealtimeSession, transport: ScriptedTransport
) -> None:
    recorder = Recorder(session, "error", "audio")
    bad = w.audio_delta("r1", "a1", b"")
    bad["delta"] = "***"
    transport.push(bad)
    transport.push(w.audio_delta("r1", "a1", w.pcm_ms(10)))
    await recorder.wait_for("audio")
    assert len(recorder.of("error")) == 1


async def test_audio_is_decoded_once_by_whoever_reads_it(
    session: RealtimeSession, transport: ScriptedTransport
) -> None:
    recorder = Recorder(session, "audio")
    chunk = w.pcm_ms(20)
    transport.push(w.response_created("r1"))
    transport.push(w.audio_delta("r1", "a1", chunk))
    event = await recorder.wait_for("audio")
    assert event.data == chunk
    assert event.data is event.data  # the second reader gets the same bytes


async def test_audio_with_foreign_characters_fails_where_it_is_read(
    session: RealtimeSession, transport: ScriptedTransport
) -> None:
    # The length is base64-like, so the session counts it; the characters are checked on read.
    recorder = Recorder(session, "audio", "error")
    bad = w.audio_delta("r1", "a1", b"")
    bad["delta"] = "ab$dAAAA"
    transport.push(w.response_created("r1"))
    transport.push(bad)
    event = await recorder.wait_for("audio")
    with pytest.raises(AudioFormatError, match=r"'delta' of audio item 'a1'.*base64"):
        _ = event.data
    assert recorder.of("error") == []


async def test_audio_nobody_listens_to_still_counts_for_truncation(
    session: RealtimeSession, transport: ScriptedTransport
) -> None:
    transport.push(w.response_created("r1"))
    for ms in (200, 100, 30):
        transport.push(w.audio_delta("r1", "a1", w.pcm_ms(ms)))
    transport.push(w.speech_started("u2"))
    truncate = await transport.wait_for_sent("conversation.item.truncate")
    assert truncate["audio_end_ms"] == 330


async def test_stored_audio_is_checked_when_it_arrives() -> None:
    transport = ScriptedTransport()
    session = RealtimeSession(
        RealtimeAgent(name="a"), transport=transport, history_store_audio=True
    )
    recorder = Recorder(session, "audio", "error")
    await session.connect()
    bad = w.audio_delta("r1", "a1", b"")
    bad["delta"] = "ab$dAAAA"
    chunk = w.pcm_ms(10)
    transport.push(w.response_created("r1"))
    transport.push(bad)
    transport.push(w.audio_delta("r1", "a1", chunk))
    event = await recorder.wait_for("audio")
    assert event.data == chunk
    assert len(recorder.of("audio")) == 1
    assert isinstance(recorder.of("error")[0].error, AudioFormatError)
    await session.close()
