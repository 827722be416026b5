"""The console used by typing, in JupyterLab and chromium, on the embedded local server: Enter
sends; the header names the real backend, the local policy and the current agent (after a
handoff and after ``update_agent``); Interrupt while nothing plays changes nothing in the view,
the history or the latency frame; an approval decided in code closes its card."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from .lab import (
    CELL_OUTPUT,
    KERNEL_IDLE,
    RUN_CELL,
    jupyter_lab,
    launch_with_fake_mic,
    write_notebook,
)
from .pictures import save
from .test_console_look import write_silence_wav

pytestmark = [pytest.mark.browser, pytest.mark.timeout(900)]

SETUP = '''
import asyncio, json
import ipywidgets
from rtnb import RealtimeAgent, RealtimeSession, tool
from rtnb.analysis import latency_frame
from rtnb.widgets import console

@tool
def get_weather(city: str) -> str:
    """Return the weather for a city."""
    return f"The weather in {city} is sunny."

@tool(needs_approval=True)
def get_forecast(city: str) -> str:
    """Return tomorrow's forecast for a city."""
    return f"Tomorrow in {city}: rain."

billing = RealtimeAgent(
    name="Billing", instructions="You handle invoices.",
    handoff_description="Answers questions about invoices and refunds.",
)
desk = RealtimeAgent(
    name="Weather desk", instructions="Answer weather questions.",
    tools=[get_weather, get_forecast], handoffs=[billing],
)
session = RealtimeSession(desk)
ui = console(session)
interrupts = []  # audio_interrupted events: the Interrupt click reached the session
count = ipywidgets.HTML('<span class="interrupts">0</span>')

@session.on("audio_interrupted")
def on_interrupted(event):
    interrupts.append(event.item_id)
    count.value = f'<span class="interrupts">{len(interrupts)}</span>'

