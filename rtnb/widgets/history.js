// rtnb history table: rows patched in place from the kernel's changes.
// From the kernel: {type: "update", rows: [...changed], order: [keys], columns: [...],
// readable: [...the default view's columns]}.
// To the kernel: {type: "sync"} asks for every row. Views redraw at most once per frame and
// only the rows that changed (all of them only when `show_all` is toggled).

const READABLE = [
  ["who", "who"],
  ["agent", "agent_shown"],
  ["text", "text_shown"],
  ["status", "status"],
  ["audio", "audio"],
];

class Store {
  constructor() {
    this.rows = new Map();
    this.order = [];
    this.columns = [];
    this.views = new Set();
  }
  apply(msg) {
    for (const row of msg.rows) this.rows.set(row.key, row);
    this.order = msg.order;
    this.columns = msg.columns;
    const readable = (msg.readable || []).join();
    this.readableChanged = readable !== (this.readable || []).join();
    this.readable = msg.readable || READABLE.map(([name]) => name);
    const keep = new Set(this.order);
    for (const key of this.rows.keys()) if (!keep.has(key)) this.rows.delete(key);
    const keys = msg.rows.map((row) => row.key);
    this.views.forEach((view) => view.changed(keys, this.readableChanged));
  }
}

const stores = new Map();

function initialize({ model }) {
  const store = new Store();
  stores.set(model.get("_uid"), store);
  model.on("msg:custom", (msg) => {
    if (msg.type === "update") store.apply(msg);
  });
  model.send({ type: "sync" });
  return () => stores.delete(model.get("_uid"));
}

function render({ model, el }) {
  const store = stores.get(model.get("_uid"));
  el.classList.add("rtnb-history-view");
  el.innerHTML = `<div class="rtnb-history-bar">
      <label><input type="checkbox" class="rtnb-history-all"> all columns</label>
      <span class="rtnb-history-count"></span>
    </div>
    <div class="rtnb-history-scroll"><table class="rtnb-history"><thead></thead><tbody></tbody></table></div>`;
  const all = el.querySelector(".rtnb-history-all");
  const count = el.querySelector(".rtnb-history-count");
  const scroll = el.querySelector(".rtnb-history-scroll");
  const head = el.querySelector("thead");
  const body = el.querySelector("tbody");
  const nodes = new Map();
  let pending = new Set();
  let rebuild = true;
  let frame = null;

  // The readable columns the kernel chose (no agent column while one agent speaks).
  const columns = () =>
    model.get("show_all")
      ? store.columns.map((c) => [c, c])
      : READABLE.filter(([name]) => (store.readable || []).includes(name));

  const drawRow = (row) => {
    const tr = document.createElement("tr");
    tr.dataset.key = row.key;
    tr.className = `rtnb-row rtnb-row-${row.who || "other"}`;
    for (const [name, field] of columns()) {
      const td = document.createElement("td");
      td.className = `rtnb-col-${name}`;
      td.textContent = row[field] ?? "";
      if (td.textContent.length > 80) td.title = td.textContent;
      tr.append(td);
    }
    return tr;
  };

  // Follow the newest row unless the user scrolled up (as the transcript does).
  let follow = true;
  const toBottom = () => {
    if (follow) scroll.scrollTop = scroll.scrollHeight;
  };
  scroll.addEventListener("scroll", () => {
    if (scroll.clientHeight) follow = scroll.scrollHeight - scroll.scrollTop - scroll.clientHeight < 40;
  });
  const resized = new ResizeObserver(toBottom);
  resized.observe(scroll);

  const flush = () => {
    frame = null;
    if (rebuild) {
      rebuild = false;
      el.querySelector("table").classList.toggle("rtnb-all", model.get("show_all"));
      head.replaceChildren();
      const tr = document.createElement("tr");
      for (const [name] of columns()) {
        const th = document.createElement("th");
        th.textContent = name;
        th.className = `rtnb-col-${name}`;
        tr.append(th);
      }
      head.append(tr);
      nodes.clear();
      body.replaceChildren();
      pending = new Set(store.order);
    }
    for (const key of pending) {
      const row = store.rows.get(key);
      if (!row) continue;
      const tr = drawRow(row);
      nodes.get(key)?.replaceWith(tr);
      nodes.set(key, tr);
    }
    pending = new Set();
    for (const [key, tr] of nodes) {
      if (!store.rows.has(key)) {
        tr.remove();
        nodes.delete(key);
      }
    }
    let previous = null;
    for (const key of store.order) {
      const tr = nodes.get(key);
      if (!tr) continue;
      const expected = previous ? previous.nextSibling : body.firstChild;
      if (expected !== tr) (previous ? previous.after(tr) : body.prepend(tr));
      previous = tr;
    }
    count.textContent = `${store.order.length} item${store.order.length === 1 ? "" : "s"}`;
    toBottom();
  };
  const schedule = () => {
    if (!frame) frame = requestAnimationFrame(flush);
  };
  const view = {
    changed(keys, columnsChanged) {
      keys.forEach((key) => pending.add(key));
      rebuild = rebuild || columnsChanged;
      schedule();
    },
  };
  all.checked = model.get("show_all");
  all.onchange = () => {
    model.set("show_all", all.checked);
    model.save_changes();
  };
  model.on("change:show_all", () => {
    all.checked = model.get("show_all");
    rebuild = true;
    schedule();
  });
  const setHeight = () => (scroll.style.maxHeight = model.get("height"));
  setHeight();
  model.on("change:height", setHeight);
  store.views.add(view);
  schedule();
  return () => {
    store.views.delete(view);
    resized.disconnect();
  };
}

export default { initialize, render };
