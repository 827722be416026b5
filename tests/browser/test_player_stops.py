"""Stops where the user acts, in JupyterLab and chromium, with a console on a scripted session
(the test plays the server): the Interrupt button and the microphone's barge-in stop playback in
the page first; the session then truncates the item exactly where the page stopped playing it,
and the audio still arriving for it is never heard. A barge-in the server does not confirm
resumes playback without losing a millisecond."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from rtnb.protocol.audio import SAMPLE_RATE, to_int16
from tests.spoken import USER_VOICE, spoken

from .lab import (
    CELL_OUTPUT,
    KERNEL_IDLE,
    RESULT_WIDGET,
    RUN_CELL,
    Chromium,
    Lab,
    wait_for_result,
    write_mic_wav,
    write_notebook,
)

pytestmark = [pytest.mark.browser, pytest.mark.timeout(420)]

SERVER = (
    RESULT_WIDGET
    + """
import asyncio, itertools, json
import ipywidgets
import numpy as np
from rtnb import RealtimeAgent, RealtimeSession
from rtnb.protocol.audio import encode_audio
from rtnb.testing import ScriptedTransport
from rtnb.widgets import console

transport = ScriptedTransport()
session = RealtimeSession(RealtimeAgent(name="Speaker"), transport=transport)
ui = console(session, history=False, approvals=False)
await session.connect()
ids = itertools.count()
cuts = []
session.on("audio_interrupted", lambda e: cuts.append((e.item_id, e.audio_end_ms)))

def event(kind, **fields):
    return {"type": kind, "event_id": f"event_{next(ids)}", **fields}

def response(response_id, status):
    return {"id": response_id, "object": "realtime.response", "status": status, "output": [],
            "conversation_id": "conv_1", "output_modalities": ["audio"]}

def tone(ms, hz=330.0):
    t = np.arange(24 * ms) / 24000
    return (np.sin(2 * np.pi * hz * t) * 3000).astype("<i2").tobytes()

async def until(condition, timeout, what):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            state = {"mic_chunks": ui.mic.chunks, "stops": ui.player.stops,
                     "positions": ui.player.positions}
            raise TimeoutError(f"{what}: {state}")
        await asyncio.sleep(0.02)

done = set()  # responses the "server" stopped streaming (cut)

async def speak(response_id, item_id, seconds):
    # A response streaming `seconds` of audio at real time in 100 ms deltas, to the end unless
    # it is in `done` (late audio keeps coming meanwhile, as from a real server).
    transport.push(event("response.created", response=response(response_id, "in_progress")))
    loop = asyncio.get_running_loop()
    start = loop.time()
    for i in range(seconds * 10):
        await asyncio.sleep(max(0.0, start + i * 0.1 - loop.time()))
        if response_id in done:
            return
        transport.push(event("response.output_audio.delta", response_id=response_id,
                             item_id=item_id, output_index=0, content_index=0,
                             delta=encode_audio(tone(100))))
    transport.push(event("response.output_audio.done", response_id=response_id,
                         item_id=item_id, output_index=0, content_index=0))
    transport.push(event("response.done", response=response(response_id, "completed")))

def report(task):
    error = task.exception()
    result.value = json.dumps({"error": repr(error)} if error else task.result())

ipywidgets.VBox([ui, result])
"""
)

INTERRUPT = """
async def scenario():
    await speak("resp_1", "item_1", 6)
    truncate = await transport.wait_for_sent("conversation.item.truncate", timeout=30)
    await asyncio.sleep(0)
    return {"truncate_ms": truncate["audio_end_ms"], "truncated": truncate["item_id"],
            "positions": ui.player.positions, "sent": ui.player.sent, "stops": ui.player.stops,
            "cuts": cuts, "cancels": len(transport.sent_of_type("response.cancel"))}

asyncio.ensure_future(scenario()).add_done_callback(report)
"""

BARGE_IN = """
async def scenario():
    # The first answer: the user speaks over it; the "server" confirms (speech_started) and stops.
    first = asyncio.ensure_future(speak("resp_1", "item_1", 15))
    await until(lambda: ui.player.stops, 60, "a barge-in in the page")
    transport.push(event("input_audio_buffer.speech_started", item_id="user_1",
                         audio_start_ms=1000))
    truncate = await transport.wait_for_sent("conversation.item.truncate", timeout=30)
    position_at_cut = ui.player.positions.get("item_1")
    await asyncio.sleep(0.5)  # late audio of item_1 still arrives meanwhile
    done.add("resp_1")
    await first
    transport.push(event("response.done", response=response("resp_1", "cancelled")))
    # The second answer: a barge-in the server does not confirm (no speech_started).
    second = asyncio.ensure_future(speak("resp_2", "item_2", 15))
    await until(lambda: len(ui.player.stops) >= 2, 60, "a second barge-in")
    await second
    await until(lambda: ui.player.positions.get("item_2", 0) >= 15000 - 0.01, 60, "item_2 played")
    return {"truncate_ms": truncate["audio_end_ms"], "truncated": truncate["item_id"],
            "position_at_cut": position_at_cut, "positions": ui.player.positions,
            "sent": ui.player.sent, "stops": ui.player.stops, "cuts": cuts,
            "device_rate": ui.mic.device_rate}

