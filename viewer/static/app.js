// SecureMedia viewer: slice navigation and window/level on the series page.
// The server decodes and windows each frame; this script only asks for it.
"use strict";
// Save a copy: say that it is working, and do not submit twice.
(function () {
  const f = document.getElementById("exportform");
  if (!f) return;
  f.addEventListener("submit", function (ev) {
    if (f.dataset.busy) { ev.preventDefault(); return; }
    f.dataset.busy = "1";
    document.getElementById("exportstatus").hidden = false;
    f.querySelector("button").disabled = true;
  });
})();
// Study list: a series whose preview cannot be made (compressed, not an
// image) says so instead of showing a broken picture.
(function () {
  document.querySelectorAll("img.thumb").forEach(function (t) {
    function none() { const s = document.createElement("span"); s.className = "nothumb"; s.textContent = "no preview"; t.replaceWith(s); }
    if (t.complete && t.naturalWidth === 0) none(); else t.addEventListener("error", none);
  });
})();
(function () {
  const viewer = document.getElementById("viewer");
  if (!viewer) return;
  const img = document.getElementById("image");
  const msg = document.getElementById("message");
  const out = document.getElementById("window");
  const presets = document.getElementById("presets");
  const series = viewer.dataset.series;
  const count = parseInt(viewer.dataset.count, 10);
  let index = parseInt(viewer.dataset.index, 10);
  let info = {
    WindowCenter: parseFloat(img.dataset.wc), WindowWidth: parseFloat(img.dataset.ww),
    Monochrome: img.dataset.mono === "true", Frames: parseInt(img.dataset.frames, 10) || 1, ImageURL: img.getAttribute("src") || "", Message: msg.textContent.trim(),
  };
  let wc = null, ww = null; // null: the image's own window
  let full = false; // the full range of each image's values
  let loading = false, pending = false;

  let frame = 0, timer = null;
  function src() {
    const u = info.ImageURL;
    if (!u) return "";
    const q = [];
    if (wc !== null && ww !== null) q.push("wc=" + encodeURIComponent(wc.toFixed(1)), "ww=" + encodeURIComponent(ww.toFixed(1)));
    else if (full) q.push("full=1");
    if (frame > 0) q.push("frame=" + frame);
    return q.length ? u + "?" + q.join("&") : u;
  }
  function showFrame() {
    const box = document.getElementById("frames");
    if (box) box.hidden = !(info.Frames > 1) || !!info.Message;
    set("fpos", "Frame " + (frame + 1) + " of " + info.Frames);
  }
  function stepFrame(d) {
    if (!(info.Frames > 1)) return;
    frame = (frame + d + info.Frames) % info.Frames;
    showFrame(); refresh();
  }
  function stop() {
    if (timer) { clearInterval(timer); timer = null; }
    const p = document.getElementById("play");
    if (p) { p.textContent = "Play"; p.setAttribute("aria-pressed", "false"); }
  }
  (function () {
    const p = document.getElementById("play"), a = document.getElementById("fprev"), b = document.getElementById("fnext");
    if (a) a.addEventListener("click", function () { stop(); stepFrame(-1); });
    if (b) b.addEventListener("click", function () { stop(); stepFrame(1); });
    if (p) p.addEventListener("click", function () {
      if (timer) { stop(); return; }
      timer = setInterval(function () { if (!loading) stepFrame(1); }, 66);
      p.textContent = "Stop"; p.setAttribute("aria-pressed", "true");
    });
  })();
  function showWindow() {
    if (!out) return;
    out.textContent = wc !== null ? "Centre " + Math.round(wc) + ", width " + Math.round(ww) : (full ? "Full range" : "As stored");
  }
  function refresh() {
    const u = src();
    if (!u) return;
    if (loading) { pending = true; return; }
    loading = true;
    img.src = u;
  }
  img.addEventListener("load", function () { loading = false; if (pending) { pending = false; refresh(); } });
  img.addEventListener("error", function () { loading = false; pending = false; });

  function set(id, v) { const e = document.getElementById(id); if (e) e.textContent = v || "–"; }
  function go(i) {
    if (i < 0 || i >= count || i === index) return;
    index = i;
    fetch("/info/" + series + "/" + i, { credentials: "same-origin" })
      .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); })
      .then(function (v) {
        if (v.Index !== index) return;
        info = v;
        stop(); frame = 0; showFrame();
        set("position", "Image " + (i + 1) + " of " + count);
        set("a-modality", v.Modality); set("a-date", v.Date); set("a-imagedate", v.ImageDate || "same day"); set("a-bodypart", v.BodyPart); set("a-description", v.Description);
        set("a-instance", v.Instance);
        set("a-size", v.Width ? v.Width + " × " + v.Height + (v.Frames > 1 ? ", " + v.Frames + " frames" : "") : "");
        img.alt = "Image " + (i + 1) + " of " + count;
        if (v.Message) { msg.textContent = v.Message; msg.hidden = false; img.hidden = true; }
        else { msg.hidden = true; img.hidden = false; refresh(); }
        if (presets) presets.hidden = !v.Monochrome;
        updateLinks();
        history.replaceState(null, "", "?i=" + i);
      })
      .catch(function (e) { msg.textContent = "The image could not be loaded (" + e.message + ")."; msg.hidden = false; });
  }
  function updateLinks() {
    const p = document.getElementById("prev"), n = document.getElementById("next");
    if (p && p.tagName === "A") p.href = "?i=" + Math.max(0, index - 1);
    if (n && n.tagName === "A") n.href = "?i=" + Math.min(count - 1, index + 1);
  }
  ["prev", "next"].forEach(function (id) {
    const a = document.getElementById(id);
    if (a && a.tagName === "A") a.addEventListener("click", function (ev) { ev.preventDefault(); go(index + (id === "prev" ? -1 : 1)); });
  });
  document.addEventListener("keydown", function (ev) {
    if (ev.target && (ev.target.tagName === "INPUT" || ev.target.tagName === "TEXTAREA")) return;
    let d = 0;
    switch (ev.key) {
      case "ArrowUp": case "ArrowLeft": case "PageUp": d = -1; break;
      case "ArrowDown": case "ArrowRight": case "PageDown": d = 1; break;
      case ",": stop(); stepFrame(-1); return;
      case ".": stop(); stepFrame(1); return;
      case " ": if (info.Frames > 1) { ev.preventDefault(); document.getElementById("play").click(); } return;
      case "+": case "=": setZoom(zoom * 1.25); return;
      case "-": setZoom(zoom / 1.25); return;
      case "0": setZoom(1); return;
      case "Home": go(0); ev.preventDefault(); return;
      case "End": go(count - 1); ev.preventDefault(); return;
      default: return;
    }
    ev.preventDefault();
    go(Math.max(0, Math.min(count - 1, index + d)));
  });
  document.getElementById("stage").addEventListener("wheel", function (ev) {
    ev.preventDefault();
    if (ev.ctrlKey) { setZoom(zoom * (ev.deltaY < 0 ? 1.25 : 0.8)); return; }
    go(Math.max(0, Math.min(count - 1, index + (ev.deltaY > 0 ? 1 : -1))));
  }, { passive: false });

  // Zoom and pan: a CSS transform of the image; the pixels stay the server's.
  let zoom = 1, panX = 0, panY = 0;
  function applyZoom() { img.style.transform = "translate(" + panX + "px," + panY + "px) scale(" + zoom + ")"; }
  function setZoom(z) { zoom = Math.max(1, Math.min(16, z)); if (zoom === 1) { panX = panY = 0; } applyZoom(); }
  [["zoomin", function () { setZoom(zoom * 1.25); }], ["zoomout", function () { setZoom(zoom / 1.25); }],
   ["zoomfit", function () { setZoom(1); }]].forEach(function (b) {
    const e = document.getElementById(b[0]); if (e) e.addEventListener("click", b[1]);
  });
  img.addEventListener("contextmenu", function (ev) { ev.preventDefault(); });

  // Drag: horizontal changes width (contrast), vertical changes centre
  // (brightness); Shift or the right button pans.
  let drag = null;
  img.addEventListener("pointerdown", function (ev) {
    if (ev.shiftKey || ev.button === 2) {
      drag = { pan: true, x: ev.clientX, y: ev.clientY, px: panX, py: panY };
      img.setPointerCapture(ev.pointerId);
      ev.preventDefault();
      return;
    }
    if (!info.Monochrome) return;
    if (wc === null) {
      // Start from the image's own window (or a neutral one without it).
      if (info.WindowWidth >= 1) { wc = info.WindowCenter; ww = info.WindowWidth; } else { wc = 0; ww = 400; }
      full = false;
    }
    drag = { x: ev.clientX, y: ev.clientY, wc: wc, ww: ww };
    img.setPointerCapture(ev.pointerId);
    ev.preventDefault();
  });
  img.addEventListener("pointermove", function (ev) {
    if (!drag) return;
    if (drag.pan) { panX = drag.px + ev.clientX - drag.x; panY = drag.py + ev.clientY - drag.y; applyZoom(); return; }
    const scale = Math.max(1, drag.ww / 200);
    ww = Math.max(1, drag.ww + (ev.clientX - drag.x) * scale);
    wc = drag.wc + (ev.clientY - drag.y) * scale;
    showWindow(); refresh();
  });
  ["pointerup", "pointercancel"].forEach(function (t) { img.addEventListener(t, function () { drag = null; }); });

  if (presets) presets.addEventListener("click", function (ev) {
    const b = ev.target.closest("button");
    if (!b) return;
    full = b.dataset.preset === "full";
    if (b.dataset.preset) { wc = ww = null; }
    else { wc = parseFloat(b.dataset.wc); ww = parseFloat(b.dataset.ww); }
    showWindow(); refresh();
  });
  showWindow();
})();
