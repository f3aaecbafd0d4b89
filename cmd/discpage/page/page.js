// SecureMedia INDEX.HTM: opens the disc in this browser alone. Our Go code
// (cmd/discpage: media, cms, dicomdir and the viewer's pages), compiled to
// WebAssembly, arrives in WASM.JS as SM_WASM (gzip, base64): a file://
// page may not fetch files, so nothing is loaded by URL. Go answers
// smOpen(files) and smRequest(method, url, type, body) (main_js.go); this
// script shows the viewer's pages in an iframe and routes their requests,
// link clicks, form posts and their decode worker to smRequest.
"use strict";
(function () {
  const statusEl = document.getElementById("status");
  const pick = document.getElementById("pick");
  const drop = document.getElementById("drop");
  const view = document.getElementById("view");
  function say(msg, error) { statusEl.textContent = msg; statusEl.className = error ? "error" : ""; }

  // The viewer's pages think they are at http://disc.invalid/...: links,
  // forms and fetches are resolved against that and sent to Go as paths.
  const BASE = "http://disc.invalid";
  let current = BASE + "/";
  function pathOf(u) {
    const url = new URL(String(u), current);
    if (url.origin !== BASE) return null;
    return url.pathname + url.search;
  }

  // Load Go. DecompressionStream: Compression Streams
  // (https://compression.spec.whatwg.org/); the wasm is not streamed from
  // a URL, so WebAssembly.instantiate takes the bytes.
  let goReady;
  const ready = new Promise(function (r) { goReady = r; });
  window.smGoReady = function () { goReady(); };
  async function start() {
    const bin = atob(window.SM_WASM);
    window.SM_WASM = null;
    const gz = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) gz[i] = bin.charCodeAt(i);
    const wasm = await new Response(new Blob([gz]).stream().pipeThrough(new DecompressionStream("gzip"))).arrayBuffer();
    const go = new Go();
    const { instance } = await WebAssembly.instantiate(wasm, go.importObject);
    go.run(instance);
    await ready;
  }
  const loaded = start().then(function () {
    say("Choose the disc to open it.");
  }, function (e) {
    say("This browser cannot run the viewer (" + e.message + "). Try another browser (a recent Chrome, Edge, Firefox or Safari), or start the viewer program on the disc (see README.TXT).", true);
    throw e;
  });

  // Files chosen through the input (relative paths from webkitdirectory).
  pick.addEventListener("change", function () {
    const files = Array.from(pick.files).map(function (f) { return [f.webkitRelativePath || f.name, f]; });
    openDisc(files);
  });
  // A folder dropped on the page: File and Directory Entries API
  // (https://wicg.github.io/entries-api/).
  drop.addEventListener("dragover", function (ev) { ev.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", function () { drop.classList.remove("over"); });
  document.addEventListener("dragover", function (ev) { ev.preventDefault(); });
  document.addEventListener("drop", function (ev) {
    ev.preventDefault();
    drop.classList.remove("over");
    const entries = Array.from(ev.dataTransfer.items || []).map(function (i) { return i.webkitGetAsEntry && i.webkitGetAsEntry(); }).filter(Boolean);
    const out = [];
    function walk(entry, prefix) {
      if (entry.isFile) return new Promise(function (ok, fail) { entry.file(function (f) { out.push([prefix + entry.name, f]); ok(); }, fail); });
      const reader = entry.createReader();
      return new Promise(function (ok, fail) {
        const all = [];
        (function more() {
          reader.readEntries(function (batch) {
            if (batch.length === 0) { Promise.all(all).then(ok, fail); return; }
            batch.forEach(function (e) { all.push(walk(e, prefix + entry.name + "/")); });
            more();
          }, fail);
        })();
      });
    }
    Promise.all(entries.map(function (e) { return walk(e, ""); })).then(function () { openDisc(out); },
      function (e) { say("The folder could not be read: " + e.message, true); });
  });

  async function openDisc(files) {
    try {
      await loaded;
      if (files.length === 0) { say("That folder is empty. Choose the disc itself.", true); return; }
      say("Reading the disc…");
      await smOpen(files);
      await go("GET", "/");
    } catch (e) {
      say("The disc could not be opened: " + e.message, true);
    }
  }

  // request asks Go, following redirects as a browser would.
  async function request(method, url, type, body) {
    // Bytes from a viewer page's realm (the iframe) are copied into this
    // one: instanceof, here and in Go, knows only this window's Uint8Array.
    if (body != null && ArrayBuffer.isView(body)) body = new Uint8Array(body);
    for (let hops = 0; hops < 10; hops++) {
      const r = await smRequest(method, url, type || null, body == null ? null : body instanceof Uint8Array ? body : String(body));
      const loc = r.headers.location;
      if (r.status >= 300 && r.status < 400 && loc) {
        const p = pathOf(new URL(loc, BASE + url));
        if (p == null) throw new Error("the viewer sent the page elsewhere");
        url = p; method = "GET"; type = null; body = null;
        continue;
      }
      r.url = url;
      return r;
    }
    throw new Error("too many redirects");
  }

  // Static files (scripts, styles, the decoders) as blob: URLs, made once.
  const blobs = new Map();
  async function blobURL(p) {
    if (!blobs.has(p)) {
      blobs.set(p, request("GET", p).then(function (r) {
        if (r.status !== 200) throw new Error(p + ": HTTP " + r.status);
        return URL.createObjectURL(new Blob([r.body], { type: r.headers["content-type"] || "" }));
      }));
    }
    return blobs.get(p);
  }
  // scriptText is a static script's text, for the worker's prelude.
  const texts = new Map();
  function scriptText(p) {
    if (!texts.has(p)) {
      texts.set(p, request("GET", p).then(function (r) {
        if (r.status !== 200) throw new Error(p + ": HTTP " + r.status);
        return new TextDecoder().decode(r.body);
      }));
    }
    return texts.get(p);
  }
  let shimURL = null;
  function shim() {
    if (!shimURL) shimURL = URL.createObjectURL(new Blob(["(" + frameShim.toString() + ")();"], { type: "text/javascript" }));
    return shimURL;
  }

  // download hands a zip from the viewer (Save a copy) to the browser as
  // a file download, named as the viewer's Content-Disposition says, and
  // shows the export page again, saying where the copy went. The Blob is
  // one more copy of the zip in memory until the browser has written it.
  function download(r) {
    const m = /filename="([^"]+)"/.exec(r.headers["content-disposition"] || "");
    const url = URL.createObjectURL(new Blob([r.body], { type: "application/zip" }));
    const a = document.createElement("a");
    a.href = url;
    a.download = m ? m[1] : "DISC.zip";
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(function () { URL.revokeObjectURL(url); }, 60000);
    return go("GET", BASE + "/export?saved=1");
  }

  // page asks Go for a page of the viewer and returns it ready for an
  // iframe's srcdoc: its scripts and style sheets as blob: URLs, the frame
  // shim first, and its own frames (the Compare view's viewports) left for
  // the shim to load the same way (data-sm-src); null for an answer that
  // is not a page (a download is handed over here).
  async function page(method, url, body, type) {
    const p = pathOf(url);
    if (p == null) return null;
    const r = await request(method, p, type, body);
    const ctype = r.headers["content-type"] || "";
    if (ctype === "application/zip") { await download(r); return null; }
    if (ctype.indexOf("text/html") !== 0) {
      say("The viewer answered with something this page cannot show (" + ctype + ").", true);
      return null;
    }
    const doc = new DOMParser().parseFromString(new TextDecoder().decode(r.body), "text/html");
    const refs = Array.from(doc.querySelectorAll("script[src], link[rel=stylesheet][href]"));
    await Promise.all(refs.map(async function (el) {
      const attr = el.tagName === "SCRIPT" ? "src" : "href";
      const q = pathOf(el.getAttribute(attr));
      if (q == null) { el.remove(); return; }
      el.setAttribute(attr, await blobURL(q));
    }));
    doc.querySelectorAll("iframe[src]").forEach(function (f) {
      f.setAttribute("data-sm-src", f.getAttribute("src"));
      f.removeAttribute("src");
    });
    const s = doc.createElement("script");
    s.src = shim();
    doc.head.insertBefore(s, doc.head.firstChild);
    return { html: "<!DOCTYPE html>" + doc.documentElement.outerHTML, url: BASE + r.url, title: doc.title };
  }

  // go loads a page of the viewer into the iframe.
  async function go(method, url, body, type) {
    const pg = await page(method, url, body, type);
    if (!pg) return;
    current = pg.url;
    view.srcdoc = pg.html;
    view.hidden = false;
    document.title = pg.title;
    view.focus();
  }

  // frame loads a page of the viewer into a frame inside a viewer page
  // (a viewport of the Compare view); the top page's address stays.
  async function frame(el, href) {
    const pg = await page("GET", new URL(href, current).href);
    if (pg) el.srcdoc = pg.html;
  }

  // fetch as the viewer's scripts call it, answered by Go.
  async function smFetch(input, init) {
    init = init || {};
    const url = typeof input === "string" || input instanceof URL ? String(input) : input.url;
    const p = pathOf(url);
    if (p == null) throw new TypeError("Failed to fetch: " + url + " is not on this disc");
    let body = init.body == null ? null : init.body, type = null;
    if (body instanceof URLSearchParams) { type = "application/x-www-form-urlencoded"; body = body.toString(); }
    const r = await request((init.method || "GET").toUpperCase(), p, type, body);
    const nobody = r.status === 204 || r.status === 205 || r.status === 304;
    return new Response(nobody ? null : r.body, { status: r.status, headers: r.headers });
  }

  // A Worker as the viewer's scripts make one: the script's text from Go,
  // started from a blob: URL (a file:// page may start no worker by URL),
  // with a prelude that sends the worker's fetches here and answers its
  // importScripts from the decoders' texts, given beforehand (importScripts
  // is synchronous) and made into blob: URLs in the worker itself: the
  // worker of an opaque-origin page has an origin of its own, and cannot
  // load the page's blob: URLs (Chromium: "failed to load").
  const workerImports = ["/static/codecs/jpeg.js", "/static/codecs/jpeg-lossless.js",
    "/static/codecs/openjpegwasm_decode.js", "/static/codecs/charlswasm_decode.js"];
  function smWorker(url) {
    const proxy = { onmessage: null, onerror: null, queue: [], real: null, listeners: [] };
    proxy.postMessage = function (m, t) { if (proxy.real) proxy.real.postMessage(m, t); else proxy.queue.push([m, t]); };
    proxy.terminate = function () { if (proxy.real) proxy.real.terminate(); proxy.dead = true; };
    proxy.addEventListener = function (type, f) { proxy.listeners.push([type, f]); };
    function deliver(type, ev) {
      const h = proxy["on" + type];
      if (h) h.call(proxy, ev);
      proxy.listeners.forEach(function (l) { if (l[0] === type) l[1].call(proxy, ev); });
    }
    (async function () {
      const p = pathOf(url);
      const map = {};
      await Promise.all(workerImports.map(async function (q) { map[q] = await scriptText(q); }));
      const main = await request("GET", p);
      const prelude = "(" + workerPrelude.toString() + ")(" + JSON.stringify(map) + ");\n";
      const w = new Worker(URL.createObjectURL(new Blob([prelude, main.body], { type: "text/javascript" })));
      w.onmessage = function (ev) {
        const m = ev.data;
        if (m && m.smFetch) {
          request(m.method || "GET", pathOf(m.url), null, null).then(function (r) {
            w.postMessage({ smReply: m.smFetch, status: r.status, headers: r.headers, body: r.body }, [r.body.buffer]);
          }, function (e) { w.postMessage({ smReply: m.smFetch, error: e.message }); });
          return;
        }
        deliver("message", ev);
      };
      w.onerror = function (ev) { deliver("error", ev); };
      if (proxy.dead) { w.terminate(); return; }
      proxy.real = w;
      proxy.queue.forEach(function (q) { w.postMessage(q[0], q[1]); });
      proxy.queue = [];
    })().catch(function (e) { deliver("error", { message: e.message }); });
    return proxy;
  }

  window.SM = {
    fetch: smFetch,
    worker: smWorker,
    go: function (method, href, body, type) {
      go(method, new URL(href, current).href, body, type).catch(function (e) { say("The viewer failed: " + e.message, true); view.hidden = true; });
    },
    setURL: function (u) { const p = pathOf(u); if (p != null) current = BASE + p; },
    frame: function (el, href) { frame(el, href).catch(function (e) { say("The viewer failed: " + e.message, true); }); },
  };

  // frameShim runs first in every page of the viewer (the iframe), in that
  // page's window: its fetch, Worker and history go to this page, and its
  // links and forms load the next page through Go.
  function frameShim() {
    const SM = top.SM, nested = parent !== top;
    window.fetch = function (input, init) { return SM.fetch(input, init); };
    window.Worker = function (url) { return SM.worker(String(url)); };
    // A viewport's own address is not the page's.
    history.replaceState = function (s, t, u) { if (u != null && !nested) SM.setURL(u); };
    history.pushState = history.replaceState;
    // Frames in the page (the Compare view's viewports) load through Go
    // too, at first and whenever a script points one elsewhere.
    Object.defineProperty(HTMLIFrameElement.prototype, "src", {
      get: function () { return this.getAttribute("data-sm-src") || ""; },
      set: function (v) { this.setAttribute("data-sm-src", v); SM.frame(this, v); },
    });
    document.addEventListener("DOMContentLoaded", function () {
      document.querySelectorAll("iframe[data-sm-src]").forEach(function (f) { SM.frame(f, f.getAttribute("data-sm-src")); });
    });
    document.addEventListener("click", function (ev) {
      if (ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
      const a = ev.target.closest && ev.target.closest("a[href]");
      if (!a) return;
      const href = a.getAttribute("href");
      if (href.charAt(0) === "#") return;
      ev.preventDefault();
      SM.go("GET", href);
    });
    document.addEventListener("submit", function (ev) {
      if (ev.defaultPrevented) return;
      ev.preventDefault();
      const f = ev.target;
      const fd = new FormData(f, ev.submitter);
      const action = f.getAttribute("action") || "";
      if (f.enctype === "multipart/form-data") {
        // Files: the browser's own multipart encoding (a Response of the
        // FormData: Fetch, "extract a body"), its boundary in its type.
        const r = new Response(fd);
        r.arrayBuffer().then(function (b) { SM.go("POST", action, new Uint8Array(b), r.headers.get("Content-Type")); });
        return;
      }
      const data = new URLSearchParams(fd).toString();
      if ((f.getAttribute("method") || "get").toLowerCase() === "post") SM.go("POST", action, data, "application/x-www-form-urlencoded");
      else SM.go("GET", action.split("?")[0] + "?" + data);
    });
  }

  // workerPrelude runs first in the decode worker.
  function workerPrelude(map) {
    const waiting = new Map();
    let next = 1;
    self.fetch = function (url, init) {
      return new Promise(function (resolve, reject) {
        const id = next++;
        waiting.set(id, { resolve: resolve, reject: reject });
        self.postMessage({ smFetch: id, url: String(url), method: (init && init.method) || "GET" });
      });
    };
    self.addEventListener("message", function (ev) {
      const m = ev.data;
      if (!m || !m.smReply) return;
      ev.stopImmediatePropagation();
      const w = waiting.get(m.smReply);
      waiting.delete(m.smReply);
      if (m.error) w.reject(new TypeError(m.error));
      else w.resolve(new Response(m.body, { status: m.status, headers: m.headers }));
    });
    const importReal = self.importScripts.bind(self);
    const urls = {};
    self.importScripts = function () {
      importReal.apply(null, Array.from(arguments).map(function (u) {
        if (!(u in map)) return u;
        if (!urls[u]) urls[u] = URL.createObjectURL(new Blob([map[u]], { type: "text/javascript" }));
        return urls[u];
      }));
    };
  }
})();
