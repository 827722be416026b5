// rtnb player: streamed PCM16 24 kHz mono played gaplessly by an AudioWorklet queue.
// Messages from the kernel: {type: "audio", item} + one PCM16 buffer; {type: "end"} (no more
// audio for now: play what is queued); {type: "clear"} (stop at once, drop the queue).
// To the kernel: {type: "played", item, ms}: how much of an item was really played;
// {type: "cleared"} once a clear took effect (after its last "played" reports). The `underruns`
// trait counts the times the queue ran dry while playing before an "end" (audio came too late).
const RATE = 24000;

// Runs in the AudioWorkletGlobalScope. Starts after `prebuffer` samples are queued (or on "end"),
// counts the samples played per item and reports them every `reportEvery` samples and on clear.
const WORKLET = `
class RtnbPlayback extends AudioWorkletProcessor {
  constructor(options) {
    super();
    const { prebufferMs, reportMs } = options.processorOptions;
    this.prebuffer = Math.round((sampleRate * prebufferMs) / 1000);
    this.reportEvery = Math.round((sampleRate * reportMs) / 1000);
    this.queue = [];
    this.head = 0;
    this.queued = 0;
    this.playing = false;
    this.flush = false;
    this.played = new Map();
    this.dirty = new Set();
    this.sinceReport = 0;
    this.underruns = 0;
    this.port.onmessage = ({ data }) => this.onMessage(data);
  }
  onMessage(msg) {
    if (msg.type === "audio") {
      const pcm = new Int16Array(msg.pcm);
      const samples = new Float32Array(pcm.length);
      for (let i = 0; i < pcm.length; i++) samples[i] = pcm[i] / 32768;
      this.queue.push({ item: msg.item, samples });
      this.queued += samples.length;
    } else if (msg.type === "end") {
      this.flush = true;
    } else if (msg.type === "clear") {
      this.queue = [];
      this.head = this.queued = 0;
      this.playing = this.flush = false;
      this.report();
      this.port.postMessage({ cleared: true });
    }
  }
  report() {
    for (const item of this.dirty) {
      this.port.postMessage({ item, ms: (this.played.get(item) * 1000) / sampleRate });
    }
    this.dirty.clear();
    this.sinceReport = 0;
  }
  process(_inputs, outputs) {
    const out = outputs[0][0];
    let i = 0;
    if (!this.playing && this.queued > 0 && (this.queued >= this.prebuffer || this.flush)) {
      this.playing = true;
    }
    while (this.playing && i < out.length && this.queue.length) {
      const chunk = this.queue[0];
      const n = Math.min(out.length - i, chunk.samples.length - this.head);
      out.set(chunk.samples.subarray(this.head, this.head + n), i);
      i += n;
      this.head += n;
      this.queued -= n;
      this.played.set(chunk.item, (this.played.get(chunk.item) || 0) + n);
      this.dirty.add(chunk.item);
      if (this.head === chunk.samples.length) {
        this.queue.shift();
        this.head = 0;
      }
    }
    out.fill(0, i);
    for (let c = 1; c < outputs[0].length; c++) outputs[0][c].set(out);
    if (this.playing && !this.queue.length) {
      if (!this.flush) this.port.postMessage({ underruns: ++this.underruns });
      this.playing = this.flush = false; // drained: pre-buffer again before the next audio
      this.report();
    }
    this.sinceReport += out.length;
    if (this.dirty.size && this.sinceReport >= this.reportEvery) this.report();
    return true;
  }
}
registerProcessor("rtnb-playback", RtnbPlayback);
`;

class Playback {
  constructor(model) {
    this.model = model;
    this.ctx = null;
    this.node = null;
    this.pending = []; // messages that arrived before the worklet was ready
    this.playedMs = 0;
    this.positions = new Map();
    this.lastItem = "";
    this.views = new Set();
  }

