"""Evaluation suites: scenarios (turns and expectations) x variants x repeats.

A suite is written as a YAML file or as Python objects with the same keys::

    agent: shop_agents:support_agent     # module:attribute (an agent or a zero-argument factory)
    variants: {voice: [en-us, alloy], noise_db: [null, 15]}
    repeats: 2
    scenarios:
      - name: weather in Paris
        turns: [{say: What is the weather in Paris?}]
        expect: [{tool: get_weather, args: {city: Paris}}, {answer_contains: Paris}]

Everything is checked when the suite is read (:func:`load_suite`, :func:`parse_suite`), before
anything runs: a wrong key or shape raises :class:`SuiteError` naming the scenario, the key and,
for YAML, the line. The names an expectation gives (tools, agents) are checked against the agent
by :func:`check_agent`.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .yaml_lines import Lines, load_yaml

__all__ = [
    "EXPECTATIONS",
    "TURN_ACTIONS",
    "VARIANT_KEYS",
    "Expectation",
    "Scenario",
    "Suite",
    "SuiteError",
    "Turn",
    "load_suite",
    "parse_suite",
]

SUITE_KEYS = ("agent", "variants", "repeats", "timeout_s", "config", "model", "seed", "scenarios")
SCENARIO_KEYS = ("name", "turns", "expect", "timeout_s")
VARIANT_KEYS = ("voice", "noise_db", "speed")
"""What a suite may vary: the simulated user's voice, the SNR of white noise mixed into the
user's speech (``null``: clean) and the speaking rate (1.0 is normal)."""
TURN_ACTIONS = ("say", "audio", "type", "wait_ms", "approve", "reject")
"""What a turn does (exactly one per turn)."""
TURN_OPTIONS = {
    "say": ("voice", "speed", "noise_db", "interrupt_after_ms"),
    "audio": ("noise_db", "interrupt_after_ms"),
    "type": ("interrupt_after_ms",),
    "wait_ms": (),
    "approve": (),
    "reject": (),
}
EXPECTATIONS = (
    "tool",
    "no_tool",
    "answer_contains",
    "answer_matches",
    "heard",
    "handoff_to",
    "guardrail_tripped",
    "no_guardrail_trip",
    "first_audio_within_ms",
    "judge",
)
"""The expectation kinds (exactly one per expectation; ``tool`` may add ``args``)."""
DEFAULT_TIMEOUT_S = 60.0
DEFAULT_VARIANTS: dict[str, list[Any]] = {"voice": [None], "noise_db": [None], "speed": [1.0]}


class SuiteError(ValueError):
    """A suite that cannot run: the message names the scenario, the key and the YAML line."""


@dataclass(frozen=True)
class Turn:
    """One thing the simulated user does.

    ``action`` is one of :data:`TURN_ACTIONS`: ``say`` (``value``: text spoken by the local TTS),
    ``audio`` (a WAV file path), ``type`` (a text message), ``wait_ms`` (silence, in ms),
    ``approve`` / ``reject`` (the pending call of the tool ``value``; ``message`` is what a
    rejection tells the model). ``options`` overrides the run's ``voice``, ``speed`` or
    ``noise_db`` for this turn. With ``interrupt_after_ms`` the user barges in that long after
    the previous answer's first audio (instead of waiting for the answer to end).
    """

    action: str
    value: Any
    message: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    interrupt_after_ms: float | None = None
    at: str = field(default="", compare=False, repr=False)
    """Where it was written (``suite.yaml, line 12``), for messages."""

    @property
    def text(self) -> str | None:
        """The words of a ``say`` or ``type`` turn."""
        return self.value if self.action in ("say", "type") else None


@dataclass(frozen=True)
class Expectation:
    """One check of a run, a pure function of its records (see :mod:`rtnb.eval.expectations`).

    ``kind`` is one of :data:`EXPECTATIONS`; ``value`` its argument (a tool name, a text, a
    regular expression, a word-error-rate bound, milliseconds, a criterion...); ``args`` the
    arguments a ``tool`` call must include.
    """

    kind: str
    value: Any = True
    args: Mapping[str, Any] | None = None
    at: str = field(default="", compare=False, repr=False)

    @property
    def label(self) -> str:
        """A short readable name: ``tool get_weather(city=Paris)``, ``answer_contains 'Paris'``."""
        if self.kind == "tool":
            args = ", ".join(f"{k}={v}" for k, v in (self.args or {}).items())
            return f"tool {self.value}({args})" if self.args else f"tool {self.value}"
        if self.value is True:
            return self.kind
        if isinstance(self.value, str):
            return f"{self.kind} {self.value!r}"
        return f"{self.kind} {self.value}"


