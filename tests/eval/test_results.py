"""The results: run and check frames, pass rates with intervals, files, comparison, replay."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from rtnb.eval import run
from rtnb.eval.replay import replay_session
from rtnb.eval.results import CHECK_COLUMNS, RUN_COLUMNS

from .conftest import SUITES, suite

pytestmark = pytest.mark.timeout(300)

RAIN = {
    "name": "rain",
    "turns": [{"type": "Will it rain tomorrow in Oslo?"}],
    "expect": [{"tool": "get_weather", "args": {"city": "Oslo"}}],
}
SUNNY = {
    "name": "sunny",
    "turns": [{"say": "What is the weather in Paris?"}],
    "expect": [{"tool": "get_weather"}, {"answer_contains": "sunny"}],
}


async def test_frames_summary_files_and_comparison(shop: dict[str, Any], tmp_path: Path) -> None:
    weather = suite(shop, RAIN, SUNNY, agent="shop_agents:weather_v1", repeats=2)
    weather["variants"] = {"voice": ["en-us+m3", "en-us+f2"]}
    before = await run(weather, concurrency=2, progress=False, record=tmp_path / "before")
    after = await run(
        weather, agent="shop_agents:weather_v2", progress=False, record=tmp_path / "after"
    )

    frame = before.frame
    assert list(frame.columns) == RUN_COLUMNS
    assert frame["index"].tolist() == list(range(8))  # the suite's order
    assert frame.groupby("scenario")["passed"].all().to_dict() == {"rain": False, "sunny": True}
    assert (frame["noise_db"].isna()).all() and frame["first_audio_ms"].gt(0).all()
    assert frame["failures"][0] == "tool get_weather(city=Oslo): get_weather was not called " + (
        "(calls: none)"
    )
    assert list(before.checks.columns) == CHECK_COLUMNS and len(before.checks) == 12
    assert Path(frame["recording"][0]).parent == tmp_path / "before"

    summary = before.summary(by="voice")
    assert summary[["voice", "runs", "passed", "pass_rate"]].to_dict("records") == [
        {"voice": "en-us+f2", "runs": 4, "passed": 2, "pass_rate": 0.5},
        {"voice": "en-us+m3", "runs": 4, "passed": 2, "pass_rate": 0.5},
    ]
    assert summary["low"][0] == pytest.approx(0.1500, abs=1e-4)
    assert summary["high"][0] == pytest.approx(0.8500, abs=1e-4)
    overall = after.summary()
    assert overall["passed"][0] == 8 and overall["high"][0] == 1.0
    with pytest.raises(ValueError, match="no column 'colour'"):
        before.summary(by="colour")

    comparison = before.compare(after)
    assert (comparison.fixed, comparison.broke, comparison.runs) == (4, 0, 8)
    assert comparison.before_rate == 0.5 and comparison.after_rate == 1.0
    assert comparison.p_value == pytest.approx(0.125)  # 4 flips one way: not beyond chance
    assert not comparison.significant
    assert set(comparison.flips["scenario"]) == {"rain"}
    assert "4 fixed, 0 broke" in str(comparison)

    csv = pd.read_csv(before.write(tmp_path / "runs.csv"))
    assert csv["passed"].tolist() == frame["passed"].tolist()
    lines = before.write(tmp_path / "runs.jsonl").read_text().splitlines()
    first = json.loads(lines[0])
    assert first["noise_db"] is None and first["checks"][0]["passed"] is False
    assert len(lines) == 8
    with pytest.raises(ValueError, match=r"\.csv, \.parquet or \.jsonl"):
        before.write(tmp_path / "runs.xlsx")


async def test_replay_plays_the_user_and_the_answer(shop: dict[str, Any]) -> None:
    results = await run(suite(shop, SUNNY), progress=False)
    replay = replay_session(results.records(0), speed=None)
    heard: list[str] = []
    replay.on("audio", lambda event: heard.append(event.item_id))
    await replay.play()
    assert heard[0] == "eval-user-0"  # the user's question first, then the answer
    assert len(set(heard)) == 2
    console = results.replay(0)
    assert type(console).__name__ == "Console"


def test_cli_prints_the_summary_and_exits_1_on_a_failure(tmp_path: Path) -> None:
    (tmp_path / "shop_agents.py").write_text((SUITES / "shop_agents.py").read_text())
    (tmp_path / "suite.yaml").write_text(
        "agent: shop_agents:support_agent\n"
        "scenarios:\n"
        "  - name: rome\n"
        "    turns: [{type: 'What is the weather in Rome?'}]\n"
        "    expect: [{answer_contains: Rome}]\n"
        "  - name: invoice\n"
        "    turns: [{type: I have a question about my invoice}]\n"
        "    expect: [{tool: get_weather}]\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    command = [sys.executable, "-m", "rtnb.cli", "eval", "suite.yaml", "--quiet"]
    done = subprocess.run(
        [*command, "--out", "runs.jsonl"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=240,
        env=env,
    )
    assert done.returncode == 1, done.stderr
    assert "rome " in done.stdout and "1/1" in done.stdout
    assert "run 1 'invoice'" in done.stdout
    assert "get_weather was not called (calls: transfer_to_billing())" in done.stdout
    assert len((tmp_path / "runs.jsonl").read_text().splitlines()) == 2
    (tmp_path / "bad.yaml").write_text("scenarios: []\n")
    bad = subprocess.run(
        [*command[:3], "eval", "bad.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert bad.returncode == 2
    assert "bad.yaml, line 1: scenarios: expected a list of scenarios" in bad.stderr


def test_plot_draws_rates_with_intervals_and_latencies(shop: dict[str, Any]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import rtnb.eval

    results = rtnb.eval.run_sync(
        suite(shop, RAIN, agent="shop_agents:weather_v1", variants={"speed": [1.0, 1.5]}),
        progress=False,
    )
    rate_ax, latency_ax = results.plot()
    assert [t.get_text() for t in rate_ax.get_yticklabels()] == ["×1", "×1.5"]
    assert [p.get_width() for p in rate_ax.patches] == [0.0, 0.0]  # both failed
    assert len(latency_ax.collections) == 2  # one run's latency per variant


def test_ctrl_c_keeps_and_writes_the_finished_runs(tmp_path: Path) -> None:
    import signal
    import time

    (tmp_path / "shop_agents.py").write_text((SUITES / "shop_agents.py").read_text())
    (tmp_path / "suite.yaml").write_text(
        "agent: shop_agents:support_agent\n"
        "scenarios:\n"
        "  - name: hello\n"
        "    turns: [{type: Hello}]\n"
        "  - name: hangs\n"
        "    turns: [{type: Please track my parcel}]\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    command = [sys.executable, "-m", "rtnb.cli", "eval", "suite.yaml", "--quiet"]
    command += ["--concurrency", "1", "--out", "runs.jsonl", "--record", "rec"]
    process = subprocess.Popen(
        command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    first = tmp_path / "rec" / "run-0000.jsonl"
    deadline = time.monotonic() + 120
    while not first.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)  # polls for the first run's recording (the condition), bounded
    assert first.exists(), process.communicate(timeout=10)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "interrupted: 1 of 2 runs finished" in out
    lines = (tmp_path / "runs.jsonl").read_text().splitlines()
    assert [json.loads(line)["scenario"] for line in lines] == ["hello"]
