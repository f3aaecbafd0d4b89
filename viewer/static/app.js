// SecureMedia viewer: the series page (slices, frames, window/level, zoom)
// and the study list's previews. The server sends each frame's stored or
// compressed bytes (/frame) and its pixel attributes (/info); a Web Worker
// (decode-worker.js) decodes them and render.js draws them on a canvas, so
// window/level, zoom and cine never go back to the server.
"use strict";
// The target of the messages between the Compare view and its viewports
// (here and compare.js): our own origin; INDEX.HTM's pages (file://) have
// an opaque origin, "null", which postMessage cannot name, so there "*":
// the frames are the page's own, and the receivers check the sender.
const messageOrigin = location.origin === "null" ? "*" : location.origin;

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
  // On the study list they wait a moment: a reader who opens a series
  // at once must not wait behind them (on a CD-ROM each preview costs a
  // seek and a whole file, a quarter of a second).
  let chain = !document.getElementById("viewer") ? new Promise(function (resolve) { setTimeout(resolve, 300); }) :
    new Promise(function (resolve) {
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
    drawScouts(p);
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    msg.hidden = true; canvas.hidden = false; stage.classList.remove("lost");
    fit();
    showWindow(used);
    annotate();
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
    overlayChanged();
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
        announce();
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
    if (!timer) cineRate(v);
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
    if (timer) { clearTimeout(timer); timer = null; }
    if (fpsOut) fpsOut.textContent = "";
    const p = document.getElementById("play");
    if (p) { p.textContent = "Play"; p.setAttribute("aria-pressed", "false"); }
  }
  (function () {
    const p = document.getElementById("play"), a = document.getElementById("fprev"), b = document.getElementById("fnext");
    if (a) a.addEventListener("click", function () { stop(); stepFrame(-1); });
    if (b) b.addEventListener("click", function () { stop(); stepFrame(1); });
    if (p) p.addEventListener("click", function () {
      if (timer) { stop(); return; }
      // Cine: decode every frame ahead, then show them at the chosen
      // rate, each on its deadline (a frame not decoded yet is waited for).
      for (let f = 0; f < (info.Frames || 1); f++) frameOf(index, f).catch(function () {});
      const interval = 1000 / Math.max(1, Math.min(120, parseFloat(fpsInput.value) || 15));
      let due = performance.now() + interval;
      shownAt = [];
      const tick = function () {
        const n = info.Frames, next = (frame + 1) % n;
        const e = frames.get(index + "/" + next);
        if (e && e.bytes > 0) {
          stepFrame(1);
          const now = performance.now();
          shownAt.push(now);
          while (shownAt.length > 0 && shownAt[0] < now - 2000) shownAt.shift();
          if (shownAt.length > 1) {
            const fps = (shownAt.length - 1) * 1000 / (shownAt[shownAt.length - 1] - shownAt[0]);
            fpsOut.textContent = "playing at " + fps.toFixed(1) + " frames/s";
            canvas.dataset.fps = fps.toFixed(2);
          }
          due = Math.max(due + interval, now);
        } else {
          due = performance.now() + 5;
        }
        timer = setTimeout(tick, Math.max(0, due - performance.now()));
      };
      timer = setTimeout(tick, interval);
      p.textContent = "Stop"; p.setAttribute("aria-pressed", "true");
    });
  })();
  const fpsInput = document.getElementById("fps"), fpsOut = document.getElementById("fpsmeasured");
  let shownAt = [];
  // The file's own speed: Frame Time (ms per frame), else Recommended
  // Display Frame Rate; 15 frames/s when it says neither.
  function cineRate(v) {
    const g = v && v.Geometry || {}, src = document.getElementById("fpssource");
    let fps = 15, from = "(the file gives no speed)";
    if (g.FrameTime > 0) { fps = 1000 / g.FrameTime; from = "(from the file: " + g.FrameTime + " ms per frame)"; }
    else if (g.FrameRate > 0) { fps = g.FrameRate; from = "(the file's recommended rate)"; }
    if (fpsInput) fpsInput.value = Math.round(fps * 10) / 10;
    if (src) src.textContent = from;
  }
  if (fpsInput) fpsInput.addEventListener("change", function () {
    if (timer) { document.getElementById("play").click(); document.getElementById("play").click(); }
  });

  function go(i) {
    if (i < 0 || i >= count || i === index) return;
    index = i;
    stop(); frame = 0;
    show();
    updateLinks();
    history.replaceState(null, "", "?i=" + i + (embedded ? "&embed=1" : ""));
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
    if (tagsBox && !tagsBox.hidden) { if (ev.key === "Escape") closeTags(); return; } // its own keys otherwise
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
      case "l": case "L": setTool("length"); return;
      case "g": case "G": setTool("angle"); return;
      case "e": case "E": setTool("ellipse"); return;
      case "Delete": case "Backspace": clearMarks(); return;
      case "a": case "A": toggleAnnotations(); return;
      case "r": case "R": rotate(); return;
      case "h": case "H": toggle("flipH"); return;
      case "v": case "V": toggle("flipV"); return;
      case "Escape": if (closeHelp()) return; if (tool) { setTool(null); return; } reset(); return;
      case "d": case "D": togglePanel(); return;
      case "t": case "T": toggleTheme(); return;
      case "?": openHelp(); return;
      case "m": case "M": ev.preventDefault(); openTags(); return; // the key is not typed into the filter
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
  function applyZoom(remote) {
    canvas.style.transform = "translate(" + panX + "px," + panY + "px) scale(" + zoom + ")";
    overlayChanged();
    if (!remote) announceView();
  }
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
    if (!document.body.classList.contains("embedded")) {
      try { localStorage.setItem("sm-panel", hide ? "hidden" : "shown"); } catch (e) { /* private mode */ }
    }
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

  // The tag browser: every element of the image shown, sequences folded,
  // with a filter. Values are the file's, so they go in as text only.
  const tagsBox = document.getElementById("tags");
  function openTags() {
    if (!tagsBox) return;
    const list = document.getElementById("taglist"), filter = document.getElementById("tagfilter");
    tagsBox.hidden = false;
    delete tagsBox.dataset.loaded;
    document.getElementById("tags-h").textContent = "DICOM elements of image " + (index + 1) + " of " + count;
    list.textContent = "Reading the file…";
    filter.value = "";
    setTimeout(function () { filter.focus(); }, 0); // once the key that opened it is done
    fetch("/tags/" + series + "/" + index).then(function (r) {
      if (!r.ok) return r.text().then(function (t) { throw new Error(t.trim() || r.statusText); });
      return r.json();
    }).then(function (v) {
      list.textContent = "";
      list.appendChild(tagTree(v.elements || []));
      tagsBox.dataset.loaded = String(list.querySelectorAll("li.tagrow").length);
    }).catch(function (e) { list.textContent = "The elements could not be read: " + e.message; tagsBox.dataset.loaded = "error"; });
  }
  function closeTags() {
    if (!tagsBox || tagsBox.hidden) return false;
    tagsBox.hidden = true;
    document.getElementById("tagsbutton").focus();
    return true;
  }
  function tagRow(n) {
    const row = document.createElement("span");
    row.className = "tagline";
    [["tg", n.tag], ["tn", n.name || (n.private ? "private" : "unknown to this viewer")], ["tvr", n.vr],
     ["tval", n.items ? n.items.length + (n.items.length === 1 ? " item" : " items") : n.value]].forEach(function (c) {
      const e = document.createElement("span");
      e.className = c[0] + (c[0] === "tn" && !n.name ? " muted" : "");
      e.textContent = c[1] || "";
      row.appendChild(e);
    });
    return row;
  }
  function folded(summary, body) {
    const d = document.createElement("details"), s = document.createElement("summary");
    s.appendChild(summary);
    d.appendChild(s);
    d.appendChild(body);
    return d;
  }
  function tagTree(nodes) {
    const ul = document.createElement("ul");
    ul.className = "tagtree";
    nodes.forEach(function (n) {
      const li = document.createElement("li");
      li.className = "tagrow";
      if (!n.items) {
        li.appendChild(tagRow(n));
      } else {
        const items = document.createElement("ul");
        items.className = "tagtree";
        n.items.forEach(function (it, k) {
          const il = document.createElement("li");
          const label = document.createElement("span");
          label.className = "tagitem";
          label.textContent = "Item " + (k + 1);
          il.appendChild(folded(label, tagTree(it || [])));
          items.appendChild(il);
        });
        li.appendChild(folded(tagRow(n), items));
      }
      ul.appendChild(li);
    });
    return ul;
  }
  // Filter: rows whose tag, name or value contain the text stay, with the
  // sequences that hold them opened.
  function filterTags(q) {
    q = q.trim().toLowerCase();
    const list = document.getElementById("taglist");
    list.querySelectorAll("details").forEach(function (d) { if (!q) d.open = false; });
    list.querySelectorAll("li.tagrow").forEach(function (li) {
      const own = li.querySelector(".tagline");
      const hit = !q || own.textContent.toLowerCase().includes(q) ||
        Array.from(li.querySelectorAll(".tagline")).some(function (e) { return e.textContent.toLowerCase().includes(q); });
      li.hidden = !hit;
      if (q && hit) li.querySelectorAll("details").forEach(function (d) { d.open = true; });
    });
  }
  if (tagsBox) {
    document.getElementById("tagsbutton").addEventListener("click", openTags);
    document.getElementById("tagsclose").addEventListener("click", closeTags);
    document.getElementById("tagfilter").addEventListener("input", function (ev) { filterTags(ev.target.value); });
    tagsBox.addEventListener("keydown", function (ev) { if (ev.key === "Escape") { ev.stopPropagation(); closeTags(); } });
    tagsBox.addEventListener("click", function (ev) { if (ev.target === tagsBox) closeTags(); });
  }
  try {
    if (localStorage.getItem("sm-theme") === "light") setTheme(true);
    // A viewport of the comparison page opens without the details (D
    // shows them: the window presets are there), and leaves the choice
    // of the series page alone.
    if (document.body.classList.contains("embedded")) { if (panel) panel.classList.add("collapsed"); }
    else if (localStorage.getItem("sm-panel") === "hidden") togglePanel();
  } catch (e) { /* private mode */ }

  // Drag: horizontal changes width (contrast), vertical changes centre
  // (brightness); Shift or the right button pans. Redrawn here, from the
  // decoded frame: no request per step.
  let drag = null, pendingDraw = false;
  canvas.addEventListener("pointerdown", function (ev) {
    if (tool && ev.button === 0 && !ev.shiftKey) { addPoint(ev); ev.preventDefault(); return; }
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
    readout(ev);
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

  // Geometry: where an image pixel is on the screen and back. The canvas
  // holds the image turned (view.rot quarter turns clockwise) and flipped;
  // its CSS box, zoom and pan included, is what getBoundingClientRect says.
  function toImage(clientX, clientY) {
    const r = canvas.getBoundingClientRect(), p = info.Pixel;
    let x = (clientX - r.left) / r.width * canvas.width - canvas.width / 2;
    let y = (clientY - r.top) / r.height * canvas.height - canvas.height / 2;
    if (view.flipH) x = -x;
    if (view.flipV) y = -y;
    for (let k = 0; k < view.rot; k++) { const t = x; x = y; y = -t; } // a quarter turn back
    return { x: x + p.Columns / 2, y: y + p.Rows / 2 };
  }
  function toClient(ix, iy) {
    const r = canvas.getBoundingClientRect(), p = info.Pixel;
    let x = ix - p.Columns / 2, y = iy - p.Rows / 2;
    for (let k = 0; k < view.rot; k++) { const t = x; x = -y; y = t; } // a quarter turn clockwise
    if (view.flipH) x = -x;
    if (view.flipV) y = -y;
    return { x: r.left + (x + canvas.width / 2) / canvas.width * r.width, y: r.top + (y + canvas.height / 2) / canvas.height * r.height };
  }
  // screenAxis is the image direction (du, dv) that points right (ax 0)
  // or down (ax 1) on the screen.
  function screenAxis(ax) {
    let x = ax === 0 ? 1 : 0, y = ax === 0 ? 0 : 1;
    if (view.flipH) x = -x;
    if (view.flipV) y = -y;
    for (let k = 0; k < view.rot; k++) { const t = x; x = y; y = -t; }
    return [x, y];
  }
  // spacing: mm per pixel along the columns (du) and the rows (dv), and
  // what they are: the patient's, the detector's, or none.
  // geometry of the frame shown: an enhanced multi-frame image's frames
  // each have their own (position, orientation, spacing, thickness).
  function geometry() {
    const g = info && info.Geometry || {}, own = g.Frames && g.Frames[frame];
    return own ? Object.assign({}, g, Object.fromEntries(Object.entries(own).filter(function (e) { return e[1] !== null && e[1] !== ""; }))) : g;
  }
  function spacing() {
    const g = geometry();
    if (g.PixelSpacing) return { du: g.PixelSpacing[1], dv: g.PixelSpacing[0], kind: "" };
    if (g.ImagerPixelSpacing) return { du: g.ImagerPixelSpacing[1], dv: g.ImagerPixelSpacing[0], kind: " at the detector" };
    return null;
  }

  // Orientation markers (PS3.3 C.7.6.2.1.1): the patient direction each
  // screen edge points to, from Image Orientation (Patient), else Patient
  // Orientation; oblique directions get up to three letters, strongest
  // first (components of at least 0.25).
  const letterVec = { L: [1, 0, 0], R: [-1, 0, 0], P: [0, 1, 0], A: [0, -1, 0], H: [0, 0, 1], F: [0, 0, -1] };
  function imageAxes() {
    const g = geometry();
    if (g.Orientation) return [g.Orientation.slice(0, 3), g.Orientation.slice(3, 6)];
    const po = (g.PatientOrientation || "").split("\\");
    if (po.length !== 2) return null;
    const vec = function (s) {
      const v = [0, 0, 0];
      for (const c of s.trim()) { const u = letterVec[c]; if (!u) return null; v[0] += u[0]; v[1] += u[1]; v[2] += u[2]; }
      return v;
    };
    const a = vec(po[0]), b = vec(po[1]);
    return a && b ? [a, b] : null;
  }
  function letters(v) {
    const names = [["L", "R"], ["P", "A"], ["H", "F"]], parts = [];
    const n = Math.hypot(v[0], v[1], v[2]) || 1;
    [0, 1, 2].map(function (i) { return [i, v[i] / n]; })
      .sort(function (a, b) { return Math.abs(b[1]) - Math.abs(a[1]); })
      .forEach(function (c) { if (Math.abs(c[1]) >= 0.25) parts.push(names[c[0]][c[1] > 0 ? 0 : 1]); });
    return parts.join("");
  }
  function markers() {
    const ax = imageAxes(), ids = ["mk-right", "mk-bottom", "mk-left", "mk-top"];
    if (!ax) { ids.forEach(function (id) { document.getElementById(id).textContent = ""; }); return; }
    const dir = function (d) { return [0, 1, 2].map(function (i) { return d[0] * ax[0][i] + d[1] * ax[1][i]; }); };
    const right = dir(screenAxis(0)), down = dir(screenAxis(1));
    const neg = function (v) { return v.map(function (x) { return -x; }); };
    [right, down, neg(right), neg(down)].forEach(function (v, k) { document.getElementById(ids[k]).textContent = letters(v); });
  }

  // The scale bar: a round length in mm, 60 to 200 screen pixels long.
  function scaleBar() {
    const bar = document.getElementById("scalebar-bar"), label = document.getElementById("scalebar-label");
    if (!bar) return;
    const sp = spacing();
    if (!sp || !canvas.width) { bar.style.width = "0"; bar.hidden = true; label.textContent = "uncalibrated"; return; }
    const r = canvas.getBoundingClientRect(), a = screenAxis(0);
    const mmPerCSS = (a[0] !== 0 ? sp.du : sp.dv) * canvas.width / r.width;
    let len = 1;
    for (const l of [1, 2, 5, 10, 20, 50, 100, 200, 500]) { if (l / mmPerCSS <= 200) len = l; }
    bar.hidden = false;
    bar.style.width = Math.round(len / mmPerCSS) + "px";
    label.textContent = len + " mm" + sp.kind;
  }

  // The text on the image: study and series, the image's place, slice
  // and technique, window and zoom.
  const overlay = document.getElementById("overlay");
  function lines(id, ls) {
    const box = document.getElementById(id);
    if (!box) return;
    box.textContent = "";
    ls.filter(function (l) { return l; }).forEach(function (l) { const e = document.createElement("span"); e.textContent = l; box.appendChild(e); });
  }
  function annotate() {
    if (!info || !overlay) return;
    const g = geometry(), te = info.Technique || {};
    lines("ov-tr", [info.Date + (info.StudyDesc ? " · " + info.StudyDesc : ""),
      "Series " + (info.SeriesNumber || "–") + (info.Description ? " · " + info.Description : ""),
      g.Laterality ? "Laterality " + g.Laterality : ""]);
    // Numbers as a person writes them: 6, not 6.000000e+00.
    const num = function (v) { const x = parseFloat(v); return isFinite(x) ? String(+x.toFixed(2)) : v; };
    const tech = [te.KVP && num(te.KVP) + " kV", te.Exposure && num(te.Exposure) + " mAs", te.RepetitionTime && "TR " + num(te.RepetitionTime) + " ms",
      te.EchoTime && "TE " + num(te.EchoTime) + " ms"].filter(function (x) { return x; }).join(" · ");
    lines("ov-bl", ["Image " + (index + 1) + " of " + count + (info.Frames > 1 ? ", frame " + (frame + 1) + " of " + info.Frames : ""),
      g.SliceLocation ? "Slice " + (+g.SliceLocation).toFixed(1) + " mm" + (g.SliceThickness ? ", thickness " + (+g.SliceThickness) + " mm" : "") :
        g.SliceThickness ? "Thickness " + (+g.SliceThickness) + " mm" : "",
      tech]);
    overlayChanged();
  }
  function overlayChanged() {
    if (!info || !info.Pixel || !canvas.width) return;
    const r = canvas.getBoundingClientRect();
    const w = out && out.textContent ? out.textContent.replace(/^[^:]*: /, "") : "";
    lines("ov-br", [w ? "W/L: " + w : "", "Zoom " + Math.round(r.width / canvas.width * 100) + "%"]);
    markers();
    scaleBar();
    drawMarks();
  }
  function toggleAnnotations() {
    if (!overlay) return;
    const off = !overlay.classList.contains("off");
    overlay.classList.toggle("off", off);
    document.getElementById("annotations").setAttribute("aria-pressed", String(!off));
  }

  // Measurements: a length (two points) or an angle (three, the vertex
  // second), kept in image pixels per image, drawn over it, in mm and
  // degrees from the pixel spacing (pixels when it has none).
  const tools = ["length", "angle", "ellipse"]; // each has a #tool-<name> button
  let tool = null, pending = [];
  const marks = new Map(); // image index → [{kind, pts}]
  const svg = document.getElementById("marks");
  function setTool(t) {
    tool = tool === t ? null : t;
    pending = [];
    tools.forEach(function (k) { const b = document.getElementById("tool-" + k); if (b) b.setAttribute("aria-pressed", String(tool === k)); });
    stage.classList.toggle("measuring", !!tool);
    drawMarks();
  }
  function addPoint(ev) {
    if (!info || !info.Pixel) return;
    pending.push(toImage(ev.clientX, ev.clientY));
    if (pending.length === (tool === "angle" ? 3 : 2)) {
      if (!marks.has(index)) marks.set(index, []);
      marks.get(index).push({ kind: tool, pts: pending });
      pending = [];
    }
    drawMarks();
  }
  function clearMarks() { marks.delete(index); pending = []; drawMarks(); }
  function measure(m) {
    const sp = spacing() || { du: 1, dv: 1, kind: "" }, unit = spacing() ? " mm" : " px (uncalibrated)";
    const d = function (a, b) { return [(b.x - a.x) * sp.du, (b.y - a.y) * sp.dv]; };
    if (m.kind === "ellipse") return ellipseStats(m, sp, !!spacing());
    if (m.kind === "length") {
      const v = d(m.pts[0], m.pts[1]);
      return Math.hypot(v[0], v[1]).toFixed(1) + unit + sp.kind;
    }
    const a = d(m.pts[1], m.pts[0]), b = d(m.pts[1], m.pts[2]);
    const cos = (a[0] * b[0] + a[1] * b[1]) / (Math.hypot(a[0], a[1]) * Math.hypot(b[0], b[1]) || 1);
    return (Math.acos(Math.max(-1, Math.min(1, cos))) * 180 / Math.PI).toFixed(1) + "°";
  }
  // ellipseStats: mean and standard deviation of the (rescaled) values of
  // the pixels whose centres lie in the ellipse two corners span, and its
  // area in mm² (pixels when uncalibrated).
  function ellipseStats(m, sp, calibrated) {
    if (!decoded || decoded.kind !== "mono") return "(grey images only)";
    const p = info.Pixel, a = m.pts[0], b = m.pts[1];
    const cx = (a.x + b.x) / 2, cy = (a.y + b.y) / 2, rx = Math.abs(b.x - a.x) / 2, ry = Math.abs(b.y - a.y) / 2;
    if (rx < 0.5 || ry < 0.5) return "(too small)";
    let n = 0, sum = 0, sq = 0;
    for (let y = Math.max(0, Math.floor(cy - ry)); y <= Math.min(p.Rows - 1, Math.ceil(cy + ry)); y++) {
      for (let x = Math.max(0, Math.floor(cx - rx)); x <= Math.min(p.Columns - 1, Math.ceil(cx + rx)); x++) {
        const dx = (x + 0.5 - cx) / rx, dy = (y + 0.5 - cy) / ry;
        if (dx * dx + dy * dy > 1) continue;
        const v = decoded.values[y * p.Columns + x] * p.RescaleSlope + p.RescaleIntercept;
        n++; sum += v; sq += v * v;
      }
    }
    if (n === 0) return "(no pixel)";
    const mean = sum / n, sd = Math.sqrt(Math.max(0, sq / n - mean * mean));
    const area = calibrated ? (n * sp.du * sp.dv).toFixed(1) + " mm²" + sp.kind : n + " px";
    return "mean " + mean.toFixed(1) + ", SD " + sd.toFixed(1) + ", area " + area;
  }
  function drawMarks() {
    if (!svg) return;
    svg.textContent = "";
    if (!info || !info.Pixel || canvas.hidden) return;
    const sr = stage.getBoundingClientRect(), ns = "http://www.w3.org/2000/svg";
    const at = function (pt) { const c = toClient(pt.x, pt.y); return [c.x - sr.left, c.y - sr.top]; };
    const all = (marks.get(index) || []).concat(pending.length ? [{ kind: tool, pts: pending, open: true }] : []);
    const results = [];
    all.forEach(function (m) {
      const xy = m.pts.map(at);
      if (m.kind === "ellipse" && xy.length === 2) {
        const e = document.createElementNS(ns, "ellipse");
        e.setAttribute("cx", (xy[0][0] + xy[1][0]) / 2); e.setAttribute("cy", (xy[0][1] + xy[1][1]) / 2);
        e.setAttribute("rx", Math.abs(xy[1][0] - xy[0][0]) / 2); e.setAttribute("ry", Math.abs(xy[1][1] - xy[0][1]) / 2);
        svg.appendChild(e);
      } else {
        const line = document.createElementNS(ns, "polyline");
        line.setAttribute("points", xy.map(function (p) { return p.join(","); }).join(" "));
        svg.appendChild(line);
      }
      xy.forEach(function (p) {
        const c = document.createElementNS(ns, "circle");
        c.setAttribute("cx", p[0]); c.setAttribute("cy", p[1]); c.setAttribute("r", 3); c.setAttribute("fill", "#4cf06a");
        svg.appendChild(c);
      });
      if (m.open) return;
      const text = measure(m), t = document.createElementNS(ns, "text"), last = xy[1];
      t.setAttribute("x", last[0] + 8); t.setAttribute("y", last[1] - 8); t.textContent = text;
      if (m.kind === "ellipse") { // under the region, centred
        t.setAttribute("x", (xy[0][0] + xy[1][0]) / 2); t.setAttribute("y", Math.max(xy[0][1], xy[1][1]) + 18);
        t.setAttribute("text-anchor", "middle");
      }
      svg.appendChild(t);
      // Keep the label inside the image area.
      const bb = t.getBBox();
      if (bb.x + bb.width > sr.width - 4) t.setAttribute("x", +t.getAttribute("x") - (bb.x + bb.width - sr.width + 4));
      if (bb.x < 4) t.setAttribute("x", +t.getAttribute("x") + 4 - bb.x);
      if (bb.y + bb.height > sr.height - 4) t.setAttribute("y", +t.getAttribute("y") - (bb.y + bb.height - sr.height + 4));
      if (bb.y < 4) t.setAttribute("y", +t.getAttribute("y") + 4 - bb.y);
      results.push(text);
    });
    // For tests and assistive tools: the measurements shown, in order.
    svg.dataset.results = results.join(" | ");
  }
  tools.forEach(function (k) { const b = document.getElementById("tool-" + k); if (b) b.addEventListener("click", function () { setTool(k); }); });
  (function () { const b = document.getElementById("clearmarks"); if (b) b.addEventListener("click", clearMarks); })();
  (function () { const b = document.getElementById("annotations"); if (b) b.addEventListener("click", toggleAnnotations); })();

  // The value under the pointer: the stored value and the rescaled one
  // (Hounsfield units for CT), or the colour.
  const ro = document.getElementById("readout");
  function readout(ev) {
    if (!ro || !info || !info.Pixel || !decoded) return;
    const p = info.Pixel, q = toImage(ev.clientX, ev.clientY), x = Math.floor(q.x), y = Math.floor(q.y);
    if (x < 0 || y < 0 || x >= p.Columns || y >= p.Rows) { ro.textContent = ""; return; }
    const i = y * p.Columns + x;
    let v;
    if (decoded.kind === "mono") {
      const stored = decoded.values[i], m = stored * p.RescaleSlope + p.RescaleIntercept;
      v = "value " + stored + (p.RescaleSlope !== 1 || p.RescaleIntercept !== 0 ? " → " + (+m.toFixed(2)) + (info.Modality === "CT" ? " HU" : "") : "");
    } else {
      v = "RGB " + decoded.rgb[3 * i] + ", " + decoded.rgb[3 * i + 1] + ", " + decoded.rgb[3 * i + 2];
    }
    ro.textContent = "x " + x + ", y " + y + ": " + v;
  }
  canvas.addEventListener("pointerleave", function () { if (ro) ro.textContent = ""; });

  // A viewport of the comparison page (compare.js, in the page around this
  // frame): say which slice is shown and where it lies, follow the slice
  // position, zoom and pan of another viewport, and draw where the other
  // viewports' slices cut this image (scout lines). Messages go to and come
  // from our own origin only.
  const embedded = document.body.classList.contains("embedded") && window.parent !== window;
  let following = false; // the image now changing was asked for by another viewport
  let scoutPlanes = [], gotoSeq = 0, announced = false;
  function geoOf(v) {
    const g = v === info ? geometry() : v && v.Geometry;
    if (!g || !g.Position || !g.Orientation || !v.Pixel) return null;
    return { pos: g.Position, row: g.Orientation.slice(0, 3), col: g.Orientation.slice(3, 6), spacing: g.PixelSpacing || null,
      rows: v.Pixel.Rows, cols: v.Pixel.Columns, frameOfReference: g.FrameOfReference || "" };
  }
  function announce() {
    if (!embedded) return;
    // "load": the first image of the page, which leads no one (whichever
    // viewport loads last would otherwise move the others).
    const cause = following ? "sync" : announced ? "user" : "load";
    parent.postMessage({ sm: "shown", cause: cause, index: index, count: count, geo: geoOf(info) }, messageOrigin);
    following = false;
    announced = true;
  }
  function announceView() {
    const r = stage.getBoundingClientRect();
    if (embedded && r.width && r.height) parent.postMessage({ sm: "view", zoom: zoom, pan: [panX / r.width, panY / r.height] }, messageOrigin);
  }
  const dot = function (a, b) { return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]; };
  const minus = function (a, b) { return [a[0] - b[0], a[1] - b[1], a[2] - b[2]]; };
  // distance of slice i from the plane through pos with normal n, in mm
  // (null when the slice does not say where it lies).
  function distance(i, pos, n) {
    return infoOf(i).then(function (v) {
      const g = v.Geometry;
      return g && g.Position ? dot(minus(g.Position, pos), n) : null;
    }, function () { return null; });
  }
  // nearestSlice finds the slice closest to a plane: the slices of a
  // series are in Instance Number order, nearly always along one axis, so
  // the first and last give an estimate and a few neighbours the answer
  // (a handful of /info requests, not one per slice).
  async function nearestSlice(pos, n) {
    if (count === 1) return 0;
    const d0 = await distance(0, pos, n), dn = await distance(count - 1, pos, n);
    if (d0 === null || dn === null) return null;
    let i = d0 === dn ? index : Math.round(-d0 / (dn - d0) * (count - 1));
    i = Math.max(0, Math.min(count - 1, i));
    let best = await distance(i, pos, n);
    if (best === null) return null;
    best = Math.abs(best);
    for (let step = 0; step < 64; step++) {
      let moved = false;
      for (const j of [i - 1, i + 1]) {
        if (j < 0 || j >= count) continue;
        const dj = await distance(j, pos, n);
        if (dj !== null && Math.abs(dj) < best - 1e-6) { i = j; best = Math.abs(dj); moved = true; break; }
      }
      if (!moved) break;
    }
    return i;
  }
  // The line where a plane (another viewport's slice) cuts this image, in
  // this image's pixel coordinates, clipped to both images; null when the
  // planes are parallel or do not meet within them.
  function scoutLine(self, other) {
    if (!self.spacing || !other.spacing) return null;
    const n = [other.row[1] * other.col[2] - other.row[2] * other.col[1], other.row[2] * other.col[0] - other.row[0] * other.col[2],
      other.row[0] * other.col[1] - other.row[1] * other.col[0]];
    // A pixel (x, y) of this image lies at pos + x·dc·row + y·dr·col; its
    // signed distance from the other plane is k + a·x + b·y.
    const dr = self.spacing[0], dc = self.spacing[1];
    const a = dc * dot(self.row, n), b = dr * dot(self.col, n), k = dot(minus(self.pos, other.pos), n);
    const len = Math.hypot(a, b);
    if (len < 1e-3 * Math.min(dr, dc)) return null; // parallel: no line
    const x0 = -k * a / (len * len), y0 = -k * b / (len * len), ux = -b / len, uy = a / len;
    // Along the line, each bound is lo <= g0 + g1·t <= hi (Liang–Barsky).
    let t0 = -1e9, t1 = 1e9;
    function clip(g0, g1, lo, hi) {
      if (Math.abs(g1) < 1e-12) { if (g0 < lo || g0 > hi) { t0 = 1; t1 = 0; } return; }
      let ta = (lo - g0) / g1, tb = (hi - g0) / g1;
      if (ta > tb) { const x = ta; ta = tb; tb = x; }
      t0 = Math.max(t0, ta); t1 = Math.min(t1, tb);
    }
    clip(x0, ux, -0.5, self.cols - 0.5);
    clip(y0, uy, -0.5, self.rows - 0.5);
    // The other image's own pixel coordinates along the line.
    const odr = other.spacing[0], odc = other.spacing[1];
    const at = function (x, y) {
      const d = minus([self.pos[0] + x * dc * self.row[0] + y * dr * self.col[0], self.pos[1] + x * dc * self.row[1] + y * dr * self.col[1],
        self.pos[2] + x * dc * self.row[2] + y * dr * self.col[2]], other.pos);
      return [dot(d, other.row) / odc, dot(d, other.col) / odr];
    };
    const p0 = at(x0, y0), p1 = at(x0 + ux, y0 + uy);
    clip(p0[0], p1[0] - p0[0], -0.5, other.cols - 0.5);
    clip(p0[1], p1[1] - p0[1], -0.5, other.rows - 0.5);
    if (t1 <= t0) return null;
    return [x0 + ux * t0, y0 + uy * t0, x0 + ux * t1, y0 + uy * t1];
  }
  // drawScouts draws the lines on the canvas, in image pixels (the canvas
  // transform of draw() is in force: the image's top left is at -cols/2).
  function drawScouts(p) {
    const self = geoOf(info);
    canvas.dataset.scouts = "";
    if (!self || !scoutPlanes.length) return;
    const found = [];
    ctx.save();
    ctx.strokeStyle = "#ffd400";
    ctx.lineWidth = Math.max(1, Math.round(Math.max(p.Columns, p.Rows) / 256));
    scoutPlanes.forEach(function (other) {
      if (!other || other.frameOfReference !== self.frameOfReference || !self.frameOfReference) return;
      const l = scoutLine(self, other);
      if (!l) return;
      ctx.beginPath();
      ctx.moveTo(l[0] + 0.5 - p.Columns / 2, l[1] + 0.5 - p.Rows / 2);
      ctx.lineTo(l[2] + 0.5 - p.Columns / 2, l[3] + 0.5 - p.Rows / 2);
      ctx.stroke();
      found.push(l.map(function (v) { return v.toFixed(1); }).join(","));
    });
    ctx.restore();
    canvas.dataset.scouts = found.join(" "); // for tests: the lines drawn, in image pixels
  }
  if (embedded) {
    window.addEventListener("message", function (ev) {
      if (ev.origin !== location.origin || ev.source !== window.parent) return;
      const m = ev.data;
      if (!m || typeof m !== "object") return;
      if (m.sm === "goto" && Array.isArray(m.pos) && Array.isArray(m.normal)) {
        const my = ++gotoSeq;
        nearestSlice(m.pos, m.normal).then(function (i) {
          if (my !== gotoSeq || i === null || i === index) return;
          following = true;
          go(i);
        });
      } else if (m.sm === "view" && typeof m.zoom === "number" && Array.isArray(m.pan)) {
        const r = stage.getBoundingClientRect();
        zoom = Math.max(1, Math.min(16, m.zoom)); panX = m.pan[0] * r.width; panY = m.pan[1] * r.height;
        applyZoom(true);
      } else if (m.sm === "scouts" && Array.isArray(m.planes)) {
        scoutPlanes = m.planes;
        draw();
      }
    });
    ["pointerdown", "keydown", "wheel"].forEach(function (t) {
      document.addEventListener(t, function () { parent.postMessage({ sm: "active" }, messageOrigin); }, { passive: true });
    });
  }
  show();
})();
