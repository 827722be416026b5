"""The results of a suite: a frame of runs, a frame of checks, pass rates, comparisons, replays.

``results.frame`` has one row per run (:data:`RUN_COLUMNS`), ``results.checks`` one row per
expectation of each run (:data:`CHECK_COLUMNS`). Rows arrive as runs finish; they are sorted by
run ``index`` (the suite's order) whatever the order they finished in.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rtnb.analysis.records import Record

from .expectations import Check
from .facts import RunFacts
from .plan import RunSpec
from .scenarios import Suite
from .stats import wilson_interval

__all__ = ["CHECK_COLUMNS", "RUN_COLUMNS", "STATUSES", "EvalResults", "RunResult"]

STATUSES = ("passed", "failed", "not judged", "timeout", "error")
"""A run's ``status``: every check passed; a check failed; a ``judge`` check could not be graded
(and none failed); the run did not end within its time limit; the agent, a tool or the session
raised."""
VARIANT_COLUMNS = ("voice", "noise_db", "speed")
RUN_KEY = ["index", "scenario", *VARIANT_COLUMNS, "repeat"]
"""The columns that name a run, first in both frames."""
RUN_COLUMNS = [
    *RUN_KEY,
    "status",
    "passed",
    "failures",
    "heard",
    "tool_calls",
    "answer",
    "first_audio_ms",
    "duration_s",
    "wall_s",
    "error",
    "recording",
]
CHECK_COLUMNS = [*RUN_KEY, "expectation", "kind", "passed", "reason"]


@dataclass
class RunResult:
    """One finished run: what it was, what its records say and how it was scored."""

    run: RunSpec
    status: str
    error: str | None
    checks: list[Check]
    facts: RunFacts
    wall_s: float
    records: list[Record] = field(repr=False)
    """The run's records without audio (the recording has the audio)."""
    recording: Path | None = None

    @property
    def passed(self) -> bool:
        """Whether every expectation passed (a run that was not judged has not passed)."""
        return self.status == "passed"

    def row(self) -> dict[str, Any]:
        """The run's row of :attr:`EvalResults.frame`."""
        facts = self.facts
        failures = [f"{c.expectation}: {c.reason}" for c in self.checks if c.passed is False]
        if self.error:
            failures.insert(0, f"{self.status}: {self.error}")
        latencies = [ms for ms in facts.first_audio_ms if not math.isnan(ms)]
        return {
            "index": self.run.index,
            "scenario": self.run.scenario.name,
            "voice": self.run.voice,
            "noise_db": math.nan if self.run.noise_db is None else self.run.noise_db,
            "speed": self.run.speed,
            "repeat": self.run.repeat,
            "status": self.status,
            "passed": self.passed,
            "failures": "; ".join(failures),
            "heard": " | ".join(facts.heard),
            "tool_calls": ", ".join(_call_text(c.name, c.arguments) for c in facts.tool_calls),
            "answer": facts.answer,
            "first_audio_ms": max(latencies) if latencies else math.nan,
            "duration_s": facts.conversation_s,
            "wall_s": self.wall_s,
            "error": self.error,
            "recording": str(self.recording) if self.recording else None,
        }


def run_status(run_status: str, checks: Sequence[Check], facts: RunFacts) -> tuple[str, str | None]:
    """A run's status and error from how it ended (``done``/``timeout``/``error``) and its checks.

    A tool that raised makes the run an ``error`` (its output names the exception).
    """
    if run_status in ("timeout", "error"):
        return run_status, None
    if facts.tool_errors:
        return "error", facts.tool_errors[0]
    if any(check.passed is False for check in checks):
        return "failed", None
    if any(check.passed is None for check in checks):
        return "not judged", None
    return "passed", None


def _call_text(name: str, arguments: Any) -> str:
    if isinstance(arguments, dict):
        return f"{name}({json.dumps(arguments, separators=(', ', ': '))})"
    return f"{name}({arguments})"


