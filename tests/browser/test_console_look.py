"""The quickstart's console as a person sees it, in JupyterLab's light and dark themes: after ten
turns it is still a compact panel whose transcript follows the newest turn, no widget shows
`NaN` or `None`, every button looks the same, the views patch what changed instead of
rebuilding, and the theme's colours are its own. Screenshots are saved as test artifacts (and as
the README's pictures with ``python -m tests.browser.pictures``)."""

from __future__ import annotations

import json
import wave
from pathlib import Path
from typing import Any

import pytest

from .lab import CELL_OUTPUT, KERNEL_IDLE, Chromium, Lab
from .pictures import save

pytestmark = [pytest.mark.browser, pytest.mark.timeout(900)]

QUICKSTART = Path(__file__).parents[2] / "notebooks" / "01_quickstart.ipynb"
CITIES = ["Oslo", "Lima", "Cairo", "Tokyo", "Quito", "Dakar", "Hanoi", "Bern"]
# Eight more typed turns after the quickstart's own two: ten in all.
MORE_TURNS = f"""
for city in {CITIES!r}:
    answered.clear()
    session.send_message(f"What is the weather in {{city}}?")
    await asyncio.wait_for(answered.wait(), timeout=120)
print("RTNB-TURNS", sum(getattr(item, "role", None) == "assistant" for item in session.history))
"""
MAX_HEIGHT_PX = 700
UNPACED = 'server_options={"realtime_pacing": False}'

RUN_ALL = """async () => {
  await window.jupyterapp.commands.execute("notebook:run-all-cells");
}"""
CELL_COUNT = "() => window.jupyterapp.shell.currentWidget.content.widgets.length"
ANSWERS = "() => document.querySelectorAll('.rtnb-transcript .rtnb-assistant').length"
# The entries of the finished turns (those before the third answer) are tagged; a view that
# rebuilt would lose the tags.
TAG_ENTRIES = """() => {
  const third = document.querySelectorAll(".rtnb-transcript .rtnb-assistant")[2];
  const nodes = [...document.querySelectorAll(".rtnb-transcript .rtnb-entry")].filter(
    (node) => node.compareDocumentPosition(third) & Node.DOCUMENT_POSITION_FOLLOWING);
  nodes.forEach((node) => (node.rtnbTag = true));
  return nodes.length;
}"""
TAGGED_ALIVE = """() => [...document.querySelectorAll(".rtnb-transcript .rtnb-entry")]
                     .filter((node) => node.rtnbTag).length"""
FOLLOWS = """() => {
  const box = document.querySelector(".rtnb-transcript");
  return box.scrollHeight > box.clientHeight + 50
    && box.scrollHeight - box.scrollTop - box.clientHeight < 2;
}"""
LOOK = """() => {
  const console_ = document.querySelector(".rtnb-console");
  const buttons = [...console_.querySelectorAll("button")].filter(
    (b) => b.offsetParent !== null && !b.matches(".mod-success, .mod-danger, .rtnb-active"));
  const style = (b) => {
    const s = getComputedStyle(b);
    return [s.fontFamily, s.fontSize, s.height, s.borderTopLeftRadius, s.borderTopWidth,
            s.borderTopStyle, s.borderTopColor, s.paddingLeft, s.backgroundColor, s.color]
      .join(" | ");
  };
  const texts = [...document.querySelectorAll(".jupyter-widgets")].map((w) => w.innerText);
  const bad = texts.filter((t) => /\\b(NaN|nan|None|undefined|null)\\b/.test(t));
  return {
    height: console_.getBoundingClientRect().height,
    buttons: buttons.map((b) => [b.innerText.trim(), style(b)]),
    bad,
    background: getComputedStyle(console_).backgroundColor,
    bubble: getComputedStyle(document.querySelector(".rtnb-assistant .rtnb-bubble")).color,
    theme_light: document.body.dataset.jpThemeLight,
  };
}"""
HISTORY_ROWS = "() => document.querySelectorAll('.rtnb-history tbody tr').length"


