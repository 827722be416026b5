"""A conversation on the embedded local server, observed: shared by analysis and widget tests."""

from __future__ import annotations

import asyncio
from typing import Any

from rtnb import RealtimeAgent, RealtimeSession, tool
from rtnb.analysis import SessionObserver, observe
from rtnb.local.tts import USER_VOICE
from rtnb.protocol.audio import bytes_for_ms, chunk
from rtnb.session.guardrails import GuardrailFunctionOutput, output_guardrail
from tests.spoken import spoken

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
