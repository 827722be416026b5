// rtnb player: streamed PCM16 24 kHz mono played by an AudioWorklet behind an adaptive jitter buffer.
// From the kernel: {type: "audio", item, t?} + one PCM16 buffer; {type: "end"} (no more audio for
// now: play what is queued); {type: "clear"} (stop at once, drop the queue); {type: "resume"} (a
// barge-in pause was not confirmed: play on); {type: "act_stop"} (benchmark: act as a user stop).
// To the kernel: {type: "played", item, ms, level_ms, target_ms, latency?}: how much of an item
// was really played, the buffer level and its target (with stamps `t`, `latency` lists per message
// played since the last report [kernel send -> first sample out, send -> this page, lateness at
// the worklet, buffer target, the audio output's own latency], ms); {type: "cleared"} once a
// clear took effect (after its last "played" reports); {type: "stopped", by, page_ms, ack_ms}
// when the page stopped playback itself: page_ms from the act to silence in the rendered audio,
// ack_ms until the page heard (a click on an element of class `rtnb-stop-<uid>`, or a barge-in
// from a Mic); {type: "underrun", item, played_ms, target_ms, slack_ms, peak_ms, late_ms} when
// audio came again after running dry (how late it was against the target).
const RATE = 24000; // the worklet is player_worklet.js (the `_worklet` trait)
// The worklet reports to the page every STATUS_MS (the status line); the page reports to the
// kernel every `report_ms` while playing, and at once on a stop or at the end of the audio. Each
// message to the kernel costs the page a busy/idle status round in JupyterLab.
const STATUS_MS = 50;
const TEXT_MS = 250; // the status line's numbers are redrawn at most this often

// Delays messages by a random 0-N ms without reordering them (BenchPlayer's `jitter_ms`).
class Jitter {
  constructor(deliver) {
    this.deliver = deliver;
    this.queue = [];
    this.last = 0;
    this.timer = null;
  }
  push(ms, msg, transfer) {
    if (ms <= 0 && !this.queue.length) return this.deliver(msg, transfer);
    const due = Math.max(performance.now() + Math.random() * ms, this.last);
    this.last = due;
    this.queue.push([due, msg, transfer]);
    if (this.queue.length === 1) this.arm();
  }
  arm() {
    clearTimeout(this.timer);
    if (this.queue.length) this.timer = setTimeout(() => this.fire(), this.queue[0][0] - performance.now());
  }
  fire() {
    while (this.queue.length && this.queue[0][0] <= performance.now() + 1) {
      const [, msg, transfer] = this.queue.shift();
      this.deliver(msg, transfer);
    }
    this.arm();
  }
  drop() {
    this.queue = this.queue.filter(([, msg]) => msg.type !== "audio");
    this.arm();
  }
}

class Playback {
  constructor(model) {
    this.model = model;
    this.ctx = null;
    this.node = null;
    this.pending = []; // messages that arrived before the worklet was ready
    this.playedMs = 0;
    this.positions = new Map();
    this.lastItem = "";
    this.levelMs = 0;
    this.targetMs = 0;
    this.active = false; // the worklet plays, or holds audio to play
    this.stopAsked = null; // page time of a stop asked in the page
    this.views = new Set();
    this.jitter = new Jitter((msg, transfer) => this.post(msg, transfer));
    this.dirty = false;
    this.reportedAt = 0; // page time of the last "played" report to the kernel
    this.reportTimer = null; // a report held back by `report_ms`
    // With stamps, unsent: [send -> played, send -> page, late, target, output] ms per message.
    this.latencies = [];
  }

  async open() {
    if (this.ctx) return;
    const model = this.model;
    this.ctx = new AudioContext({ sampleRate: RATE, latencyHint: "interactive" });
    this.ctx.onstatechange = () => this.redraw();
    const source = model.get("_worklet"); // player_worklet.js
    const url = URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
    await this.ctx.audioWorklet.addModule(url);
    URL.revokeObjectURL(url);
    this.node = new AudioWorkletNode(this.ctx, "rtnb-playback", {
      numberOfInputs: 0,
      outputChannelCount: [1],
      processorOptions: {
        prebufferMs: model.get("prebuffer_ms"),
        minMs: model.get("min_buffer_ms"),
        maxMs: model.get("max_buffer_ms"),
        marginMs: 30,
        memorySeconds: 30,
        reportMs: STATUS_MS,
      },
    });
    this.node.port.onmessage = ({ data }) => this.onWorklet(data);
    this.node.onprocessorerror = () => {
      model.set("error", "the playback worklet failed");
      model.save_changes();
    };
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
    // Audio goes to the worklet at once; nothing here waits for a view.
    if (msg.type === "audio" && buffers.length) {
      const view = buffers[0];
      const pcm = view.buffer.slice(view.byteOffset, view.byteOffset + view.byteLength);
      const out = { type: "audio", item: msg.item, pcm, t: msg.t };
      if (msg.t !== undefined) out.toPage = performance.timeOrigin + performance.now() - msg.t;
      this.jitter.push(this.model.get("jitter_ms") || 0, out, [pcm]);
    } else if (msg.type === "clear") {
      this.jitter.drop();
      this.pending = this.pending.filter(([m]) => m.type !== "audio");
      if (this.node) this.node.port.postMessage(msg);
      else this.model.send({ type: "cleared" });
    } else if (msg.type === "end") {
      this.jitter.push(this.model.get("jitter_ms") || 0, msg, []);
    } else if (msg.type === "resume") {
      this.node?.port.postMessage(msg);
    } else if (msg.type === "act_stop") {
      this.stop("user");
    }
  }

