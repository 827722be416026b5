"""Push to talk in the real browser: chromium's fake mic -> ipywebrtc's AudioRecorder (a whole
WebM/Opus clip) -> kernel -> PyAV -> one committed user turn -> embedded local server -> answer."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from rtnb.local.policy.numbers import canonical_words
from rtnb.protocol.audio import SAMPLE_RATE, duration_ms, to_int16
from tests.spoken import USER_VOICE, spoken

from .lab import CELL_OUTPUT, KERNEL_IDLE, RUN_CELL, Chromium, Lab, write_mic_wav, write_notebook

pytestmark = [pytest.mark.browser, pytest.mark.timeout(900)]

QUESTION = "What is the weather in Paris?"

SETUP = '''
import asyncio, json
import ipywidgets
from rtnb import RealtimeAgent, RealtimeSession, tool
from rtnb.widgets import PushToTalk, Transcript

calls = []

@tool
def get_weather(city: str) -> str:
    """Return the weather for a city."""
    calls.append(city)
    return f"The weather in {city} is sunny."

agent = RealtimeAgent(
    name="Weather assistant", instructions="Answer weather questions.", tools=[get_weather]
)
config = {"audio": {"input": {"transcription": {"model": "local"}}}}
# Nothing here depends on the answer's audio arriving at a speaking pace.
session = RealtimeSession(agent, config=config, server_options={"realtime_pacing": False})
committed = []  # the server's input_audio_buffer.committed: one per user turn

@session.on("transport_event")
def on_server_event(e):
    if e.event["type"] == "input_audio_buffer.committed":
        committed.append(e.event["item_id"])

await session.connect()
ptt = PushToTalk(session)
ipywidgets.VBox([ptt, Transcript(session)])
'''

REPORT = """
users = [item for item in session.history if getattr(item, "role", "") == "user"]
result = {
    "turns": ptt.turns,
    "sent_ms": ptt.sent_ms,
    "error": ptt.error,
    "committed": committed,
    "users": [(user.item_id, user.text) for user in users],
    "calls": calls,
    "turn_detection": session.turn_detection,
}
print("RTNB-RESULT " + json.dumps(result))
"""

# The simulated person: click the record button, listen to the same microphone stream, and
# flag the moment the question was spoken and followed by a second and more of quiet (the
# cue to click again). ipywebrtc keeps its last AudioRecorder model in window.last_audio_recorder;
# its CameraStream model hands out the stream the recorder records (one getUserMedia promise).
RECORD_AND_LISTEN = """() => {
  document.querySelector(".rtnb-push-to-talk button:has(i.fa-circle)").click();
  const heard = (window.rtnbHeard = { loud: 0, quiet: 0, done: false, error: "" });
  window.last_audio_recorder.get("stream").captureStream().then((stream) => {
    const ctx = new AudioContext();
    const analyser = ctx.createAnalyser();
    analyser.fftSize = 2048;
    ctx.createMediaStreamSource(stream).connect(analyser);
    const samples = new Float32Array(analyser.fftSize);
    const poll = () => {
      analyser.getFloatTimeDomainData(samples);
      let peak = 0;
      for (const s of samples) peak = Math.max(peak, Math.abs(s));
      if (peak > 0.05) {
        heard.loud += 1;
        heard.quiet = 0;
      } else if (heard.loud > 0) {
        heard.quiet += 1;
      }
      // 10 loud polls: speech, not a click; 60 quiet polls in a row (1.2 s or more): done.
      if (heard.loud >= 10 && heard.quiet >= 60) heard.done = true;
      else setTimeout(poll, 20);
    };
    poll();
  }, (err) => (heard.error = String(err)));
}"""

TRANSCRIPT_DONE = """() => {
  const user = document.querySelector(".rtnb-transcript .rtnb-user");
  const answer = document.querySelector(".rtnb-transcript .rtnb-assistant");
  return Boolean(user?.innerText.trim().length > 4 && answer?.innerText.includes("sunny"));
}"""


def test_push_to_talk_question_is_answered(tmp_path: Path, lab: Lab, chromium: Chromium) -> None:
    question = spoken(QUESTION, USER_VOICE)
    silence = np.zeros(SAMPLE_RATE, dtype=np.int16)
    wav = tmp_path / "question.wav"
    write_mic_wav(wav, np.concatenate([silence, to_int16(question), silence, silence, silence]))
    logs: list[str] = []
    write_notebook(lab.root / "ptt.ipynb", SETUP, REPORT)
    page = chromium.new_page(wav, logs)
    try:
        page.goto(lab.page_url("ptt.ipynb"))
        page.wait_for_function(KERNEL_IDLE, timeout=120_000)
        page.evaluate(RUN_CELL, 0)
        record = page.locator(".rtnb-push-to-talk button:has(i.fa-circle)")
        record.wait_for(timeout=180_000)

        page.evaluate(RECORD_AND_LISTEN)
        page.wait_for_function(
            "() => window.rtnbHeard.done || window.rtnbHeard.error", timeout=120_000
        )
        assert page.evaluate("() => window.rtnbHeard.error") == ""
        record.click()  # stop: the clip goes to the kernel

        page.wait_for_function(TRANSCRIPT_DONE, timeout=120_000)
        user_line = page.locator(".rtnb-transcript .rtnb-user .rtnb-bubble").first.inner_text()
        answer_line = page.locator(".rtnb-transcript .rtnb-assistant").last.inner_text()
        status = page.locator(".rtnb-ptt-status").inner_text()

        page.evaluate(RUN_CELL, 1)
        page.wait_for_function(f"() => ({CELL_OUTPUT})(1).includes('RTNB-RESULT')", timeout=60_000)
        output = page.evaluate(CELL_OUTPUT, 1)
    except Exception:
        print("cell outputs:", [page.evaluate(CELL_OUTPUT, i) for i in range(2)])
        page.screenshot(path=str(tmp_path / "push_to_talk.png"), full_page=True)
        print("\n".join(logs[-60:]))
        print("".join(lab.log[-60:]))
        raise
    finally:
        page.context.close()
    result = json.loads(output.split("RTNB-RESULT ", 1)[1].strip().splitlines()[0])
    print(json.dumps(result, indent=1), user_line, answer_line, status, sep="\n")

    # The person's words, as the local server heard them in the one clip.
    assert canonical_words(user_line) == canonical_words(QUESTION)
    assert "The weather in Paris is sunny." in answer_line
    assert result["calls"] == ["Paris"]
    # One clip, one committed user turn, though turn detection was on (and is on again).
    assert result["turns"] == 1 and result["error"] == ""
    ((item_id, text),) = result["users"]
    assert result["committed"] == [item_id]
    assert canonical_words(text) == canonical_words(QUESTION)
    assert result["turn_detection"] is not None
    # The clip held the whole question (recording started before it, stopped after it).
    assert result["sent_ms"] > duration_ms(question)
    assert status.startswith("Sent ")
