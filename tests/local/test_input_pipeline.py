"""The input-audio pipeline without a socket: PCM in, Realtime server events out, in order."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

from rtnb.local.conversation import ConversationItems
from rtnb.local.input_audio import InputAudio
from rtnb.local.input_pipeline import InputPipeline
from rtnb.local.session_config import Session, default_session
from rtnb.protocol.audio import SAMPLE_RATE, bytes_for_ms, chunk
from rtnb.protocol.events import Event, ProtocolError

TURN_EVENTS = [
    "input_audio_buffer.speech_started",
    "input_audio_buffer.speech_stopped",
    "input_audio_buffer.committed",
    "conversation.item.added",
    "conversation.item.done",
]
TRANSCRIPTION_EVENTS = [
    "conversation.item.input_audio_transcription.delta",
    "conversation.item.input_audio_transcription.completed",
]


@dataclass
class FakeStt:
    """Answers each transcription with the next of ``texts``; an exception instance is raised."""

    texts: list[Any]
    name: str = "fake"
    prompts: list[str] = field(default_factory=list)
    heard: list[int] = field(default_factory=list)

    def prepare(self, prompt: str) -> None:
        self.prompts.append(prompt)

    def transcribe(
        self, pcm16: bytes, sample_rate: int = SAMPLE_RATE, prompt: str = "", language: str = ""
    ) -> str:
        self.prompts.append(prompt)
        self.heard.append(len(pcm16))
        answer = self.texts[min(len(self.heard), len(self.texts)) - 1]
        if isinstance(answer, Exception):
            raise answer
        return str(answer)


class Harness:
    """A pipeline wired to an event log instead of a socket and a response side."""

    def __init__(self, session: Session, stt: FakeStt) -> None:
        self.session = session
        self.stt = stt
        self.log: list[Event] = []
        self.interrupts: list[str] = []
        self.responded = asyncio.Event()
        self.conversation = ConversationItems()
        self.tasks: list[asyncio.Task[Any]] = []
        self.pipeline = InputPipeline(
            self._send,
            InputAudio(stt, vad_engine="webrtc"),
            self.conversation,
            lambda: self.session,
            spawn=self._spawn,
            interrupt=self.interrupts.append,
            respond=self._respond,
            extra_vocabulary=lambda: ["get_weather"],
        )

    async def _send(self, event: Event) -> None:
        self.log.append(copy.deepcopy(event))

    def _spawn(self, coro: Awaitable[Any]) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        self.tasks.append(task)
        return task

    async def _respond(self) -> None:
        self.log.append({"type": "(respond)"})
        self.responded.set()

    def types(self) -> list[str]:
        return [e["type"] for e in self.log]

    async def transcribed(self) -> None:
        """Wait until every committed turn has its words (the pipeline's own signal)."""
        pending = self.pipeline.pending_transcripts()
        if pending:
            await asyncio.wait(pending)

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


@pytest.fixture
async def make() -> AsyncIterator[Any]:
    harnesses: list[Harness] = []

    def build(stt: FakeStt, **input_audio: Any) -> Harness:
        session = default_session()
        session["audio"]["input"].update(input_audio)
        harness = Harness(session, stt)
        harness.pipeline.start()
        harnesses.append(harness)
        return harness

    yield build
    for harness in harnesses:
        await harness.close()


def voiced(ms: int) -> bytes:
    """A buzzing vowel with a syllable rhythm: speech to the VAD, made without a TTS engine
    (espeak's output depends on what it spoke before, which other tests' recognition relies on)."""
    t = np.arange(SAMPLE_RATE * ms // 1000) / SAMPLE_RATE
    phase = 2 * np.pi * np.cumsum(140 + 20 * np.sin(2 * np.pi * 0.7 * t)) / SAMPLE_RATE
    wave = sum(np.sin(k * phase) / k for k in range(1, 25))
    envelope = 0.55 + 0.45 * np.sin(2 * np.pi * 4 * t - np.pi / 2)
    return (wave * envelope * 6000).astype("<i2").tobytes()


@pytest.fixture(scope="module")
def utterance() -> bytes:
    """800 ms of silence, 1.5 s of voice, then silence long enough to end the turn."""
    quiet = bytes(bytes_for_ms(800))
    return quiet + voiced(1500) + quiet


async def feed(harness: Harness, audio: bytes) -> None:
    for piece in chunk(audio, 20):
        await harness.pipeline.feed(piece)


async def test_a_spoken_turn_gives_its_events_in_order(make: Any, utterance: bytes) -> None:
    harness = make(FakeStt(["what is the weather in paris"]), transcription={"model": "whisper-1"})
    await feed(harness, utterance)
    await harness.responded.wait()
    await harness.close()

    assert harness.types() == [*TURN_EVENTS, *TRANSCRIPTION_EVENTS, "(respond)"]
    started, stopped, committed, added, done, delta, completed = harness.log[:7]
    item_id = started["item_id"]
    assert item_id == stopped["item_id"] == committed["item_id"] == added["item"]["id"]
    assert done["item"]["id"] == item_id
    assert delta["item_id"] == completed["item_id"] == item_id
    assert 760 <= started["audio_start_ms"] <= 840  # the voice starts after 800 ms of silence
    assert 2760 <= stopped["audio_end_ms"] <= 2840  # it ends at 2300 ms, + 500 ms of silence
    assert added["item"]["content"] == [{"type": "input_audio", "transcript": None}]
    assert completed["transcript"] == "what is the weather in paris"
    # The turn: 300 ms of prefix padding, the voice and the silence that ended it.
    assert completed["usage"] == {"type": "duration", "seconds": pytest.approx(2.3, abs=0.08)}
    item = harness.conversation.get(item_id)
    assert item["content"][0]["transcript"] == "what is the weather in paris"
    assert harness.interrupts == ["turn_detected"]  # barge-in on speech_started by default


async def test_words_go_into_the_item_without_transcription_events(
    make: Any, utterance: bytes
) -> None:
    harness = make(FakeStt(["hello there"]))  # transcription not configured
    await feed(harness, utterance)
    await harness.responded.wait()
    await harness.close()

    assert harness.types() == [*TURN_EVENTS, "(respond)"]
    item_id = harness.log[0]["item_id"]
    assert harness.conversation.get(item_id)["content"][0]["transcript"] == "hello there"


@pytest.mark.parametrize(("interrupt", "create"), [(False, True), (True, False)])
async def test_turn_detection_options(
    make: Any, utterance: bytes, interrupt: bool, create: bool
) -> None:
    turn_detection = {
        **default_session()["audio"]["input"]["turn_detection"],
        "interrupt_response": interrupt,
        "create_response": create,
    }
    harness = make(FakeStt(["hi"]), turn_detection=turn_detection)
    await feed(harness, utterance)
    await harness.transcribed()
    await harness.close()

    assert harness.types() == TURN_EVENTS + (["(respond)"] if create else [])
    assert harness.interrupts == (["turn_detected"] if interrupt else [])


async def test_manual_commits_are_transcribed_in_commit_order(make: Any) -> None:
    stt = FakeStt(["first", "second"])
    harness = make(stt, turn_detection=None, transcription={"model": "whisper-1"})
    tone = (np.sin(np.arange(SAMPLE_RATE // 2) / 5) * 8000).astype("<i2").tobytes()
    await harness.pipeline.feed(tone)
    await harness.pipeline.commit({"type": "input_audio_buffer.commit"})
    await harness.pipeline.feed(tone + tone)
    await harness.pipeline.commit({"type": "input_audio_buffer.commit"})
    await harness.transcribed()
    await harness.close()

    committed = [
        "input_audio_buffer.committed",
        "conversation.item.added",
        "conversation.item.done",
    ]
    assert harness.types() == committed * 2 + TRANSCRIPTION_EVENTS * 2  # no VAD events
    first, second = harness.log[0]["item_id"], harness.log[3]["item_id"]
    assert harness.log[3]["previous_item_id"] == first
    transcripts = [(e["item_id"], e["transcript"]) for e in harness.log if "transcript" in e]
    assert transcripts == [(first, "first"), (second, "second")]
    assert stt.heard == [len(tone), 2 * len(tone)]  # each commit heard its own audio


async def test_too_short_a_commit_is_an_error_and_sends_nothing(make: Any) -> None:
    harness = make(FakeStt(["x"]), turn_detection=None)
    await harness.pipeline.feed(bytes(bytes_for_ms(60)))
    with pytest.raises(ProtocolError) as raised:
        await harness.pipeline.commit({"type": "input_audio_buffer.commit", "event_id": "e1"})
    await harness.close()
    assert raised.value.code == "input_audio_buffer_commit_empty"
    assert raised.value.event_id == "e1"
    assert harness.log == [] and harness.pipeline.pending_transcripts() == []


async def test_a_failed_transcription_is_reported_and_the_turn_still_answered(
    make: Any, utterance: bytes
) -> None:
    harness = make(FakeStt([RuntimeError("decoder broke")]), transcription={"model": "m"})
    await feed(harness, utterance)
    await harness.responded.wait()
    await harness.close()

    failed = "conversation.item.input_audio_transcription.failed"
    assert harness.types() == [*TURN_EVENTS, failed, "(respond)"]
    assert harness.log[5]["error"]["code"] == "stt_error"
    assert "decoder broke" in harness.log[5]["error"]["message"]


async def test_the_recogniser_hears_the_session_vocabulary(make: Any) -> None:
    stt = FakeStt(["ok"])
    harness = make(stt, turn_detection=None, transcription={"model": "m", "prompt": "Zanzibar"})
    harness.session["instructions"] = "You are a weather bot."
    harness.conversation.add(
        {
            "id": "m1",
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": "Is it sunny?"}],
        }
    )
    harness.pipeline.refresh_vocabulary()
    expected = ["You are a weather bot.", "get_weather", "Is it sunny?", "Zanzibar"]
    assert harness.pipeline.vocabulary() == expected

    await harness.pipeline.feed(bytes(bytes_for_ms(200)))
    await harness.pipeline.commit({"type": "input_audio_buffer.commit"})
    await harness.transcribed()
    await harness.close()
    assert stt.prompts[-1] == "\n".join(expected)
