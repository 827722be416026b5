"""Keeps ``python -m bench`` from rotting: the cheap benchmarks run in quick mode and print rows.

Nothing here checks speed: targets live in the benchmark output, never in tests.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.__main__ import main


def test_quick_history_and_widgets_produce_rows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--quick", "--only", "history,widgets", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "2 history" in out
    assert "per transcript delta, 10,000 items" in out
    assert "not measured" in out  # the widgets rows, until the widgets exist
    (saved,) = tmp_path.glob("*-quick.json")
    result = json.loads(saved.read_text())
    assert result["machine"]["cores"] >= 1
    history = [row for row in result["rows"] if row["bench"] == "2 history"]
    assert len(history) == 4
    assert all(row["value"] is not None and row["value"] > 0 for row in history)