@dataclass(frozen=True)
class Scenario:
    """A named conversation: the user's ``turns`` and what must be true afterwards."""

    name: str
    turns: Sequence[Turn]
    expect: Sequence[Expectation] = ()
    timeout_s: float | None = None
    """This scenario's per-run timeout (default: the suite's)."""


@dataclass(frozen=True)
class Suite:
    """Scenarios x every combination of ``variants`` x ``repeats``.

    ``agent`` is a ``module:attribute`` path, a :class:`~rtnb.RealtimeAgent` or a zero-argument
    factory (``rtnb.eval.run(agent=...)`` overrides it). ``config`` holds session settings (wire
    ``session`` fields, as ``RealtimeSession(config=...)``), ``model`` the Realtime model.
    ``base_dir`` is where ``agent`` modules and ``audio`` files are looked up (the YAML file's
    folder). ``seed`` makes the noise of every run reproducible.
    """

    scenarios: Sequence[Scenario]
    agent: Any = None
    variants: Mapping[str, Sequence[Any]] = field(default_factory=dict)
    repeats: int = 1
    timeout_s: float = DEFAULT_TIMEOUT_S
    config: Mapping[str, Any] | None = None
    model: str | None = None
    seed: int = 0
    base_dir: Path = field(default_factory=Path.cwd, compare=False)
    source: str = field(default="<suite>", compare=False)

    @property
    def variant_grid(self) -> dict[str, list[Any]]:
        """Every variant key with its values (defaults for the keys the suite does not vary)."""
        return {key: list(self.variants.get(key, DEFAULT_VARIANTS[key])) for key in VARIANT_KEYS}

    @property
    def size(self) -> int:
        """How many runs the suite makes."""
        return (
            len(self.scenarios) * math.prod(map(len, self.variant_grid.values())) * (self.repeats)
        )


# ----------------------------------------------------------------- reading


