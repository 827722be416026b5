"""RealtimeSession on its default backend: the embedded server, over a real loopback socket."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import wave
from pathlib import Path
from typing import Any

import pytest
import websockets

from rtnb import FunctionCallItem, RealtimeAgent, RealtimeSession, tool
from rtnb.local.policy.numbers import canonical_words
from rtnb.local.speech.sphinx import Transcriber
from rtnb.protocol.audio import bytes_for_ms, chunk, duration_ms
from tests.spoken import USER_VOICE, spoken

TIMEOUT = 30.0
CONFIG = {"audio": {"input": {"transcription": {"model": "local"}}}}


@pytest.fixture(autouse=True)
def no_api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)


def weather_agent(calls: list[str]) -> RealtimeAgent:
    @tool
    def get_weather(city: str) -> str:
        """Return the weather for a city."""
        calls.append(city)
        return f"The weather in {city} is sunny."

    return RealtimeAgent(
        name="Weather assistant", instructions="Answer weather questions.", tools=[get_weather]
    )


class Turn:
    """Collects what a session says until the answer to a tool call is done."""

    def __init__(self, session: RealtimeSession) -> None:
        self.audio = bytearray()
        self.errors: list[Any] = []
        self.tool_ended = asyncio.Event()
        self.answered = asyncio.Event()
        session.on("audio", lambda e: self.audio.extend(e.data))
        session.on("error", lambda e: self.errors.append(e.error))
        session.on("agent_tool_end", lambda e: self.tool_ended.set())
        session.on("agent_end", self._on_end)

    def _on_end(self, event: Any) -> None:
        if self.tool_ended.is_set():
            self.answered.set()

    async def wait(self) -> None:
        await asyncio.wait_for(self.answered.wait(), TIMEOUT)


async def test_spoken_question_round_trip_on_default_backend() -> None:
    calls: list[str] = []
    session = RealtimeSession(
        weather_agent(calls), config=CONFIG, server_options={"realtime_pacing": False}
    )
    turn = Turn(session)
    async with session:
        assert session.backend == "local"
        assert session.engines["stt"] == "whisper (tiny.en)"
        assert set(session.engines) == {"stt", "vad", "tts", "policy"}
        assert "local" in repr(session)
        speech = spoken("What is the weather in Paris?", USER_VOICE)
        for piece in chunk(speech + b"\x00" * bytes_for_ms(900), 20):
            session.send_audio(piece)
        await turn.wait()
        history = list(session.history)

    assert turn.errors == []
    assert calls == ["Paris"]
    user, call, answer = history
    assert user.role == "user"
    assert canonical_words(user.text) == canonical_words("What is the weather in Paris?")
    assert isinstance(call, FunctionCallItem)
    assert call.name == "get_weather"
    assert call.output == "The weather in Paris is sunny."
    assert answer.role == "assistant"
    assert answer.text == "The weather in Paris is sunny."
    assert duration_ms(bytes(turn.audio)) > 1000
    heard = Transcriber([answer.text]).transcribe(bytes(turn.audio))
    assert "sunny" in heard


async def test_text_message_round_trip_and_server_stops_on_close() -> None:
    calls: list[str] = []
    session = RealtimeSession(weather_agent(calls), server_options={"realtime_pacing": False})
    turn = Turn(session)
    await session.connect()
    server_url = session.server_url  # the server the session started for itself
    session.send_message("What is the weather in London?")
    await turn.wait()
    await session.close()
    assert calls == ["London"]
    assert [type(i).__name__ for i in session.history] == [
        "UserMessageItem",
        "FunctionCallItem",
        "AssistantMessageItem",
    ]
    with pytest.raises(OSError):
        async with websockets.connect(server_url, open_timeout=5):
            pass


@pytest.mark.slow  # `rtnb demo` in a fresh interpreter
def test_demo_command_prints_the_conversation(tmp_path: Path) -> None:
    out = tmp_path / "answer.wav"
    result = subprocess.run(
        [sys.executable, "-m", "rtnb.cli", "demo", "--fast", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        # A key in the environment must not move the demo off the embedded server.
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "OPENAI_API_KEY": "sk-not-real"},
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "backend: local" in result.stdout
    assert "engines: stt whisper (tiny.en), vad silero, tts piper" in result.stdout
    assert "user       what is the weather in paris" in result.stdout.lower()
    assert 'get_weather({"city": "Paris"})' in result.stdout
    assert "assistant  The weather in Paris is sunny and 22 degrees." in result.stdout
    assert "speech end -> first audio" in result.stdout
    with wave.open(str(out)) as wav:
        assert wav.getframerate() == 24_000
        assert wav.getnframes() > 24_000
