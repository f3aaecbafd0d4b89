// SecureMedia viewer: the series page (slices, frames, window/level, zoom)
// and the study list's previews. The server sends each frame's stored or
// compressed bytes (/frame) and its pixel attributes (/info); a Web Worker
// (decode-worker.js) decodes them and render.js draws them on a canvas, so
// window/level, zoom and cine never go back to the server.
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
// decoder: frames are fetched and decoded in one Web Worker.
const SMDecode = (function () {
  let worker = null, next = 1;
  const waiting = new Map();
  function get() {
    if (worker) return worker;
    worker = new Worker("/static/decode-worker.js");
    worker.onmessage = function (ev) {
      const w = waiting.get(ev.data.id);
      if (!w) return;
      waiting.delete(ev.data.id);
      if (ev.data.error) w.reject(new Error(ev.data.error)); else w.resolve(ev.data.decoded);
    };
    worker.onerror = function (ev) {
      waiting.forEach(function (w) { w.reject(new Error("the decoder failed: " + (ev.message || "unknown error"))); });
      waiting.clear();
      worker = null;
    };
    return worker;
  }
  return function (url, pixel) {
    return new Promise(function (resolve, reject) {
      const id = next++;
      waiting.set(id, { resolve: resolve, reject: reject });
      get().postMessage({ id: id, url: url, pixel: pixel });
    });
  };
})();

// fetchInfo gets an image's /info. A lost image (its file missing,
// damaged or another instance than the disc lists) answers 422 with its
// Message and Lost set: that is given back to be shown, never its pixels.
function fetchInfo(series, i) {
  return fetch("/info/" + series + "/" + i, { credentials: "same-origin" })
    .then(function (r) {
      const json = (r.headers.get("Content-Type") || "").indexOf("application/json") === 0;
      if (!json) throw new Error("HTTP " + r.status);
      return r.json().then(function (v) {
        if (!r.ok && !(v && v.Lost && v.Message)) throw new Error("HTTP " + r.status);
        return v;
      });
    });
}

// Study list: each series' preview is its middle image, drawn here; one
// at a time, so a long list does not flood the viewer.
(function () {
  const thumbs = Array.from(document.querySelectorAll("canvas.thumb"));
  function none(t, why, lost) {
    const s = document.createElement("span");
    s.className = "nothumb" + (lost ? " lost" : ""); s.textContent = lost ? "lost" : "no preview"; s.title = why || "";
    t.replaceWith(s);
  }
  // On the series page the strip waits for the image itself: it comes
  // first.
  let chain = !document.getElementById("viewer") ? Promise.resolve() : new Promise(function (resolve) {
    document.addEventListener("smshown", resolve, { once: true });
    setTimeout(resolve, 3000);
  });
  thumbs.forEach(function (t) {
    chain = chain.then(function () {
      return fetchInfo(t.dataset.series, t.dataset.index).then(function (v) {
        if (v.Lost) { none(t, v.Message, true); return; }
        if (v.Message || !v.Pixel) throw new Error(v.Message);
        return SMDecode(v.FrameURL, v.Pixel).then(function (d) {
          const p = v.Pixel, full = document.createElement("canvas");
          full.width = p.Columns; full.height = p.Rows;
          const fc = full.getContext("2d"), img = fc.createImageData(p.Columns, p.Rows);
          SMRender.render(p, d, null, img);
          fc.putImageData(img, 0, 0);
          const side = 96, s = side / Math.max(p.Columns, p.Rows); // small images are enlarged
          t.width = Math.max(1, Math.round(p.Columns * s)); t.height = Math.max(1, Math.round(p.Rows * s));
          const tc = t.getContext("2d");
          tc.imageSmoothingQuality = "high";
          tc.drawImage(full, 0, 0, t.width, t.height);
          t.dataset.rendered = "1";
        });
      }).catch(function (e) { none(t, e && e.message); });
    });
  });
})();

