"use strict";
// The comparison page (/compare): viewports, each the series page in a
// frame (?embed=1), kept in step through messages with them (app.js):
// - "shown" from a viewport: the slice it now shows and where it lies;
// - "goto" to a viewport: show the slice nearest this plane;
// - "view": zoom and pan, passed on as they are;
// - "scouts" to a viewport: the planes of the other viewports' slices.
// Slice position, zoom and pan follow only between cross-sectional series
// in one Frame of Reference, with parallel slices; what the user does in
// one viewport leads, what the others do in answer does not echo back.
(function () {
  const root = document.getElementById("compare");
  if (!root) return;
  const cells = Array.from(root.querySelectorAll(".cell"));
  const frames = cells.map(function (c) { return c.querySelector("iframe"); });
  const state = frames.map(function () { return null; });
  const sync = document.getElementById("sync"), scouts = document.getElementById("scouts"), out = document.getElementById("syncstate");

  function send(k, m) { if (frames[k].contentWindow) frames[k].contentWindow.postMessage(m, messageOrigin); } // app.js
  function normal(g) {
    const r = g.row, c = g.col;
    return [r[1] * c[2] - r[2] * c[1], r[2] * c[0] - r[0] * c[2], r[0] * c[1] - r[1] * c[0]];
  }
  // partners of viewport k: those whose slices are parallel to its own in
  // the same Frame of Reference.
  function partners(k) {
    const a = state[k] && state[k].geo;
    const out = [];
    if (!a || !a.frameOfReference) return out;
    const na = normal(a);
    state.forEach(function (s, j) {
      const b = s && s.geo;
      if (j === k || !b || b.frameOfReference !== a.frameOfReference) return;
      const nb = normal(b);
      if (Math.abs(na[0] * nb[0] + na[1] * nb[1] + na[2] * nb[2]) > 0.99) out.push(j);
    });
    return out;
  }
  function sendScouts() {
    frames.forEach(function (f, j) {
      const planes = [];
      if (scouts.checked) state.forEach(function (s, k) { if (k !== j && s && s.geo) planes.push(s.geo); });
      send(j, { sm: "scouts", planes: planes });
    });
  }
  function describe() {
    const groups = [];
    state.forEach(function (s, k) {
      const p = partners(k);
      if (p.length && p[0] > k) groups.push([k].concat(p).map(function (j) { return j + 1; }).join(" and "));
    });
    out.textContent = !sync.checked ? "Each viewport on its own." : groups.length ?
      "In step: viewports " + groups.join("; ") + " (one Frame of Reference)." :
      "No two viewports show parallel slices of one Frame of Reference: each scrolls on its own.";
    root.dataset.partners = groups.join(";");
  }
  window.addEventListener("message", function (ev) {
    if (ev.origin !== location.origin) return;
    const k = frames.findIndex(function (f) { return f.contentWindow === ev.source; });
    const m = ev.data;
    if (k < 0 || !m || typeof m !== "object") return;
    if (m.sm === "shown") {
      state[k] = { index: m.index, count: m.count, geo: m.geo || null };
      if (m.cause === "user" && sync.checked && m.geo) {
        const n = normal(m.geo);
        partners(k).forEach(function (j) { send(j, { sm: "goto", pos: m.geo.pos, normal: n }); });
      }
      sendScouts();
      describe();
    } else if (m.sm === "view" && sync.checked) {
      partners(k).forEach(function (j) { send(j, { sm: "view", zoom: m.zoom, pan: m.pan }); });
    } else if (m.sm === "active") {
      cells.forEach(function (c, j) { c.classList.toggle("active", j === k); });
    }
  });
  sync.addEventListener("change", describe);
  scouts.addEventListener("change", sendScouts);
  // Another series in a viewport: load it there, and keep the address (and
  // the layout links) naming what is shown.
  cells.forEach(function (c, k) {
    c.querySelector("select").addEventListener("change", function (ev) {
      state[k] = null;
      frames[k].dataset.series = ev.target.value;
      frames[k].src = "/series/" + encodeURIComponent(ev.target.value) + "?embed=1";
      const keys = frames.map(function (f) { return "s=" + encodeURIComponent(f.dataset.series); }).join("&");
      history.replaceState(null, "", "/compare?layout=" + root.dataset.layout + "&" + keys);
      if (k === 0) document.getElementById("back").href = "/series/" + encodeURIComponent(ev.target.value);
      root.querySelectorAll(".layouts a").forEach(function (a) {
        a.href = a.href.replace(/&s=.*$/, "") + "&" + keys;
      });
      sendScouts();
      describe();
    });
  });
})();
