// rtnb player: streamed PCM16 24 kHz mono played by an AudioWorklet behind an adaptive jitter buffer.
// From the kernel: {type: "audio", item, t?} + one PCM16 buffer; {type: "end"} (no more audio for
// now: play what is queued); {type: "clear"} (stop at once, drop the queue); {type: "resume"} (a
// barge-in pause was not confirmed: play on); {type: "act_stop"} (benchmark: act as a user stop).
// To the kernel: {type: "played", item, ms, level_ms, target_ms}: how much of an item was really
// played, the buffer level and its target; {type: "cleared"} once a clear took effect (after its
// last "played" reports); {type: "stopped", by, page_ms, ack_ms} when the page stopped playback
// itself: page_ms from the act to silence in the rendered audio, ack_ms until the page heard (a
// click on an element of class `rtnb-stop-<uid>`, or a barge-in from a Mic); {type: "underrun",
// item, played_ms, target_ms, slack_ms, late_ms} when audio came again after running dry (how late
// it was against the target); {type: "latency", ms: [...]} (with `bench`): kernel send -> first
// sample of each message played.
const RATE = 24000;

// Runs in the AudioWorkletGlobalScope. The jitter buffer keeps, per stream (from the first audio
// to the drain after "end", or a clear), the best arrival seen: D = arrival frame - content
// position, minD its minimum. A message is `late` by D - minD. The slack of the stream, how late
// audio may come without a gap, is now + queued - received - minD; it stays constant while
// playing and grows while waiting. Playback (re)starts when the slack reaches `target`. The target
// follows the peak lateness (+ a margin), grows on each underrun, and shrinks slowly (peak and
// boost decay) within [min, max]. While playing, the slack moves towards the target by reading
// the queue up to 3 % faster or slower (linear interpolation). Gaps fade out and back in over
// FADE samples; a sample counts as played when it leaves the queue, so played-ms stay exact.
const WORKLET = `
const FADE = 96; // 4 ms
const RATE_STEP = 0.03; // play up to 3 % faster or slower to move the slack towards the target
class RtnbPlayback extends AudioWorkletProcessor {
  constructor(options) {
    super();
    const o = options.processorOptions;
    const frames = (ms) => Math.round((sampleRate * ms) / 1000);
    this.min = frames(o.minMs);
    this.max = frames(o.maxMs);
    this.margin = frames(o.marginMs);
    this.boost = Math.max(0, frames(o.prebufferMs) - this.margin); // decays; underruns add to it
    this.peak = 0; // decaying peak lateness, frames
    this.decay = o.decayPerSecond / sampleRate; // fraction of the peak lost per frame
    this.boostDecay = (2.5 * o.decayPerSecond) / sampleRate;
    this.target = 0;
    this.retarget();
    this.reportEvery = frames(o.reportMs);
    this.queue = [];
    this.head = 0;
    this.frac = 0;
    this.queued = 0;
    this.playing = false;
    this.paused = false;
    this.flush = false;
    this.stopping = null; // {by}: fade out now, then drop the queue (or pause)
    this.stream = null; // {minD, received}
    this.dry = null; // the underrun waiting for audio
    this.gain = 0;
    this.current = null; // item of the last sample played
    this.played = new Map();
    this.dirty = new Set();
    this.stopped = new Set(); // items stopped: their late audio is dropped
    this.stamps = [];
    this.sinceReport = 0;
    this.underruns = 0;
    this.port.onmessage = ({ data }) => this.onMessage(data);
  }
  retarget() {
    const want = Math.max(this.min, this.peak + this.margin + this.boost);
    this.target = Math.max(this.min, Math.min(this.max, Math.round(want)));
  }
  slack() {
    const s = this.stream;
    return s ? currentFrame + this.queued - this.frac - s.received - s.minD : 0;
  }
  onMessage(msg) {
    if (msg.type === "audio") {
      if (this.stopped.has(msg.item)) return;
      const pcm = new Int16Array(msg.pcm);
      const samples = new Float32Array(pcm.length);
      for (let i = 0; i < pcm.length; i++) samples[i] = pcm[i] / 32768;
      const s = this.stream || (this.stream = { minD: Infinity, received: 0 });
      const d = currentFrame - s.received;
      if (d < s.minD) s.minD = d;
      const late = d - s.minD;
      this.peak = Math.max(this.peak, late);
      if (this.dry) {
        // The message that ends an underrun: how late it was against the target of the moment.
        const ms = (frames) => (frames * 1000) / sampleRate;
        this.port.postMessage({ underrun: { ...this.dry, late_ms: ms(late) } });
        this.dry = null;
      }
      this.retarget();
      s.received += samples.length;
      this.queue.push({ item: msg.item, samples, t: msg.t });
      this.queued += samples.length;
      this.flush = false;
    } else if (msg.type === "end") {
      this.flush = true;
    } else if (msg.type === "clear" || msg.type === "stop") {
      this.stopping = { by: msg.by || "kernel" };
    } else if (msg.type === "pause") {
      if (this.playing) this.stopping = { by: "pause" };
    } else if (msg.type === "resume" && this.paused) {
      // Play on at once; the audio that piled up meanwhile becomes the new reference.
      this.paused = false;
      const s = this.stream;
      if (s) s.minD = currentFrame + this.queued - s.received - this.target;
    }
  }
  report() {
    for (const item of this.dirty) {
      this.port.postMessage({ item, ms: (this.played.get(item) * 1000) / sampleRate });
    }
    this.dirty.clear();
    this.port.postMessage({
      status: true,
      level: (this.queued * 1000) / sampleRate,
      target: (this.target * 1000) / sampleRate,
      playing: this.playing,
      stamps: this.stamps.splice(0),
    });
    this.sinceReport = 0;
  }
  advance() {
    // One queued sample consumed: count it as played.
    const chunk = this.queue[0];
    this.current = chunk.item;
    this.played.set(chunk.item, (this.played.get(chunk.item) || 0) + 1);
    this.dirty.add(chunk.item);
    this.queued--;
    if (++this.head === chunk.samples.length) {
      this.queue.shift();
      this.head = 0;
    }
  }
  take(out, from, n, rate, fadeOut) {
    // Write up to n samples into out[from...] reading the queue at \`rate\`; return the end index.
    // With fadeOut, the last FADE samples before the queue runs dry ramp down to silence.
    const end = from + n;
    let i = from;
    const left = () => Math.floor((this.queued - this.frac) / rate);
    for (; i < end && this.queued > 0; i++) {
      const chunk = this.queue[0];
      if (this.head === 0 && chunk.t !== undefined) {
        this.stamps.push([chunk.t, currentFrame + i]);
        chunk.t = undefined;
      }
      const a = chunk.samples[this.head];
      let x = a;
      if (this.frac > 0) {
        const next = this.head + 1 < chunk.samples.length ? chunk.samples[this.head + 1]
          : this.queue.length > 1 ? this.queue[1].samples[0] : a;
        x = a + (next - a) * this.frac;
      }
      if (this.gain < 1) this.gain = Math.min(1, this.gain + 1 / FADE);
      let g = this.gain;
      if (fadeOut) {
        const rest = left();
        if (rest < FADE) g *= rest / FADE;
      }
      out[i] = x * g;
      this.frac += rate;
      while (this.frac >= 1 && this.queued > 0) {
        this.frac -= 1;
        this.advance();
      }
    }
    if (!this.queued) this.frac = 0;
    return i;
  }
  finishStop(silentFrom) {
    const by = this.stopping.by;
    this.stopping = null;
    if (by === "pause") {
      this.paused = true;
    } else {
      this.paused = false;
      for (const chunk of this.queue) this.stopped.add(chunk.item);
      if (this.current !== null) this.stopped.add(this.current);
      this.queue = [];
      this.head = this.queued = this.frac = 0;
      this.flush = false;
      this.stream = this.dry = null;
    }
    this.playing = false;
    this.gain = 0;
    this.report();
    this.port.postMessage({ cleared: by, silentFrom });
  }
  process(_inputs, outputs) {
    const out = outputs[0][0];
    const n = out.length;
    let i = 0;
    this.peak *= 1 - this.decay * n;
    this.boost *= 1 - this.boostDecay * n;
    this.retarget();
    if (this.stopping) {
      if (this.playing) {
        // A short ramp to silence from the samples that would have come next.
          const fade = Math.min(FADE, this.queued);
        for (; i < fade; i++) {
          out[i] = this.queue[0].samples[this.head] * (1 - (i + 1) / fade) * this.gain;
          this.advance();
        }
      }
      this.finishStop(currentFrame + i);
    } else {
      if (!this.playing && !this.paused && this.queued > 0 &&
          (this.flush || this.slack() >= this.target)) {
        this.playing = true;
        this.gain = 0;
      }
      if (this.playing) {
        const gap = this.slack() - this.target;
        const rate = this.flush ? 1 : gap > this.margin / 2 ? 1 + RATE_STEP
          : gap < -this.margin / 4 ? 1 - RATE_STEP : 1;
        i = this.take(out, 0, n, rate, !this.flush);
        if (!this.queued) {
          if (!this.flush) {
            this.underruns++;
            const ms = (frames) => (frames * 1000) / sampleRate;
            this.dry = { item: this.current, played_ms: ms(this.played.get(this.current)),
              target_ms: ms(this.target), slack_ms: ms(this.slack()) };
            this.boost += this.margin;
            this.retarget();
            this.port.postMessage({ underruns: this.underruns });
          } else {
            this.stream = null; // drained: the next audio starts a new stream
          }
          this.playing = this.flush = false;
          this.report();
        }
      }
    }
    out.fill(0, i);
    for (let c = 1; c < outputs[0].length; c++) outputs[0][c].set(out);
    this.sinceReport += n;
    if (this.sinceReport >= this.reportEvery && (this.queued || this.dirty.size)) this.report();
    return true;
  }
}
registerProcessor("rtnb-playback", RtnbPlayback);
`;

