"""Keeps ``python -m bench`` from rotting: the cheap benchmarks run in quick mode and print rows;
the widgets benchmark (a browser, ~40 s) is checked without running it.

Nothing here checks speed: targets live in the benchmark output, never in tests.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.__main__ import format_table, main


def test_quick_history_produces_rows(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--quick", "--only", "history", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "2 history" in out
    assert "per transcript delta, 10,000 items" in out
    (saved,) = tmp_path.glob("*-quick.json")
    result = json.loads(saved.read_text())
    assert result["machine"]["cores"] >= 1
    history = [row for row in result["rows"] if row["bench"] == "2 history"]
    assert len(history) == 4
    assert all(row["value"] is not None and row["value"] > 0 for row in history)


def test_widgets_rows_without_a_browser(monkeypatch: pytest.MonkeyPatch) -> None:
    # The real widgets benchmark drives chromium for ~40 s (quick): here only its rows' shape.
    from bench import widgets
    from tests.browser import lab

    monkeypatch.setattr(lab, "missing_requirements", lambda: "no chromium here")
    rows = widgets.run(quick=True)
    assert [(row.metric, row.unit) for row in rows] == widgets.labels(widgets.QUICK)
    assert "player underruns over 15 s" in [row.metric for row in rows]
    assert all(row.value is None and "not measured (no chromium here)" in row.note for row in rows)
    table = format_table(rows)
    assert table.count("not measured") == 2 * len(rows)  # status and note


def test_widgets_rows_from_a_result() -> None:
    from bench import widgets

    stream = {
        "elapsed": 15.0,
        "messages": 300,
        "reports": 300,
        "lateness": [0.001, 0.002],
        "sent_ms": 15000.0,
        "played_ms": 15000.0,
        "underruns": 1,
        "underrun_at": [3.31],
    }
    result = {
        "stamps": [(10.0, 10.004), (10.02, 10.025)],
        "loop_times": [10.005, 10.026],
        "strict": stream,
        "lead": stream | {"underruns": 0, "underrun_at": []},
        "clears": [0.03, 0.05],
        "device_rate": 24000,
        "offset": (0.0001, 0.0005),
        "load": 1.0,
    }
    rows = {row.metric: row for row in widgets.rows(result, widgets.QUICK)}
    assert rows["mic chunk -> kernel latency"].value == pytest.approx(4.5)
    assert rows["mic chunk -> session loop latency"].value == pytest.approx(5.5)
    assert rows["player underruns over 15 s"].value == 1
    assert "at 3.3 s" in rows["player underruns over 15 s"].note
    assert rows["player clear latency"].value == pytest.approx(40)
    assert rows["kernel -> browser messages/s"].value == pytest.approx(20)
    assert rows["browser -> kernel messages/s"].value == pytest.approx(302 / 15)
    assert rows["audio played / sent"].value == pytest.approx(100)


def test_scenario_rows_measure_the_buffer_against_its_gapless_floor() -> None:
    from bench import widgets

    deliveries = [
        {"to_page_ms": 5.0, "late_ms": 0.0, "target_ms": 300.0, "output_ms": 40.0},
        {"to_page_ms": 25.0, "late_ms": 280.0, "target_ms": 300.0, "output_ms": 40.0},
        {"to_page_ms": 60.0, "late_ms": 310.0, "target_ms": 360.0, "output_ms": 44.0},
    ]
    scenario = {
        "seconds": 60,
        "load": [4.0, 5.0],
        "underrun_log": [{"played_ms": 500.0, "late_ms": 210.0}],
        "latencies": [400.0, 420.0, 430.0],
        "deliveries": deliveries,
        "lateness": [0.001, 0.05],
        "stops": [{"page_ms": 4.0, "ack_ms": 20.0}],
    }
    rows = {row.metric: row for row in widgets.scenario_rows({"jitter 300 ms + loaded": scenario})}
    name = "jitter 300 ms + loaded"
    assert rows[f"underruns after the first, {name}"].met is True
    added = rows[f"added latency (send -> played), {name}"]
    assert (added.value, added.met) == (420.0, False)  # the bound: jitter + 100 ms
    # floor = largest lateness 310 + median output latency 40 + fastest delivery 5
    over = rows[f"added latency over the gapless floor, {name}"]
    assert over.value == pytest.approx(420.0 - 355.0)
    assert "floor 355 ms" in over.note
    assert rows[f"stop latency in the page, {name}"].met is True


@pytest.mark.slow
@pytest.mark.timeout(400)  # three systems, each a server child and a model load, on a busy machine
def test_a_short_live_run_produces_its_rows() -> None:
    # A real server child and a real WebSocket, 2 s per system instead of 60.
    from bench import live

    rows = {row.metric: row for row in live.run(seconds=2.0)}
    cpu = rows["kernel CPU per second of conversation"]
    assert cpu.unit == "% of a core" and cpu.target == "< 2"
    assert cpu.value is not None and cpu.value > 0
    assert rows["session alone: CPU per second of conversation"].value > 0
    assert rows["kernel -> browser comm messages/s"].value > 0  # the player sent audio
    assert rows["browser -> kernel comm messages/s"].value > 0  # mic chunks and reports
    assert "kernel CPU per second of conversation" in format_table(list(rows.values()))
