"""Output guardrails on a scripted transport: when they run, what a trip does, failures."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from rtnb import (
    GuardrailFunctionOutput,
    GuardrailTrippedEvent,
    OutputGuardrail,
    OutputGuardrailError,
    OutputGuardrailSettings,
    RealtimeAgent,
    RealtimeSession,
    output_guardrail,
)
from rtnb.protocol.events import Event, new_id
from rtnb.testing import ScriptedTransport
from tests.schema import validate_client_event

from . import wire as w
from .conftest import Recorder

TEXT = " ".join(f"word{i:03d}" for i in range(44))[:350]  # 350 characters
GUARD_EVENTS = ("guardrail_tripped", "audio_interrupted", "error")

MakeSession = Callable[..., Awaitable[RealtimeSession]]


class Seen:
    """A guardrail that records every text it checks and trips on a word."""

    def __init__(self, trip_on: str | None = None) -> None:
        self.texts: list[str] = []
        self.trip_on = trip_on
        self.guardrail = OutputGuardrail("seen", self.check)

    async def check(self, text: str) -> GuardrailFunctionOutput:
        self.texts.append(text)
        tripped = self.trip_on is not None and self.trip_on in text
        return GuardrailFunctionOutput(tripped, f"mentions {self.trip_on}" if tripped else None)


@pytest.fixture
async def make_session(transport: ScriptedTransport) -> AsyncIterator[MakeSession]:
    """Connect a session with guardrails; afterwards its client events must match the schema."""
    sessions: list[RealtimeSession] = []

    async def make(agent: RealtimeAgent | None = None, **options: Any) -> RealtimeSession:
        session = RealtimeSession(
            agent or RealtimeAgent(name="Assistant"), transport=transport, **options
        )
        await session.connect()
        await transport.wait_for_sent("session.update")
        sessions.append(session)
        return session

    yield make
    for session in sessions:
        await session.close()
    for event in transport.sent:
        validate_client_event(event)


async def checks_finished(session: RealtimeSession, transport: ScriptedTransport) -> None:
    """Wait until every pushed event was handled and every guardrail check it started ended."""
    await transport.settle()
    await asyncio.wait_for(asyncio.gather(*guardrail_checks()), 2.0)


def guardrail_checks() -> list[asyncio.Task[object]]:
    """The output guardrail checks running now (the session names their tasks)."""
    return [
        task
        for task in asyncio.all_tasks()
        if task.get_name() == "rtnb-output-guardrails" and not task.done()
    ]


def stream(
    transport: ScriptedTransport, text: str, *, step: int = 10, response_id: str = "r1"
) -> None:
    """Push an assistant answer: item, transcript deltas of ``step`` characters, done."""
    transport.push(w.response_created(response_id))
    transport.push(w.item_added(w.assistant_item("a1")))
    for start in range(0, len(text), step):
        transport.push(w.transcript_delta(response_id, "a1", text[start : start + step]))
    transport.push(w.transcript_done(response_id, "a1", text))


def text_done(response_id: str, item_id: str, text: str) -> Event:
    return {
        "type": "response.output_text.done",
        "event_id": new_id("event"),
        "response_id": response_id,
        "item_id": item_id,
        "output_index": 0,
        "content_index": 0,
        "text": text,
    }


# ----------------------------------------------------------------------- when they run


async def test_debounce_checks_every_100_characters_and_the_final_text(
    make_session: MakeSession, transport: ScriptedTransport
) -> None:
    seen = Seen()
    session = await make_session(output_guardrails=[seen.guardrail])
    stream(transport, TEXT)
    await checks_finished(session, transport)
    assert len(TEXT) == 350
    assert seen.texts == [TEXT[:100], TEXT[:200], TEXT[:300], TEXT]


async def test_minus_one_checks_the_final_text_only(
    make_session: MakeSession, transport: ScriptedTransport
) -> None:
    seen = Seen()
    session = await make_session(
        output_guardrails=[seen.guardrail],
        output_guardrail_settings=OutputGuardrailSettings(debounce_text_length=-1),
    )
    stream(transport, TEXT)
    await checks_finished(session, transport)
    assert seen.texts == [TEXT]


async def test_a_delta_crossing_several_thresholds_checks_once_and_final_is_not_repeated(
    make_session: MakeSession, transport: ScriptedTransport
) -> None:
    seen = Seen()
    session = await make_session(
        output_guardrails=[seen.guardrail],
        output_guardrail_settings={"debounce_text_length": 50},
    )
    stream(transport, TEXT[:150], step=120)  # deltas of 120 and 30 characters
    await checks_finished(session, transport)
    # 120 crosses 50 and 100: one check; 150 crosses 150; the final text equals it: no rerun.
    assert seen.texts == [TEXT[:120], TEXT[:150]]


async def test_text_output_is_checked_too(
    make_session: MakeSession, transport: ScriptedTransport
) -> None:
    seen = Seen()
    session = await make_session(output_guardrails=[seen.guardrail])
    transport.push(w.response_created("r1"))
    transport.push(w.text_delta("r1", "t1", TEXT[:110]))
    transport.push(text_done("r1", "t1", TEXT[:130]))
    transport.push(w.response_done("r1"))
    await checks_finished(session, transport)
    assert seen.texts == [TEXT[:110], TEXT[:130]]


async def test_agent_and_session_guardrails_both_run_once_each(
    make_session: MakeSession, transport: ScriptedTransport
) -> None:
    agent_seen, session_seen = Seen(), Seen()
    agent = RealtimeAgent(name="Assistant", output_guardrails=[agent_seen.guardrail])
    session = await make_session(
        agent, output_guardrails=[session_seen.guardrail, agent_seen.guardrail]
    )
    stream(transport, "Short answer.")
    await checks_finished(session, transport)
    assert agent_seen.texts == session_seen.texts == ["Short answer."]


async def test_no_guardrails_no_checks(
    make_session: MakeSession, transport: ScriptedTransport
) -> None:
    await make_session()
    stream(transport, TEXT)
    await transport.settle()
    assert guardrail_checks() == []


# ----------------------------------------------------------------------- trips


async def test_trip_cancels_cuts_audio_reports_once_and_tells_the_model(
    make_session: MakeSession, transport: ScriptedTransport
) -> None:
    seen = Seen(trip_on="word012")
    session = await make_session(output_guardrails=[seen.guardrail])
    recorder = Recorder(session, *GUARD_EVENTS)
    transport.push(w.response_created("r1"))
    transport.push(w.item_added(w.assistant_item("a1")))
    transport.push(w.audio_delta("r1", "a1", w.pcm_ms(500)))
    for start in range(0, 250, 10):  # "word012" ends at character 103
        transport.push(w.transcript_delta("r1", "a1", TEXT[start : start + 10]))
    tripped: GuardrailTrippedEvent = await recorder.wait_for("guardrail_tripped")
    assert (tripped.item_id, tripped.response_id, tripped.message) == ("a1", "r1", TEXT[:200])
    [result] = tripped.guardrail_results
    assert result.guardrail is seen.guardrail
    assert result.output == GuardrailFunctionOutput(True, "mentions word012")
    assert result.text == TEXT[:200]

    cancel = await transport.wait_for_sent("response.cancel")
    assert cancel["response_id"] == "r1"
    truncate = await transport.wait_for_sent("conversation.item.truncate")
    assert (truncate["item_id"], truncate["audio_end_ms"]) == ("a1", 500)
    interrupted = await recorder.wait_for("audio_interrupted")
    assert (interrupted.item_id, interrupted.audio_end_ms) == ("a1", 500)
    notice = await transport.wait_for_sent("conversation.item.create")
    assert notice["item"]["role"] == "system"
    assert notice["item"]["content"][0]["text"].startswith(
        "The previous answer was blocked by guardrail seen: mentions word012."
    )
    assert transport.sent_of_type("response.create") == []  # held: r1 is still active

    # The rest of the cancelled response: no more checks, no second trip.
    transport.push(w.transcript_delta("r1", "a1", TEXT[250:]))
    transport.push(w.transcript_done("r1", "a1", TEXT))
    transport.push(w.response_done("r1", "cancelled"))
    await transport.wait_for_sent("response.create")
    await checks_finished(session, transport)
    assert seen.texts == [TEXT[:100], TEXT[:200]]
    assert len(recorder.of("guardrail_tripped")) == 1
    assert len(transport.sent_of_type("response.cancel")) == 1

    # The next response is checked afresh.
    transport.push(w.response_created("r2"))
    transport.push(w.transcript_delta("r2", "a2", "A clean answer."))
    transport.push(w.transcript_done("r2", "a2", "A clean answer."))
    transport.push(w.response_done("r2"))
    await checks_finished(session, transport)
    assert seen.texts[-1] == "A clean answer."
    assert len(recorder.of("guardrail_tripped")) == 1


async def test_trip_on_a_finished_response_does_not_cancel_it(
    make_session: MakeSession, transport: ScriptedTransport
) -> None:
    blocked = output_guardrail(lambda text: "word001" in text, name="no_word001")
    session = await make_session(
        output_guardrails=[blocked], output_guardrail_settings={"debounce_text_length": -1}
    )
    recorder = Recorder(session, *GUARD_EVENTS)
    stream(transport, TEXT[:50])
    transport.push(w.response_done("r1"))
    tripped = await recorder.wait_for("guardrail_tripped")
    assert tripped.guardrail_results[0].output == GuardrailFunctionOutput(True, None)
    await transport.wait_for_sent("response.create")
    notice = transport.sent_of_type("conversation.item.create")[0]
    assert "blocked by guardrail no_word001." in notice["item"]["content"][0]["text"]
    assert transport.sent_of_type("response.cancel") == []
    assert transport.sent_of_type("conversation.item.truncate") == []


async def test_a_raising_guardrail_reports_an_error_and_does_not_cancel(
    make_session: MakeSession, transport: ScriptedTransport
) -> None:
    @output_guardrail(name="broken")
    def broken(text: str) -> bool:
        raise ValueError("no model available")

    seen = Seen()
    session = await make_session(output_guardrails=[broken, seen.guardrail])
    recorder = Recorder(session, *GUARD_EVENTS)
    stream(transport, TEXT[:120])
    error = await recorder.wait_for("error")
    transport.push(w.response_done("r1"))
    await checks_finished(session, transport)
    assert isinstance(error.error, OutputGuardrailError)
    assert error.error.guardrail == "broken"
    assert isinstance(error.error.__cause__, ValueError)
    assert "no model available" in str(error.error)
    assert seen.texts == [TEXT[:100], TEXT[:120]]  # the other guardrail still ran
    assert len(recorder.of("error")) == 2  # once per check
    assert recorder.of("guardrail_tripped") == []
    assert transport.sent_of_type("response.cancel") == []
    assert transport.sent_of_type("conversation.item.create") == []
    assert session.connected


async def test_a_guardrail_returning_something_else_is_an_error(
    make_session: MakeSession, transport: ScriptedTransport
) -> None:
    @output_guardrail
    async def sloppy(text: str) -> Any:
        return "yes"

    session = await make_session(output_guardrails=[sloppy])
    recorder = Recorder(session, *GUARD_EVENTS)
    stream(transport, "Hello.")
    error = await recorder.wait_for("error")
    assert sloppy.name == "sloppy"
    assert isinstance(error.error.__cause__, TypeError)
    assert recorder.of("guardrail_tripped") == []


# ----------------------------------------------------------------------- settings


@pytest.mark.parametrize("length", [0, -2])
def test_settings_reject_a_meaningless_debounce(length: int) -> None:
    with pytest.raises(ValueError, match="debounce_text_length"):
        OutputGuardrailSettings(debounce_text_length=length)


def test_settings_default_and_coerce() -> None:
    assert OutputGuardrailSettings().debounce_text_length == 100
    assert OutputGuardrailSettings.coerce(None) == OutputGuardrailSettings()
    assert OutputGuardrailSettings.coerce({"debounce_text_length": -1}).debounce_text_length == -1
    with pytest.raises(TypeError):
        OutputGuardrailSettings.coerce({"debounce": 5})