asyncio.ensure_future(scenario()).add_done_callback(report)
"""

ITEM_MS = """() => {
  const status = document.querySelector(".rtnb-player-status");
  return status ? [status.dataset.item, Number(status.dataset.itemMs)] : ["", 0];
}"""


def run(
    lab: Lab, chromium: Chromium, wav: Path, scenario: str, act: Any
) -> tuple[dict[str, Any], Any]:
    """Run the scripted server and ``scenario`` in JupyterLab; ``act(page)`` plays the user.
    Returns the kernel's result and what ``act`` returned."""
    logs: list[str] = []
    write_notebook(lab.root / "stops.ipynb", SERVER, scenario)
    page = chromium.new_page(wav, logs)
    try:
        page.goto(lab.page_url("stops.ipynb"))
        page.wait_for_function(KERNEL_IDLE, timeout=120_000)
        page.evaluate(RUN_CELL, 0)
        page.wait_for_selector('.rtnb-status[data-status="connected"]', timeout=60_000)
        page.evaluate(RUN_CELL, 1)
        acted = act(page)
        result = wait_for_result(page, 240_000)
        acted = (acted, page.evaluate(ITEM_MS))
    except Exception:
        print("cell outputs:", [page.evaluate(CELL_OUTPUT, i) for i in range(2)])
        print("\n".join(logs[-40:]))
        raise
    finally:
        page.context.close()
    print(json.dumps(result, indent=1), acted)
    assert "error" not in result, result
    return result, acted


def played_past(page: Any, item: str, ms: int) -> None:
    page.wait_for_function(
        f"() => {{ const [item, ms] = ({ITEM_MS})(); return item === {item!r} && ms >= {ms}; }}",
        timeout=60_000,
    )


def test_interrupt_button_stops_in_the_page_and_truncates_where_it_stopped(
    tmp_path: Path, lab: Lab, chromium: Chromium
) -> None:
    wav = tmp_path / "silence.wav"
    write_mic_wav(wav, np.zeros(SAMPLE_RATE, dtype=np.int16))

    def act(page: Any) -> None:
        played_past(page, "item_1", 500)
        page.locator("button.rtnb-interrupt").click()

    result, (_, (page_item, page_ms)) = run(lab, chromium, wav, INTERRUPT, act)

    position = result["positions"]["item_1"]
    # Stopped in the page by the click; the session truncated exactly there ...
    assert [stop["by"] for stop in result["stops"]] == ["user"]
    assert result["truncated"] == "item_1" and result["cuts"][0][0] == "item_1"
    assert result["truncate_ms"] == int(position)
    assert result["cancels"] == 1
    # ... which is what the page shows, and nothing more of the item was played, although the
    # "server" streamed all of it.
    assert (page_item, page_ms) == ("item_1", round(position))
    assert 500 <= position < result["sent"]["item_1"]


def test_barge_in_pauses_in_the_page_and_resumes_when_not_confirmed(
    tmp_path: Path, lab: Lab, chromium: Chromium
) -> None:
    speech = to_int16(spoken("Wait, stop, stop please.", USER_VOICE))
    quiet = np.zeros(SAMPLE_RATE * 2, dtype=np.int16)  # 2 s
    wav = tmp_path / "barge_in.wav"
    write_mic_wav(wav, np.concatenate([quiet, speech, quiet, quiet, speech, quiet, quiet]))
    # item_1 (15 s) plays when the first words come; item_2 (15 s, started after the cut) when
    # the second come, 4 s later.

    def act(page: Any) -> None:
        played_past(page, "item_1", 200)
        page.locator(".rtnb-mic-toggle").click()  # the fake mic: 2 s of silence, then speech

    result, _ = run(lab, chromium, wav, BARGE_IN, act)

    assert [stop["by"] for stop in result["stops"]][:2] == ["barge_in", "barge_in"]
    # Confirmed: the session truncated item_1 exactly where the page paused it; the rest of the
    # item, still streamed, was never played.
    assert result["truncated"] == "item_1"
    assert result["truncate_ms"] == int(result["position_at_cut"])
    assert result["positions"]["item_1"] == result["position_at_cut"]
    assert result["position_at_cut"] < result["sent"]["item_1"]
    # Not confirmed: item_2 paused, then played on to its last millisecond.
    assert result["positions"]["item_2"] == pytest.approx(result["sent"]["item_2"], abs=0.05)
