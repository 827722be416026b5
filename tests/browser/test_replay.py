"""Notebook 07's replay in JupyterLab: the console shows the recorded turns arriving while it
plays, plays their audio, keeps the items the notebook's edit removed (marked), offers no
microphone and ends in a *replay finished* state."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .lab import KERNEL_IDLE, Chromium, Lab
from .pictures import save
from .test_console_look import RUN_ALL, write_silence_wav

pytestmark = [pytest.mark.browser, pytest.mark.timeout(900)]

NOTEBOOK = Path(__file__).parents[2] / "notebooks" / "07_history.ipynb"
# Counts the transcript entries each time the page changes while the console says "replaying".
WATCH = """() => {
  window.rtnbCounts = [];
  new MutationObserver(() => {
    const status = document.querySelector(".rtnb-console .rtnb-status");
    if (status?.dataset.status !== "connected") return;
    const count = document.querySelectorAll(".rtnb-console .rtnb-transcript .rtnb-entry").length;
    if (window.rtnbCounts.at(-1) !== count) window.rtnbCounts.push(count);
  }).observe(document.body, { childList: true, subtree: true, characterData: true });
}"""
FINISHED = """() => document.querySelector('.rtnb-console .rtnb-status[data-status="finished"]')"""
SEEN = """() => {
  const console_ = document.querySelector(".rtnb-console");
  const entries = [...console_.querySelectorAll(".rtnb-transcript .rtnb-entry")];
  return {
    counts: window.rtnbCounts,
    header: console_.querySelector(".rtnb-header").innerText,
    mic: console_.querySelectorAll(".rtnb-mic").length,
    text_box: console_.querySelectorAll(".rtnb-text").length,
    removed: entries.filter((e) => e.classList.contains("rtnb-removed")).map((e) => e.innerText),
    entries: entries.length,
    played_ms: Number(console_.querySelector(".rtnb-player-status").dataset.playedMs),
    buttons: [...console_.querySelectorAll("button")].map((b) => b.innerText.trim()),
  };
}"""


def test_the_replay_replays_in_the_console(tmp_path: Path, lab: Lab, chromium: Chromium) -> None:
    wav = tmp_path / "silence.wav"
    write_silence_wav(wav, 2)
    logs: list[str] = []
    (lab.root / NOTEBOOK.name).write_bytes(NOTEBOOK.read_bytes())
    page = chromium.new_page(wav, logs)
    page.set_viewport_size({"width": 1100, "height": 1000})
    try:
        page.goto(lab.page_url(NOTEBOOK.name))
        page.wait_for_function(KERNEL_IDLE, timeout=120_000)
        page.evaluate(WATCH)
        page.evaluate(RUN_ALL)
        page.wait_for_function(FINISHED, timeout=600_000)
        page.wait_for_function(
            """() => Number(document.querySelector(".rtnb-console .rtnb-player-status")
                              .dataset.playedMs) > 1000""",
            timeout=120_000,
        )
        seen = page.evaluate(SEEN)
        save(page.locator(".rtnb-console"), tmp_path, "replay.png")
    except Exception:
        page.screenshot(path=str(tmp_path / "replay-failure.png"), full_page=True)
        print("\n".join(logs[-60:]))
        print("".join(lab.log[-60:]))
        raise
    finally:
        page.context.close()
    print(json.dumps(seen, indent=1))

    # The turns arrived one after another while it played, not all at once at the end.
    assert len(seen["counts"]) >= 3 and seen["counts"] == sorted(seen["counts"])
    assert "replay finished" in seen["header"] and "backend: replay" in seen["header"]
    assert seen["mic"] == 0 and seen["text_box"] == 0 and "Start mic" not in seen["buttons"]
    # The whole conversation: the weather exchange and "I like tea." were edited away, and stay
    # in the transcript, marked.
    assert any("I like tea." in text for text in seen["removed"])
    assert any("Paris" in text for text in seen["removed"])
    assert seen["entries"] >= 9
    assert seen["played_ms"] > 1000  # the recorded answers were heard