class _Reader:
    """Turns plain data into suite objects, naming where each problem is."""

    def __init__(self, source: str, lines: Lines | None) -> None:
        self.source = source
        self.lines = lines or {}

    def at(self, path: tuple[Any, ...]) -> str:
        for end in range(len(path), -1, -1):
            line = self.lines.get(path[:end])
            if line is not None:
                return f"{self.source}, line {line}"
        return self.source

    def fail(self, path: tuple[Any, ...], message: str, scenario: str | None = None) -> SuiteError:
        where = self.at(path)
        keys = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")
        subject = f"scenario {scenario!r}, " if scenario else ""
        return SuiteError(f"{where}: {subject}{keys or 'suite'}: {message}")

    def keys(
        self, data: Any, path: tuple[Any, ...], known: Sequence[str], scenario: str | None = None
    ) -> Mapping[str, Any]:
        if not isinstance(data, Mapping):
            raise self.fail(path, f"expected a mapping, got {_kind(data)}", scenario)
        for key in data:
            if key not in known:
                raise self.fail(
                    (*path, key),
                    f"unknown key {key!r} (known: {', '.join(known)})",
                    scenario,
                )
        return data

    def number(
        self, value: Any, path: tuple[Any, ...], scenario: str | None, *, positive: bool = True
    ) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
            raise self.fail(path, f"expected a number, got {_kind(value)}", scenario)
        if positive and value <= 0:
            raise self.fail(path, f"expected a positive number, got {value}", scenario)
        return float(value)

    def text(self, value: Any, path: tuple[Any, ...], scenario: str | None) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(path, f"expected some text, got {_kind(value)}", scenario)
        return value

    # ------------------------------------------------------------- suite

    def suite(self, data: Any, base_dir: Path) -> Suite:
        data = self.keys(data, (), SUITE_KEYS)
        scenarios = data.get("scenarios")
        if not isinstance(scenarios, list) or not scenarios:
            raise self.fail(("scenarios",), f"expected a list of scenarios, got {_kind(scenarios)}")
        parsed = [self.scenario(s, ("scenarios", i)) for i, s in enumerate(scenarios)]
        names = [s.name for s in parsed]
        for i, name in enumerate(names):
            if name in names[:i]:
                raise self.fail(("scenarios", i, "name"), "two scenarios have this name", name)
        repeats = data.get("repeats", 1)
        if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
            raise self.fail(("repeats",), f"expected a whole number >= 1, got {repeats!r}")
        seed = data.get("seed", 0)
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise self.fail(("seed",), f"expected a whole number, got {_kind(seed)}")
        config = data.get("config")
        if config is not None and not isinstance(config, Mapping):
            raise self.fail(("config",), f"expected a mapping of session fields, got {config!r}")
        model = data.get("model")
        if model is not None:
            model = self.text(model, ("model",), None)
        agent = data.get("agent")
        if isinstance(agent, str) and ":" not in agent:
            raise self.fail(("agent",), f"expected module:attribute, got {agent!r}")
        timeout = data.get("timeout_s", DEFAULT_TIMEOUT_S)
        return Suite(
            scenarios=parsed,
            agent=agent,
            variants=self.variants(data.get("variants") or {}),
            repeats=repeats,
            timeout_s=self.number(timeout, ("timeout_s",), None),
            config=dict(config) if config is not None else None,
            model=model,
            seed=seed,
            base_dir=base_dir,
            source=self.source,
        )

    def variants(self, data: Any) -> dict[str, list[Any]]:
        data = self.keys(data, ("variants",), VARIANT_KEYS)
        variants: dict[str, list[Any]] = {}
        for key, values in data.items():
            path = ("variants", key)
            values = values if isinstance(values, list) else [values]
            if not values:
                raise self.fail(path, "expected at least one value")
            checked = []
            for i, value in enumerate(values):
                checked.append(self.option(key, value, (*path, i), None))
            variants[key] = checked
        return variants

    def option(self, key: str, value: Any, path: tuple[Any, ...], scenario: str | None) -> Any:
        """A ``voice``, ``noise_db`` or ``speed`` value (variant or turn option)."""
        if key == "voice":
            if value is None:
                return None
            return check_voice(self.text(value, path, scenario), self.fail(path, "", scenario))
        if key == "noise_db":
            return None if value is None else self.number(value, path, scenario, positive=False)
        return self.number(value, path, scenario)  # speed

    # ------------------------------------------------------------- scenarios

    def scenario(self, data: Any, path: tuple[Any, ...]) -> Scenario:
        name = data.get("name") if isinstance(data, Mapping) else None
        label = name if isinstance(name, str) else None
        data = self.keys(data, path, SCENARIO_KEYS, label)
        name = self.text(data.get("name"), (*path, "name"), None)
        turns = data.get("turns")
        if not isinstance(turns, list) or not turns:
            raise self.fail((*path, "turns"), f"expected a list of turns, got {_kind(turns)}", name)
        parsed = [self.turn(t, (*path, "turns", i), name) for i, t in enumerate(turns)]
        if parsed[0].interrupt_after_ms is not None:
            raise self.fail(
                (*path, "turns", 0, "interrupt_after_ms"), "the first turn has nothing to interrupt"
            )
        expect = data.get("expect") or []
        if not isinstance(expect, list):
            raise self.fail((*path, "expect"), f"expected a list, got {_kind(expect)}", name)
        timeout = data.get("timeout_s")
        return Scenario(
            name=name,
            turns=parsed,
            expect=[self.expectation(e, (*path, "expect", i), name) for i, e in enumerate(expect)],
            timeout_s=None if timeout is None else self.number(timeout, (*path, "timeout_s"), name),
        )

    def turn(self, data: Any, path: tuple[Any, ...], scenario: str) -> Turn:
        if isinstance(data, Turn):
            return data
        if not isinstance(data, Mapping):
            raise self.fail(path, f"expected a mapping such as {{say: ...}}, got {_kind(data)}")
        actions = [key for key in data if key in TURN_ACTIONS]
        if not actions:  # an unknown key is the likelier mistake (a typo of the action)
            self.keys(data, path, (*TURN_ACTIONS, "voice", "speed", "noise_db"), scenario)
        if len(actions) != 1:
            found = f"{len(actions)}: {', '.join(actions)}" if actions else "none"
            raise self.fail(
                path, f"a turn needs exactly one of {', '.join(TURN_ACTIONS)} ({found})", scenario
            )
        action = actions[0]
        self.keys(data, path, (action, *TURN_OPTIONS[action]), scenario)
        value, where = data[action], (*path, action)
        message = None
        if action in ("say", "type") or action == "audio":
            value = self.text(value, where, scenario)
        elif action == "wait_ms":
            value = self.number(value, where, scenario, positive=False)
        elif action == "reject" and isinstance(value, Mapping):
            self.keys(value, where, ("tool", "message"), scenario)
            message = value.get("message")
            if message is not None:
                message = self.text(message, (*where, "message"), scenario)
            value = self.text(value.get("tool"), (*where, "tool"), scenario)
        else:
            value = self.text(value, where, scenario)
        options = {
            key: self.option(key, data[key], (*path, key), scenario)
            for key in ("voice", "speed", "noise_db")
            if key in data
        }
        interrupt = data.get("interrupt_after_ms")
        if interrupt is not None:
            interrupt = self.number(
                interrupt, (*path, "interrupt_after_ms"), scenario, positive=False
            )
        return Turn(action, value, message, options, interrupt, at=self.at(where))

    def expectation(self, data: Any, path: tuple[Any, ...], scenario: str) -> Expectation:
        if isinstance(data, Expectation):
            return data
        if not isinstance(data, Mapping):
            raise self.fail(path, f"expected a mapping such as {{tool: ...}}, got {_kind(data)}")
        kinds = [key for key in data if key in EXPECTATIONS]
        if not kinds:
            self.keys(data, path, (*EXPECTATIONS, "args"), scenario)
        if len(kinds) != 1:
            found = f"{len(kinds)}: {', '.join(kinds)}" if kinds else "none"
            raise self.fail(
                path,
                f"an expectation needs exactly one of {', '.join(EXPECTATIONS)} ({found})",
                scenario,
            )
        kind = kinds[0]
        self.keys(data, path, (kind, "args") if kind == "tool" else (kind,), scenario)
        value, where = data[kind], (*path, kind)
        args = data.get("args")
        if kind == "tool":
            value = self.text(value, where, scenario)
            if args is not None and not isinstance(args, Mapping):
                raise self.fail((*path, "args"), f"expected a mapping, got {_kind(args)}", scenario)
        elif kind in ("no_tool", "guardrail_tripped"):
            if value is not True and not isinstance(value, str | list):
                raise self.fail(where, f"expected true or a name, got {_kind(value)}", scenario)
            if isinstance(value, list):
                value = [self.text(v, (*where, i), scenario) for i, v in enumerate(value)]
        elif kind == "no_guardrail_trip":
            if value is not True:
                raise self.fail(where, f"expected true, got {_kind(value)}", scenario)
        elif kind == "answer_contains":
            values = value if isinstance(value, list) else [value]
            value = [self.text(v, where, scenario) for v in values]
        elif kind == "answer_matches":
            value = self.text(value, where, scenario)
            try:
                re.compile(value)
            except re.error as exc:
                raise self.fail(where, f"not a regular expression: {exc}", scenario) from None
        elif kind == "heard":
            value = self.number(value, where, scenario, positive=False)
            if not 0 <= value <= 1:
                raise self.fail(where, f"expected a word error rate in 0..1, got {value}", scenario)
        elif kind == "first_audio_within_ms":
            value = self.number(value, where, scenario)
        else:  # handoff_to, judge
            value = self.text(value, where, scenario)
        return Expectation(kind, value, dict(args) if args else None, at=self.at(where))


