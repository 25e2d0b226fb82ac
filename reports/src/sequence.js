// Pages, zoom, pan and filters of the message sequence chart (see sequence.rs).
(function () {
  "use strict";
  const svg = document.getElementById("seq");
  const source = document.getElementById("seq-data");
  if (!svg || !source) return;
  // The whole chart (sequence.rs, `Pages::data`): messages and marks with rows counted
  // over every record the report holds.
  const data = JSON.parse(source.textContent);
  const top = +svg.dataset.top;
  const height = +svg.dataset.plotHeight;
  const items = document.getElementById("items");
  const ticks = document.getElementById("ticks");
  const label = document.getElementById("view-label");
  const timeBox = document.getElementById("goto-time");
  const times = [];
  data.dt.reduce((t, d) => {
    times.push(t + d);
    return t + d;
  }, 0);
  // Every page holds `rows` rows; the last one ends at the last row.
  const rows = data.len;
  const lastStart = Math.max(0, times.length - rows);
  const hidden = new Set();
  // Filters name nodes by their scenario name; messages and marks carry node ids.
  const nameOf = {};
  svg.querySelectorAll(".lane").forEach((g) => {
    nameOf[g.dataset.node] = g.dataset.name;
  });
  const nodeHidden = (id) => hidden.has("node-" + nameOf[id]);
  // The page shown (its first row), the page whose items are drawn, and the view in it.
  let start = data.open;
  let drawn = null;
  let v0 = 0;
  let span = rows;

  const clampStart = (row) => Math.min(Math.max(0, row), lastStart);

  function readFragment() {
    const p = new URLSearchParams(location.hash.slice(1));
    const page = parseInt(p.get("page"), 10);
    if (!isNaN(page)) start = clampStart(page - data.first);
    const zoom = parseFloat(p.get("zoom"));
    if (zoom > 0) span = rows / zoom;
    const at = parseFloat(p.get("at"));
    if (!isNaN(at)) v0 = at;
    // Split before decoding, so a name may hold an encoded comma.
    const raw = location.hash.slice(1).split("&").find((part) => part.startsWith("hide="));
    (raw ? raw.slice(5) : "")
      .split(",")
      .filter(Boolean)
      .forEach((h) => hidden.add(decodeURIComponent(h)));
  }

  function writeFragment() {
    const parts = [];
    if (start !== data.open) parts.push("page=" + (data.first + start));
    if (span < rows) parts.push("zoom=" + +(rows / span).toFixed(3));
    if (v0 > 0) parts.push("at=" + +v0.toFixed(2));
    if (hidden.size) parts.push("hide=" + [...hidden].sort().map(encodeURIComponent).join(","));
    history.replaceState(null, "", parts.length ? "#" + parts.join("&") : location.pathname);
  }

  function time(ns) {
    if (ns >= 1e9) return +(ns / 1e9).toFixed(6) + "s";
    if (ns >= 1e6) return +(ns / 1e6).toFixed(3) + "ms";
    if (ns >= 1e3) return +(ns / 1e3).toFixed(3) + "us";
    return ns + "ns";
  }

  // A time as the box takes it ("1.5s", "150ms", "20us", "300ns"; seconds without a
  // unit), in ns; null if it is none.
  function parseTime(text) {
    const m = /^\s*(\d+(?:\.\d*)?|\.\d+)\s*(s|ms|us|µs|ns)?\s*$/.exec(text);
    if (!m) return null;
    const unit = { s: 1e9, ms: 1e6, us: 1e3, "µs": 1e3, ns: 1 }[m[2] || "s"];
    return parseFloat(m[1]) * unit;
  }

  // The first row at or after `ns` (the row count if none).
  function firstAt(ns) {
    let lo = 0;
    let hi = times.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (times[mid] < ns) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  function element(tag, attrs, parent) {
    const e = document.createElementNS(svg.namespaceURI, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    if (parent) parent.appendChild(e);
    return e;
  }

  // Draw the messages and marks of the page at `start` with the elements, attributes
  // and texts sequence.rs's `svg` gives the opening page; the page is cut out of the
  // whole chart as `Arrow::on_page` does it.
  function drawPage() {
    const stop = start + rows;
    const within = (row) => row >= start && row < stop;
    const page = document.createDocumentFragment();
    for (const [from, to, k, sent, ended, f, reason, x1, x2, title] of data.arrows) {
      const sentIn = within(sent);
      const endedIn = within(ended);
      if (!sentIn && !endedIn) continue;
      let fate = data.fates[f];
      if (!endedIn) fate = "inflight";
      else if (!sentIn && fate === "delivered") fate = "sentbefore";
      const kind = data.kinds[k];
      const dropped = fate === "dropped";
      // A drop stops two thirds of the way (sequence.rs, `arrow_end`).
      const end = dropped && from !== to ? x1 + (x2 - x1) * 0.66 : x2;
      const attrs = {
        class: "msg " + fate,
        "data-kind": kind,
        "data-from": from,
        "data-to": to,
        "data-r0": sentIn ? sent - start : -1,
        "data-r1": endedIn ? ended - start : rows,
        "data-x1": x1,
        "data-x2": end,
      };
      if (dropped) attrs["data-reason"] = reason;
      const g = element("g", attrs, page);
      element("title", {}, g).textContent = title;
      element("line", { x1: x1, x2: end, "marker-end": "url(#head)" }, g);
      element("text", { x: (x1 + end) / 2 }, g).textContent = dropped ? kind + " ✕ " + reason : kind;
    }
    for (const [node, row, k, x, text, title] of data.marks) {
      if (!within(row)) continue;
      const category = data.kinds[k];
      const g = element("g", {
        class: "mark " + category,
        "data-kind": category,
        "data-node": node < 0 ? "env" : node,
        "data-r0": row - start,
        "data-x": x,
      }, page);
      element("title", {}, g).textContent = title;
      element("circle", { cx: x, r: 4 }, g);
      element("text", { x: x + 7 }, g).textContent = text;
    }
    items.replaceChildren(page);
    drawn = start;
  }

  const y = (row) => top + ((row - v0 + 0.5) * height) / span;
  const inView = (r0, r1) => r1 >= v0 - 0.5 && r0 < v0 + span - 0.5;

  function layout() {
    if (drawn !== start) drawPage();
    span = Math.min(rows, Math.max(2, span));
    v0 = Math.min(Math.max(0, v0), rows - span);
    svg.querySelectorAll(".lane").forEach((g) => {
      g.style.display = hidden.has("node-" + g.dataset.name) ? "none" : "";
    });
    let arrows = 0;
    svg.querySelectorAll(".msg").forEach((g) => {
      const d = g.dataset;
      const r0 = +d.r0;
      const r1 = +d.r1;
      const show =
        !nodeHidden(d.from) &&
        !nodeHidden(d.to) &&
        !hidden.has("kind-" + d.kind) &&
        inView(Math.min(r0, r1), Math.max(r0, r1));
      g.style.display = show ? "" : "none";
      if (!show) return;
      arrows++;
      const line = g.querySelector("line");
      line.setAttribute("y1", y(r0));
      line.setAttribute("y2", y(r1));
      g.querySelector("text").setAttribute("y", (y(r0) + y(r1)) / 2 - 3);
    });
    svg.querySelectorAll(".mark").forEach((g) => {
      const d = g.dataset;
      const r = +d.r0;
      const show =
        !nodeHidden(d.node) && !hidden.has("kind-" + d.kind) && inView(r, r);
      g.style.display = show ? "" : "none";
      if (!show) return;
      g.querySelector("circle").setAttribute("cy", y(r));
      g.querySelector("text").setAttribute("y", y(r) + 4);
    });
    svg.classList.toggle("dense", height / span < 11);
    ticks.replaceChildren();
    const step = Math.max(1, Math.ceil(span / 12));
    for (let r = Math.ceil(v0); r < v0 + span && r < rows; r += step) {
      const t = element("text", { class: "tick", x: 100, y: y(r) + 4 }, ticks);
      t.textContent = time(times[start + r]);
    }
    const first = Math.max(0, Math.floor(v0));
    const last = Math.min(rows - 1, Math.ceil(v0 + span) - 1);
    const run = data.first + start;
    svg.dataset.page = run + ".." + (run + rows);
    svg.dataset.view = +v0.toFixed(2) + ".." + +(v0 + span).toFixed(2);
    svg.dataset.hidden = [...hidden].sort().join(",");
    svg.dataset.visibleArrows = arrows;
    svg.dataset.script = "ran";
    if (label && rows) {
      label.textContent =
        "records " + (run + first) + "–" + (run + last + 1) + " of " + data.total +
        ", " + time(times[start + first]) + " – " + time(times[start + Math.max(0, last)]) +
        ", " + arrows + " messages shown";
    }
    for (const [id, off] of [["page-first", start === 0], ["page-prev", start === 0],
      ["page-next", start >= lastStart], ["page-last", start >= lastStart]]) {
      const b = document.getElementById(id);
      if (b) b.disabled = off;
    }
    document.querySelectorAll("input.filter").forEach((box) => {
      box.checked = !hidden.has(box.dataset.filter);
    });
  }

  // Show the page that starts at `row` (the last page if that is past it), whole.
  function goTo(row) {
    start = clampStart(row);
    v0 = 0;
    span = rows;
  }

  function zoomAround(row, factor) {
    const next = Math.min(rows, Math.max(2, span * factor));
    v0 = row - ((row - v0) * next) / span;
    span = next;
    layout();
    writeFragment();
  }

  function rowAt(event) {
    const box = svg.getBoundingClientRect();
    const sy = ((event.clientY - box.top) * svg.viewBox.baseVal.height) / box.height;
    return v0 + ((sy - top) / height) * span;
  }

  svg.addEventListener("wheel", (e) => {
    e.preventDefault();
    zoomAround(rowAt(e), e.deltaY < 0 ? 0.8 : 1.25);
  }, { passive: false });
  let drag = null;
  svg.addEventListener("mousedown", (e) => {
    drag = { y: e.clientY, v0 };
  });
  window.addEventListener("mouseup", () => {
    if (drag) writeFragment();
    drag = null;
  });
  window.addEventListener("mousemove", (e) => {
    if (!drag) return;
    const box = svg.getBoundingClientRect();
    const dy = ((e.clientY - drag.y) * svg.viewBox.baseVal.height) / box.height;
    v0 = drag.v0 - (dy / height) * span;
    layout();
  });
  const on = (id, f) => {
    const b = document.getElementById(id);
    if (b) b.addEventListener("click", () => { f(); layout(); writeFragment(); });
  };
  on("page-first", () => goTo(0));
  on("page-prev", () => goTo(start - rows));
  on("page-next", () => goTo(start + rows));
  on("page-last", () => goTo(lastStart));
  on("goto", () => {
    const ns = parseTime(timeBox.value);
    timeBox.classList.toggle("bad", ns === null);
    if (ns !== null) goTo(firstAt(ns));
  });
  if (timeBox) {
    timeBox.addEventListener("keydown", (e) => {
      if (e.key === "Enter") document.getElementById("goto").click();
    });
  }
  on("zoom-in", () => zoomAround(v0 + span / 2, 0.5));
  on("zoom-out", () => zoomAround(v0 + span / 2, 2));
  on("pan-up", () => { v0 -= span / 2; });
  on("pan-down", () => { v0 += span / 2; });
  on("reset", () => { goTo(data.open); hidden.clear(); });
  document.querySelectorAll("input.filter").forEach((box) => {
    box.addEventListener("change", () => {
      if (box.checked) hidden.delete(box.dataset.filter);
      else hidden.add(box.dataset.filter);
      layout();
      writeFragment();
    });
  });
  window.addEventListener("hashchange", () => {
    hidden.clear();
    goTo(data.open);
    readFragment();
    layout();
  });
  readFragment();
  layout();
})();
