"""The ``rtnb`` command line: ``--version``, and help texts a terminal shows as they are."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

from rtnb import cli

# reStructuredText and Markdown markup that a terminal would show literally
MARKUP = re.compile(r"``|:(?:mod|func|class|data|meth|attr):`|`[^`\s]+`|\*\*")


def _parsers() -> dict[str, argparse.ArgumentParser]:
    parser = cli._parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {"rtnb": parser} | {f"rtnb {name}": sub for name, sub in commands.choices.items()}


def test_version_is_the_installed_one() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "rtnb.cli", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"rtnb {metadata.version('rtnb')}"


@pytest.mark.parametrize("name", sorted(_parsers()))
def test_help_has_no_markup_and_no_pointers_to_source(name: str) -> None:
    text = _parsers()[name].format_help()
    assert not MARKUP.search(text), MARKUP.search(text)
    assert "see rtnb." not in text  # a default must be stated, not referred to a module
    assert all(len(line) <= 100 for line in text.splitlines())


@pytest.mark.parametrize("name", sorted(_parsers()))
def test_every_default_is_stated_in_the_help(name: str) -> None:
    for action in _parsers()[name]._actions:
        if action.help in (None, argparse.SUPPRESS) or not action.option_strings:
            continue
        if isinstance(action, argparse._StoreTrueAction | argparse._HelpAction):
            continue  # flags: off unless given
        if isinstance(action, argparse._VersionAction):
            continue
        assert "default" in action.help, f"{name} {action.option_strings[0]}: no default stated"
        if action.default is not None:
            assert str(action.default) in action.help, (
                f"{name} {action.option_strings[0]}: says a default other than {action.default!r}"
            )


@pytest.mark.parametrize("question", ["", "  ", "?!"])
def test_demo_refuses_a_question_without_words(
    question: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["demo", "--question", question]) == 2
    assert "--question" in capsys.readouterr().err


def test_demo_refuses_an_answer_file_in_a_missing_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "missing" / "answer.wav"
    assert cli.main(["demo", "--out", str(out)]) == 2  # before any conversation
    assert f"--out {out}" in capsys.readouterr().err


def test_help_lists_each_command_once() -> None:
    text = _parsers()["rtnb"].format_help()
    commands = [name.split()[1] for name in _parsers() if name != "rtnb"]
    assert commands
    for command in commands:
        listed = re.findall(rf"^\s+(?:rtnb )?{command}\s", text, flags=re.M)
        assert len(listed) == 1, (command, text)
