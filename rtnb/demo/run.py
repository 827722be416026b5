"""The terminal demo: a spoken question to a tool-using agent on the embedded local server.

The local text-to-speech speaks the user's question; the audio is streamed in through
``send_audio`` in 20 ms chunks as a microphone would send it; server VAD ends the turn; the
agent calls its tool and speaks the answer, which is written to a WAV file. The conversation and
a latency table are printed.
"""

from __future__ import annotations

import asyncio
import sys
import time
import wave
from dataclasses import dataclass, field
from typing import Any

from rtnb import FunctionCallItem, McpCallItem, RealtimeAgent, RealtimeSession, speak, tool
from rtnb.demo.turn import STAGES, TurnWatch, describe_error
from rtnb.local.policy.deterministic import Policy
from rtnb.local.server import start_local_server
from rtnb.local.speech.tts import USER_VOICE, synthesize
from rtnb.protocol.audio import SAMPLE_RATE

TRAILING_SILENCE_MS = 1200
TURN_TIMEOUT_S = 60.0


@tool
def get_weather(city: str) -> str:
    """Return the weather for a city."""
    return f"The weather in {city} is sunny and 22 degrees."


def demo_agent() -> RealtimeAgent:
    """The agent the demo talks to."""
    return RealtimeAgent(
        name="Weather assistant",
        instructions="You answer questions about the weather. Use the get weather tool.",
        tools=[get_weather],
    )


DEMO_CONFIG: dict[str, Any] = {
    "audio": {
        "input": {
            "transcription": {"model": "local"},
            "turn_detection": {"type": "server_vad", "silence_duration_ms": 500},
        }
    }
}


@dataclass
class TurnTimes:
    """Wall-clock marks of one spoken turn (``time.perf_counter`` seconds)."""

    speech_end: float = 0.0
    speech_stopped: float | None = None
    transcript: float | None = None
    first_audio: float | None = None
    response_done: float | None = None
    answer_audio: bytearray = field(default_factory=bytearray)

    def rows(self) -> list[tuple[str, float | None]]:
        """(label, milliseconds after the end of speech) for each mark."""

        def after(mark: float | None) -> float | None:
            return None if mark is None else (mark - self.speech_end) * 1000

        return [
            ("speech end -> VAD speech_stopped", after(self.speech_stopped)),
            ("speech end -> transcript", after(self.transcript)),
            ("speech end -> first audio", after(self.first_audio)),
            ("speech end -> response done", after(self.response_done)),
        ]


async def run_demo(
    question: str,
    out_path: str,
    *,
    realtime: bool = True,
    policy: Policy | None = None,
    guard_s: float = TURN_TIMEOUT_S,
) -> int:
    """Run the demo; return a process exit code (0 when the agent answered aloud).

    ``policy`` replaces the server's default policy (tests); ``guard_s`` is the last-resort limit
    on the whole turn: failures reported by the server end the turn as soon as they arrive.
    """
    # Started here rather than left to the session, so an OPENAI_API_KEY in the environment
    # cannot send the demo to the paid service.
    async with await start_local_server(realtime_pacing=realtime, policy=policy) as server:
        session = RealtimeSession(demo_agent(), config=DEMO_CONFIG, url=server.url)
        print("engines: " + ", ".join(f"{part} {name}" for part, name in server.engines.items()))
        return await converse(session, question, out_path, realtime=realtime, guard_s=guard_s)


async def converse(
    session: RealtimeSession,
    question: str,
    out_path: str,
    *,
    realtime: bool = True,
    guard_s: float = TURN_TIMEOUT_S,
) -> int:
    """Speak ``question`` into ``session``, wait for the spoken answer, print and save it.

    Returns 0 when an answer with audio arrived, else 1 after printing why not.
    """
    times = TurnTimes()
    watch = TurnWatch()

    @session.on("transport_event")
    def on_wire(event: Any) -> None:
        kind = event.event.get("type")
        now = time.perf_counter()
        watch.stage = STAGES.get(kind, watch.stage)
        if kind == "input_audio_buffer.speech_stopped" and times.speech_stopped is None:
            times.speech_stopped = now
        elif (
            kind == "conversation.item.input_audio_transcription.completed"
            and times.transcript is None
        ):
            times.transcript = now
        elif kind == "response.done" and watch.response_done(event.event.get("response") or {}):
            times.response_done = now

    @session.on("audio")
    def on_audio(event: Any) -> None:
        if times.first_audio is None:
            times.first_audio = time.perf_counter()
        times.answer_audio += event.data
        watch.voiced.add(event.response_id)

    @session.on("error")
    def on_error(event: Any) -> None:
        watch.fail(f"error: {describe_error(event.error)}")

    @session.on("connection_change")
    def on_status(event: Any) -> None:
        if event.status == "disconnected":
            watch.fail("the connection to the server closed before the answer")

    print(f"user (spoken by the local TTS): {question}")
    async with session:
        print(f"backend: {session.backend}")
        speech = synthesize(question, voice=USER_VOICE)  # before the clock starts
        started = time.perf_counter()
        # Streamed in 20 ms chunks like a mic; at real-time pace the speech ends `seconds` in.
        seconds = await speak(session, speech, realtime=realtime, silence_ms=TRAILING_SILENCE_MS)
        times.speech_end = started + seconds if realtime else started
        try:
            await asyncio.wait_for(watch.done.wait(), guard_s)
        except asyncio.TimeoutError:  # not the builtin before Python 3.11
            watch.fail(f"no answer after {guard_s:.0f} s (last step: {watch.stage})")
        if watch.failure is not None:
            print(f"rtnb demo: {watch.failure}", file=sys.stderr)
            return 1
        _print_conversation(session)
    _write_wav(out_path, bytes(times.answer_audio))
    print(f"\nanswer audio: {len(times.answer_audio) / 2 / SAMPLE_RATE:.2f} s -> {out_path}")
    _print_latencies(times)
    return 0


def _print_conversation(session: RealtimeSession) -> None:
    print("\nconversation:")
    for item in session.history:
        if isinstance(item, FunctionCallItem | McpCallItem):
            print(f"  tool call  {item.name}({item.arguments}) -> {item.output!r}")
        else:
            print(f"  {item.role:<10} {item.text}")


def _print_latencies(times: TurnTimes) -> None:
    print("\nlatency (wall clock)")
    print(f"  {'step':<36} {'ms':>8}")
    for label, ms in times.rows():
        print(f"  {label:<36} {'-' if ms is None else f'{ms:8.0f}':>8}")


def _write_wav(path: str, pcm16: bytes) -> None:
    with wave.open(path, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(SAMPLE_RATE)
        wav.writeframes(pcm16)
