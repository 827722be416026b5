"""A conversation on the embedded local server, observed: shared by analysis and widget tests."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from rtnb import RealtimeAgent, RealtimeSession, tool
from rtnb.analysis import SessionObserver, latency_frame, observe
from rtnb.local.policy.deterministic import PolicyInput, Reply, default_policy
from rtnb.protocol.audio import bytes_for_ms, chunk
from rtnb.session.guardrails import GuardrailFunctionOutput, output_guardrail
from tests.spoken import USER_VOICE, spoken

CONFIG = {"audio": {"input": {"transcription": {"model": "local"}}}}
TIMEOUT = 30.0


@tool
def get_weather(city: str) -> str:
    """Return the weather for a city."""
    return f"The weather in {city} is sunny."


def no_london_once() -> Any:
    """A guardrail that trips on the first answer mentioning London."""
    tripped: list[str] = []

    @output_guardrail(name="no_london")
    def no_london(text: str) -> GuardrailFunctionOutput:
        trip = "London" in text and not tripped
        if trip:
            tripped.append(text)
        return GuardrailFunctionOutput(trip, "mentions London")

    return no_london


async def converse() -> tuple[RealtimeSession, SessionObserver]:
    """A spoken turn (Paris, tool call) then a typed one (London, tool call, guardrail trip)."""
    agent = RealtimeAgent(name="Weather assistant", tools=[get_weather])
    session = RealtimeSession(
        agent,
        config=CONFIG,
        server_options={"realtime_pacing": False},
        output_guardrails=[no_london_once()],
    )
    observer = observe(session, audio=True)
    answers = asyncio.Queue[str]()
    tripped = asyncio.Event()
    session.on("agent_end", lambda e: answers.put_nowait(e.status or ""))
    session.on("guardrail_tripped", lambda e: tripped.set())

    def answered(words: str) -> int:
        return sum(
            getattr(i, "role", "") == "assistant" and words in i.text and i.status == "completed"
            for i in session.history
        )

    async def until_answered(words: str, times: int = 1) -> None:
        while answered(words) < times:
            await answers.get()

    async with session:
        speech = spoken("What is the weather in Paris?", USER_VOICE)
        for piece in chunk(speech + b"\x00" * bytes_for_ms(900), 20):
            session.send_audio(piece)
        await asyncio.wait_for(until_answered("Paris is sunny"), TIMEOUT)
        session.send_message("What is the weather in London?")
        await asyncio.wait_for(tripped.wait(), TIMEOUT)
        await asyncio.wait_for(until_answered("London is sunny", 2), TIMEOUT)  # blocked, retried
    return session, observer


VAD = {"type": "server_vad", "silence_duration_ms": 400}
PACED_CONFIG = {"audio": {"input": {"transcription": {"model": "local"}, "turn_detection": VAD}}}
NO_RESPONSE = {
    "type": "realtime",
    "audio": {"input": {"turn_detection": {**VAD, "create_response": False}}},
}
LONG_MESSAGE = (
    "Please repeat after me: the river runs past the old mill, under the stone bridge, "
    "through the quiet town and out to the wide grey sea."
)


class HeldPolicy:
    """The local server's default policy, except that the answer after the first tool output
    waits for :attr:`release` (the response has begun: ``response.created`` went out)."""

    def __init__(self) -> None:
        self.holding = asyncio.Event()
        self.release = asyncio.Event()

    async def __call__(self, turn: PolicyInput) -> Reply:
        if not self.holding.is_set() and turn.items[-1].get("type") == "function_call_output":
            self.holding.set()
            await self.release.wait()
        return default_policy(turn)


@dataclass
class PacedConversation:
    """:func:`converse_paced`'s session, its observer, and the latency frame taken while the
    answer to turn 0 was held."""

    session: RealtimeSession
    observer: SessionObserver
    while_held: pd.DataFrame


async def converse_paced() -> PacedConversation:
    """Four turns on a server that streams its audio in real time, each ending differently.

    0. spoken (Paris, a tool call); the answer after the tool is held until turn 1 has begun,
       so it ends during turn 1;
    1. typed, answered after turn 0's answer (the session holds a response while one runs);
    2. typed, interrupted (``interrupt()``) at the first audio of its long answer;
    3. spoken with ``create_response`` off: no answer.
    """
    policy = HeldPolicy()
    session = RealtimeSession(
        RealtimeAgent(name="Weather assistant", tools=[get_weather]),
        config=PACED_CONFIG,
        server_options={"policy": policy},
    )
    observer = observe(session)
    changes = asyncio.Queue[str]()
    starts: list[str] = []
    ends: list[str] = []
    first_audio, interrupted = asyncio.Event(), asyncio.Event()
    updated, heard = asyncio.Event(), asyncio.Event()

    def on_wire(event: Any) -> None:
        kind = event.event.get("type")
        if kind == "session.updated":
            updated.set()
        elif kind == "conversation.item.input_audio_transcription.completed":
            heard.set()

    def note(into: list[str], value: str) -> None:
        into.append(value)
        changes.put_nowait(value)

    session.on("audio", lambda e: first_audio.set())
    session.on("transport_event", on_wire)
    session.on("audio_interrupted", lambda e: interrupted.set())
    session.on("agent_start", lambda e: note(starts, e.response_id))
    session.on("agent_end", lambda e: note(ends, e.status or ""))
    session.on("history_updated", lambda e: changes.put_nowait("history"))

    async def until(condition: Callable[[], bool]) -> None:
        while not condition():
            await asyncio.wait_for(changes.get(), TIMEOUT)

    def observed(words: str) -> bool:
        """Whether the observer has recorded a user message with ``words`` (the session's own
        history is ahead of the events its observer sees)."""
        return any(
            words in (part.get("text") or "")
            for item in observer.items.values()
            if item.get("role") == "user"
            for part in item.get("content", [])
        )

    def speak(words: str) -> None:
        for piece in chunk(spoken(words, USER_VOICE) + b"\x00" * bytes_for_ms(900), 20):
            session.send_audio(piece)

    async with session:
        await asyncio.wait_for(updated.wait(), TIMEOUT)
        updated.clear()
        speak("What is the weather in Paris?")
        await asyncio.wait_for(policy.holding.wait(), TIMEOUT)
        await until(lambda: len(starts) == 2)  # the tool call's response, then the held one
        session.send_message("Say hello to Rome")
        await until(lambda: observed("Say hello to Rome"))
        while_held = latency_frame(observer)
        policy.release.set()
        await until(lambda: len(ends) == 3)  # the tool call, the held answer, the typed turn's
        first_audio.clear()
        session.send_message(LONG_MESSAGE)
        await asyncio.wait_for(first_audio.wait(), TIMEOUT)
        session.interrupt()
        await asyncio.wait_for(interrupted.wait(), TIMEOUT)
        await until(lambda: len(ends) == len(starts))
        session.send_event({"type": "session.update", "session": NO_RESPONSE})
        await asyncio.wait_for(updated.wait(), TIMEOUT)
        heard.clear()
        speak("Thank you very much")
        await asyncio.wait_for(heard.wait(), TIMEOUT)
    return PacedConversation(session, observer, while_held)