  async open() {
    if (this.ctx) return;
    this.ctx = new AudioContext({ sampleRate: RATE, latencyHint: "interactive" });
    this.ctx.onstatechange = () => this.redraw();
    const url = URL.createObjectURL(new Blob([WORKLET], { type: "text/javascript" }));
    await this.ctx.audioWorklet.addModule(url);
    URL.revokeObjectURL(url);
    this.node = new AudioWorkletNode(this.ctx, "rtnb-playback", {
      numberOfInputs: 0,
      outputChannelCount: [1],
      processorOptions: {
        prebufferMs: this.model.get("prebuffer_ms"),
        reportMs: this.model.get("report_ms"),
      },
    });
    this.node.port.onmessage = ({ data }) => this.onPlayed(data);
    this.node.connect(this.ctx.destination);
    this.pending.splice(0).forEach(([msg, transfer]) => this.node.port.postMessage(msg, transfer));
    this.resume();
  }

  resume() {
    this.ctx?.resume().finally(() => this.redraw());
  }

  post(msg, transfer = []) {
    if (this.node) this.node.port.postMessage(msg, transfer);
    else this.pending.push([msg, transfer]);
    this.open().catch((err) => {
      this.model.set("error", `${err.name || "Error"}: ${err.message || err}`);
      this.model.save_changes();
    });
  }

  onMessage(msg, buffers) {
    if (msg.type === "audio" && buffers.length) {
      const view = buffers[0];
      const pcm = view.buffer.slice(view.byteOffset, view.byteOffset + view.byteLength);
      this.post({ type: "audio", item: msg.item, pcm }, [pcm]);
    } else if (msg.type === "clear") {
      if (this.node) this.node.port.postMessage(msg);
      this.pending = this.pending.filter(([m]) => m.type !== "audio");
    } else if (msg.type === "end") {
      this.post(msg);
    }
  }

  onPlayed({ item, ms, cleared, underruns }) {
    if (cleared) {
      this.model.send({ type: "cleared" });
      return;
    }
    if (underruns !== undefined) {
      this.model.set("underruns", underruns);
      this.model.save_changes();
      return;
    }
    const before = this.positions.get(item) || 0;
    this.positions.set(item, ms);
    this.lastItem = item;
    this.playedMs += ms - before;
    this.model.send({ type: "played", item, ms });
    this.redraw();
  }

  close() {
    this.ctx?.close();
    this.ctx = this.node = null;
  }

  redraw() {
    this.views.forEach((draw) => draw());
  }
}

// One playback per model (initialize() and render() get different proxies of the model).
const players = new Map();

function initialize({ model }) {
  const playback = new Playback(model);
  players.set(model.get("_uid"), playback);
  model.on("msg:custom", (msg, buffers) => playback.onMessage(msg, buffers || []));
  return () => {
    playback.close();
    players.delete(model.get("_uid"));
  };
}

function render({ model, el }) {
  const playback = players.get(model.get("_uid"));
  el.classList.add("rtnb-player");
  el.innerHTML = `<button class="rtnb-player-enable">Enable audio</button>
    <span class="rtnb-player-status"></span>`;
  const enable = el.querySelector(".rtnb-player-enable");
  const status = el.querySelector(".rtnb-player-status");
  enable.onclick = () => (playback.ctx ? playback.resume() : playback.open());

  const draw = () => {
    const state = playback.ctx ? playback.ctx.state : "idle";
    enable.hidden = state === "running";
    const error = model.get("error");
    status.textContent = error || `speaker ${state} · played ${Math.round(playback.playedMs)} ms`;
    status.dataset.playedMs = String(Math.round(playback.playedMs));
    status.dataset.item = playback.lastItem;
    status.dataset.itemMs = String(Math.round(playback.positions.get(playback.lastItem) || 0));
  };
  playback.views.add(draw);
  model.on("change:error", draw);
  draw();
  return () => playback.views.delete(draw);
}

export default { initialize, render };
