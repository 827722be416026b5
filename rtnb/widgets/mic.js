// rtnb microphone: AudioWorklet capture -> PCM16 mono 24 kHz chunks -> kernel (binary messages).
const TARGET_RATE = 24000;
const FRAME_MS = 20; // the level meter and barge-in detection look at the audio in 20 ms frames
const METER_MS = 100; // the meter is redrawn at most this often

// Runs in the AudioWorkletGlobalScope: resamples the input (linear interpolation, a no-op step of
// 1 when the context already runs at 24 kHz), posts the peak of each frame and, once a chunk of
// chunkMs is full, the chunk as Int16. Frames stay in the page; only chunks go to the kernel: each
// kernel message costs a busy/idle status round in JupyterLab, so fewer, larger chunks keep the
// page's main thread free for audio.
const WORKLET = `
class RtnbCapture extends AudioWorkletProcessor {
  constructor(options) {
    super();
    const { targetRate, chunkMs, frameMs } = options.processorOptions;
    this.step = sampleRate / targetRate;
    this.size = Math.round((targetRate * chunkMs) / 1000);
    this.frame = Math.round((targetRate * frameMs) / 1000);
    this.chunk = new Int16Array(this.size);
    this.fill = 0;
    this.peak = 0;
    this.t = 0;
    this.prev = 0;
  }
  push(x) {
    const s = Math.max(-1, Math.min(1, x));
    this.peak = Math.max(this.peak, Math.abs(s));
    this.chunk[this.fill++] = s < 0 ? s * 0x8000 : s * 0x7fff;
    if (this.fill === this.size) {
      this.port.postMessage({ pcm: this.chunk.buffer, peak: this.peak }, [this.chunk.buffer]);
      this.chunk = new Int16Array(this.size);
      this.fill = 0;
      this.peak = 0;
    } else if (this.fill % this.frame === 0) {
      this.port.postMessage({ peak: this.peak });
      this.peak = 0;
    }
  }
  process(inputs) {
    const input = inputs[0] && inputs[0][0];
    if (!input) return true;
    const n = input.length;
    let t = this.t;
    for (; t < n - 1; t += this.step) {
      const i = Math.floor(t);
      const a = i < 0 ? this.prev : input[i];
      this.push(a + (input[i + 1] - a) * (t - i));
    }
    this.t = t - n;
    this.prev = input[n - 1];
    return true;
  }
}
registerProcessor("rtnb-capture", RtnbCapture);
`;

// Prefer a 24 kHz context (the browser resamples); fall back to the device rate where the browser
// cannot connect a stream to a context of another rate (the worklet resamples then).
function openSource(stream) {
  let ctx = new AudioContext({ sampleRate: TARGET_RATE });
  try {
    return [ctx, ctx.createMediaStreamSource(stream)];
  } catch {
    ctx.close();
    ctx = new AudioContext();
    return [ctx, ctx.createMediaStreamSource(stream)];
  }
}

class Capture {
  constructor(model) {
    this.model = model;
    this.ctx = null;
    this.stream = null;
    this.peak = 0;
    this.sent = 0;
    this.loudMs = 0;
    this.quietMs = 0;
    this.views = new Set();
  }

  async start() {
    if (this.ctx) return;
    const model = this.model;
    try {
      const constraints = { channelCount: 1, ...model.get("constraints") };
      this.stream = await navigator.mediaDevices.getUserMedia({ audio: constraints });
      const [ctx, source] = openSource(this.stream);
      this.ctx = ctx;
      const url = URL.createObjectURL(new Blob([WORKLET], { type: "text/javascript" }));
      await ctx.audioWorklet.addModule(url);
      URL.revokeObjectURL(url);
      const node = new AudioWorkletNode(ctx, "rtnb-capture", {
        processorOptions: {
          targetRate: TARGET_RATE,
          chunkMs: model.get("chunk_ms"),
          frameMs: FRAME_MS,
        },
      });
      node.port.onmessage = ({ data }) => this.onChunk(data);
      source.connect(node);
      node.connect(ctx.destination); // silent: keeps the node pulled by the graph
      await ctx.resume();
      model.set({ capturing: true, device_rate: ctx.sampleRate, error: "" });
    } catch (err) {
      this.stop();
      model.set("error", `${err.name || "Error"}: ${err.message || err}`);
    }
    model.save_changes();
    this.redraw();
  }

  stop(sync = true) {
    this.stream?.getTracks().forEach((track) => track.stop());
    this.ctx?.close();
    this.stream = this.ctx = null;
    this.peak = 0;
    if (!sync) return;
    this.model.set("capturing", false);
    this.model.save_changes();
    this.redraw();
  }

  onChunk({ pcm, peak }) {
    this.peak = peak;
    if (this.model.get("muted")) return this.redraw(false);
    this.detectBargeIn(peak);
    if (pcm) {
      const msg = { type: "audio" };
      if (this.model.get("bench")) msg.t = performance.timeOrigin + performance.now(); // epoch ms
      this.model.send(msg, undefined, [pcm]);
      this.sent += 1;
    }
    this.redraw(false);
  }

