"""The mic's Python side: chunks from a subshell thread reach session.send_audio; muting."""

from __future__ import annotations

import base64
import time

import pytest
import traitlets

from rtnb.widgets import Mic
from rtnb.widgets.bench import BenchMic
from rtnb.widgets.mic import mute_session

from .conftest import from_thread, until


async def test_chunks_from_a_subshell_thread_are_sent_on_the_loop(scripted) -> None:
    session, transport = scripted
    mic = Mic(session)
    await session.connect()
    chunk = bytes(range(256)) * 3 + b"\x00\x01"  # 770 bytes: 385 samples
    from_thread(mic._on_browser_message, mic, {"type": "audio"}, [memoryview(chunk)])
    append = await transport.wait_for_sent("input_audio_buffer.append")
    assert base64.b64decode(append["audio"]) == chunk
    assert mic.chunks == 1
    assert mic.received_ms == pytest.approx(385 / 24)


async def test_muted_mic_forwards_nothing(scripted) -> None:
    session, transport = scripted
    mic = Mic(session)
    heard: list[bytes] = []
    mic.on_audio(heard.append)
    await session.connect()
    from_thread(setattr, mic, "muted", True)  # the browser's mute button
    await until(lambda: session.muted is True)  # ScriptedTransport can mute: the session is told
    mic._deliver(b"\x00\x00" * 480)
    assert heard == [] and mic.chunks == 0
    mic.muted = False
    await until(lambda: session.muted is False)
    mic._deliver(b"\x00\x00" * 480)
    assert len(heard) == 1
    await transport.wait_for_sent("input_audio_buffer.append")


def test_mute_leaves_sessions_that_cannot_mute_alone() -> None:
    class NoMute:
        muted = None

        def mute(self, muted: bool) -> None:
            raise NotImplementedError

    assert mute_session(NoMute(), True) is False
    assert mute_session(object(), True) is False


async def test_no_session_or_disconnected_session_drops_audio(scripted) -> None:
    session, transport = scripted
    Mic()._deliver(b"\x00\x00")  # no session: nothing to do
    mic = Mic(session)
    mic._deliver(b"\x00\x00")  # not connected yet
    mic._deliver(b"\x00")  # odd length: not PCM16
    assert mic.chunks == 1
    assert transport.sent_of_type("input_audio_buffer.append") == []


async def test_chunk_length_is_checked() -> None:
    with pytest.raises(traitlets.TraitError):
        Mic(chunk_ms=500)
    assert Mic(chunk_ms=40).chunk_ms == 40


async def test_the_bench_mic_keeps_page_and_kernel_times_of_stamped_chunks(scripted) -> None:
    session, _transport = scripted
    mic = BenchMic(session)
    assert mic.bench and "bench" not in Mic.class_trait_names()  # only it asks the page
    await session.connect()
    sent_at = time.time() * 1000
    chunk = b"\x01\x00" * 240
    stamped = {"type": "audio", "t": sent_at}
    from_thread(mic._on_browser_message, mic, stamped, [memoryview(chunk)])
    from_thread(mic._on_browser_message, mic, {"type": "audio", "t": "x"}, [memoryview(chunk)])
    await until(lambda: mic.chunks == 2)  # both delivered; only the stamped one timed
    [(page, kernel)] = mic.stamps
    assert page == sent_at / 1000 and page <= kernel <= time.time()