def check_voice(voice: str, error: SuiteError) -> str:
    """``voice`` if the local TTS can speak it (a Realtime voice name or an espeak-ng voice)."""
    from rtnb.local.speech.tts import VOICES, synthesize

    if voice.lower() in VOICES:
        return voice
    try:
        synthesize("a", voice=voice, engine="espeak")
    except ValueError as exc:
        raise SuiteError(f"{error.args[0]}unknown voice {voice!r} ({exc})") from None
    return voice


def _scenario_data(scenario: Scenario | Mapping[str, Any]) -> Any:
    if not isinstance(scenario, Scenario):
        return scenario
    data = {"name": scenario.name, "turns": list(scenario.turns), "expect": list(scenario.expect)}
    return data | ({"timeout_s": scenario.timeout_s} if scenario.timeout_s is not None else {})


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, str):
        return f"text {value!r}"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"{type(value).__name__} {value!r}"


def parse_suite(
    data: Mapping[str, Any] | Suite,
    *,
    source: str = "<suite>",
    base_dir: str | Path | None = None,
    lines: Lines | None = None,
) -> Suite:
    """A :class:`Suite` from plain data (the YAML keys); raises :class:`SuiteError`.

    A :class:`Suite` is checked again and returned with its scenarios' turns and expectations
    parsed (they may be given as dicts with the YAML keys).
    """
    if isinstance(data, Suite):
        plain = {
            "scenarios": [_scenario_data(scenario) for scenario in data.scenarios],
            "agent": data.agent,
            "variants": dict(data.variants),
            "repeats": data.repeats,
            "timeout_s": data.timeout_s,
            "config": data.config,
            "model": data.model,
            "seed": data.seed,
        }
        return _Reader(data.source, None).suite(plain, data.base_dir)
    folder = Path(base_dir) if base_dir is not None else Path.cwd()
    return _Reader(source, lines).suite(data, folder)


def load_suite(path: str | os.PathLike[str]) -> Suite:
    """Read a YAML suite file; raises :class:`SuiteError` naming the line of any problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SuiteError(f"{path}: cannot read the suite ({exc.strerror or exc})") from None
    try:
        data, lines = load_yaml(text)
    except ValueError as exc:  # "line N: ..."
        raise SuiteError(f"{path}, {exc}") from None
    return parse_suite(data, source=str(path), base_dir=path.resolve().parent, lines=lines)