  // A stop where the user acts: silence in the page first, then the kernel hears of it.
  stop(by, at = performance.now()) {
    // `at`: when the user acted (an event's timeStamp), so a busy main thread counts too.
    if (!this.node) return;
    if (by === "barge_in" && !this.active) return; // nothing to talk over
    this.stopAsked = [at, this.ctx.currentTime - Math.max(0, performance.now() - at) / 1000];
    if (by !== "barge_in") this.jitter.drop();
    this.node.port.postMessage(by === "barge_in" ? { type: "pause" } : { type: "stop", by });
  }

  onWorklet(data) {
    if (data.cleared !== undefined) {
      const by = data.cleared;
      if (by === "kernel") this.model.send({ type: "cleared" });
      else {
        // How long after the user's act the rendered audio fell silent (the audio clock), and
        // until this thread heard of it.
        const [asked, audioTime] = this.stopAsked || [null, null];
        this.model.send({
          type: "stopped",
          by: by === "pause" ? "barge_in" : by,
          page_ms: asked === null ? null : Math.max(0, data.silentFrom / RATE - audioTime) * 1000,
          ack_ms: asked === null ? null : performance.now() - asked,
        });
      }
      this.stopAsked = null;
      this.active = false;
      this.redraw();
    } else if (data.underrun) {
      this.model.send({ type: "underrun", ...data.underrun });
    } else if (data.underruns !== undefined) {
      this.model.set("underruns", data.underruns);
      this.model.save_changes();
    } else if (data.status) {
      const shown = this.lastItem;
      for (const [item, ms] of data.played) this.onPlayed(item, ms);
      this.levelMs = data.level;
      this.targetMs = data.target;
      // A new item, a start, a stop or an end is drawn at once; moving numbers can wait.
      const changed = this.active !== data.active || data.final || this.lastItem !== shown;
      this.active = data.active;
      if (data.stamps.length) this.stamped(data.stamps);
      const wait = this.model.get("report_ms") - (performance.now() - this.reportedAt);
      if (this.dirty && (data.final || wait <= 0)) this.report();
      // The worklet goes quiet when the audio runs dry: its last position must follow.
      else if (this.dirty) this.reportTimer ??= setTimeout(() => this.report(), wait);
      this.redraw(changed);
    }
  }

  report() {
    // The position of the item playing, and the buffer, to the kernel.
    clearTimeout(this.reportTimer);
    this.reportTimer = null;
    if (!this.dirty) return;
    this.dirty = false;
    this.reportedAt = performance.now();
    const item = this.lastItem;
    const ms = this.positions.get(item) || 0;
    const report = { type: "played", item, ms, level_ms: this.levelMs, target_ms: this.targetMs };
    if (this.latencies.length) {
      // With stamps: in the same message (each message costs the page a busy/idle round).
      report.latency = this.latencies.splice(0);
    }
    this.model.send(report);
  }

  onPlayed(item, ms) {
    const before = this.positions.get(item) || 0;
    this.positions.set(item, ms);
    this.playedMs += ms - before;
    if (item !== this.lastItem) this.report(); // the previous item's last position
    this.lastItem = item;
    this.dirty = true;
  }

  stamped(stamps) {
    // Kernel send (epoch ms) -> the moment the first sample of each message leaves the speaker;
    // with how long the message took to reach this thread, how late it reached the worklet
    // against the stream's best arrival, the buffer's target when it began to play, and the
    // output's latency (rendered -> heard: the device's share, no buffer can save it).
    const ts = this.ctx.getOutputTimestamp ? this.ctx.getOutputTimestamp() : {};
    const ok = ts.performanceTime > 0;
    const perf = ok ? ts.performanceTime : performance.now();
    const ctxTime = ok ? ts.contextTime : this.ctx.currentTime;
    const output = ((this.ctx.baseLatency || 0) + (this.ctx.outputLatency || 0)) * 1000;
    for (const [t, frame, toPage, late, target] of stamps) {
      const played = performance.timeOrigin + perf + (frame / RATE - ctxTime) * 1000 - t;
      this.latencies.push([played, toPage, late, target, output]);
    }
  }