await session.connect()
display(count)
ui
'''

# Every answer heard to its end: the page reported every millisecond the kernel sent.
HEARD = """
loop = asyncio.get_running_loop()
deadline = loop.time() + 120
def heard():
    sent, played = ui.player.sent, ui.player.positions
    return sent and all(played.get(item, 0) >= ms - 1 for item, ms in sent.items())
while not heard():
    assert loop.time() < deadline, (ui.player.sent, ui.player.positions)
    await asyncio.sleep(0.05)
ui.history.refresh()
print("RTNB-STATE " + json.dumps({
    "history": ui.history.text,
    "latency": latency_frame(session)[["turn", "outcome", "done_ms"]].to_dict("records"),
    "interrupts": interrupts,
}))
"""

APPROVE = """
for item in session.pending_approvals:
    session.approve(item)
print("RTNB-APPROVED")
"""

UPDATE_AGENT = """
session.update_agent(desk)
print("RTNB-UPDATED")
"""

HEADER = "() => document.querySelector('.rtnb-console .rtnb-header').innerText"
ASSISTANT_SAYS = """(words) => [...document.querySelectorAll(".rtnb-transcript .rtnb-assistant")]
                          .some((line) => line.innerText.includes(words))"""
TRANSCRIPT = "() => document.querySelector('.rtnb-transcript').innerText"


def type_and_press_enter(page: Any, question: str) -> None:
    """Type ``question`` in the console's text box and press Enter (no click on Send)."""
    box = page.locator(".rtnb-text input")
    box.click()
    box.press_sequentially(question)
    box.press("Enter")
    page.wait_for_function(  # the kernel sent it whole: the question is in the conversation
        """(question) => [...document.querySelectorAll(".rtnb-transcript .rtnb-user")]
                          .some((line) => line.innerText.includes(question))""",
        arg=question,
        timeout=120_000,
    )


def kernel_state(page: Any, index: int) -> dict[str, Any]:
    page.evaluate(RUN_CELL, index)
    page.wait_for_function(
        f"(i) => ({CELL_OUTPUT})(i).includes('RTNB-STATE')", arg=index, timeout=180_000
    )
    output = page.evaluate(CELL_OUTPUT, index)
    return json.loads(output.split("RTNB-STATE ", 1)[1].strip().splitlines()[0])


def run_and_wait(page: Any, index: int, marker: str) -> None:
    page.evaluate(RUN_CELL, index)
    page.wait_for_function(
        f"(i) => ({CELL_OUTPUT})(i).includes({marker!r})", arg=index, timeout=120_000
    )


def test_the_console_answers_to_the_keyboard_and_tells_the_truth(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    wav = tmp_path / "silence.wav"
    write_silence_wav(wav, 2)
    logs: list[str] = []
    seen: dict[str, Any] = {}
    with jupyter_lab(tmp_path / "lab") as lab, sync_playwright() as pw:
        write_notebook(lab.root / "keyboard.ipynb", SETUP, HEARD, APPROVE, UPDATE_AGENT)
        browser, page = launch_with_fake_mic(pw, wav, logs)
        try:
            page.goto(lab.page_url("keyboard.ipynb"))
            page.wait_for_function(KERNEL_IDLE, timeout=120_000)
            page.evaluate(RUN_CELL, 0)
            page.wait_for_selector('.rtnb-status[data-status="connected"]', timeout=120_000)
            seen["header"] = page.evaluate(HEADER)
            seen["buttons"] = page.evaluate(
                """() => [...document.querySelectorAll(".rtnb-console .rtnb-top button")]
                          .filter((b) => b.offsetParent !== null).map((b) => b.innerText.trim())"""
            )

            # 1. A typed question, sent with Enter, answered.
            type_and_press_enter(page, "What is the weather in Paris?")
            page.wait_for_function(ASSISTANT_SAYS, arg="Paris is sunny", timeout=120_000)

            # 2. Interrupt while idle (the answer was heard to its end): nothing changes.
            before = kernel_state(page, 1)
            shown_before = page.evaluate(TRANSCRIPT)
            page.locator("button.rtnb-interrupt").click()
            page.wait_for_function(
                "() => document.querySelector('.interrupts').innerText === '1'",
                timeout=60_000,
            )
            after = kernel_state(page, 1)
            seen["idle"] = {"before": before, "after": after}
            seen["shown"] = (shown_before, page.evaluate(TRANSCRIPT))
            seen["marks"] = page.locator(".rtnb-transcript .rtnb-mark").count()

            # 3. A call that needs approval, approved by code: its card closes.
            type_and_press_enter(page, "What is the forecast for London?")
            card = page.locator(".rtnb-approval")
            card.wait_for(timeout=120_000)
            run_and_wait(page, 2, "RTNB-APPROVED")
            page.wait_for_function(
                """() => {
                  const card = document.querySelector(".rtnb-approval");
                  return card.querySelector(".rtnb-decision")?.innerText === "approved"
                    && card.querySelector("button.rtnb-approve").disabled;
                }""",
                timeout=60_000,
            )
            page.wait_for_function(ASSISTANT_SAYS, arg="London: rain", timeout=120_000)

            # 4. A handoff, then update_agent: the header names the agent answering now.
            type_and_press_enter(page, "I have a question about invoice 42")
            page.wait_for_function(
                f"() => ({HEADER})().includes('agent: Billing')", timeout=120_000
            )
            run_and_wait(page, 3, "RTNB-UPDATED")
            page.wait_for_function(
                f"() => ({HEADER})().includes('agent: Weather desk')", timeout=60_000
            )
            seen["final_header"] = page.evaluate(HEADER)
        except Exception:
            page.screenshot(path=str(tmp_path / "keyboard-failure.png"), full_page=True)
            print("cell outputs:", [page.evaluate(CELL_OUTPUT, i) for i in range(4)])
            print("\n".join(logs[-60:]))
            print("".join(lab.log[-60:]))
            raise
        finally:
            browser.close()
    print(json.dumps(seen, indent=1))

    header = seen["header"]
    assert "backend: local" in header and "policy: deterministic" in header
    assert "agent: Weather desk" in header and "model:" not in header
    assert seen["buttons"] == ["Disconnect"]  # one toggle: Connect is gone while connected
    idle = seen["idle"]
    assert idle["after"]["interrupts"] == [None]  # the session cut nothing
    assert idle["after"]["history"] == idle["before"]["history"]
    assert idle["after"]["latency"] == idle["before"]["latency"]
    assert [turn["outcome"] for turn in idle["after"]["latency"]] == ["answered"]
    assert seen["shown"][0] == seen["shown"][1] and seen["marks"] == 0
    assert "Paris is sunny" in seen["shown"][1]


SAVED_TALK = '''
import asyncio
from rtnb import RealtimeAgent, RealtimeSession, tool
from rtnb.widgets import console

