// rtnb player worklet (AudioWorkletGlobalScope), loaded by player.js from the `_worklet` trait.
// The jitter buffer keeps, per stream (from the first audio to the drain after "end", or a
// clear), the best arrival seen: D = arrival frame - content position, minD its minimum. A
// message is `late` by D - minD; when minD drops, the lateness remembered of the stream rises
// with it (it was measured against a worse reference). The slack of the stream, how late audio
// may come without a gap, is now + queued - received - minD; it stays constant while playing and
// grows while waiting. Playback (re)starts when the slack reaches `target`: the largest lateness
// seen over the last `memorySeconds` (one maximum per second of audio clock, kept across streams:
// the link's jitter outlives a response) plus HEADROOM and a margin, within [min, max]. The audio
// that ends an underrun is remembered UNDERRUN_STEP times later than it came; when the memory
// forgets a spike, the target steps down. While playing, the slack moves towards the target by
// reading the queue up to 3 % faster or slower (linear interpolation). Gaps fade out and back in
// over FADE samples; a sample counts as played when it leaves the queue, so played-ms stay exact.
const FADE = 96; // 4 ms
const HEADROOM = 1.1; // the target is 10 % above the largest lateness remembered, plus the margin
// The audio that ends an underrun is remembered twice as late as it came: one surprise is taken as
// a sign of larger ones (a 25 % step ran dry again within seconds on a loaded machine).
const UNDERRUN_STEP = 2;
const RATE_STEP = 0.03; // play up to 3 % faster or slower to move the slack towards the target
class RtnbPlayback extends AudioWorkletProcessor {
  constructor(options) {
    super();
    const o = options.processorOptions;
    const frames = (ms) => Math.round((sampleRate * ms) / 1000);
    this.min = frames(o.minMs);
    this.max = frames(o.maxMs);
    this.margin = frames(o.marginMs);
    // The largest lateness (frames) of each of the last memorySeconds seconds, newest last. The
    // first second's makes the pre-buffer the target, until real lateness is known.
    this.maxima = [Math.max(0, (frames(o.prebufferMs) - this.margin) / HEADROOM)];
    this.memory = Math.max(1, Math.round(o.memorySeconds));
    this.second = Math.floor(currentFrame / sampleRate);
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
  remember(late) {
    // Record a lateness (frames) in the current second; forget seconds past the memory. Called
    // for every render quantum: the target is recomputed only when the maxima change.
    const second = Math.floor(currentFrame / sampleRate);
    const rolled = second !== this.second;
    if (rolled) {
      const steps = Math.min(this.memory, second - this.second);
      for (let k = 0; k < steps; k++) this.maxima.push(0);
      this.maxima.splice(0, Math.max(0, this.maxima.length - this.memory));
      this.second = second;
    }
    const last = this.maxima.length - 1;
    const higher = late > this.maxima[last];
    if (higher) this.maxima[last] = late;
    if (rolled || higher) this.retarget();
  }
  shift(since, frames) {
    // Raise the maxima of the seconds since `since` (those of the current stream) by `frames`.
    const seconds = Math.min(this.maxima.length, this.second - since + 1);
    for (let k = this.maxima.length - seconds; k < this.maxima.length; k++) {
      this.maxima[k] += frames;
    }
    this.retarget();
  }
  retarget() {
    this.peak = Math.max(...this.maxima);
    const want = this.peak * HEADROOM + this.margin;
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
      const s = this.stream || (this.stream = { minD: Infinity, received: 0, second: this.second });
      const d = currentFrame - s.received;
      if (d < s.minD) {
        // The best arrival so far: what came before in this stream was later against it by the
        // difference, and so is the slack (the target must move with it).
        if (s.minD !== Infinity) this.shift(s.second, s.minD - d);
        s.minD = d;
      }
      const late = d - s.minD;
      if (this.dry) {
        // The message that ends an underrun: how late it was against the target of the moment.
        const ms = (frames) => (frames * 1000) / sampleRate;
        this.port.postMessage({ underrun: { ...this.dry, late_ms: ms(late) } });
        this.dry = null;
        this.remember(late * UNDERRUN_STEP);
      }
      this.remember(late);
      s.received += samples.length;
      const lateMs = (late * 1000) / sampleRate;
      this.queue.push({ item: msg.item, samples, t: msg.t, toPage: msg.toPage, lateMs });
      this.queued += samples.length;
      this.flush = false;
    } else if (msg.type === "end") {
      this.flush = true;
    } else if (msg.type === "clear" || msg.type === "stop") {
      this.stopping = { by: msg.by || "kernel" };
    } else if (msg.type === "pause") {
      if ((this.playing || this.queued) && !this.paused) this.stopping = { by: "pause" };
    } else if (msg.type === "resume" && this.paused) {
      // Play on at once; the audio that piled up meanwhile becomes the new reference.
      this.paused = false;
      const s = this.stream;
      if (s) s.minD = currentFrame + this.queued - s.received - this.target;
    }
  }
  report(final = false, waiting = false) {
    // final: a stop or the end of the audio; the page passes it on to the kernel at once.
    // One message: each costs the page's main thread a task.
    const played = [...this.dirty].map((item) => [item, (this.played.get(item) * 1000) / sampleRate]);
    this.dirty.clear();
    this.port.postMessage({
      status: true,
      played,
      level: (this.queued * 1000) / sampleRate,
      target: (this.target * 1000) / sampleRate,
      active: waiting || this.playing || this.queued > 0,
      stamps: this.stamps.splice(0),
      final,
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
    // Write up to n samples into out[from...] reading the queue at `rate`; return the end index.
    // With fadeOut, the last FADE samples before the queue runs dry ramp down to silence.
    const end = from + n;
    let i = from;
    const left = () => Math.floor((this.queued - this.frac) / rate);
    for (; i < end && this.queued > 0; i++) {
      const chunk = this.queue[0];
      if (this.head === 0 && chunk.t !== undefined) {
        const target = (this.target * 1000) / sampleRate;
        this.stamps.push([chunk.t, currentFrame + i, chunk.toPage, chunk.lateMs, target]);
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
    this.report(true);
    this.port.postMessage({ cleared: by, silentFrom });
  }
  process(_inputs, outputs) {
    const out = outputs[0][0];
    const n = out.length;
    let i = 0;
    this.remember(0);
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
              target_ms: ms(this.target), slack_ms: ms(this.slack()), peak_ms: ms(this.peak) };
            this.port.postMessage({ underruns: this.underruns });
          } else {
            this.stream = null; // drained: the next audio starts a new stream
          }
          // Drained: the final report says nothing plays; run dry: the stream is still on.
          const drained = this.flush;
          this.playing = this.flush = false;
          this.report(drained, !drained);
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
