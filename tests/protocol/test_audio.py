"""Unit tests of rtnb.protocol.audio (PCM16 framing, durations, resampling, chunking)."""

from __future__ import annotations

import base64

import numpy as np
import pytest

from rtnb.protocol.audio import (
    SAMPLE_RATE,
    AudioFormatError,
    bytes_for_ms,
    chunk,
    decode_audio,
    decoded_size,
    duration_ms,
    encode_audio,
    resample,
    resample_pcm16,
    to_bytes,
    to_int16,
)


def sine(freq: float, seconds: float, rate: int, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(round(seconds * rate)) / rate
    return amplitude * np.sin(2 * np.pi * freq * t)


def peak_hz(samples: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples.astype(np.float64) * np.hanning(samples.size)))
    return float(np.fft.rfftfreq(samples.size, 1 / rate)[np.argmax(spectrum)])


def test_sample_rate_is_24k() -> None:
    assert SAMPLE_RATE == 24_000


def test_base64_roundtrip() -> None:
    pcm = to_bytes(sine(440, 0.1, SAMPLE_RATE))
    text = encode_audio(pcm)
    assert isinstance(text, str)
    assert text == base64.b64encode(pcm).decode()
    assert decode_audio(text) == pcm
    assert decode_audio(encode_audio(b"")) == b""


def test_odd_length_is_rejected() -> None:
    with pytest.raises(AudioFormatError, match="odd number of bytes"):
        decode_audio(encode_audio(b"\x00\x01\x02"))


@pytest.mark.parametrize("text", ["not base64!", "AAA", "ab$d"])
def test_invalid_base64_is_rejected(text: str) -> None:
    with pytest.raises(AudioFormatError, match="base64"):
        decode_audio(text)


@pytest.mark.parametrize("n_bytes", [0, 2, 4, 6, 8, 10, 480, 4802])
def test_decoded_size_is_the_length_of_the_decoded_audio(n_bytes: int) -> None:
    text = encode_audio((bytes(range(256)) * 20)[:n_bytes])
    assert decoded_size(text) == len(decode_audio(text)) == n_bytes


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("AAA", "multiple of 4"),
        ("AAAAé==", "multiple of 4"),
        ("AAAAAAA=", "odd number"),
        ("AA==", "odd"),
    ],
)
def test_decoded_size_rejects_what_cannot_be_pcm16_base64(text: str, message: str) -> None:
    with pytest.raises(AudioFormatError, match=message):
        decoded_size(text)


def test_audio_format_error_is_value_error() -> None:
    assert issubclass(AudioFormatError, ValueError)


def test_duration() -> None:
    assert duration_ms(b"\x00" * 48_000) == pytest.approx(1000.0)
    assert duration_ms(48) == pytest.approx(1.0)
    assert duration_ms(32_000, sample_rate=16_000) == pytest.approx(1000.0)
    assert duration_ms(b"") == 0.0


def test_bytes_for_ms() -> None:
    assert bytes_for_ms(1000) == 48_000
    assert bytes_for_ms(20) == 960
    assert bytes_for_ms(20, sample_rate=16_000) == 640
    assert bytes_for_ms(0.03) == 0  # less than one sample
    assert bytes_for_ms(0.05) % 2 == 0
    assert duration_ms(bytes_for_ms(40)) == pytest.approx(40.0)


def test_int16_conversion() -> None:
    samples = np.array([0.0, 0.5, -0.5, 1.0, -1.0, 2.0, -2.0])
    pcm = to_bytes(samples)
    assert len(pcm) == 2 * samples.size
    back = to_int16(pcm)
    assert back.dtype == np.dtype("<i2")
    assert back.tolist() == [0, 16384, -16384, 32767, -32767, 32767, -32768]
    ints = np.array([1, -2, 300], dtype=np.int16)
    assert to_int16(to_bytes(ints)).tolist() == [1, -2, 300]
    assert pcm[2:4] == (16384).to_bytes(2, "little", signed=True)


@pytest.mark.parametrize(
    ("from_rate", "to_rate"),
    [(24_000, 16_000), (16_000, 24_000), (22_050, 24_000), (48_000, 24_000)],
)
def test_resample_keeps_length_and_frequency(from_rate: int, to_rate: int) -> None:
    source = sine(440, 1.0, from_rate)
    out = resample(source, from_rate, to_rate)
    assert out.dtype == source.dtype
    assert out.size == round(source.size * to_rate / from_rate)
    assert abs(peak_hz(out, to_rate) - 440) <= 1.0
    assert np.max(np.abs(out)) == pytest.approx(0.5, abs=0.01)


def test_resample_int16_keeps_dtype_and_peak_bin() -> None:
    pcm = to_bytes(sine(440, 1.0, 24_000))
    out = resample_pcm16(pcm, 24_000, 16_000)
    samples = to_int16(out)
    assert len(out) == 2 * 16_000
    assert abs(peak_hz(samples, 16_000) - 440) <= 1.0
    assert np.max(np.abs(samples.astype(int))) == pytest.approx(16384, rel=0.01)


def test_resample_same_rate_and_empty() -> None:
    x = np.arange(10, dtype=np.int16)
    same = resample(x, 24_000, 24_000)
    assert np.array_equal(same, x) and same is not x
    assert resample(np.zeros(0), 24_000, 16_000).size == 0


def test_resample_rejects_bad_rates() -> None:
    with pytest.raises(ValueError):
        resample(np.zeros(4), 0, 16_000)
    with pytest.raises(ValueError):
        resample(np.zeros(4), 16_000, -1)


def test_chunking() -> None:
    pcm = bytes(range(256)) * 40  # 10240 bytes = 5120 samples
    pieces = chunk(pcm, 40)
    assert b"".join(pieces) == pcm
    assert all(len(p) == 1920 for p in pieces[:-1])
    assert len(pieces) == 6 and len(pieces[-1]) == 10240 - 5 * 1920
    assert chunk(b"", 20) == []
    assert [len(p) for p in chunk(b"\x00" * 640, 20, sample_rate=16_000)] == [640]
    # A chunk size below one sample still makes whole-sample chunks.
    assert [len(p) for p in chunk(b"\x00" * 6, 0.001)] == [2, 2, 2]
