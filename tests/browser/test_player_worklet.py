"""The player's playback worklet on its own, in chromium's JavaScript engine, with no audio device:
the audio clock is stepped one render quantum at a time and the messages arrive at the frames a
trace gives, so the jitter buffer's decisions are the same on every run and on any machine. The
browser tests around it (test_player_jitter.py) check the same relations with real timing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from .lab import Chromium

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

WORKLET = Path(__file__).parents[2] / "rtnb" / "widgets" / "player_worklet.js"
RATE = 24_000
QUANTUM = 128

# Runs the worklet's source with the AudioWorkletGlobalScope names it uses; returns what it posted.
REPLAY = """({ source, trace, options, rate, quantum }) => {
  let frame = 0;
  Object.defineProperty(globalThis, "currentFrame", { get: () => frame, configurable: true });
  globalThis.sampleRate = rate;
  const posted = [];
  class AudioWorkletProcessor {
    constructor() { this.port = { postMessage: (msg) => posted.push({ frame, ...msg }) }; }
  }
  let Processor = null;
  new Function("AudioWorkletProcessor", "registerProcessor", source)(
    AudioWorkletProcessor, (_name, cls) => { Processor = cls; });
  const node = new Processor({ processorOptions: options });
  const outputs = [[new Float32Array(quantum)]];
  const last = trace[trace.length - 1][0];
  const end = Math.ceil(last + 2 * rate);
  let k = 0;
  for (; frame < end; frame += quantum) {
    while (k < trace.length && trace[k][0] <= frame) {
      const [, samples] = trace[k++];
      const pcm = new Int16Array(samples).fill(1000);
      node.port.onmessage({ data: { type: "audio", item: "answer", pcm: pcm.buffer } });
      if (k === trace.length) node.port.onmessage({ data: { type: "end" } });
    }
    node.process([], outputs);
  }
  return posted.filter((msg) => msg.status || msg.underrun);
}"""

OPTIONS = {
    "prebufferMs": 100,
    "minMs": 60,
    "maxMs": 600,
    "marginMs": 30,
    "memorySeconds": 30,
    "reportMs": 50,
}
CHUNK = RATE // 20  # 50 ms messages, as the kernel batches them


@pytest.fixture(scope="module")
def replay(chromium: Chromium) -> Any:
    source = WORKLET.read_text()
    page = chromium.browser.new_context().new_page()

    def run(lateness_ms: list[float]) -> dict[str, Any]:
        # Message i is due at i x 50 ms and arrives lateness_ms[i] later (in order).
        arrivals = np.maximum.accumulate(
            [i * CHUNK + late * RATE / 1000 for i, late in enumerate(lateness_ms)]
        )
        trace = [[float(frame), CHUNK] for frame in arrivals]
        args = {"source": source, "trace": trace, "options": OPTIONS}
        posted = page.evaluate(REPLAY, args | {"rate": RATE, "quantum": QUANTUM})
        statuses = [msg for msg in posted if msg.get("status")]
        played = [ms for msg in statuses for item, ms in msg["played"] if item == "answer"]
        return {
            "underruns": [msg["underrun"] for msg in posted if msg.get("underrun")],
            "statuses": statuses,
            "played_ms": max(played, default=0.0),
            "sent_ms": len(lateness_ms) * CHUNK * 1000 / RATE,
        }

    yield run
    page.context.close()


def test_bounded_jitter_plays_through_after_one_underrun(replay: Any) -> None:
    # 30 s of messages each delayed a random 0-250 ms (seeded), against a 100 ms pre-buffer: at
    # most one underrun teaches the buffer, and the target covers the jitter; every sample plays.
    lateness = np.random.default_rng(7).uniform(0, 250, 600).tolist()
    result = replay(lateness)
    assert result["played_ms"] == pytest.approx(result["sent_ms"])
    assert len(result["underruns"]) <= 1, result["underruns"]
    targets = [msg["target"] for msg in result["statuses"]]
    assert max(targets) >= 250


def test_lateness_counts_against_the_best_arrival(replay: Any) -> None:
    # The first message comes 300 ms late and everything after it on time: against the best
    # arrival the first was 300 ms late, so the target covers 300 ms once the on-time ones show it
    # (the stream's first arrival alone set no bar).
    lateness = [300.0] + [0.0] * 99
    result = replay(lateness)
    after = [msg["target"] for msg in result["statuses"] if msg["frame"] > 2 * RATE]
    assert after and min(after) >= 300
    assert result["underruns"] == []
    assert result["played_ms"] == pytest.approx(result["sent_ms"])


def test_after_running_dry_the_buffer_holds_audio_up_to_twice_as_late(replay: Any) -> None:
    # On time, then one message 200 ms late (an underrun: the pre-buffer is 100 ms), on time
    # again, then one 350 ms late: one surprise is taken as a sign of larger ones, so the second
    # plays through.
    lateness = [0.0] * 100 + [200.0] + [0.0] * 100 + [350.0] + [0.0] * 40
    result = replay(lateness)
    (underrun,) = result["underruns"]
    assert underrun["late_ms"] == pytest.approx(200, abs=10)
    assert result["played_ms"] == pytest.approx(result["sent_ms"])
