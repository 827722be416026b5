"""PushToTalk's Python side: an ipywebrtc clip from the comm thread becomes one committed turn."""

from __future__ import annotations

import base64
import sys

import ipywebrtc
import pytest

from rtnb.protocol.audio import duration_ms
from rtnb.widgets import PushToTalk
from tests.session import wire as w

from .clip_audio import encode, tone
from .conftest import from_thread, until

CLIP = encode(tone(440, 1.0, 48_000), 48_000)  # WebM/Opus, as chromium records it


async def test_the_recorder_is_ipywebrtcs_audio_recorder_on_the_microphone() -> None:
    ptt = PushToTalk()
    assert isinstance(ptt.recorder, ipywebrtc.AudioRecorder)
    assert (ptt.recorder.format, ptt.recorder.codecs) == ("webm", "opus")
    assert ptt.recorder.stream is ptt.stream
    assert ptt.stream.constraints["video"] is False
    assert ptt.stream.constraints["audio"]["echoCancellation"] is True
    assert ptt.children == (ptt.recorder, ptt.status)
    assert "rtnb-push-to-talk" in ptt._dom_classes


async def test_a_recorded_clip_is_sent_as_one_committed_turn(scripted) -> None:
    session, transport = scripted
    ptt = PushToTalk(session)
    turns: list[bytes] = []
    ptt.on_turn(turns.append)
    await session.connect()
    # The browser's AudioRecorder sets its Audio widget's value; the comm may be on a subshell.
    from_thread(setattr, ptt.recorder.audio, "value", CLIP)
    await transport.wait_for_sent("input_audio_buffer.commit")
    await transport.wait_for_sent("response.create")
    sent = b"".join(
        base64.b64decode(event["audio"])
        for event in transport.sent_of_type("input_audio_buffer.append")
    )
    assert turns == [sent]
    assert duration_ms(sent) == pytest.approx(1000, abs=25)
    assert ptt.turns == 1 and ptt.sent_ms == duration_ms(sent)
    await until(lambda: "Sent 1.0 s" in ptt.status.value)
    assert ptt.error == ""


async def test_a_question_sent_while_an_answer_runs_stops_it_first(scripted) -> None:
    session, transport = scripted
    ptt = PushToTalk(session)
    await session.connect()
    transport.push(w.response_created("r1"))
    await transport.settle()
    from_thread(setattr, ptt.recorder.audio, "value", CLIP)
    await transport.wait_for_sent("input_audio_buffer.commit")
    kinds = [event["type"] for event in transport.sent]
    assert kinds.index("response.cancel") < kinds.index("input_audio_buffer.commit")
    assert transport.sent_of_type("response.cancel")[0]["response_id"] == "r1"
    # Once that answer ended, the next question interrupts nothing.
    transport.push(w.response_done("r1"))
    await transport.settle()
    ptt.recorder.audio.value = CLIP[:-1]  # another clip (a byte shorter: the same question)
    await transport.wait_for_sent("input_audio_buffer.commit", count=2)
    assert len(transport.sent_of_type("response.cancel")) == 1


async def test_a_bad_clip_is_reported_and_the_next_one_still_goes(scripted) -> None:
    session, transport = scripted
    ptt = PushToTalk(session)
    await session.connect()
    from_thread(setattr, ptt.recorder.audio, "value", b"\x1aE\xdf\xa3 broken")
    await until(lambda: ptt.error != "")
    assert "not a readable audio recording" in ptt.error
    assert "Not sent" in ptt.status.value and "rtnb-ptt-error" in ptt.status.value
    assert transport.sent_of_type("input_audio_buffer.commit") == []
    assert session.connected
    from_thread(setattr, ptt.recorder.audio, "value", CLIP)
    await transport.wait_for_sent("input_audio_buffer.commit")
    await until(lambda: ptt.error == "")
    assert ptt.turns == 1


async def test_a_clip_without_a_connected_session_is_not_sent(scripted) -> None:
    session, transport = scripted
    ptt = PushToTalk(session)
    ptt.recorder.audio.value = CLIP
    await until(lambda: ptt.error != "")
    assert "not connected" in ptt.error
    await session.connect()
    session.mute(True)
    ptt.recorder.audio.value = b""  # cleared (an equal value would be no change): not a clip
    ptt.recorder.audio.value = CLIP
    await until(lambda: "muted" in ptt.error)
    assert ptt.turns == 0
    assert transport.sent_of_type("input_audio_buffer.append") == []


async def test_without_ipywebrtc_the_error_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "ipywebrtc", None)
    with pytest.raises(ImportError, match=r"rtnb\[webrtc\]"):
        PushToTalk()
