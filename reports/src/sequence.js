// Zoom, pan and filters of the message sequence chart (see sequence.rs).
(function () {
  "use strict";
  const svg = document.getElementById("seq");
  if (!svg) return;
  const rows = +svg.dataset.rows;
  const top = +svg.dataset.top;
  const height = +svg.dataset.plotHeight;
  const times = svg.dataset.times ? svg.dataset.times.split(",").map(Number) : [];
  const ticks = document.getElementById("ticks");
  const label = document.getElementById("view-label");
  const hidden = new Set();
  // Filters name nodes by their scenario name; messages and marks carry node ids.
  const nameOf = {};
  svg.querySelectorAll(".lane").forEach((g) => {
    nameOf[g.dataset.node] = g.dataset.name;
  });
  const nodeHidden = (id) => hidden.has("node-" + nameOf[id]);
  let v0 = 0;
  let span = rows;

  function readFragment() {
    const p = new URLSearchParams(location.hash.slice(1));
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

  const y = (row) => top + ((row - v0 + 0.5) * height) / span;
  const inView = (r0, r1) => r1 >= v0 - 0.5 && r0 < v0 + span - 0.5;

  function layout() {
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
    for (let r = Math.ceil(v0); r < v0 + span && r < times.length; r += step) {
      const t = document.createElementNS(svg.namespaceURI, "text");
      t.setAttribute("class", "tick");
      t.setAttribute("x", 100);
      t.setAttribute("y", y(r) + 4);
      t.textContent = time(times[r]);
      ticks.appendChild(t);
    }
    const last = Math.min(times.length - 1, Math.ceil(v0 + span) - 1);
    svg.dataset.view = +v0.toFixed(2) + ".." + +(v0 + span).toFixed(2);
    svg.dataset.hidden = [...hidden].sort().join(",");
    svg.dataset.visibleArrows = arrows;
    svg.dataset.script = "ran";
    if (label && times.length) {
      label.textContent =
        "records " + Math.floor(v0) + "–" + (last + 1) + " of " + rows +
        ", " + time(times[Math.max(0, Math.floor(v0))]) + " – " + time(times[Math.max(0, last)]) +
        ", " + arrows + " messages shown";
    }
    document.querySelectorAll("input.filter").forEach((box) => {
      box.checked = !hidden.has(box.dataset.filter);
    });
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
  on("zoom-in", () => zoomAround(v0 + span / 2, 0.5));
  on("zoom-out", () => zoomAround(v0 + span / 2, 2));
  on("pan-up", () => { v0 -= span / 2; });
  on("pan-down", () => { v0 += span / 2; });
  on("reset", () => { v0 = 0; span = rows; hidden.clear(); });
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
    v0 = 0;
    span = rows;
    readFragment();
    layout();
  });
  readFragment();
  layout();
})();
