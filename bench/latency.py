"""4. Local server latency and the real-time factors of its speech components.

An rtnb session talks to the embedded server over a loopback WebSocket, once per speech-to-text
engine available (Whisper with the ``speech`` extra, pocketsphinx), side by side. The user's
question is spoken by the local TTS in the voice that engine hears best and streamed like a
microphone: one 20 ms chunk each 20 ms of wall-clock time, sent when the chunk has been "captured";
silence chunks follow at the same pace until the answer is complete. **Speech end** is the wall-
clock moment the last speech sample was captured (= sent). A wrapper around the session's
``WebSocketTransport`` stamps, as each server event is decoded:

* ``input_audio_buffer.speech_stopped`` (server VAD: needs ``silence_duration_ms`` of silence),
* ``conversation.item.input_audio_transcription.completed``,
* the first ``response.output_audio.delta`` of the turn (the spoken answer),
* the last ``response.done`` (the answer's, after any tool call round trip).

Rows are medians over the measured turns (one warm-up turn per session is dropped). The server
streams audio unpaced (``realtime_pacing=False``), so "response done" is when the whole answer was
generated, not when it would have finished playing. Real-time factors: wall time / audio duration
for ``Transcriber.transcribe`` (with the session's vocabulary) and ``synthesize``."""

from __future__ import annotations

import asyncio
import itertools
import time
from typing import Any

from bench.common import Row, TappedTransport, check, ends_turn, median, timed

BENCH = "4 latency"
CHUNK_MS = 20
QUESTIONS = {
    "short": ("Hello there.", "Hello! How can I help you today?"),
    "tool": ("What is the weather in Paris?", "The weather in Paris is sunny and 22 degrees."),
}
INSTRUCTIONS = "You answer questions about the weather. Use the get weather tool."
TURN_TIMEOUT_S = 20.0


class TimingTransport(TappedTransport):
    """Stamps the first arrival of the events of interest."""

    def __init__(self, inner: Any) -> None:
        super().__init__(inner)
        self.marks: dict[str, float] = {}

    def reset(self) -> None:
        self.marks = {}
        self.turn_done.clear()

    def observe(self, event: dict[str, Any]) -> None:
        now = time.perf_counter()
        kind, marks = event.get("type"), self.marks
        if kind == "input_audio_buffer.speech_stopped":
            marks.setdefault("speech_stopped", now)
        elif kind == "conversation.item.input_audio_transcription.completed":
            marks.setdefault("transcript", now)
        elif kind == "response.output_audio.delta" and "speech_stopped" in marks:
            marks.setdefault("first_audio", now)
        elif "first_audio" in marks and ends_turn(event):
            marks["response_done"] = now
            self.turn_done.set()


def _agent() -> Any:
    from rtnb import RealtimeAgent, tool

    @tool
    def get_weather(city: str) -> str:
        """Return the weather for a city."""
        return f"The weather in {city} is sunny and 22 degrees."

    return RealtimeAgent(name="Weather assistant", instructions=INSTRUCTIONS, tools=[get_weather])


async def _turn(session: Any, timing: TimingTransport, speech: bytes) -> dict[str, float]:
    """Speak ``speech`` at microphone pace; return milliseconds after speech end per mark."""
    from rtnb.protocol.audio import bytes_for_ms, chunk

    timing.reset()
    silence = b"\x00" * bytes_for_ms(CHUNK_MS)
    start = time.perf_counter()
    captured_ms = 0.0
    for piece in chunk(speech, CHUNK_MS):
        captured_ms += len(piece) / 48.0  # 48 bytes a millisecond at 24 kHz
        await asyncio.sleep(max(0.0, start + captured_ms / 1000 - time.perf_counter()))
        session.send_audio(piece)
    speech_end = start + captured_ms / 1000
    deadline = time.perf_counter() + TURN_TIMEOUT_S
    while not timing.turn_done.is_set() and time.perf_counter() < deadline:
        captured_ms += CHUNK_MS
        await asyncio.sleep(max(0.0, start + captured_ms / 1000 - time.perf_counter()))
        session.send_audio(silence)
    return {name: (mark - speech_end) * 1000 for name, mark in timing.marks.items()}