class EvalResults:
    """The runs of a suite, as they finish (``interrupted`` if Ctrl-C stopped the suite)."""

    def __init__(self, suite: Suite, record_dir: Path | None = None) -> None:
        self.suite = suite
        self.record_dir = record_dir
        self.runs: list[RunResult] = []
        self.interrupted = False
        self.planned = suite.size

    def __len__(self) -> int:
        return len(self.runs)

    def __repr__(self) -> str:
        passed = sum(r.passed for r in self.runs)
        note = ", interrupted" if self.interrupted else ""
        return f"EvalResults({passed}/{len(self.runs)} runs passed of {self.planned}{note})"

    def _repr_html_(self) -> str:
        from rtnb.analysis.display import html_table

        return f"<p>{repr(self)[12:-1]}</p>" + html_table(self.summary())

    def add(self, result: RunResult) -> None:
        """Keep a finished run."""
        self.runs.append(result)
        self.runs.sort(key=lambda r: r.run.index)

    @property
    def failed(self) -> list[RunResult]:
        """Runs that did not pass (failed, timed out, raised or were not judged)."""
        return [r for r in self.runs if not r.passed]

    # ----------------------------------------------------------------- frames

    @property
    def frame(self) -> Any:
        """One row per run (:data:`RUN_COLUMNS`), a :class:`~rtnb.analysis.BlankFrame`.

        ``passed`` is True when every expectation passed; ``status`` says otherwise why not;
        ``failures`` lists the expectations that failed and why; ``heard`` is what the
        speech-to-text made of each spoken turn (`` | `` between turns); ``tool_calls`` the calls
        the model made; ``answer`` everything the assistant said; ``first_audio_ms`` the slowest
        answer's first audio after the end of the user's speech (the VAD's silence included);
        ``duration_s`` the conversation's length as lived (both sides' audio); ``wall_s`` how
        long the run took; ``recording`` its JSONL recording.
        """
        import pandas as pd

        from rtnb.analysis.display import BlankFrame

        frame = pd.DataFrame([r.row() for r in self.runs], columns=RUN_COLUMNS)
        floats = ("noise_db", "speed", "first_audio_ms", "duration_s", "wall_s")
        return BlankFrame(frame.astype({**dict.fromkeys(floats, float), "passed": bool}))

    @property
    def checks(self) -> Any:
        """One row per expectation of each run (:data:`CHECK_COLUMNS`); ``passed`` is
        ``None`` for a check that was not judged."""
        import pandas as pd

        from rtnb.analysis.display import BlankFrame

        rows = [
            {
                "index": r.run.index,
                "scenario": r.run.scenario.name,
                "voice": r.run.voice,
                "noise_db": math.nan if r.run.noise_db is None else r.run.noise_db,
                "speed": r.run.speed,
                "repeat": r.run.repeat,
                "expectation": check.expectation,
                "kind": check.kind,
                "passed": check.passed,
                "reason": check.reason,
            }
            for r in self.runs
            for check in r.checks
        ]
        return BlankFrame(pd.DataFrame(rows, columns=CHECK_COLUMNS))

    def summary(self, by: str | Sequence[str] | None = None, *, confidence: float = 0.95) -> Any:
        """Pass rate per group of runs with its Wilson interval (95 % by default).

        ``by`` is a column or a list of columns of :attr:`frame` (``"voice"``, ``"scenario"``,
        ``["voice", "noise_db"]``...); ``None`` gives one row for the whole suite. Columns:
        ``runs``, ``passed``, ``pass_rate``, ``low``, ``high``, ``first_audio_ms`` (median).
        """
        import pandas as pd

        from rtnb.analysis.display import BlankFrame

        frame = self.frame
        keys = [] if by is None else [by] if isinstance(by, str) else list(by)
        unknown = [k for k in keys if k not in frame.columns]
        if unknown:
            raise ValueError(f"summary(by=...): no column {unknown[0]!r}; use {RUN_COLUMNS}")
        groups = frame.groupby(keys, dropna=False, sort=True) if keys else [((), frame)]
        rows = []
        for key, group in groups:
            values = key if isinstance(key, tuple) else (key,)
            n, k = len(group), int(group["passed"].sum())
            low, high = wilson_interval(k, n, confidence)
            rows.append(
                dict(zip(keys, values, strict=False))
                | {
                    "runs": n,
                    "passed": k,
                    "pass_rate": k / n if n else math.nan,
                    "low": low,
                    "high": high,
                    "first_audio_ms": group["first_audio_ms"].median(),
                }
            )
        columns = [*keys, "runs", "passed", "pass_rate", "low", "high", "first_audio_ms"]
        return BlankFrame(pd.DataFrame(rows, columns=columns))

    # ----------------------------------------------------------------- more

    def compare(self, other: EvalResults) -> Any:
        """How ``other`` (e.g. a new version of the agent) did on the same runs as this one:
        see :class:`~rtnb.eval.compare.Comparison`."""
        from .compare import compare

        return compare(self, other)

    def plot(self, by: str | Sequence[str] | None = None) -> Any:
        """Pass rate per variant with its interval, and first-audio latency per variant; see
        :func:`rtnb.eval.plots.results_plot`."""
        from .plots import results_plot

        return results_plot(self, by=by)

    def records(self, i: int) -> list[Record]:
        """The records of run ``i`` (its ``index``), with audio when it was recorded to a file."""
        result = self._run(i)
        if result.recording is not None and result.recording.exists():
            from rtnb.widgets.record import load

            return load(result.recording)
        return result.records

    def replay(self, i: int, *, speed: float | None = 1.0) -> Any:
        """A console playing run ``i`` back, with its audio: display it, press Connect.

        The user's speech is played too (the recording keeps it), so a misheard turn can be
        heard. Needs the ``notebook`` extra.
        """
        from rtnb.widgets import console

        from .replay import replay_session

        return console(replay_session(self.records(i), speed=speed))

    def _run(self, i: int) -> RunResult:
        for result in self.runs:
            if result.run.index == i:
                return result
        raise IndexError(f"no finished run {i} (finished: {[r.run.index for r in self.runs]})")

    def write(self, path: str | Path) -> Path:
        """Write the runs to ``path``: ``.csv`` or ``.parquet`` (the run frame) or ``.jsonl``
        (one run a line, its checks included)."""
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix == ".csv":
            self.frame.to_csv(path, index=False)
        elif suffix == ".parquet":
            try:
                self.frame.to_parquet(path, index=False)
            except ImportError as exc:
                raise RuntimeError(
                    f"writing parquet needs pyarrow: pip install pyarrow ({exc})"
                ) from None
        elif suffix == ".jsonl":
            with path.open("w", encoding="utf-8") as file:
                for result in self.runs:
                    row = {k: _plain(v) for k, v in result.row().items()}
                    row["checks"] = [
                        {"expectation": c.expectation, "kind": c.kind, "passed": c.passed}
                        | {"reason": c.reason}
                        for c in result.checks
                    ]
                    file.write(json.dumps(row, default=_json_default) + "\n")
        else:
            raise ValueError(f"{path}: write .csv, .parquet or .jsonl")
        return path


def _plain(value: Any) -> Any:
    """``NaN`` as ``None`` (JSON has no NaN)."""
    return None if isinstance(value, float) and math.isnan(value) else value


def _json_default(value: Any) -> Any:
    return str(value)