@tool
def get_weather(city: str) -> str:
    """Return the weather for a city."""
    return f"The weather in {city} is sunny."

session = RealtimeSession(RealtimeAgent(name="Weather desk", tools=[get_weather]))
ui = console(session)
await session.connect()
ui
'''

SAVED_END = """
from rtnb import AssistantMessageItem

answered = asyncio.Event()

@session.on("agent_end")
def on_end(event):
    if event.status == "completed" and isinstance(session.history[-1], AssistantMessageItem):
        answered.set()

session.send_message("What is the weather in Oslo?")
await asyncio.wait_for(answered.wait(), 120)
await session.close()
print("RTNB-CLOSED")
"""

SAVED = """() => {
  const saved = document.querySelector(".rtnb-saved");
  return saved && {
    shown: saved.offsetParent !== null,
    text: saved.innerText,
    widget: [...document.querySelectorAll(".jp-OutputArea-output")]
      .map((node) => node.innerText).find((text) => text.includes("Error displaying widget")),
  };
}"""


def test_a_saved_console_reopened_without_its_kernel_shows_its_snapshot(tmp_path: Path) -> None:
    import urllib.request

    from playwright.sync_api import sync_playwright

    wav = tmp_path / "silence.wav"
    write_silence_wav(wav, 2)
    logs: list[str] = []
    with jupyter_lab(tmp_path / "lab") as lab, sync_playwright() as pw:
        write_notebook(lab.root / "saved.ipynb", SAVED_TALK, SAVED_END)
        browser, page = launch_with_fake_mic(pw, wav, logs)
        try:
            page.goto(lab.page_url("saved.ipynb"))
            page.wait_for_function(KERNEL_IDLE, timeout=120_000)
            page.evaluate(RUN_CELL, 0)
            page.wait_for_selector('.rtnb-status[data-status="connected"]', timeout=120_000)
            run_and_wait(page, 1, "RTNB-CLOSED")
            page.wait_for_selector('.rtnb-status[data-status="disconnected"]', timeout=60_000)
            live = page.evaluate(SAVED)  # while the widgets run, the snapshot is hidden
            page.evaluate("async () => window.jupyterapp.commands.execute('docmanager:save')")
            page.wait_for_function(
                "() => !window.jupyterapp.shell.currentWidget.context.model.dirty",
                timeout=60_000,
            )
            page.close()
            # The kernel goes: its widget models with it.
            headers = {"Authorization": f"token {lab.token}"}
            base = lab.url.removesuffix("/lab")
            request = urllib.request.Request(f"{base}/api/kernels", headers=headers)
            with urllib.request.urlopen(request, timeout=30) as response:
                kernels = json.load(response)
            for kernel in kernels:
                request = urllib.request.Request(
                    f"{base}/api/kernels/{kernel['id']}", method="DELETE", headers=headers
                )
                urllib.request.urlopen(request, timeout=30).close()
            page = browser.new_page()
            page.on("console", lambda m: logs.append(f"console.{m.type}: {m.text}"))
            page.goto(lab.page_url("saved.ipynb"))
            page.wait_for_function(f"() => ({SAVED})()?.widget", timeout=120_000)
            reopened = page.evaluate(SAVED)
            save(page.locator(".jp-Cell").first.locator(".jp-OutputArea"), tmp_path, "saved.png")
        except Exception:
            page.screenshot(path=str(tmp_path / "saved-failure.png"), full_page=True)
            print("\n".join(logs[-60:]))
            print("".join(lab.log[-60:]))
            raise
        finally:
            browser.close()
    print(json.dumps({"live": live, "reopened": reopened}, indent=1))

    assert live is not None and not live["shown"]
    assert reopened["shown"] and "model not found" in reopened["widget"]
    assert "user\nWhat is the weather in Oslo?" in reopened["text"]
    assert "Weather desk\nThe weather in Oslo is sunny." in reopened["text"]  # the answer
    assert "disconnected" in reopened["text"] and "policy: deterministic" in reopened["text"]
