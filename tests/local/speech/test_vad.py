"""Tests for the sans-I/O server VAD, on espeak-ng speech with silence and noise around it.

The turn logic is common to the frame detectors, so most tests run for each installed engine.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from rtnb.local.speech.tts import synthesize
from rtnb.local.speech.vad import (
    NOISE_WINDOW_MS,
    IdleTimeout,
    ServerVad,
    SpeechStarted,
    SpeechStopped,
    VadConfig,
    VadEvent,
    vad_engines_available,
)
from rtnb.protocol.audio import SAMPLE_RATE, bytes_for_ms, chunk, duration_ms, resample

SR = SAMPLE_RATE


def silence(ms: int) -> np.ndarray:
    return np.zeros(SR * ms // 1000)


def noise(ms: int, dbfs: float = -50.0, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.normal(0.0, 32768.0 * 10 ** (dbfs / 20), SR * ms // 1000)


def pcm(*parts: np.ndarray) -> bytes:
    samples = np.concatenate(parts)
    return np.clip(np.rint(samples), -32768, 32767).astype("<i2").tobytes()


def feed_all(vad: ServerVad, audio: bytes, chunk_ms: float = 20) -> list[VadEvent]:
    events: list[VadEvent] = []
    for part in chunk(audio, chunk_ms):
        events += vad.feed(part)
    return events


def kinds(events: list[VadEvent]) -> list[str]:
    return [type(e).__name__ for e in events]


@pytest.fixture(params=["webrtc", "silero"])
def engine(request: pytest.FixtureRequest) -> str:
    # Both engines are test dependencies (Silero through the speech extra): missing, the tests
    # of that engine fail, never skip.
    assert request.param in vad_engines_available(), f"{request.param} VAD is not installed"
    return request.param


def spoken(text: str) -> np.ndarray:
    return np.frombuffer(synthesize(text, voice="en-us+m3"), "<i2").astype(np.float64)


@pytest.fixture(scope="module")
def speech() -> np.ndarray:
    return spoken("What is the weather in Paris?")


@pytest.fixture(scope="module")
def speech2() -> np.ndarray:
    return spoken("Book a table for two.")


def edges_ms(samples: np.ndarray) -> tuple[float, float]:
    """First and last moment the signal is clearly audible (10 ms windows above -50 dBFS)."""
    win = SR // 100
    frames = samples[: samples.size // win * win].reshape(-1, win)
    level = 10 * np.log10(np.maximum((frames**2).mean(axis=1), 1e-10) / 32768.0**2)
    loud = np.flatnonzero(level > -50)
    return loud[0] * 10.0, (loud[-1] + 1) * 10.0


@pytest.mark.parametrize("pad", ["zeros", "noise"])
def test_one_utterance_gives_one_turn(engine: str, speech: np.ndarray, pad: str) -> None:
    def padding(seed: int) -> np.ndarray:
        return silence(1000) if pad == "zeros" else noise(1000, seed=seed)

    audio = pcm(padding(1), speech, padding(2))
    onset, offset = edges_ms(speech)
    vad = ServerVad(engine=engine)
    events = feed_all(vad, audio)

    assert kinds(events) == ["SpeechStarted", "SpeechStopped"]
    started, stopped = events
    assert isinstance(started, SpeechStarted) and isinstance(stopped, SpeechStopped)
    assert abs(started.audio_start_ms - (1000 + onset)) <= 150
    # Silero's speech probability fades over ~150 ms after the last word in noise.
    late = 150 if engine == "webrtc" else 250
    assert abs(stopped.audio_end_ms - (1000 + offset + 500)) <= late
    # The turn is prefix padding + speech + closing silence, and holds the whole utterance.
    turn_ms = duration_ms(stopped.audio)
    assert turn_ms == stopped.audio_end_ms - (started.audio_start_ms - 300)
    assert turn_ms >= duration_ms(speech.size * 2) + 300
    turn = np.frombuffer(stopped.audio, "<i2")
    first = SR * (started.audio_start_ms - 300) // 1000
    assert np.array_equal(turn, np.frombuffer(audio, "<i2")[first : first + turn.size])
    assert vad.position_ms == 2000 + speech.size * 1000 // SR
    assert not vad.in_speech


def test_in_speech_tracks_the_turn(engine: str, speech: np.ndarray) -> None:
    vad = ServerVad(engine=engine)
    seen = []
    for part in chunk(pcm(silence(500), speech, silence(1000)), 20):
        vad.feed(part)
        seen.append(vad.in_speech)
    assert seen[0] is False and seen[-1] is False
    assert sum(seen) * 20 >= duration_ms(speech.size * 2)


def test_two_utterances_separated_by_silence_give_two_turns(
    engine: str, speech: np.ndarray, speech2: np.ndarray
) -> None:
    audio = pcm(noise(800, seed=3), speech, noise(1500, seed=4), speech2, noise(1000, seed=5))
    events = feed_all(ServerVad(engine=engine), audio)
    assert kinds(events) == ["SpeechStarted", "SpeechStopped"] * 2
    second_start = 800 + duration_ms(speech.size * 2) + 1500
    assert isinstance(events[2], SpeechStarted)
    assert abs(events[2].audio_start_ms - second_start) <= 150
    # The second turn's padding comes from the gap, never from the first turn's audio.
    assert isinstance(events[1], SpeechStopped) and isinstance(events[3], SpeechStopped)
    assert events[3].audio_end_ms - duration_ms(events[3].audio) >= events[1].audio_end_ms


def test_short_pause_does_not_end_the_turn(
    engine: str, speech: np.ndarray, speech2: np.ndarray
) -> None:
    audio = pcm(silence(1000), speech, silence(200), speech2, silence(1000))
    one_turn = feed_all(ServerVad(VadConfig(silence_duration_ms=500), engine=engine), audio)
    assert kinds(one_turn) == ["SpeechStarted", "SpeechStopped"]
    # The same pause does end a turn when the configured silence is shorter than it.
    two_turns = feed_all(ServerVad(VadConfig(silence_duration_ms=100), engine=engine), audio)
    assert kinds(two_turns) == ["SpeechStarted", "SpeechStopped"] * 2
    # The pause is shorter than the prefix padding: the second turn starts where the first ended.
    first_end, second = two_turns[1], two_turns[3]
    assert isinstance(first_end, SpeechStopped) and isinstance(second, SpeechStopped)
    assert second.audio_end_ms - duration_ms(second.audio) == first_end.audio_end_ms
    assert ServerVad(VadConfig(silence_duration_ms=100), engine=engine).feed(audio) == two_turns


def hears_a_turn_next(vad: ServerVad, speech: np.ndarray) -> None:
    """The control of a "no events" test: the same detector then finds a spoken turn (a detector
    that never fires would pass the test without it)."""
    assert kinds(feed_all(vad, pcm(speech, silence(900)))) == ["SpeechStarted", "SpeechStopped"]


@pytest.mark.parametrize(
    "audio",
    [
        pcm(silence(5000)),
        pcm(noise(5000)),
        pcm(noise(5000, dbfs=-35.0)),
        pcm(silence(1000), noise(4000, seed=7)),
    ],
    ids=["zeros", "noise-50dB", "noise-35dB", "zeros-then-noise"],
)
def test_silence_or_noise_alone_gives_no_events(
    engine: str, audio: bytes, speech: np.ndarray
) -> None:
    vad = ServerVad(engine=engine)
    assert feed_all(vad, audio) == []
    assert not vad.in_speech
    hears_a_turn_next(vad, speech)


def test_a_click_does_not_start_a_turn(engine: str, speech: np.ndarray) -> None:
    click = np.zeros(SR // 100)
    click[:48] = 20000.0 * np.hanning(48)
    vad = ServerVad(engine=engine)
    assert feed_all(vad, pcm(silence(500), click, silence(500))) == []
    hears_a_turn_next(vad, speech)


@pytest.mark.parametrize("chunk_ms", [7, 20, 100, 333 / 48])
def test_events_do_not_depend_on_chunk_size(
    engine: str, speech: np.ndarray, speech2: np.ndarray, chunk_ms: float
) -> None:
    audio = pcm(noise(700, seed=8), speech, noise(1500, seed=9), speech2, noise(900, seed=10))
    reference = feed_all(ServerVad(engine=engine), audio, chunk_ms=20)
    assert len(reference) == 4
    if chunk_ms == 333 / 48:  # odd byte counts: chunks split samples in half
        vad = ServerVad(engine=engine)
        events = [e for i in range(0, len(audio), 333) for e in vad.feed(audio[i : i + 333])]
    else:
        events = feed_all(ServerVad(engine=engine), audio, chunk_ms=chunk_ms)
    assert events == reference


def test_everything_at_once_matches_streaming(engine: str, speech: np.ndarray) -> None:
    audio = pcm(silence(600), speech, silence(900))
    streamed = feed_all(ServerVad(engine=engine), audio)
    assert kinds(streamed) == ["SpeechStarted", "SpeechStopped"]  # the turn is found
    started, stopped = streamed
    assert isinstance(started, SpeechStarted) and isinstance(stopped, SpeechStopped)
    assert abs(started.audio_start_ms - (600 + edges_ms(speech)[0])) <= 150
    assert duration_ms(stopped.audio) >= duration_ms(speech.size * 2)
    assert ServerVad(engine=engine).feed(audio) == streamed


def test_webrtc_threshold_changes_what_counts_as_speech(speech: np.ndarray) -> None:
    quiet = pcm(silence(1000), speech * 0.01, silence(1000))  # 40 dB down: about -55 dBFS

    def vad(threshold: float) -> ServerVad:
        return ServerVad(VadConfig(threshold=threshold), engine="webrtc")

    assert kinds(feed_all(vad(0.1), quiet)) == ["SpeechStarted", "SpeechStopped"]
    assert feed_all(vad(0.5), quiet) == []
    assert feed_all(vad(0.95), quiet) == []
    # Normal-level speech is still speech at a high threshold.
    loud = pcm(silence(1000), speech, silence(1000))
    assert len(feed_all(vad(0.95), loud)) == 2


@pytest.mark.parametrize("dbfs", [-45.0, -35.0, -25.0])
def test_a_sudden_steady_noise_does_not_hold_a_turn_open(engine: str, dbfs: float) -> None:
    # After digital silence a noise onset looks like any new sound and may open a turn, but the
    # noise floor catches up within NOISE_WINDOW_MS and the turn ends.
    events = feed_all(ServerVad(engine=engine), pcm(silence(1000), noise(8000, dbfs=dbfs, seed=11)))
    assert kinds(events) in ([], ["SpeechStarted", "SpeechStopped"])
    if events:
        assert isinstance(events[1], SpeechStopped)
        assert events[1].audio_end_ms <= 1000 + NOISE_WINDOW_MS + 500 + 100


def test_prefix_padding_sets_how_much_audio_precedes_the_speech(
    engine: str, speech: np.ndarray
) -> None:
    audio = pcm(silence(1000), speech, silence(1000))
    for padding in (0, 300, 700):
        events = feed_all(ServerVad(VadConfig(prefix_padding_ms=padding), engine=engine), audio)
        started, stopped = events
        assert isinstance(started, SpeechStarted) and isinstance(stopped, SpeechStopped)
        turn_start = stopped.audio_end_ms - duration_ms(stopped.audio)
        assert turn_start == started.audio_start_ms - padding


def test_other_sample_rates(engine: str, speech: np.ndarray) -> None:
    at_16k = resample(np.concatenate([silence(1000), speech, silence(1000)]), SR, 16_000)
    vad = ServerVad(sample_rate=16_000, engine=engine)
    events = vad.feed(at_16k.astype("<i2").tobytes())
    assert kinds(events) == ["SpeechStarted", "SpeechStopped"]
    assert isinstance(events[0], SpeechStarted) and abs(events[0].audio_start_ms - 1000) <= 150
    assert vad.position_ms == at_16k.size * 1000 // 16_000
    with pytest.raises(ValueError, match="sample_rate"):
        ServerVad(sample_rate=11_025, engine=engine)


def test_memory_stays_bounded_outside_speech(engine: str) -> None:
    vad = ServerVad(VadConfig(prefix_padding_ms=300), engine=engine)
    feed_all(vad, pcm(noise(10_000, seed=12)), chunk_ms=50)
    assert vad.position_ms == 10_000
    assert duration_ms(vad.flush()) <= 300 + 50 + 20


def test_flush_returns_the_turn_so_far_and_resets(engine: str, speech: np.ndarray) -> None:
    vad = ServerVad(engine=engine)
    audio = pcm(silence(1000), speech)
    events = feed_all(vad, audio[: bytes_for_ms(1600)])
    assert kinds(events) == ["SpeechStarted"] and vad.in_speech
    assert isinstance(events[0], SpeechStarted)
    committed = vad.flush()
    first = bytes_for_ms(events[0].audio_start_ms - 300)
    assert committed == audio[first : bytes_for_ms(1600)]
    assert not vad.in_speech
    assert vad.flush() == b""
    assert vad.position_ms == 1600


def test_flush_without_speech_returns_the_recent_audio(engine: str) -> None:
    vad = ServerVad(engine=engine)
    audio = pcm(noise(250, seed=13))
    vad.feed(audio)
    assert vad.flush() == audio  # shorter than the prefix padding, so all of it is kept
    assert vad.flush() == b""


def test_clear_drops_the_turn_in_progress(engine: str, speech: np.ndarray) -> None:
    vad = ServerVad(engine=engine)
    feed_all(vad, pcm(silence(1000), speech)[: bytes_for_ms(1600)])
    assert vad.in_speech
    vad.clear()
    assert not vad.in_speech
    assert vad.flush() == b""
    assert feed_all(vad, pcm(silence(1500))) == []  # no SpeechStopped for the dropped turn
    assert vad.position_ms == 3100
    # Detection carries on normally afterwards.
    assert kinds(feed_all(vad, pcm(speech, silence(1000)))) == ["SpeechStarted", "SpeechStopped"]


def test_idle_timeout_fires_once_after_a_turn(engine: str, speech: np.ndarray) -> None:
    vad = ServerVad(VadConfig(idle_timeout_ms=2000), engine=engine)
    events = feed_all(vad, pcm(silence(3000), speech, silence(6000)))
    assert kinds(events) == ["SpeechStarted", "SpeechStopped", "IdleTimeout"]
    stopped, idle = events[1], events[2]
    assert isinstance(stopped, SpeechStopped) and isinstance(idle, IdleTimeout)
    assert idle == IdleTimeout(stopped.audio_end_ms, stopped.audio_end_ms + 2000)


def test_speech_before_the_idle_timeout_restarts_it(engine: str, speech: np.ndarray) -> None:
    vad = ServerVad(VadConfig(idle_timeout_ms=2000), engine=engine)
    # The first turn's timer would expire during the second utterance.
    events = feed_all(vad, pcm(speech, silence(1200), speech, silence(3000)))
    assert kinds(events) == ["SpeechStarted", "SpeechStopped"] * 2 + ["IdleTimeout"]
    last_stop = events[3]
    assert isinstance(last_stop, SpeechStopped)
    assert events[4] == IdleTimeout(last_stop.audio_end_ms, last_stop.audio_end_ms + 2000)


def test_speech_disarms_the_idle_timer(engine: str, speech: np.ndarray) -> None:
    vad = ServerVad(VadConfig(idle_timeout_ms=2000), engine=engine)
    events = feed_all(vad, pcm(speech, silence(1000), speech[: SR // 2]))
    assert kinds(events) == ["SpeechStarted", "SpeechStopped", "SpeechStarted"]
    vad.clear()  # the turn is dropped; the timer from the first turn must not come back
    assert feed_all(vad, pcm(silence(4000))) == []


def test_idle_timer_can_be_armed_explicitly(engine: str) -> None:
    vad = ServerVad(VadConfig(idle_timeout_ms=1000), engine=engine)
    assert feed_all(vad, pcm(silence(1500))) == []  # nothing to time out from yet
    vad.arm_idle_timer()
    assert feed_all(vad, pcm(silence(1500))) == [IdleTimeout(1500, 2500)]
    vad.arm_idle_timer(at_ms=2600)  # e.g. when the reply finished playing
    assert vad.feed(pcm(silence(500))) == []
    assert vad.feed(pcm(silence(500))) == [IdleTimeout(2600, 3600)]
    no_timeout = ServerVad(engine=engine)
    no_timeout.arm_idle_timer()
    assert no_timeout.feed(pcm(silence(5000))) == []


def test_from_turn_detection_reads_server_vad() -> None:
    config = VadConfig.from_turn_detection(
        {
            "type": "server_vad",
            "threshold": 0.7,
            "prefix_padding_ms": 200,
            "silence_duration_ms": 650.0,
            "idle_timeout_ms": 6000,
            "create_response": True,
            "interrupt_response": False,
            "something_new": 1,
        }
    )
    assert config == VadConfig(0.7, 200, 650, 6000)
    assert isinstance(config.silence_duration_ms, int)
    assert VadConfig.from_turn_detection({"type": "server_vad"}) == VadConfig()
    assert VadConfig.from_turn_detection({"type": "server_vad", "idle_timeout_ms": None}) == (
        VadConfig()
    )


@pytest.mark.parametrize(
    ("eagerness", "silence_ms"), [("low", 800), ("medium", 500), ("high", 300), ("auto", 500)]
)
def test_from_turn_detection_maps_semantic_vad_eagerness(eagerness: str, silence_ms: int) -> None:
    config = VadConfig.from_turn_detection({"type": "semantic_vad", "eagerness": eagerness})
    assert config == VadConfig(silence_duration_ms=silence_ms)


@pytest.mark.parametrize(
    ("turn_detection", "field"),
    [
        ({"type": "server_vad", "threshold": 1.5}, "threshold"),
        ({"type": "server_vad", "threshold": -0.1}, "threshold"),
        ({"type": "server_vad", "threshold": "high"}, "threshold"),
        ({"type": "server_vad", "prefix_padding_ms": -1}, "prefix_padding_ms"),
        ({"type": "server_vad", "silence_duration_ms": -20}, "silence_duration_ms"),
        ({"type": "server_vad", "silence_duration_ms": "500"}, "silence_duration_ms"),
        ({"type": "server_vad", "idle_timeout_ms": -5}, "idle_timeout_ms"),
        ({"type": "semantic_vad", "eagerness": "turbo"}, "eagerness"),
        ({"type": "push_to_talk"}, "type"),
    ],
)
def test_from_turn_detection_rejects_bad_values(turn_detection: dict, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        VadConfig.from_turn_detection(turn_detection)


def test_config_validates_direct_construction() -> None:
    with pytest.raises(ValueError, match="threshold"):
        VadConfig(threshold=2.0)
    with pytest.raises(ValueError, match="silence_duration_ms"):
        VadConfig(silence_duration_ms=-1)


def test_silence_ms_and_turn_audio_follow_the_turn(
    engine: str, speech: np.ndarray, speech2: np.ndarray
) -> None:
    audio = pcm(silence(800), speech, silence(300), speech2, silence(1000))
    vad = ServerVad(engine=engine)
    assert vad.silence_ms == 0 and vad.turn_audio() == b""
    longest_pause, snapshots, stopped = 0, [], None
    for part in chunk(audio, 20):
        for event in vad.feed(part):
            if isinstance(event, SpeechStopped):
                stopped = event
        if vad.in_speech:
            assert vad.silence_ms % vad.frame_ms == 0
            longest_pause = max(longest_pause, vad.silence_ms)
            snapshot = vad.turn_audio()
            assert vad.turn_audio() == snapshot  # reading does not consume
            snapshots.append(snapshot)
        else:
            assert vad.silence_ms == 0 and vad.turn_audio() == b""
    assert isinstance(stopped, SpeechStopped)
    # The 300 ms pause between the sentences showed, and the closing silence reached 500 ms.
    assert 200 <= longest_pause < 500
    assert snapshots and snapshots[-1] != snapshots[0]
    # Every snapshot is the start of the turn the VAD handed over at the end; the audio grows
    # with the stream (whole samples fed so far).
    assert all(stopped.audio.startswith(s) for s in snapshots)
    assert all(len(a) < len(b) for a, b in itertools.pairwise(snapshots))
