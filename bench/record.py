"""Record a realistic server event stream from the embedded local server as JSONL.

``python -m bench.record`` (or any benchmark that needs it) drives the local server through a
scripted conversation: spoken questions (the local TTS speaking with ``USER_VOICE``, streamed in
20 ms chunks and ended by server VAD) and typed ones, most answered through a tool call, every
answer spoken. Every server event the client receives is written as one line of compact JSON, as
it came off the wire, to ``bench/data/stream.jsonl`` (ignored by git; made again when missing or
when ``STREAM_VERSION`` changes). The content is deterministic; only the random ids differ from
one recording to the next.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import time
from pathlib import Path
from typing import Any

from bench.common import DATA_DIR, TappedTransport, ends_turn

STREAM_VERSION = 1
STREAM_PATH = DATA_DIR / "stream.jsonl"
META_PATH = DATA_DIR / "stream.meta.json"

INSTRUCTIONS = (
    "You answer questions about the weather and the time in cities such as Paris, London, "
    "Tokyo, Berlin, Madrid, Rome, Oslo and Lisbon. Use the get weather and get time tools."
)
CONFIG: dict[str, Any] = {
    "audio": {
        "input": {
            "transcription": {"model": "local"},
            "turn_detection": {"type": "server_vad", "silence_duration_ms": 500},
        }
    }
}
# (spoken?, question); three rounds of these make the conversation (about four minutes of audio).
QUESTIONS: list[tuple[bool, str]] = [
    (True, "Hello there."),
    (True, "What is the weather in Paris?"),
    (False, "What time is it in Tokyo?"),
    (True, "What is the weather in London?"),
    (False, "Tell me the weather in Madrid."),
    (True, "What time is it in Berlin?"),
    (False, "What is the weather in Oslo?"),
    (True, "What is the weather in Rome?"),
    (False, "What time is it in Lisbon?"),
    (True, "Thank you."),
]
ROUNDS = 3
TRAILING_SILENCE_MS = 900
TURN_TIMEOUT_S = 60.0


def weather(city: str) -> str:
    """Return the weather for a city."""
    return (
        f"The weather in {city} is sunny and 22 degrees. "
        "A light breeze comes up in the evening, so take a jacket if you go out late."
    )


def local_time(city: str) -> str:
    """Return the local time in a city."""
    return f"It is a quarter past three in the afternoon in {city}. The shops close at seven."


class RecordingTransport(TappedTransport):
    """Keeps every server event it passes on, as compact JSON text."""

    def __init__(self, inner: Any) -> None:
        super().__init__(inner)
        self.lines: list[str] = []

    def observe(self, event: dict[str, Any]) -> None:
        from rtnb.protocol.events import encode

        self.lines.append(encode(event))
        if ends_turn(event):
            self.turn_done.set()


async def record() -> list[str]:
    """Hold the scripted conversation with the local server; return the received events."""
    from rtnb import RealtimeAgent, RealtimeSession, tool
    from rtnb.local.server import start_local_server
    from rtnb.local.speech.tts import USER_VOICE, synthesize
    from rtnb.protocol.audio import bytes_for_ms, chunk
    from rtnb.transport import WebSocketTransport

    agent = RealtimeAgent(
        name="City assistant",
        instructions=INSTRUCTIONS,
        tools=[tool(name="get_weather")(weather), tool(name="get_time")(local_time)],
    )
    silence = b"\x00" * bytes_for_ms(TRAILING_SILENCE_MS)
    async with await start_local_server(realtime_pacing=False) as server:
        recorder = RecordingTransport(
            WebSocketTransport(f"{server.url}?model=rtnb-local", backend="local")
        )
        session = RealtimeSession(agent, config=CONFIG, transport=recorder)
        async with session:
            for _ in range(ROUNDS):
                for spoken, question in QUESTIONS:
                    recorder.turn_done.clear()
                    if spoken:
                        speech = synthesize(question, voice=USER_VOICE)
                        for piece in chunk(speech + silence, 20):
                            session.send_audio(piece)
                            await asyncio.sleep(0)
                    else:
                        session.send_message(question)
                    await asyncio.wait_for(recorder.turn_done.wait(), TURN_TIMEOUT_S)
    return recorder.lines


def describe(lines: list[str]) -> dict[str, Any]:
    """Counts of the stream: events by type, bytes and seconds of audio."""
    kinds: dict[str, int] = {}
    audio_bytes = 0
    user_ms = 0.0
    started: float | None = None
    for line in lines:
        event = json.loads(line)
        kind = event["type"]
        kinds[kind] = kinds.get(kind, 0) + 1
        if kind == "response.output_audio.delta":
            audio_bytes += len(base64.b64decode(event["delta"]))
        elif kind == "input_audio_buffer.speech_started":
            started = event["audio_start_ms"]
        elif kind == "input_audio_buffer.speech_stopped" and started is not None:
            user_ms += event["audio_end_ms"] - started
            started = None
    assistant_s = audio_bytes / 2 / 24_000
    return {
        "version": STREAM_VERSION,
        "events": len(lines),
        "bytes": sum(len(line) + 1 for line in lines),
        "assistant_audio_s": round(assistant_s, 2),
        "user_speech_s": round(user_ms / 1000, 2),
        "conversation_s": round(assistant_s + user_ms / 1000, 2),
        "types": dict(sorted(kinds.items(), key=lambda kv: -kv[1])),
    }


def ensure_stream(force: bool = False, path: Path = STREAM_PATH) -> Path:
    """The recorded stream's path, recording it first if missing or out of date."""
    meta_path = path.with_suffix(".meta.json")
    if not force and path.exists() and meta_path.exists():
        try:
            if json.loads(meta_path.read_text())["version"] == STREAM_VERSION:
                return path
        except (ValueError, KeyError):
            pass
    start = time.perf_counter()
    lines = asyncio.run(record())
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    tmp.replace(path)
    meta = describe(lines)
    meta["recorded_in_s"] = round(time.perf_counter() - start, 1)
    meta_path.write_text(json.dumps(meta, indent=2) + "\n")
    return path


def load_lines(path: Path | None = None) -> list[str]:
    """The recorded stream as a list of JSON text lines (recording it if needed)."""
    path = ensure_stream() if path is None else path
    return path.read_text(encoding="utf-8").splitlines()


def stream_meta() -> dict[str, Any]:
    ensure_stream()
    return json.loads(META_PATH.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="record again even if cached")
    args = parser.parse_args()
    path = ensure_stream(force=args.force)
    print(f"{path}: {json.dumps(stream_meta(), indent=2)}")


if __name__ == "__main__":
    main()
