"""``rtnb demo``: any question gets a spoken answer; a failure is reported when it happens."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import wave
from pathlib import Path

import pytest

from rtnb.demo.run import DEMO_CONFIG, converse, demo_agent, run_demo
from rtnb.local.policy.deterministic import PolicyInput, Reply, default_policy
from rtnb.local.server import start_local_server
from rtnb.session import RealtimeSession

# The last-resort limit is set far beyond pytest's timeout: these tests pass only if the demo
# notices the failure from the session's events.
NEVER = 3600.0


@pytest.fixture(autouse=True)
def no_api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("RTNB_LLM_URL", raising=False)


QUESTION = "Can you tell me a joke?"


@pytest.mark.slow  # `rtnb demo` in a fresh interpreter
def test_a_question_needing_no_tool_gets_a_spoken_answer(tmp_path: Path) -> None:
    out = tmp_path / "joke.wav"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "rtnb.cli",
            "demo",
            "--fast",
            "--question",
            QUESTION,
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=110,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    said = next(line.split(None, 1)[1] for line in lines if line.startswith("  user "))
    answer = next(line.split(None, 1)[1] for line in lines if line.strip().startswith("assistant"))
    # heard as it was asked: the user's voice once said "tell me the joke" (see piper_voice)
    assert re.findall(r"[a-z']+", said.lower()) == re.findall(r"[a-z']+", QUESTION.lower())
    assert "tool call" not in result.stdout
    # the deterministic policy's reply to what was heard, and nothing else
    expected = default_policy(
        PolicyInput([{"type": "message", "role": "user", "content": [{"transcript": said}]}])
    )
    assert answer == expected.text
    with wave.open(str(out)) as wav:
        assert wav.getnframes() > wav.getframerate() // 2  # at least half a second of speech


async def test_a_failing_policy_is_reported_at_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(turn: PolicyInput) -> Reply:
        raise RuntimeError("the model server is out to lunch")

    code = await run_demo(
        "hello", str(tmp_path / "a.wav"), realtime=False, policy=broken, guard_s=NEVER
    )
    err = capsys.readouterr().err
    assert code == 1
    assert "the model server is out to lunch" in err and "no answer after" not in err
    assert not (tmp_path / "a.wav").exists()


async def test_a_closed_connection_is_reported_at_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    asked = asyncio.Event()
    never = asyncio.Event()

    async def stuck(turn: PolicyInput) -> Reply:
        asked.set()
        await never.wait()
        raise AssertionError("unreachable")

    server = await start_local_server(realtime_pacing=False, policy=stuck)
    session = RealtimeSession(demo_agent(), config=DEMO_CONFIG, url=server.url)
    demo = asyncio.ensure_future(
        converse(session, "hello", str(tmp_path / "a.wav"), realtime=False, guard_s=NEVER)
    )
    try:
        await asyncio.wait_for(asked.wait(), 60)
        await server.close()  # the server goes away in the middle of the turn
        code = await asyncio.wait_for(demo, 60)
    finally:
        never.set()
        demo.cancel()
        await server.close()
    err = capsys.readouterr().err
    assert code == 1
    assert "connection" in err and "closed" in err, err


async def test_an_answer_without_audio_is_reported_at_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with await start_local_server(realtime_pacing=False) as server:
        config = DEMO_CONFIG | {"output_modalities": ["text"]}
        session = RealtimeSession(demo_agent(), config=config, url=server.url)
        code = await converse(
            session, "hello", str(tmp_path / "a.wav"), realtime=False, guard_s=NEVER
        )
    err = capsys.readouterr().err
    assert code == 1
    assert "no audio" in err and "Hello" in err, err
