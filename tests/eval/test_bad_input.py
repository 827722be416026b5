"""Bad suites fail before anything runs, naming the scenario, the key and the YAML line."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from rtnb.eval import SuiteError, load_suite, parse_suite, run

from .conftest import SUITES, suite

GOOD = """\
agent: shop_agents:support_agent
scenarios:
  - name: weather
    turns:
      - say: What is the weather in Paris?
    expect:
      - tool: get_weather
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "suite.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def error_of(tmp_path: Path, text: str) -> str:
    with pytest.raises(SuiteError) as raised:
        load_suite(write(tmp_path, text))
    return str(raised.value)


def test_the_good_suite_loads(tmp_path: Path) -> None:
    loaded = load_suite(write(tmp_path, GOOD))
    assert loaded.scenarios[0].turns[0].value == "What is the weather in Paris?"
    assert loaded.scenarios[0].expect[0].at.endswith("suite.yaml, line 7")
    assert loaded.size == 1


def test_unknown_key_names_scenario_key_and_line(tmp_path: Path) -> None:
    message = error_of(tmp_path, GOOD.replace("      - tool: get_weather", "      - tol: x"))
    assert "suite.yaml, line 7: scenario 'weather'" in message
    assert "expect[0]" in message and "tol" in message and "tool" in message
    message = error_of(tmp_path, GOOD.replace("    turns:", "    turnz:"))
    assert "line 4" in message and "unknown key 'turnz'" in message
    message = error_of(tmp_path, "agnt: a:b\n" + GOOD)
    assert "line 1" in message and "unknown key 'agnt'" in message


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("      - say: What is the weather in Paris?", "      - say: [1, 2]", "expected some text"),
        ("      - say: What is the weather in Paris?", "      - hello", "expected a mapping"),
        (
            "      - say: What is the weather in Paris?",
            "      - {say: Hi, type: Hi}",
            "exactly one of say",
        ),
        ("      - tool: get_weather", "      - heard: 2", "word error rate in 0..1"),
        ("      - tool: get_weather", "      - answer_matches: '(unclosed'", "regular expression"),
        ("      - tool: get_weather", "      - first_audio_within_ms: fast", "expected a number"),
        ("      - tool: get_weather", "      - tool: get_weather\n        args: [1]", "mapping"),
        (
            "    turns:\n      - say: What is the weather in Paris?",
            "    turns: []",
            "list of turns",
        ),
        (
            "      - say: What is the weather in Paris?",
            "      - say: Hi\n        speed: 0",
            "positive",
        ),
    ],
)
def test_wrong_shapes(tmp_path: Path, old: str, new: str, expected: str) -> None:
    message = error_of(tmp_path, GOOD.replace(old, new))
    assert expected in message
    assert "suite.yaml, line" in message


def test_bad_variants_and_voice(tmp_path: Path) -> None:
    message = error_of(tmp_path, "variants: {colour: [red]}\n" + GOOD)
    assert "line 1" in message and "unknown key 'colour'" in message
    message = error_of(tmp_path, "variants: {voice: [en-us, no-such-voice]}\n" + GOOD)
    assert "variants.voice[1]" in message and "unknown voice 'no-such-voice'" in message


def test_yaml_syntax_error_and_repeated_key(tmp_path: Path) -> None:
    message = error_of(tmp_path, "scenarios:\n  - name: a: b\n")
    assert "suite.yaml, line 2: not valid YAML" in message
    message = error_of(tmp_path, GOOD + "agent: other:agent\n")
    assert "line 8: the key 'agent' is given twice" in message


async def test_agent_path_that_does_not_import(shop: dict[str, Any]) -> None:
    bad = suite(shop, {"name": "x", "turns": [{"type": "Hi"}]}, agent="no_such_module:agent")
    with pytest.raises(SuiteError, match=r"'no_such_module:agent' does not import"):
        await run(bad, progress=False)
    bad["agent"] = "shop_agents:no_such_agent"
    with pytest.raises(SuiteError, match="has no 'no_such_agent'"):
        await run(bad, progress=False)


async def test_unknown_tool_or_agent_named_before_anything_runs(tmp_path: Path) -> None:
    text = GOOD.replace("tool: get_weather", "tool: get_wether")
    path = write(tmp_path, text)
    (tmp_path / "shop_agents.py").write_text((SUITES / "shop_agents.py").read_text())
    with pytest.raises(SuiteError) as raised:
        await run(path, progress=False)
    message = str(raised.value)
    assert "suite.yaml, line 7: scenario 'weather', tool" in message
    assert "has no tool 'get_wether'" in message and "get_weather" in message
    sys.modules.pop("shop_agents", None)
    path.write_text(GOOD + "      - handoff_to: sales\n", encoding="utf-8")
    with pytest.raises(
        SuiteError, match=r"line 8: scenario 'weather', handoff_to.*no agent 'sales'"
    ):
        await run(path, progress=False)
    path.write_text(GOOD.replace("- say: What", "- approve: refund\n      - say: What"))
    with pytest.raises(SuiteError, match=r"line 5: scenario 'weather', approve.*no tool 'refund'"):
        await run(path, progress=False)


def test_python_suite_with_the_same_keys() -> None:
    data = {
        "agent": "shop_agents:support_agent",
        "scenarios": [{"name": "w", "turns": [{"say": "Hi"}], "expect": [{"no_tool": True}]}],
    }
    assert parse_suite(data).scenarios[0].expect[0].kind == "no_tool"
    data["scenarios"][0]["turns"] = [{"sya": "Hi"}]
    with pytest.raises(SuiteError, match=r"scenario 'w', scenarios\[0\]\.turns\[0\]"):
        parse_suite(data)


async def test_missing_ray_gives_the_install_command(
    shop: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # as if not installed
    with pytest.raises(ImportError, match=r"pip install 'rtnb\[ray\]'"):
        await run(suite(shop, {"name": "x", "turns": [{"type": "Hi"}]}), executor="ray")