  close() {
    clearTimeout(this.reportTimer);
    this.ctx?.close();
    this.ctx = this.node = null;
  }

  redraw(soon = true) {
    // Views draw at most once per animation frame, after the audio work of this task. The
    // worklet's status (every 50 ms) only moves numbers: those are drawn at most every
    // TEXT_MS, so a playing player costs the page a few layouts a second, not twenty.
    if (!soon) {
      this.textTimer ??= setTimeout(() => {
        this.textTimer = null;
        this.redraw();
      }, TEXT_MS);
      return;
    }
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = null;
      this.views.forEach((draw) => draw());
    });
  }
}

// One playback per model (initialize() and render() get different proxies of the model).
const players = new Map();

function initialize({ model }) {
  const playback = new Playback(model);
  const uid = model.get("_uid");
  players.set(uid, playback);
  model.on("msg:custom", (msg, buffers) => playback.onMessage(msg, buffers || []));
  // Elements of class rtnb-stop-<uid> (the console's Interrupt button) stop playback here first.
  const onClick = (event) => {
    if (event.target.closest?.(`.rtnb-stop-${uid}`)) playback.stop("user", event.timeStamp);
  };
  const onBargeIn = (event) => {
    if (event.detail?.player === uid) playback.stop("barge_in");
  };
  document.addEventListener("click", onClick, true);
  window.addEventListener("rtnb-barge-in", onBargeIn);
  return () => {
    document.removeEventListener("click", onClick, true);
    window.removeEventListener("rtnb-barge-in", onBargeIn);
    playback.close();
    players.delete(uid);
  };
}

const BUTTON = "jupyter-widgets jupyter-button widget-button rtnb-button";

function render({ model, el }) {
  const playback = players.get(model.get("_uid"));
  el.classList.add("rtnb-player");
  el.innerHTML = `<button class="${BUTTON} rtnb-player-enable"><i class="fa fa-volume-up"></i><span>Enable audio</span></button>
    <span class="rtnb-pill rtnb-player-state"></span>
    <span class="rtnb-player-status"></span>`;
  const enable = el.querySelector(".rtnb-player-enable");
  const state = el.querySelector(".rtnb-player-state");
  const status = el.querySelector(".rtnb-player-status");
  enable.onclick = () => (playback.ctx ? playback.resume() : playback.open());

  // Only what changed is written: an unchanged text still replaces its node and costs a layout.
  const put = (node, key, value) => {
    if (node[key] !== value) node[key] = value;
  };
  const draw = () => {
    const ctx = playback.ctx ? playback.ctx.state : "idle";
    put(enable, "hidden", ctx === "running");
    const error = model.get("error");
    const played = Math.round(playback.playedMs);
    // idle (no audio yet) / blocked (the browser wants a click) / playing / ready / error
    const shown = error
      ? "error"
      : ctx === "running"
        ? playback.active
          ? "playing"
          : "ready"
        : ctx === "suspended"
          ? "blocked"
          : "idle";
    put(state.dataset, "state", shown);
    put(state, "textContent", shown === "blocked" ? "click Enable audio" : `speaker ${shown}`);
    const buffer = playback.ctx
      ? ` · buffer ${Math.round(playback.levelMs)} ms (target ${Math.round(playback.targetMs)})`
      : "";
    const underruns = model.get("underruns");
    // The bar says only what a person acts on (an error); the numbers are the pill's tooltip.
    put(status, "textContent", error || "");
    put(
      state,
      "title",
      `played ${(played / 1000).toFixed(1)} s${buffer}` +
        (underruns ? ` · ${underruns} underrun${underruns > 1 ? "s" : ""}` : ""),
    );
    const data = status.dataset;
    put(data, "playedMs", String(played));
    put(data, "item", playback.lastItem);
    put(data, "itemMs", String(Math.round(playback.positions.get(playback.lastItem) || 0)));
    put(data, "levelMs", String(Math.round(playback.levelMs)));
    put(data, "targetMs", String(Math.round(playback.targetMs)));
  };
  playback.views.add(draw);
  model.on("change:error", draw);
  model.on("change:underruns", draw);
  draw();
  return () => playback.views.delete(draw);
}

export default { initialize, render };