  // The user speaks over the answer: tell the player (in this page) at once, once per utterance.
  detectBargeIn(peak) {
    const player = this.model.get("barge_in_player");
    if (!player) return;
    const ms = FRAME_MS;
    const loud = peak > 0 && 20 * Math.log10(peak) >= this.model.get("barge_in_db");
    // Speech has short dips between syllables: loud time adds up until 100 ms of quiet; each
    // loud run that lasts barge_in_ms fires once (the player ignores it when it plays nothing).
    this.quietMs = loud ? 0 : this.quietMs + ms;
    const before = this.loudMs;
    this.loudMs = loud ? this.loudMs + ms : this.quietMs >= 100 ? 0 : this.loudMs;
    const limit = this.model.get("barge_in_ms");
    if (before < limit && this.loudMs >= limit) {
      window.dispatchEvent(new CustomEvent("rtnb-barge-in", { detail: { player } }));
    }
  }

  redraw(soon = true) {
    // At most once per animation frame; the meter alone (a level every 20 ms) at most every
    // METER_MS: each frame drawn costs the page a paint.
    if (!soon) {
      this.meterTimer ??= setTimeout(() => {
        this.meterTimer = null;
        this.redraw();
      }, METER_MS);
      return;
    }
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = null;
      this.views.forEach((draw) => draw());
    });
  }
}

// One capture per model: anywidget hands initialize() and each render() a different proxy of the
// model, so the capture is found by the model's `_uid` trait.
const captures = new Map();

function initialize({ model }) {
  const capture = new Capture(model);
  captures.set(model.get("_uid"), capture);
  model.on("msg:custom", (msg) => {
    if (msg.type === "stop") capture.stop();
  });
  model.on("change:muted", () => capture.redraw());
  return () => {
    capture.stop(false);
    captures.delete(model.get("_uid"));
  };
}

// The buttons carry ipywidgets' own button classes, so they look like the console's buttons.
const BUTTON = "jupyter-widgets jupyter-button widget-button rtnb-button";

function render({ model, el }) {
  const capture = captures.get(model.get("_uid"));
  el.classList.add("rtnb-mic");
  el.innerHTML = `
    <button class="${BUTTON} rtnb-mic-toggle"><i class="fa fa-microphone"></i><span></span></button>
    <button class="${BUTTON} rtnb-mic-mute"><i class="fa fa-microphone-slash"></i><span></span></button>
    <div class="rtnb-meter" title="microphone level"><div class="rtnb-meter-bar"></div></div>
    <span class="rtnb-pill rtnb-mic-status"></span>`;
  const toggle = el.querySelector(".rtnb-mic-toggle");
  const mute = el.querySelector(".rtnb-mic-mute");
  const bar = el.querySelector(".rtnb-meter-bar");
  const status = el.querySelector(".rtnb-mic-status");
  const toggleLabel = toggle.querySelector("span");
  const muteLabel = mute.querySelector("span");

  toggle.onclick = () => (capture.ctx ? capture.stop() : capture.start());
  mute.onclick = () => {
    model.set("muted", !model.get("muted"));
    model.save_changes();
  };

  // Only what changed is written: an unchanged text still replaces its node and costs a layout.
  const put = (node, key, value) => {
    if (node[key] !== value) node[key] = value;
  };
  status.onmouseenter = () => {
    status.title = capture.ctx
      ? `${model.get("device_rate")} Hz → 24 kHz · ${capture.sent} chunks sent`
      : "click Start mic and allow the browser to use the microphone";
  };
  const draw = () => {
    const on = Boolean(capture.ctx);
    const muted = model.get("muted");
    put(toggleLabel, "textContent", on ? "Stop mic" : "Start mic");
    toggle.classList.toggle("rtnb-active", on);
    put(muteLabel, "textContent", muted ? "Unmute" : "Mute");
    mute.classList.toggle("rtnb-active", muted);
    put(mute, "disabled", !on);
    const db = capture.peak > 0 ? 20 * Math.log10(capture.peak) : -60;
    // A transform, not a width: the meter moves 50 times a second without a layout.
    const level = Math.max(0, Math.min(1, (db + 60) / 60)).toFixed(2);
    put(bar.style, "transform", `scaleX(${level})`);
    bar.classList.toggle("rtnb-muted", muted);
    const error = model.get("error");
    // off / listening / speaking (louder than the barge-in level) / muted / error
    const speaking = on && !muted && db >= model.get("barge_in_db");
    const state = error ? "error" : !on ? "off" : muted ? "muted" : speaking ? "speaking" : "listening";
    put(status.dataset, "state", state);
    put(status, "textContent", error || (state === "off" ? "mic off" : state));
  };
  capture.views.add(draw);
  model.on("change:error", draw);
  draw();
  return () => capture.views.delete(draw);
}

export default { initialize, render };
