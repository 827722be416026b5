"""Silero VAD (the real v6 ONNX model) finding spoken turns in several voices under noise."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from rtnb.local.speech import silero
from rtnb.local.speech.tts import synthesize
from rtnb.local.speech.vad import (
    ServerVad,
    SpeechStarted,
    SpeechStopped,
    VadEvent,
    default_vad_engine,
    vad_engines_available,
)
from rtnb.protocol.audio import SAMPLE_RATE, chunk


@pytest.fixture(autouse=True, scope="module")
def silero_installed() -> None:
    """Silero is a test dependency (the speech extra): missing, these tests fail, never skip."""
    assert silero.available(), "onnxruntime or faster-whisper's Silero model is missing"


SR = SAMPLE_RATE
# Voices other than the user's default voice, two accents, male and female.
SENTENCES = [
    ("en-us+m3", "Who wrote the novel Pride and Prejudice?"),
    ("en", "Please cancel my order number four two seven."),
    ("en-us+f2", "Tell me the time in Lima."),
    ("en-us+m3", "Convert twenty dollars to yen."),
    ("en", "What is the weather like in Tokyo tomorrow?"),
    ("en-us+f2", "Book a table for two at eight."),
]


def white(n: int, rng: np.random.Generator) -> np.ndarray:
    return rng.normal(0.0, 1.0, n)


def pink(n: int, rng: np.random.Generator) -> np.ndarray:
    """Noise with power falling as 1/f (random phases, amplitude 1/sqrt(f))."""
    freqs = np.fft.rfftfreq(n, 1 / SR)
    spectrum = rng.normal(size=freqs.size) + 1j * rng.normal(size=freqs.size)
    spectrum[0] = 0.0
    spectrum[1:] /= np.sqrt(freqs[1:])
    return np.fft.irfft(spectrum, n)


def music(n: int, rng: np.random.Generator) -> np.ndarray:
    """Plucked three-note chords with harmonics, a new chord every third of a second."""
    out = np.zeros(n)
    note = SR // 3
    t = np.arange(note) / SR
    envelope = np.minimum(1.0, t / 0.01) * np.exp(-3.0 * t)
    for start in range(0, n, note):
        size = min(note, n - start)
        for f0 in rng.choice([220.0, 262.0, 294.0, 330.0, 392.0, 440.0, 523.0], 3, replace=False):
            for h in (1, 2, 3):
                out[start : start + size] += (envelope * np.sin(2 * np.pi * f0 * h * t))[:size] / h
    return out


NOISES = {"white": white, "pink": pink, "music": music}


def mixed_stream(noise: str | None, snr_db: float, seed: int = 0) -> tuple[bytes, list[int]]:
    """The sentences with 1.2-1.8 s gaps over ``noise`` at ``snr_db``; returns audio and onsets."""
    rng = np.random.default_rng(seed)
    clips = [np.frombuffer(synthesize(t, voice=v), "<i2").astype(float) for v, t in SENTENCES]
    parts, onsets, pos = [np.zeros(SR)], [], SR
    for clip in clips:
        gap = int(SR * rng.uniform(1.2, 1.8))
        onsets.append(pos * 1000 // SR)
        parts += [clip, np.zeros(gap)]
        pos += clip.size + gap
    x = np.concatenate(parts)
    if noise is not None:
        speech_power = np.mean([np.mean(c**2) for c in clips])
        n = NOISES[noise](x.size, rng)
        x += n / n.std() * np.sqrt(speech_power / 10 ** (snr_db / 10))
    return np.clip(np.rint(x), -32768, 32767).astype("<i2").tobytes(), onsets


def feed_all(vad: ServerVad, audio: bytes, chunk_ms: float = 20) -> list[VadEvent]:
    return [e for part in chunk(audio, chunk_ms) for e in vad.feed(part)]


@pytest.fixture(scope="module")
def streams() -> dict[str, tuple[bytes, list[int]]]:
    return {
        "clean": mixed_stream(None, 0.0),
        "white 5 dB": mixed_stream("white", 5.0, seed=1),
        "pink 10 dB": mixed_stream("pink", 10.0, seed=2),
        "music 10 dB": mixed_stream("music", 10.0, seed=3),
    }


@pytest.mark.parametrize("condition", ["clean", "white 5 dB", "pink 10 dB", "music 10 dB"])
def test_finds_each_spoken_turn_under_noise(
    streams: dict[str, tuple[bytes, list[int]]], condition: str
) -> None:
    audio, onsets = streams[condition]
    vad = ServerVad(engine="silero")
    events = feed_all(vad, audio)
    assert [type(e).__name__ for e in events] == ["SpeechStarted", "SpeechStopped"] * len(onsets)
    assert not vad.in_speech, "a turn never ended"
    starts = [e.audio_start_ms for e in events if isinstance(e, SpeechStarted)]
    for start, onset in zip(starts, onsets, strict=True):
        # No false start just before the sentence, and the default 300 ms of prefix padding
        # reaches back to the first word.
        assert onset - 50 <= start <= onset + 300
    # Each turn ends before the next sentence begins.
    ends = [e.audio_end_ms for e in events if isinstance(e, SpeechStopped)]
    assert all(end < onset for end, onset in zip(ends, onsets[1:], strict=False))


@pytest.mark.parametrize("chunk_ms", [7, 100, 333 / 48, None])
def test_turns_do_not_depend_on_chunk_size(
    streams: dict[str, tuple[bytes, list[int]]], chunk_ms: float | None
) -> None:
    audio, _ = streams["pink 10 dB"]
    reference = feed_all(ServerVad(engine="silero"), audio)
    vad = ServerVad(engine="silero")
    if chunk_ms is None:
        events = vad.feed(audio)
    elif chunk_ms == 333 / 48:  # odd byte counts split samples across chunks
        events = [e for i in range(0, len(audio), 333) for e in vad.feed(audio[i : i + 333])]
    else:
        events = feed_all(vad, audio, chunk_ms)
    assert events == reference


def test_the_model_separates_speech_from_noise(
    streams: dict[str, tuple[bytes, list[int]]],
) -> None:
    audio, onsets = streams["white 5 dB"]
    probs = silero.speech_probabilities(audio, SR)
    frame_ms = silero.FRAME_MS
    first_word = probs[(onsets[0] + 100) // frame_ms : (onsets[0] + 600) // frame_ms]
    leading_noise = probs[: (onsets[0] - 100) // frame_ms]
    assert np.median(first_word) > 0.8
    assert np.median(leading_noise) < 0.1
    # The recurrent state is carried across frames: classifying each frame with a fresh state
    # (a model without memory) gives different answers.
    frame = SR * frame_ms // 1000
    samples = np.frombuffer(audio, "<i2")[: frame * 60].reshape(60, frame)
    memoryless = np.array(
        [silero.SileroDetector(0.5, SR).probabilities(f[None])[0] for f in samples]
    )
    assert np.abs(memoryless - probs[:60]).max() > 0.05


def test_threshold_is_the_speech_probability_with_hysteresis(
    streams: dict[str, tuple[bytes, list[int]]],
) -> None:
    audio, _ = streams["pink 10 dB"]
    frame = SR * silero.FRAME_MS // 1000
    samples = np.frombuffer(audio, "<i2")
    frames = samples[: samples.size // frame * frame].reshape(-1, frame)
    probs = silero.SileroDetector(0.5, SR).probabilities(frames)
    counts = {}
    for threshold in (0.3, 0.5, 0.8):
        voiced = silero.SileroDetector(threshold, SR).voiced(frames)
        release = threshold - silero.HYSTERESIS
        active = [
            p >= threshold or (was and p >= release)
            for p, was in zip(probs, [False, *voiced], strict=False)
        ]
        assert voiced == active
        counts[threshold] = sum(voiced)
    assert counts[0.3] > counts[0.5] > counts[0.8] > 0


def test_frames_are_32_ms_and_silence_counts_in_them(
    streams: dict[str, tuple[bytes, list[int]]],
) -> None:
    audio, _ = streams["clean"]
    vad = ServerVad(engine="silero")
    assert (vad.engine, vad.frame_ms) == ("silero", 32)
    seen = set()
    for part in chunk(audio, 20):
        vad.feed(part)
        seen.add(vad.silence_ms)
    assert max(seen) < 500 + 32 and all(ms % 32 == 0 for ms in seen)


def test_one_session_per_process() -> None:
    first = silero.SileroDetector(0.5, SR)
    second = silero.SileroDetector(0.5, 16_000)
    assert first._session is second._session


def test_engine_choice() -> None:
    assert vad_engines_available() == ["silero", "webrtc"]
    assert default_vad_engine() == "silero"
    assert ServerVad().engine == "silero"
    assert ServerVad(engine="webrtc").engine == "webrtc"
    assert ServerVad(engine="webrtc").frame_ms == 20
    with pytest.raises(ValueError, match="vad engine 'neural'"):
        ServerVad(engine="neural")
    # 22.05 kHz does not give whole 32 ms frames: auto takes webrtc, an explicit silero refuses.
    assert ServerVad(sample_rate=22_050).engine == "webrtc"
    with pytest.raises(ValueError, match="sample_rate"):
        ServerVad(sample_rate=22_050, engine="silero")


def test_a_corrupt_model_file_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    bad = tmp_path / "silero_vad_v6.onnx"
    bad.write_bytes(b"not an onnx graph")
    with pytest.raises(silero.SileroModelError, match=str(bad)):
        silero.SileroDetector(0.5, SR, model=bad)
    with pytest.raises(silero.SileroModelError, match="not found"):
        silero.SileroDetector(0.5, SR, model=tmp_path / "missing.onnx")
    monkeypatch.setattr(silero, "model_path", lambda: bad)
    with pytest.raises(silero.SileroModelError, match=str(bad)):
        ServerVad(engine="silero")
    with caplog.at_level(logging.WARNING):
        assert ServerVad().engine == "webrtc"  # auto falls back and says why
    assert str(bad) in caplog.text


def test_without_onnxruntime_auto_is_webrtc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(silero, "available", lambda: False)
    assert vad_engines_available() == ["webrtc"]
    assert ServerVad().engine == "webrtc"
    with pytest.raises(silero.SileroModelError, match="onnxruntime"):
        ServerVad(engine="silero")