async def _session_turns(
    silence_ms: int, speeches: dict[str, bytes], turns: int, stt: str
) -> dict[str, list[dict[str, float]]]:
    from rtnb import RealtimeSession
    from rtnb.local.server import start_local_server
    from rtnb.transport import WebSocketTransport

    config = {
        "audio": {
            "input": {
                "transcription": {"model": "local"},
                "turn_detection": {"type": "server_vad", "silence_duration_ms": silence_ms},
            }
        }
    }
    results: dict[str, list[dict[str, float]]] = {name: [] for name in speeches}
    async with await start_local_server(realtime_pacing=False, stt=stt) as server:
        timing = TimingTransport(
            WebSocketTransport(f"{server.url}?model=rtnb-local", backend="local")
        )
        async with RealtimeSession(_agent(), config=config, transport=timing) as session:
            await _turn(session, timing, speeches["tool"])  # warm-up, dropped
            for _ in range(turns):
                for name, speech in speeches.items():
                    results[name].append(await _turn(session, timing, speech))
    return results


def _rtf_rows(quick: bool) -> list[Row]:
    from rtnb.local.speech.sphinx import Transcriber
    from rtnb.local.speech.tts import USER_VOICE, synthesize
    from rtnb.protocol.audio import duration_ms

    vocabulary = [INSTRUCTIONS, "get weather", "Return the weather for a city."]
    transcriber = Transcriber(vocabulary)
    stt: list[float] = []
    tts: list[float] = []
    heard: list[str] = []
    spoken: list[bytes] = []
    for _ in range(2 if quick else 5):
        for question, answer in QUESTIONS.values():
            speech = synthesize(question, voice=USER_VOICE)
            seconds = duration_ms(speech) / 1000
            stt.append(timed(lambda s=speech: heard.append(transcriber.transcribe(s))) / seconds)
            tts_time = timed(lambda a=answer: spoken.append(synthesize(a, voice="alloy")))
            tts.append(tts_time / (duration_ms(spoken[-1]) / 1000))
    stt_rtf, tts_rtf = median(stt), median(tts)
    return [
        Row(
            BENCH,
            "STT real-time factor",
            stt_rtf,
            "x real time",
            "<= 0.2",
            check(stt_rtf, "<=", 0.2),
            f"pocketsphinx, e.g. heard {heard[-1]!r}",
            stt,
        ),
        Row(
            BENCH,
            "TTS real-time factor",
            tts_rtf,
            "x real time",
            "<= 0.2",
            check(tts_rtf, "<=", 0.2),
            "espeak-ng + resampling to 24 kHz",
            tts,
        ),
    ]


def run(quick: bool = False) -> list[Row]:
    from rtnb.local.speech.stt import stt_engines_available
    from rtnb.local.speech.tts import SPHINX_USER_VOICE, WHISPER_USER_VOICE, synthesize

    voices = {"whisper": WHISPER_USER_VOICE, "pocketsphinx": SPHINX_USER_VOICE}
    settings = (500,) if quick else (500, 200)
    turns = 2 if quick else 5
    rows: list[Row] = []
    for stt, silence_ms in itertools.product(stt_engines_available(), settings):
        speeches = {name: synthesize(q, voice=voices[stt]) for name, (q, _) in QUESTIONS.items()}
        results = asyncio.run(_session_turns(silence_ms, speeches, turns, stt))
        for name, measured in results.items():
            label = f"{stt}, {name} question, silence {silence_ms} ms"

            def values(mark: str, base: str | None = None, m: list = measured) -> list[float]:
                return [
                    r[mark] - (r[base] if base else 0.0)
                    for r in m
                    if mark in r and (base is None or base in r)
                ]

            first = values("first_audio")
            from_vad = values("first_audio", "speech_stopped")
            target = name == "short"
            rows.append(
                Row(
                    BENCH,
                    f"speech end -> first audio ({label})",
                    median(first),
                    "ms",
                    "< 300" if target else "",
                    check(median(first), "<", 300) if target else None,
                    f"{len(first)}/{len(measured)} turns answered",
                    first,
                )
            )
            rows.append(
                Row(
                    BENCH,
                    f"VAD speech_stopped -> first audio ({label})",
                    median(from_vad),
                    "ms",
                    "< 300" if target else "",
                    check(median(from_vad), "<", 300) if target else None,
                    runs=from_vad,
                )
            )
            transcript = values("transcript", "speech_stopped")
            rows.append(
                Row(
                    BENCH,
                    f"VAD speech_stopped -> transcript ({label})",
                    median(transcript),
                    "ms",
                    "<= 300",
                    check(median(transcript), "<=", 300),
                    runs=transcript,
                )
            )
            for mark, text in (
                ("speech_stopped", "speech end -> VAD speech_stopped"),
                ("transcript", "speech end -> transcription done"),
                ("response_done", "speech end -> response done"),
            ):
                got = values(mark)
                rows.append(Row(BENCH, f"{text} ({label})", median(got), "ms", runs=got))
    return rows + _rtf_rows(quick)