(function () {
  const viewer = document.getElementById("viewer");
  if (!viewer) return;
  const canvas = document.getElementById("image");
  const ctx = canvas.getContext("2d");
  const msg = document.getElementById("message");
  const stage = document.getElementById("stage");
  const out = document.getElementById("window");
  const presets = document.getElementById("presets");
  const series = viewer.dataset.series;
  const count = parseInt(viewer.dataset.count, 10);
  let index = parseInt(viewer.dataset.index, 10);
  let info = null;      // /info of the image shown
  let decoded = null;   // its decoded frame
  let win = null;       // chosen window {c, w}; null: each image's own
  let full = false;     // the full range of each image's values
  let frame = 0, timer = null;
  let imageData = null;

  // Caches: the /info of each slice, and decoded frames (bounded in bytes;
  // decoded pixels stay in this tab's memory only).
  const infos = new Map();
  const frames = new Map(); // key → {promise, bytes}
  let frameBytes = 0;
  const maxFrameBytes = 256 << 20;
  function infoOf(i) {
    if (!infos.has(i)) infos.set(i, fetchInfo(series, i).catch(function (e) { infos.delete(i); throw e; }));
    return infos.get(i);
  }
  function frameOf(i, f) {
    const key = i + "/" + f;
    let e = frames.get(key);
    if (e) { frames.delete(key); frames.set(key, e); return e.promise; } // most recent last
    e = { bytes: 0 };
    e.promise = infoOf(i).then(function (v) {
      if (v.Message || !v.Pixel) throw new Error(v.Message || "no image");
      return SMDecode(v.FrameURL + (f > 0 ? "?n=" + f : ""), v.Pixel);
    }).then(function (d) {
      e.bytes = d.kind === "mono" ? d.values.byteLength : d.rgb.byteLength;
      frameBytes += e.bytes;
      for (const [k, old] of frames) {
        if (frameBytes <= maxFrameBytes || k === key) break;
        frames.delete(k); frameBytes -= old.bytes;
      }
      return d;
    }, function (err) { frames.delete(key); throw err; });
    frames.set(key, e);
    return e.promise;
  }
  // Prefetch the neighbouring slices, nearest first, two at a time.
  let prefetching = 0, wanted = [];
  function prefetch() {
    wanted = [];
    for (let k = 1; k <= 8; k++) [index + k, index - k].forEach(function (i) { if (i >= 0 && i < count) wanted.push(i); });
    pump();
  }
  function pump() {
    while (prefetching < 2 && wanted.length > 0) {
      const i = wanted.shift();
      if (frames.has(i + "/0")) continue;
      prefetching++;
      frameOf(i, 0).catch(function () {}).then(function () { prefetching--; pump(); });
    }
  }

  function set(id, v) { const e = document.getElementById(id); if (e) e.textContent = v || "–"; }
  function showMessage(text, lost) { msg.textContent = text; msg.hidden = false; canvas.hidden = true; stage.classList.toggle("lost", !!lost); }
  function showWindow(used) {
    if (!out) return;
    if (!info || !info.Monochrome) { out.textContent = ""; return; }
    const w = used || win;
    // Say where the window comes from: the file's own, or (when the file
    // stores none) the image's own range of values.
    const stored = info.Pixel && info.Pixel.WindowWidth && info.Pixel.WindowWidth.length > 0;
    const from = win ? "Adjusted: " : full ? "Full range: " : stored ? "From the file: " : "Min–max (the file stores no window): ";
    out.textContent = from + (w ? "centre " + Math.round(w.c) + ", width " + Math.round(w.w) : "");
  }
  // The view: rotation (quarter turns clockwise), flips (of what is seen,
  // after the rotation) and inversion. The canvas holds the image's own
  // pixels, turned and flipped, at 1:1; its CSS size fits it to the stage.
  const view = { rot: 0, flipH: false, flipV: false, invert: false };
  const src = document.createElement("canvas"), srcCtx = src.getContext("2d");
  function draw() {
    if (!info || !decoded) return;
    const p = info.Pixel;
    if (src.width !== p.Columns || src.height !== p.Rows || !imageData) {
      src.width = p.Columns; src.height = p.Rows;
      imageData = srcCtx.createImageData(p.Columns, p.Rows);
    }
    const w = win || (full && decoded.kind === "mono" ? SMRender.fullRange(p, decoded) : null);
    const used = SMRender.render(p, decoded, w, imageData);
    if (view.invert) {
      const px = imageData.data;
      for (let o = 0; o < px.length; o += 4) { px[o] = 255 - px[o]; px[o + 1] = 255 - px[o + 1]; px[o + 2] = 255 - px[o + 2]; }
    }
    srcCtx.putImageData(imageData, 0, 0);
    const turned = view.rot % 2 === 1, cw = turned ? p.Rows : p.Columns, ch = turned ? p.Columns : p.Rows;
    if (canvas.width !== cw || canvas.height !== ch) { canvas.width = cw; canvas.height = ch; }
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.imageSmoothingEnabled = false;
    ctx.translate(cw / 2, ch / 2);
    ctx.scale(view.flipH ? -1 : 1, view.flipV ? -1 : 1);
    ctx.rotate(view.rot * Math.PI / 2);
    ctx.drawImage(src, -p.Columns / 2, -p.Rows / 2);
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    msg.hidden = true; canvas.hidden = false; stage.classList.remove("lost");
    fit();
    showWindow(used);
    // For tests and assistive tools: what is on the canvas now.
    canvas.dataset.shown = index + "/" + frame + (used ? "/" + used.c + "/" + used.w : "");
    canvas.dataset.view = view.rot + "/" + (view.flipH ? "h" : "") + (view.flipV ? "v" : "") + (view.invert ? "i" : "");
    if (!firstShown) { firstShown = true; document.dispatchEvent(new Event("smshown")); }
  }
  let firstShown = false;
  // fit sizes the canvas to the largest that the stage holds whole, with
  // the image's proportions; zoom and pan are a transform on top.
  function fit() {
    if (!canvas.width || !canvas.height || canvas.parentNode !== stage) return;
    const r = stage.getBoundingClientRect();
    const s = Math.max(0.01, Math.min(r.width / canvas.width, r.height / canvas.height));
    canvas.style.width = Math.floor(canvas.width * s) + "px";
    canvas.style.height = Math.floor(canvas.height * s) + "px";
  }
  if (window.ResizeObserver) new ResizeObserver(fit).observe(stage); else window.addEventListener("resize", fit);
  let showing = 0;
  function show() {
    const my = ++showing, i = index, f = frame;
    infoOf(i).then(function (v) {
      if (my !== showing) return null;
      info = v;
      updateAttrs(v, i);
      if (v.Message) { showMessage(v.Message, v.Lost); decoded = null; return null; }
      return frameOf(i, f).then(function (d) {
        if (my !== showing) return;
        decoded = d;
        draw();
        prefetch();
      });
    }).catch(function (e) { if (my === showing) showMessage("The image could not be shown (" + e.message + ")."); });
  }
  function updateAttrs(v, i) {
    set("position", "Image " + (i + 1) + " of " + count);
    set("a-modality", v.Modality); set("a-date", v.Date); set("a-imagedate", v.ImageDate || "same day"); set("a-bodypart", v.BodyPart); set("a-description", v.Description);
    set("a-instance", v.Instance);
    set("a-size", v.Width ? v.Width + " × " + v.Height + (v.Frames > 1 ? ", " + v.Frames + " frames" : "") : "");
    canvas.setAttribute("aria-label", "Image " + (i + 1) + " of " + count);
    if (presets) presets.hidden = !v.Monochrome;
    fileWindows(v);
    showFrame();
  }
  // The file's other windows (Window Center/Width may hold several).
  function fileWindows(v) {
    const box = document.getElementById("filewindows");
    if (!box) return;
    box.textContent = "";
    const p = v.Pixel;
    if (!p || !p.WindowWidth || p.WindowWidth.length < 2) return;
    p.WindowWidth.forEach(function (w, k) {
      const b = document.createElement("button");
      b.type = "button"; b.dataset.wc = p.WindowCenter[k]; b.dataset.ww = w;
      b.textContent = "File window " + (k + 1);
      box.appendChild(b);
    });
  }

  function showFrame() {
    const box = document.getElementById("frames");
    const n = info && info.Frames || 1;
    if (box) box.hidden = !(n > 1) || !!(info && info.Message);
    set("fpos", "Frame " + (frame + 1) + " of " + n);
  }
  function stepFrame(d) {
    const n = info && info.Frames || 1;
    if (!(n > 1)) return;
    frame = (frame + d + n) % n;
    showFrame(); show();
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
      // Cine: decode every frame ahead, then step through them.
      for (let f = 0; f < (info.Frames || 1); f++) frameOf(index, f).catch(function () {});
      timer = setInterval(function () {
        const n = info.Frames, next = (frame + 1) % n;
        const e = frames.get(index + "/" + next);
        if (e && e.bytes > 0) stepFrame(1);
      }, 66);
      p.textContent = "Stop"; p.setAttribute("aria-pressed", "true");
    });
  })();

  function go(i) {
    if (i < 0 || i >= count || i === index) return;
    index = i;
    stop(); frame = 0;
    show();
    updateLinks();
    history.replaceState(null, "", "?i=" + i);
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
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    if (help && !help.hidden && ev.key !== "Escape") return;
    let d = 0;
    switch (ev.key) {
      case "ArrowUp": case "ArrowLeft": case "PageUp": d = -1; break;
      case "ArrowDown": case "ArrowRight": case "PageDown": d = 1; break;
      case ",": stop(); stepFrame(-1); return;
      case ".": stop(); stepFrame(1); return;
      case " ": if (info && info.Frames > 1) { ev.preventDefault(); document.getElementById("play").click(); } return;
      case "+": case "=": setZoom(zoom * 1.25); return;
      case "-": setZoom(zoom / 1.25); return;
      case "0": setZoom(1); return;
      case "i": case "I": toggle("invert"); return;
      case "r": case "R": rotate(); return;
      case "h": case "H": toggle("flipH"); return;
      case "v": case "V": toggle("flipV"); return;
      case "Escape": if (closeHelp()) return; reset(); return;
      case "d": case "D": togglePanel(); return;
      case "t": case "T": toggleTheme(); return;
      case "?": openHelp(); return;
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

  // Zoom and pan: a CSS transform of the canvas.
  let zoom = 1, panX = 0, panY = 0;
  function applyZoom() { canvas.style.transform = "translate(" + panX + "px," + panY + "px) scale(" + zoom + ")"; }
  function setZoom(z) { zoom = Math.max(1, Math.min(16, z)); if (zoom === 1) { panX = panY = 0; } applyZoom(); }
  [["zoomin", function () { setZoom(zoom * 1.25); }], ["zoomout", function () { setZoom(zoom / 1.25); }],
   ["zoomfit", function () { setZoom(1); }]].forEach(function (b) {
    const e = document.getElementById(b[0]); if (e) e.addEventListener("click", b[1]);
  });
  canvas.addEventListener("contextmenu", function (ev) { ev.preventDefault(); });

  // Tools: invert, rotate, flip, reset; the details panel, the page's
  // theme and the help.
  const pressed = { invert: "invert", flipH: "fliph", flipV: "flipv" };
  function toggle(k) {
    view[k] = !view[k];
    const b = document.getElementById(pressed[k]);
    if (b) b.setAttribute("aria-pressed", String(view[k]));
    draw();
  }
  function rotate() { view.rot = (view.rot + 1) % 4; draw(); }
  function reset() {
    view.rot = 0; view.flipH = view.flipV = view.invert = false;
    Object.values(pressed).forEach(function (id) { const b = document.getElementById(id); if (b) b.setAttribute("aria-pressed", "false"); });
    win = null; full = false;
    setZoom(1);
    draw();
  }
  const panel = document.getElementById("panel");
  function togglePanel() {
    if (!panel) return;
    const hide = !panel.classList.contains("collapsed");
    panel.classList.toggle("collapsed", hide);
    const b = document.getElementById("paneltoggle");
    if (b) b.setAttribute("aria-expanded", String(!hide));
    try { localStorage.setItem("sm-panel", hide ? "hidden" : "shown"); } catch (e) { /* private mode */ }
    fit();
  }
  function setTheme(light) {
    document.body.classList.toggle("light", light);
    const b = document.getElementById("theme");
    if (b) b.textContent = light ? "Dark page" : "Light page";
  }
  function toggleTheme() {
    const light = !document.body.classList.contains("light");
    setTheme(light);
    try { localStorage.setItem("sm-theme", light ? "light" : "dark"); } catch (e) { /* private mode */ }
  }
  const help = document.getElementById("help");
  function openHelp() { if (help) { help.hidden = false; document.getElementById("helpclose").focus(); } }
  function closeHelp() { if (!help || help.hidden) return false; help.hidden = true; document.getElementById("helpbutton").focus(); return true; }
  [["invert", function () { toggle("invert"); }], ["rotate", rotate], ["fliph", function () { toggle("flipH"); }],
   ["flipv", function () { toggle("flipV"); }], ["reset", reset], ["paneltoggle", togglePanel], ["theme", toggleTheme],
   ["helpbutton", openHelp], ["helpclose", closeHelp]].forEach(function (b) {
    const e = document.getElementById(b[0]); if (e) e.addEventListener("click", b[1]);
  });
  if (help) help.addEventListener("click", function (ev) { if (ev.target === help) closeHelp(); });
  try {
    if (localStorage.getItem("sm-theme") === "light") setTheme(true);
    if (localStorage.getItem("sm-panel") === "hidden") togglePanel();
  } catch (e) { /* private mode */ }

  // Drag: horizontal changes width (contrast), vertical changes centre
  // (brightness); Shift or the right button pans. Redrawn here, from the
  // decoded frame: no request per step.
  let drag = null, pendingDraw = false;
  canvas.addEventListener("pointerdown", function (ev) {
    if (ev.shiftKey || ev.button === 2) {
      drag = { pan: true, x: ev.clientX, y: ev.clientY, px: panX, py: panY };
      canvas.setPointerCapture(ev.pointerId);
      ev.preventDefault();
      return;
    }
    if (!info || !info.Monochrome || !decoded) return;
    const start = win || (full ? SMRender.fullRange(info.Pixel, decoded) : SMRender.defaultWindow(info.Pixel, decoded));
    drag = { x: ev.clientX, y: ev.clientY, c: start.c, w: start.w };
    canvas.setPointerCapture(ev.pointerId);
    ev.preventDefault();
  });
  canvas.addEventListener("pointermove", function (ev) {
    if (!drag) return;
    if (drag.pan) { panX = drag.px + ev.clientX - drag.x; panY = drag.py + ev.clientY - drag.y; applyZoom(); return; }
    const scale = Math.max(1, drag.w / 200);
    win = { c: drag.c + (ev.clientY - drag.y) * scale, w: Math.max(1, drag.w + (ev.clientX - drag.x) * scale) };
    full = false;
    if (!pendingDraw) { pendingDraw = true; requestAnimationFrame(function () { pendingDraw = false; draw(); }); }
  });
  ["pointerup", "pointercancel"].forEach(function (t) { canvas.addEventListener(t, function () { drag = null; }); });

  if (presets) presets.addEventListener("click", function (ev) {
    const b = ev.target.closest("button");
    if (!b) return;
    full = b.dataset.preset === "full";
    if (b.dataset.preset) win = null;
    else win = { c: parseFloat(b.dataset.wc), w: parseFloat(b.dataset.ww) };
    draw();
  });
  show();
})();
