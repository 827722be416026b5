"""The quickstart notebook itself, in JupyterLab and chromium: its cells run top to bottom (the
local TTS asks the first question), then the fake microphone asks another through the console."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from .lab import Chromium, Lab
from .test_console import CELL_OUTPUT, KERNEL_IDLE, write_question_wav

pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]

QUICKSTART = Path(__file__).parents[2] / "notebooks" / "01_quickstart.ipynb"

CELL_COUNT = "() => window.jupyterapp.shell.currentWidget.content.widgets.length"
RUN_ALL = """async () => {
  await window.jupyterapp.commands.execute("notebook:run-all-cells");
}"""
ANSWERS = """() => [...document.querySelectorAll(".rtnb-transcript .rtnb-assistant")]
                  .map((line) => line.innerText)"""


def test_quickstart_notebook_in_the_browser(tmp_path: Path, lab: Lab, chromium: Chromium) -> None:
    wav = tmp_path / "question.wav"
    write_question_wav(wav, "What is the weather in London?")
    logs: list[str] = []
    shutil.copy(QUICKSTART, lab.root / QUICKSTART.name)
    page = chromium.new_page(wav, logs)
    try:
        page.goto(lab.page_url(QUICKSTART.name))
        page.wait_for_function(KERNEL_IDLE, timeout=120_000)
        last = page.evaluate(CELL_COUNT) - 2  # the history table; a markdown cell follows
        page.evaluate(RUN_ALL)
        page.wait_for_function(
            f"() => ({CELL_OUTPUT})({last}).includes('get_weather')", timeout=120_000
        )
        table = page.evaluate(CELL_OUTPUT, last)
        status = page.locator(".rtnb-status").locator("xpath=..").inner_text()

        # The person now talks through the console's microphone.
        page.locator(".rtnb-mic-toggle").click()
        page.wait_for_function(
            f"() => ({ANSWERS})().some((text) => text.includes('London is sunny'))",
            timeout=90_000,
        )
        page.wait_for_function(
            """() => Number(document.querySelector(".rtnb-player-status")
                            ?.dataset.playedMs) > 1000""",
            timeout=60_000,
        )
        answers = page.evaluate(ANSWERS)
        transcript = page.locator(".rtnb-transcript").inner_text()
    except Exception:
        page.screenshot(path=str(tmp_path / "quickstart.png"), full_page=True)
        print("\n".join(logs[-60:]))
        print("".join(lab.log[-60:]))
        raise
    finally:
        page.context.close()

    assert "connected" in status and "backend: local" in status
    assert "Paris is sunny" in table and "Rome is sunny" in table  # the notebook's own turns
    assert "The weather in London is sunny" in answers[-1]
    assert "what is the weather in london" in transcript.lower()
