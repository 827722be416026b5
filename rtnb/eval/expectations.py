"""Scoring: each expectation of a scenario against a run's facts, as a :class:`Check`.

Pure functions: the same records always give the same checks, so a recorded run is scored again
with :func:`score` (``judge`` expectations are graded by a chat model in
:mod:`rtnb.eval.judge`; here they are ``not judged``).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .facts import RunFacts, ToolCallFact
from .scenarios import Expectation
from .wer import word_error_rate

__all__ = ["Check", "args_match", "score", "score_one"]

NO_MODEL = "not judged: no chat model (llm options or RTNB_LLM_URL and RTNB_LLM_MODEL)"
SHOWN_CHARS = 120
"""The longest quotation of the answer in a reason."""


@dataclass(frozen=True)
class Check:
    """One expectation's verdict: ``passed`` is ``None`` when it was not judged; ``reason``
    says why, in words (what was expected and what happened)."""

    expectation: str
    kind: str
    passed: bool | None
    reason: str


def score(expectations: Sequence[Expectation], facts: RunFacts) -> list[Check]:
    """The checks of ``expectations`` on a run's ``facts``, in order."""
    return [score_one(expectation, facts) for expectation in expectations]


def score_one(expectation: Expectation, facts: RunFacts) -> Check:
    """One expectation's check (``judge``: ``not judged``; see :mod:`rtnb.eval.judge`)."""
    passed, reason = _SCORERS[expectation.kind](expectation, facts)
    return Check(expectation.label, expectation.kind, passed, reason)


Verdict = tuple[bool | None, str]


def _tool(expectation: Expectation, facts: RunFacts) -> Verdict:
    name, args = expectation.value, expectation.args or {}
    calls = [call for call in facts.tool_calls if call.name == name]
    if not calls:
        return False, f"{name} was not called (calls: {_calls(facts.tool_calls)})"
    for call in calls:
        if args_match(args, call.arguments):
            return True, f"called {_call(call)}"
    return False, f"{name} was called with other arguments: {_calls(calls)}"


def _no_tool(expectation: Expectation, facts: RunFacts) -> Verdict:
    value = expectation.value
    names = None if value is True else value if isinstance(value, list) else [value]
    made = [c for c in facts.tool_calls if names is None or c.name in names]
    if made:
        return False, f"called {_calls(made)}"
    return True, "no such call"


def _answer_contains(expectation: Expectation, facts: RunFacts) -> Verdict:
    answer = facts.answer.casefold()
    missing = [text for text in expectation.value if text.casefold() not in answer]
    if missing:
        return False, f"the answer does not contain {missing[0]!r} (answer: {_quote(facts.answer)})"
    return True, f"answer: {_quote(facts.answer)}"


def _answer_matches(expectation: Expectation, facts: RunFacts) -> Verdict:
    if re.search(expectation.value, facts.answer, re.IGNORECASE):
        return True, f"answer: {_quote(facts.answer)}"
    return (
        False,
        f"the answer does not match /{expectation.value}/ (answer: {_quote(facts.answer)})",
    )


def _heard(expectation: Expectation, facts: RunFacts) -> Verdict:
    if not facts.said:
        return False, "no say turn to compare what was heard with"
    reference, hypothesis = " ".join(facts.said), " ".join(facts.heard)
    rate = word_error_rate([(reference, hypothesis)])
    text = f"word error rate {rate:.2f} (said {_quote(reference)}, heard {_quote(hypothesis)})"
    if rate <= expectation.value:
        return True, text
    return False, f"{text} > {expectation.value:g}"


def _handoff_to(expectation: Expectation, facts: RunFacts) -> Verdict:
    if expectation.value in facts.handoffs:
        return True, f"handed off to {expectation.value}"
    got = ", ".join(facts.handoffs) or "none"
    return False, f"no handoff to {expectation.value} (handoffs: {got})"


def _guardrail_tripped(expectation: Expectation, facts: RunFacts) -> Verdict:
    value = expectation.value
    names = None if value is True else value if isinstance(value, list) else [value]
    tripped = [n for n in facts.guardrails if names is None or n in names]
    if tripped:
        return True, f"tripped: {', '.join(tripped)}"
    wanted = "a guardrail" if names is None else ", ".join(names)
    return False, f"{wanted} did not trip (tripped: {', '.join(facts.guardrails) or 'none'})"


def _no_guardrail_trip(_expectation: Expectation, facts: RunFacts) -> Verdict:
    if facts.guardrails:
        return False, f"tripped: {', '.join(facts.guardrails)}"
    return True, "no guardrail tripped"


def _first_audio_within_ms(expectation: Expectation, facts: RunFacts) -> Verdict:
    bound = expectation.value
    if not facts.first_audio_ms:
        return False, "no answer"
    shown = ", ".join(
        "no audio" if math.isnan(ms) else f"{ms:.0f} ms" for ms in facts.first_audio_ms
    )
    late = [ms for ms in facts.first_audio_ms if math.isnan(ms) or ms > bound]
    if late:
        return False, f"first audio after {shown} (limit {bound:g} ms)"
    return True, f"first audio after {shown}"


def _judge(_expectation: Expectation, _facts: RunFacts) -> Verdict:
    return None, NO_MODEL


_SCORERS: dict[str, Callable[[Expectation, RunFacts], Verdict]] = {
    "tool": _tool,
    "no_tool": _no_tool,
    "answer_contains": _answer_contains,
    "answer_matches": _answer_matches,
    "heard": _heard,
    "handoff_to": _handoff_to,
    "guardrail_tripped": _guardrail_tripped,
    "no_guardrail_trip": _no_guardrail_trip,
    "first_audio_within_ms": _first_audio_within_ms,
    "judge": _judge,
}


def args_match(expected: Any, actual: Any) -> bool:
    """Whether ``actual`` includes ``expected``: mappings by subset, numbers as numbers ("42"
    is 42), text ignoring case and surrounding spaces, lists item by item."""
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            key in actual and args_match(value, actual[key]) for key, value in expected.items()
        )
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(actual) == len(expected)
            and all(args_match(e, a) for e, a in zip(expected, actual, strict=True))
        )
    if expected is None:
        return actual is None
    if isinstance(expected, bool) or isinstance(actual, bool):
        return isinstance(expected, bool) and isinstance(actual, bool) and expected == actual
    expected_number, actual_number = _number(expected), _number(actual)
    if expected_number is not None and actual_number is not None:
        return math.isclose(expected_number, actual_number, rel_tol=1e-9, abs_tol=1e-9)
    if isinstance(expected, str) and isinstance(actual, str):
        return expected.strip().casefold() == actual.strip().casefold()
    return False


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def _call(call: ToolCallFact) -> str:
    args = call.arguments
    if isinstance(args, dict):
        return f"{call.name}({', '.join(f'{k}={json.dumps(v)}' for k, v in args.items())})"
    return f"{call.name}({args})"


def _calls(calls: Sequence[ToolCallFact]) -> str:
    return ", ".join(_call(c) for c in calls) or "none"


def _quote(text: str) -> str:
    text = " ".join(text.split())
    if len(text) > SHOWN_CHARS:
        text = text[: SHOWN_CHARS - 1] + "…"
    return repr(text)
