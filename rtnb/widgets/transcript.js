// rtnb transcript: chat bubbles and tool rows, patched in place from the kernel's changes.
// From the kernel: {type: "update", entries: [...], order?: [keys]} (only the entries that
// changed; `order` when the order changed). To the kernel: {type: "sync"} asks for everything.
// Views draw once per animation frame, touching only the changed entries, so a streaming
// transcript costs the page a few small DOM patches a second, never a rebuild.

class Store {
  constructor() {
    this.entries = new Map();
    this.order = [];
    this.views = new Set();
  }
  apply(msg) {
    for (const entry of msg.entries || []) this.entries.set(entry.key, entry);
    if (msg.order) this.order = msg.order;
    const keys = (msg.entries || []).map((e) => e.key);
    this.views.forEach((view) => view.changed(keys, Boolean(msg.order)));
  }
}

const stores = new Map(); // one per model `_uid`: initialize() and render() get different proxies

function initialize({ model }) {
  const store = new Store();
  stores.set(model.get("_uid"), store);
  model.on("msg:custom", (msg) => {
    if (msg.type === "update") store.apply(msg);
  });
  model.send({ type: "sync" });
  return () => stores.delete(model.get("_uid"));
}

function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  return node;
}

function marks(entry) {
  const list = [...(entry.marks || [])];
  if (entry.removed) list.push("removed from the history");
  return list.map((mark) => {
    const kind = mark.startsWith("guardrail") ? "guardrail" : mark.startsWith("interrupted") ? "interrupted" : "removed";
    return el("span", `rtnb-mark rtnb-mark-${kind}`, mark);
  });
}

function short(text, n) {
  const flat = String(text ?? "").replace(/\s+/g, " ");
  return flat.length > n ? flat.slice(0, n - 1) + "…" : flat;
}

// The element of one entry (new each time the entry changes; entries are small).
function draw(entry) {
  let node;
  if (entry.kind === "tool") {
    node = el("details", "rtnb-line rtnb-tool");
    const done = entry.output !== null && entry.output !== undefined;
    const summary = el("summary", "rtnb-tool-summary");
    summary.append(
      el("span", "rtnb-tool-icon", done ? "✓" : "…"),
      el("span", "rtnb-tool-name", entry.name),
      el("span", "rtnb-tool-args", short(entry.arguments, 60)),
    );
    if (entry.ms !== null && entry.ms !== undefined) summary.append(el("span", "rtnb-tool-ms", `${entry.ms} ms`));
    node.append(summary);
    const body = el("div", "rtnb-tool-body");
    body.append(el("div", "rtnb-tool-label", "arguments"), el("pre", "", entry.arguments || ""));
    body.append(el("div", "rtnb-tool-label", "output"), el("pre", "", done ? entry.output : "running…"));
    node.append(body);
  } else if (entry.kind === "note") {
    node = el("div", "rtnb-line rtnb-note", entry.text);
  } else {
    const role = ["user", "assistant", "system"].includes(entry.kind) ? entry.kind : "other";
    node = el("div", `rtnb-line rtnb-${role}`);
    node.append(el("div", "rtnb-who", entry.who || entry.kind));
    const bubble = el("div", "rtnb-bubble", entry.text || (entry.status === "in_progress" ? "…" : ""));
    node.append(bubble);
  }
  node.dataset.key = entry.key;
  node.classList.add("rtnb-entry");
  if (entry.removed) node.classList.add("rtnb-removed");
  const list = marks(entry);
  if (list.length) {
    const row = el("div", "rtnb-marks");
    row.append(...list);
    // A tool row's marks go on its summary line, visible while the row is closed.
    (entry.kind === "tool" ? node.querySelector("summary") : node).append(row);
  }
  return node;
}

function render({ model, el: host }) {
  const store = stores.get(model.get("_uid"));
  // The scrolling box is a child: containers (a Tab's panels) may size the view's own element.
  host.classList.add("rtnb-transcript-view");
  const root = el("div", "rtnb-transcript");
  host.append(root);
  const empty = el("div", "rtnb-empty", model.get("hint"));
  root.append(empty);
  model.on("change:hint", () => (empty.textContent = model.get("hint")));
  const nodes = new Map();
  let pending = new Set(store.order);
  let reorder = true;
  let frame = null;

  const setHeight = () => (root.style.height = model.get("height"));
  setHeight();
  model.on("change:height", setHeight);

  // Follow the newest turn unless the user scrolled up to read (and again once back down).
  let follow = true;
  const atBottom = () => root.scrollHeight - root.scrollTop - root.clientHeight < 40;
  const toBottom = () => {
    if (follow) root.scrollTop = root.scrollHeight;
  };
  root.addEventListener("scroll", () => {
    if (root.clientHeight) follow = atBottom();
  });
  // Shown again (a tab, an output scrolled back into view): land on the newest turn.
  const resized = new ResizeObserver(toBottom);
  resized.observe(root);

  const flush = () => {
    frame = null;
    for (const key of pending) {
      const entry = store.entries.get(key);
      if (!entry) continue;
      const node = draw(entry);
      const old = nodes.get(key);
      if (old) {
        if (old.open) node.open = true; // keep an expanded tool row expanded
        old.replaceWith(node);
      }
      nodes.set(key, node);
    }
    pending = new Set();
    if (reorder) {
      reorder = false;
      // Append in order: nodes already in place are moved only when out of order.
      let previous = empty;
      for (const key of store.order) {
        const node = nodes.get(key);
        if (!node) continue;
        if (previous.nextSibling !== node) previous.after(node);
        previous = node;
      }
    } else {
      for (const node of nodes.values()) if (!node.isConnected) root.append(node);
    }
    empty.hidden = store.order.length > 0;
    toBottom();
  };
  const view = {
    changed(keys, order) {
      keys.forEach((key) => pending.add(key));
      reorder = reorder || order;
      if (!frame) frame = requestAnimationFrame(flush);
    },
  };
  store.views.add(view);
  frame = requestAnimationFrame(flush);
  return () => {
    store.views.delete(view);
    resized.disconnect();
  };
}

export default { initialize, render };