def luminance(css: str) -> float:
    """Relative luminance (0 black - 1 white) of a CSS ``rgb(...)``/``rgba(...)`` colour."""
    values = css[css.index("(") + 1 : css.index(")")].split(",")
    r, g, b = (float(v) / 255 for v in values[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def write_silence_wav(path: Path, seconds: float = 30.0) -> None:
    """A silent fake microphone: the mic runs (its meter and state show) and says nothing."""
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(48_000)
        wav.writeframes(b"\x00\x00" * int(48_000 * seconds))


def dismiss_news(page: Any) -> None:
    """Close JupyterLab's "get notified about news?" toast if it shows (it may cover widgets)."""
    button = page.locator(".Toastify__toast").get_by_role("button", name="No")
    if button.count():
        button.first.click()


def look(page: Any, tmp_path: Path, theme: str) -> dict[str, Any]:
    """What the page shows, and its screenshots, in the current ``theme``."""
    result = page.evaluate(LOOK)
    save(page.locator(".rtnb-console"), tmp_path, f"console-{theme}.png", readme=True)
    page.locator(".rtnb-tabs .lm-TabBar-tab", has_text="History").click()
    page.locator(".rtnb-history").wait_for(state="visible", timeout=30_000)
    page.wait_for_function(f"() => ({HISTORY_ROWS})() >= 20", timeout=30_000)
    result["history"] = page.locator(".rtnb-history").inner_text()
    result["history_height"] = page.evaluate(
        "() => document.querySelector('.rtnb-console').getBoundingClientRect().height"
    )
    save(page.locator(".rtnb-console"), tmp_path, f"console-history-{theme}.png")
    page.locator(".rtnb-tabs .lm-TabBar-tab").first.click()  # back to the conversation
    return result


def test_the_console_after_ten_turns_in_light_and_dark(
    tmp_path: Path, lab: Lab, chromium: Chromium
) -> None:
    wav = tmp_path / "silence.wav"
    write_silence_wav(wav)
    logs: list[str] = []
    notebook = json.loads(QUICKSTART.read_text())
    # Nothing seen after the ten turns depends on the answers' audio arriving at a speaking
    # pace: the embedded server streams it unpaced (ten paced answers took half the test).
    for cell in (c for c in notebook["cells"] if c["cell_type"] == "code"):
        cell["source"] = [
            line.replace("RealtimeSession(agent)", f"RealtimeSession(agent, {UNPACED})")
            for line in cell["source"]
        ]
    assert any(UNPACED in "".join(cell["source"]) for cell in notebook["cells"])
    notebook["cells"].append(
        {"cell_type": "code", "id": "more-turns", "metadata": {}, "outputs": []}
        | {"execution_count": None, "source": MORE_TURNS}
    )
    (lab.root / QUICKSTART.name).write_text(json.dumps(notebook))
    page = chromium.new_page(wav, logs)
    page.set_viewport_size({"width": 1100, "height": 1000})
    try:
        page.goto(lab.page_url(QUICKSTART.name))
        page.wait_for_function(KERNEL_IDLE, timeout=120_000)
        last = page.evaluate(CELL_COUNT) - 1
        page.evaluate(RUN_ALL)
        page.wait_for_function(f"() => ({ANSWERS})() >= 3", timeout=300_000)
        tagged = page.evaluate(TAG_ENTRIES)
        page.wait_for_function(
            f"() => ({CELL_OUTPUT})({last}).includes('RTNB-TURNS')", timeout=600_000
        )
        turns = page.evaluate(CELL_OUTPUT, last)
        page.wait_for_function(f"() => ({ANSWERS})() >= 10", timeout=60_000)
        dismiss_news(page)
        page.locator(".rtnb-console").scroll_into_view_if_needed()
        page.wait_for_function(FOLLOWS, timeout=30_000)
        alive = page.evaluate(TAGGED_ALIVE)
        page.locator(".rtnb-mic-toggle").click()
        page.wait_for_function(
            "() => document.querySelector('.rtnb-mic-status')?.dataset.state === 'listening'",
            timeout=60_000,
        )
        page.locator(".rtnb-console").scroll_into_view_if_needed()
        light = look(page, tmp_path, "light")

        page.evaluate(
            """async () => window.jupyterapp.commands.execute(
                 "apputils:change-theme", {theme: "JupyterLab Dark"})"""
        )
        page.wait_for_function(
            """(light) => document.body.dataset.jpThemeLight === "false"
              && getComputedStyle(document.querySelector(".rtnb-console"))
                   .backgroundColor !== light""",
            arg=light["background"],
            timeout=60_000,
        )
        dark = look(page, tmp_path, "dark")
    except Exception:
        page.screenshot(path=str(tmp_path / "console-look-failure.png"), full_page=True)
        print("\n".join(logs[-60:]))
        print("".join(lab.log[-60:]))
        raise
    finally:
        page.context.close()
    print(json.dumps({"light": light, "dark": dark, "turns": turns}, indent=1))

    assert "RTNB-TURNS 10" in turns
    # Ten turns and the panel is still compact (the transcript scrolls instead), in either tab.
    for seen in (light, dark):
        assert seen["height"] < MAX_HEIGHT_PX, seen["height"]
        assert seen["history_height"] < MAX_HEIGHT_PX, seen["history_height"]
        assert not seen["bad"], seen["bad"]
        # Every button (but the coloured approval ones and active toggles) has the one style.
        names = [name for name, _ in seen["buttons"]]
        assert {"Disconnect", "Mute", "Send", "Interrupt"} <= set(names)
        assert "Connect" not in names  # one Connect/Disconnect toggle
        assert "Enable audio" not in names  # the speaker plays: the button hides
        assert len({style for _, style in seen["buttons"]}) == 1, seen["buttons"]
        # The readable table: no ids, and no agent column while one agent speaks.
        assert "item_" not in seen["history"]
        assert "Weather assistant" not in seen["history"]
    # The entries drawn before the eight turns are the same elements after them: patched, not
    # rebuilt.
    assert tagged >= 6 and alive == tagged
    # The theme's colours: a light panel with dark text, then a dark panel with light text.
    assert luminance(light["background"]) > 0.8 and luminance(light["bubble"]) < 0.3
    assert luminance(dark["background"]) < 0.3 and luminance(dark["bubble"]) > 0.6
    assert light["buttons"][0][1] != dark["buttons"][0][1]