// Delays messages by a random 0-N ms without reordering them (a test and benchmark option).
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
    this.playing = false;
    this.stopAsked = null; // page time of a stop asked in the page
    this.latencies = [];
    this.views = new Set();
    this.jitter = new Jitter((msg, transfer) => this.post(msg, transfer));
    this.dirty = false;
  }

  async open() {
    if (this.ctx) return;
    const model = this.model;
    this.ctx = new AudioContext({ sampleRate: RATE, latencyHint: "interactive" });
    this.ctx.onstatechange = () => this.redraw();
    const url = URL.createObjectURL(new Blob([WORKLET], { type: "text/javascript" }));
    await this.ctx.audioWorklet.addModule(url);
    URL.revokeObjectURL(url);
    this.node = new AudioWorkletNode(this.ctx, "rtnb-playback", {
      numberOfInputs: 0,
      outputChannelCount: [1],
      processorOptions: {
        prebufferMs: model.get("prebuffer_ms"),
        minMs: model.get("min_buffer_ms"),
        maxMs: model.get("max_buffer_ms"),
        marginMs: 40,
        decayPerSecond: 0.02,
        reportMs: model.get("report_ms"),
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
      this.jitter.push(this.model.get("jitter_ms"), out, [pcm]);
    } else if (msg.type === "clear") {
      this.jitter.drop();
      this.pending = this.pending.filter(([m]) => m.type !== "audio");
      if (this.node) this.node.port.postMessage(msg);
      else this.model.send({ type: "cleared" });
    } else if (msg.type === "end") {
      this.jitter.push(this.model.get("jitter_ms"), msg, []);
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
    if (by === "barge_in" && !this.playing) return;
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
      this.playing = false;
      this.redraw();
    } else if (data.underrun) {
      this.model.send({ type: "underrun", ...data.underrun });
    } else if (data.underruns !== undefined) {
      this.model.set("underruns", data.underruns);
      this.model.save_changes();
    } else if (data.status) {
      this.levelMs = data.level;
      this.targetMs = data.target;
      this.playing = data.playing;
      if (data.stamps.length) this.stamped(data.stamps);
      if (this.dirty) {
        this.dirty = false;
        const ms = this.positions.get(this.lastItem) || 0;
        this.model.send({
          type: "played",
          item: this.lastItem,
          ms,
          level_ms: data.level,
          target_ms: data.target,
        });
      }
      this.redraw();
    } else {
      const { item, ms } = data;
      const before = this.positions.get(item) || 0;
      this.positions.set(item, ms);
      this.playedMs += ms - before;
      if (item !== this.lastItem && this.dirty) {
        this.model.send({ type: "played", item: this.lastItem, ms: this.positions.get(this.lastItem) });
      }
      this.lastItem = item;
      this.dirty = true;
    }
  }

  stamped(stamps) {
    // Kernel send (epoch ms) -> the moment the first sample of each message leaves the speaker.
    const ts = this.ctx.getOutputTimestamp ? this.ctx.getOutputTimestamp() : {};
    const ok = ts.performanceTime > 0;
    const perf = ok ? ts.performanceTime : performance.now();
    const ctxTime = ok ? ts.contextTime : this.ctx.currentTime;
    const ms = stamps.map(
      ([t, frame]) => performance.timeOrigin + perf + (frame / RATE - ctxTime) * 1000 - t,
    );
    this.model.send({ type: "latency", ms });
  }

  close() {
    this.ctx?.close();
    this.ctx = this.node = null;
  }

  redraw() {
    // Views draw at most once per animation frame, after the audio work of this task.
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
    const played = Math.round(playback.playedMs);
    const buffer = playback.ctx
      ? ` · buffer ${Math.round(playback.levelMs)} ms (target ${Math.round(playback.targetMs)})`
      : "";
    const underruns = model.get("underruns");
    status.textContent =
      error ||
      `speaker ${state} · played ${played} ms${buffer}` +
        (underruns ? ` · ${underruns} underrun${underruns > 1 ? "s" : ""}` : "");
    status.dataset.playedMs = String(played);
    status.dataset.item = playback.lastItem;
    status.dataset.itemMs = String(Math.round(playback.positions.get(playback.lastItem) || 0));
    status.dataset.levelMs = String(Math.round(playback.levelMs));
    status.dataset.targetMs = String(Math.round(playback.targetMs));
  };
  playback.views.add(draw);
  model.on("change:error", draw);
  model.on("change:underruns", draw);
  draw();
  return () => playback.views.delete(draw);
}

export default { initialize, render };
