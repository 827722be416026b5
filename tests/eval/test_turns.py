"""Each kind of turn, played for real into sessions on the embedded server."""

from __future__ import annotations

import wave
from pathlib import Path
from typing import Any

import pytest

from rtnb import RealtimeAgent
from rtnb.eval import run
from rtnb.local.mcp.demo_server import start_demo_mcp_server
from rtnb.protocol.audio import SAMPLE_RATE
from rtnb.session.mcp import hosted_mcp_tool
from tests.spoken import spoken

from .conftest import suite

pytestmark = pytest.mark.timeout(300)


async def test_say_type_and_audio_turns(shop: dict[str, Any], tmp_path: Path) -> None:
    question = tmp_path / "question.wav"
    with wave.open(str(question), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(SAMPLE_RATE)
        wav.writeframes(spoken("What is the weather in London?", "en-us+f2"))
    results = await run(
        suite(
            shop,
            {"name": "said", "turns": [{"say": "What is the weather in Lisbon?"}]},
            {"name": "typed", "turns": [{"type": "What is the weather in Rome?"}]},
            {"name": "recorded", "turns": [{"audio": str(question)}]},
        ),
        progress=False,
    )
    frame = results.frame.set_index("scenario")
    assert frame.loc["said", "tool_calls"] == 'get_weather({"city": "Lisbon"})'
    assert "Lisbon" in frame.loc["said", "heard"]
    assert frame.loc["typed", "tool_calls"] == 'get_weather({"city": "Rome"})'
    assert frame.loc["typed", "heard"] == ""  # nothing was spoken
    assert "London" in frame.loc["recorded", "heard"]
    assert frame.loc["recorded", "answer"] == "It is sunny in London."
    # Conversation time: the user's speech (+ 1 s of silence) and the answer's audio.
    assert frame.loc["said", "duration_s"] > 1.0 + 1.0
    assert frame.loc["typed", "duration_s"] < frame.loc["said", "duration_s"]


async def test_approve_and_reject(shop: dict[str, Any]) -> None:
    results = await run(
        suite(
            shop,
            {
                "name": "approved",
                "turns": [{"type": "Please refund order 42"}, {"approve": "refund_order"}],
            },
            {
                "name": "rejected",
                "turns": [
                    {"type": "Please refund order 43"},
                    {"reject": {"tool": "refund_order", "message": "Refunds are closed today."}},
                ],
            },
            {
                "name": "nothing to approve",
                "turns": [{"type": "Hello"}, {"approve": "refund_order"}],
            },
        ),
        progress=False,
    )
    frame = results.frame.set_index("scenario")
    assert frame.loc["approved", "answer"] == "Order 42 is refunded."
    assert frame.loc["rejected", "answer"] == "Refunds are closed today."
    assert frame.loc["nothing to approve", "status"] == "error"
    assert (
        "no call of 'refund_order' waits for approval" in frame.loc["nothing to approve", "error"]
    )


async def test_wait_turn_sends_silence(shop: dict[str, Any]) -> None:
    results = await run(
        suite(
            shop,
            {"name": "pause", "turns": [{"type": "Hello"}, {"wait_ms": 1500}, {"type": "Thanks"}]},
        ),
        progress=False,
    )
    (result,) = results.runs
    assert result.status == "passed"
    assert result.facts.answer == "Hello! How can I help you today? You are welcome."
    waits = [r for r in result.records if r["event"] == "eval_turn" and r["action"] == "wait_ms"]
    assert waits[0]["sent_ms"] == 1500
    assert result.facts.user_s == pytest.approx(1.5)


@pytest.mark.parametrize("action", ["say", "type"])
async def test_interrupt_after_ms_cuts_the_answer(shop: dict[str, Any], action: str) -> None:
    long_question = "Tell me the weather forecast in " + "Paris and " * 6 + "Rome."
    results = await run(
        suite(
            shop,
            {
                "name": "barge in",
                "turns": [
                    {"type": long_question},
                    {action: "Stop. Thanks", "interrupt_after_ms": 300},
                ],
            },
        ),
        progress=False,
    )
    (result,) = results.runs
    cuts = [r for r in result.records if r["event"] == "audio_interrupted"]
    assert cuts, "the answer was not interrupted"
    assert cuts[0]["audio_end_ms"] == 300  # what the simulated listener heard
    assert result.facts.answer.endswith("You are welcome.")  # the barge-in was answered
    assert result.status == "passed"


async def test_hosted_mcp_calls_are_approved_rejected_and_checked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The MCP server's tools are known only once a session lists them: the suite names them
    # anyway, approves and rejects their calls and checks them like function tools.
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("RTNB_LLM_URL", raising=False)
    server = start_demo_mcp_server()
    try:
        weather = hosted_mcp_tool(
            server_label="weather", server_url=server.url, require_approval="always"
        )
        agent = RealtimeAgent(
            name="Forecaster", instructions="Answer weather questions.", tools=[weather]
        )
        ask = {"type": "What is the weather forecast for Paris?"}
        results = await run(
            {
                "agent": agent,
                "timeout_s": 60,
                "scenarios": [
                    {
                        "name": "approved",
                        "turns": [ask, {"approve": "get_forecast"}],
                        "expect": [
                            {"tool": "get_forecast", "args": {"city": "Paris"}},
                            {"answer_contains": "sunny"},
                        ],
                    },
                    {
                        "name": "rejected",
                        "turns": [ask, {"reject": "get_forecast"}],
                        "expect": [{"no_tool": "get_forecast"}],
                    },
                ],
            },
            progress=False,
        )
    finally:
        server.stop()
    frame = results.frame.set_index("scenario")
    assert frame.loc["approved", "status"] == "passed", results.checks
    assert frame.loc["approved", "answer"] == "Tomorrow in Paris: sunny and 24 degrees."
    assert frame.loc["rejected", "status"] == "passed", results.checks
    assert [call.name for call in server.calls] == ["get_forecast"]  # the approved run only
