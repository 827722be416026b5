"""3. Audio path: ``send_audio`` throughput and resampling throughput, as multiples of real time.

* ``send_audio``: a connected rtnb session queues 20 ms PCM16 chunks (24 kHz mono, as the mic
  widget sends them); the session's writer hands each ``input_audio_buffer.append`` event (base64
  audio) to a transport that serialises it to the JSON text frame (``encode``) and drops it. The
  clock stops when the last frame is serialised.
* the same framing without the session (``append_audio`` + ``encode``), for context.
* ``resample_pcm16`` for the rates the local server and the widgets use.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import numpy as np

from bench.common import Row, median, timed

BENCH = "3 audio"
CHUNK_MS = 20


def _speechlike_pcm(seconds: float, rate: int) -> bytes:
    rng = np.random.default_rng(0)
    t = np.arange(int(seconds * rate)) / rate
    signal = 0.3 * np.sin(2 * np.pi * 180 * t) * (1 + np.sin(2 * np.pi * 3 * t))
    signal += 0.05 * rng.standard_normal(t.size)
    return (np.clip(signal, -1, 1) * 32767).astype("<i2").tobytes()


class FramingTransport:
    """Serialises every client event like the WebSocket transport, then drops it."""

    backend = "bench"

    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.appends = 0
        self.done = asyncio.Event()

    async def connect(self) -> None:
        pass

    async def send(self, event: dict[str, Any]) -> None:
        from rtnb.protocol.events import encode

        encode(event)
        if event["type"] == "input_audio_buffer.append":
            self.appends += 1
            if self.appends == self.expected:
                self.done.set()

    async def receive(self) -> Any:
        await asyncio.Event().wait()
        yield  # pragma: no cover

    async def close(self) -> None:
        pass


async def _send_audio_seconds(chunks: list[bytes]) -> float:
    from bench.replay import rtnb_agent
    from rtnb import RealtimeSession

    transport = FramingTransport(len(chunks))
    session = RealtimeSession(rtnb_agent(), transport=transport)
    await session.connect()
    await asyncio.sleep(0.01)
    start = time.perf_counter()
    for number, piece in enumerate(chunks, 1):
        session.send_audio(piece)
        if number % 50 == 0:  # a second of audio: the writer drains the (bounded) queue
            await asyncio.sleep(0)
    await asyncio.wait_for(transport.done.wait(), 60)
    seconds = time.perf_counter() - start
    await session.close()
    return seconds


def _frame_only(chunks: list[bytes]) -> None:
    from rtnb.protocol.client_events import append_audio
    from rtnb.protocol.events import encode

    for piece in chunks:
        encode(append_audio(piece))


def run(quick: bool = False) -> list[Row]:
    from rtnb.protocol.audio import SAMPLE_RATE, chunk, resample_pcm16

    rounds = 3 if quick else 7
    audio_s = 20.0 if quick else 60.0
    pcm = _speechlike_pcm(audio_s, SAMPLE_RATE)
    chunks = chunk(pcm, CHUNK_MS)
    session_x: list[float] = []
    frame_x: list[float] = []
    resample_cases = [
        (22_050, 24_000, "TTS 22.05 -> 24 kHz"),
        (48_000, 24_000, "mic 48 -> 24 kHz"),
        (24_000, 16_000, "STT 24 -> 16 kHz"),
    ]
    sources = {src: _speechlike_pcm(10.0, src) for src, _, _ in resample_cases}
    resample_x: dict[str, list[float]] = {label: [] for *_, label in resample_cases}
    for _ in range(rounds):
        session_x.append(audio_s / asyncio.run(_send_audio_seconds(chunks)))
        frame_x.append(audio_s / timed(lambda: _frame_only(chunks)))
        for src, dst, label in resample_cases:
            data = sources[src]
            resample_x[label].append(
                10.0 / timed(lambda d=data, s=src, t=dst: resample_pcm16(d, s, t))
            )
    rows = [
        Row(
            BENCH,
            f"send_audio, {CHUNK_MS} ms chunks -> JSON frame",
            median(session_x),
            "x real time",
            note=f"{audio_s:.0f} s of 24 kHz PCM16 through a connected session",
            runs=session_x,
        ),
        Row(
            BENCH,
            "append_audio + encode only",
            median(frame_x),
            "x real time",
            runs=frame_x,
        ),
    ]
    rows += [
        Row(BENCH, f"resample {label}", median(values), "x real time", runs=values)
        for label, values in resample_x.items()
    ]
    return rows
