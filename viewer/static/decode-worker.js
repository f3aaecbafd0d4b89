// SecureMedia viewer: decode worker. It fetches one frame's bytes from the
// viewer (/frame/...), decodes them with the codec /info named and posts
// back stored values ready for render.js:
//   {kind: "mono", values: Uint8Array|Int8Array|Uint16Array|Int16Array, min, max}
//   {kind: "rgb", rgb: Uint8Array (R, G, B per pixel)}
// Decoders (viewer/static/codecs, see README.md there for versions):
//   jpeg           cornerstone-wado-image-loader 4.13.2 codecs/jpeg.js (pdf.js JpegImage, 8 and 12 bit)
//   jpeg-lossless  jpeg-lossless-decoder-js 2.1.2
//   jpeg-ls        @cornerstonejs/codec-charls 1.2.7 (WebAssembly)
//   j2k            @cornerstonejs/codec-openjpeg 1.3.6 (WebAssembly)
// native and rle frames arrive decoded (little endian; RLE colour by plane).
"use strict";

// The decoders are loaded when a frame first needs one: a native or RLE
// series (most CT and MR) never parses them, which matters for the first
// image. jpeg.js and the lossless decoder are CommonJS: give them a module
// object.
let jpegLoaded = false, Lossless = null;
function loadJPEG() { if (!jpegLoaded) { self.module = { exports: {} }; importScripts("/static/codecs/jpeg.js"); delete self.module; jpegLoaded = true; } }
function loadLossless() {
  if (!Lossless) { self.module = { exports: {} }; importScripts("/static/codecs/jpeg-lossless.js"); Lossless = self.module.exports; delete self.module; }
  return Lossless;
}

// Our own names stay in this function: the decoders above declare globals.
(function () {
const locate = { locateFile: function (f) { return "/static/codecs/" + f; } };
let openjpeg = null, charls = null;
function openJPEG() {
  if (!openjpeg) { importScripts("/static/codecs/openjpegwasm_decode.js"); openjpeg = OpenJPEGWASM(locate); }
  return openjpeg;
}
function charLS() {
  if (!charls) { importScripts("/static/codecs/charlswasm_decode.js"); charls = CharLSWASM(locate); }
  return charls;
}

// wasmDecode runs an Emscripten decoder class (J2KDecoder, JpegLSDecoder).
function wasmDecode(mod, Cls, bytes) {
  const d = new mod[Cls]();
  try {
    d.getEncodedBuffer(bytes.length).set(bytes);
    d.decode();
    const fi = d.getFrameInfo();
    const out = d.getDecodedBuffer().slice(); // copy out of the WASM heap
    let planar = false;
    if (Cls === "JpegLSDecoder" && fi.componentCount > 1) planar = d.getInterleaveMode() === 0;
    return { bytes: out, width: fi.width, height: fi.height, bits: fi.bitsPerSample, comps: fi.componentCount, planar: planar };
  } finally {
    d.delete();
  }
}

// samples gives the decoded samples as numbers, one per array element.
function samples(bytes, bitsAllocated) {
  if (bitsAllocated > 8) {
    const b = bytes.byteOffset % 2 === 0 ? bytes : bytes.slice();
    return new Uint16Array(b.buffer, b.byteOffset, Math.floor(b.byteLength / 2));
  }
  return bytes;
}

// mono masks stored values to Bits Stored and sign-extends them when Pixel
// Representation is 1 (PS3.5 §8.1.1, PS3.3 C.7.6.3.1).
function mono(p, raw) {
  const n = p.Rows * p.Columns;
  if (raw.length < n) throw new Error("the decoded image is smaller than its attributes say");
  const bits = p.BitsStored, mask = bits >= 32 ? 0xffffffff : (1 << bits) - 1, sign = 1 << (bits - 1);
  const signed = p.PixelRepresentation === 1;
  const Arr = p.BitsAllocated > 8 ? (signed ? Int16Array : Uint16Array) : (signed ? Int8Array : Uint8Array);
  const out = new Arr(n);
  let min = Infinity, max = -Infinity;
  for (let i = 0; i < n; i++) {
    let v = raw[i] & mask;
    if (signed && (v & sign)) v -= 1 << bits;
    out[i] = v;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return { kind: "mono", values: out, min: min, max: max };
}

// ybr converts YBR_FULL to RGB (PS3.3 C.7.6.3.1.2).
function ybr(y, cb, cr, out, o) {
  const r = y + 1.402 * (cr - 128), g = y - 0.344136 * (cb - 128) - 0.714136 * (cr - 128), b = y + 1.772 * (cb - 128);
  out[o] = r < 0 ? 0 : r > 255 ? 255 : Math.round(r);
  out[o + 1] = g < 0 ? 0 : g > 255 ? 255 : Math.round(g);
  out[o + 2] = b < 0 ? 0 : b > 255 ? 255 : Math.round(b);
}

// color turns three samples per pixel (interleaved or by plane, 8 or 16
// bits, RGB or YBR_FULL) into 8-bit RGB; isYBR says whether to convert.
function color(p, raw, planar, isYBR, shift) {
  const n = p.Rows * p.Columns, out = new Uint8Array(3 * n);
  if (raw.length < 3 * n) throw new Error("the decoded image is smaller than its attributes say");
  for (let i = 0; i < n; i++) {
    let a, b, c;
    if (planar) { a = raw[i]; b = raw[n + i]; c = raw[2 * n + i]; }
    else { a = raw[3 * i]; b = raw[3 * i + 1]; c = raw[3 * i + 2]; }
    if (shift) { a >>= shift; b >>= shift; c >>= shift; }
    if (isYBR) ybr(a & 255, b & 255, c & 255, out, 3 * i);
    else { out[3 * i] = a; out[3 * i + 1] = b; out[3 * i + 2] = c; }
  }
  return { kind: "rgb", rgb: out };
}

// ybr422 expands native YBR_FULL_422 (Y1 Y2 Cb Cr per two pixels).
function ybr422(p, raw) {
  const n = p.Rows * p.Columns, out = new Uint8Array(3 * n);
  for (let i = 0, k = 0; i < n && k + 3 < raw.length; i += 2, k += 4) {
    ybr(raw[k], raw[k + 2], raw[k + 3], out, 3 * i);
    if (i + 1 < n) ybr(raw[k + 1], raw[k + 2], raw[k + 3], out, 3 * i + 3);
  }
  return { kind: "rgb", rgb: out };
}

// jpegIsYCbCr says whether a 3-component DCT JPEG holds YCbCr. YBR_FULL and
// YBR_FULL_422 always do (PS3.5 8.2.1). For "RGB", DICOM allows both; as
// dcmtk does, we take the photometric interpretation at its word (no
// transform) unless the codestream itself says YCbCr: a JFIF marker, an
// Adobe marker with transform 1, or subsampled chroma (nobody subsamples
// R, G and B).
function jpegIsYCbCr(j, photometric) {
  if (photometric.startsWith("YBR")) return true;
  if (j.jfif) return true;
  if (j.adobe) return j.adobe.transformCode !== 0;
  const c = j.components;
  return c.some(function (k) { return k.scaleX !== c[0].scaleX || k.scaleY !== c[0].scaleY; });
}

// plane copies component k of a parsed JpegImage into rows of cw samples
// (its own, possibly subsampled, resolution).
function plane(j, k) {
  const c = j.components[k];
  const cw = Math.ceil(j.width * c.scaleX), ch = Math.ceil(j.height * c.scaleY);
  const out = new Uint8Array(cw * ch), stride = c.blocksPerLine + 1; // jpeg.js getBlockBufferOffset
  for (let y = 0; y < ch; y++) {
    const br = y >> 3, r = y & 7;
    for (let x = 0; x < cw; x++) out[y * cw + x] = c.output[64 * (stride * br + (x >> 3)) + 8 * r + (x & 7)];
  }
  return { s: out, w: cw, h: ch, sx: c.scaleX, sy: c.scaleY };
}

// upsample brings a component plane to w×h the way libjpeg does by default
// ("fancy" triangular upsampling, jdsample.c h2v1/h2v2), so that colours
// at edges match what dcmtk (IJG 6b) and browsers show; other factors are
// replicated.
function upsample(pl, w, h) {
  if (pl.w === w && pl.h === h) return pl.s;
  const out = new Uint8Array(w * h), n = pl.w, s = pl.s;
  if (pl.sx === 0.5 && pl.sy === 1) {
    for (let y = 0; y < h; y++) {
      const row = y * n;
      for (let i = 0; i < n; i++) {
        const v = 3 * s[row + i];
        const a = i === 0 ? s[row] : (v + s[row + i - 1] + 1) >> 2;
        const b = i === n - 1 ? s[row + i] : (v + s[row + i + 1] + 2) >> 2;
        if (2 * i < w) out[y * w + 2 * i] = a;
        if (2 * i + 1 < w) out[y * w + 2 * i + 1] = b;
      }
    }
    return out;
  }
  if (pl.sx === 0.5 && pl.sy === 0.5) {
    for (let y = 0; y < h; y++) {
      const r0 = (y >> 1) * n, near = (y & 1) ? Math.min((y >> 1) + 1, pl.h - 1) : Math.max((y >> 1) - 1, 0), r1 = near * n;
      const col = function (i) { return 3 * s[r0 + i] + s[r1 + i]; };
      for (let i = 0; i < n; i++) {
        const t = col(i);
        const a = i === 0 ? (4 * t + 8) >> 4 : (3 * t + col(i - 1) + 8) >> 4;
        const b = i === n - 1 ? (4 * t + 7) >> 4 : (3 * t + col(i + 1) + 7) >> 4;
        if (2 * i < w) out[y * w + 2 * i] = a;
        if (2 * i + 1 < w) out[y * w + 2 * i + 1] = b;
      }
    }
    return out;
  }
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) out[y * w + x] = s[Math.min(pl.h - 1, Math.floor(y * pl.sy)) * n + Math.min(n - 1, Math.floor(x * pl.sx))];
  }
  return out;
}

function decodeDCT(p, bytes) {
  loadJPEG();
  const j = new JpegImage();
  j.parse(bytes);
  const w = j.width, h = j.height;
  if (w !== p.Columns || h !== p.Rows) throw new Error("the JPEG is " + w + "×" + h + ", the image says " + p.Columns + "×" + p.Rows);
  if (p.SamplesPerPixel === 1) return mono(p, p.BitsStored > 8 ? j.getData16(w, h) : j.getData(w, h));
  if (j.components.length !== 3) throw new Error("the JPEG has " + j.components.length + " components, the image 3");
  const n = w * h, planes = new Uint8Array(3 * n);
  for (let k = 0; k < 3; k++) planes.set(upsample(plane(j, k), w, h), k * n);
  return color(p, planes, true, jpegIsYCbCr(j, p.PhotometricInterpretation), 0);
}

async function decode(p, bytes) {
  const spp = p.SamplesPerPixel, shift = p.BitsStored > 8 ? p.BitsStored - 8 : 0;
  const ybrFull = p.PhotometricInterpretation === "YBR_FULL";
  switch (p.Codec) {
    case "native":
    case "rle": {
      const raw = samples(bytes, p.BitsAllocated);
      if (spp === 1) return mono(p, raw);
      if (p.PhotometricInterpretation === "YBR_FULL_422" && p.Codec === "native") return ybr422(p, raw);
      return color(p, raw, p.PlanarConfiguration === 1, ybrFull, shift);
    }
    case "jpeg":
      return decodeDCT(p, bytes);
    case "jpeg-lossless": {
      const d = new (loadLossless()).Decoder();
      const out = d.decode(bytes.buffer, bytes.byteOffset, bytes.byteLength, p.BitsAllocated > 8 ? 2 : 1);
      if (spp === 1) return mono(p, out);
      return color(p, out, false, ybrFull, shift);
    }
    case "jpeg-ls":
    case "j2k": {
      const isLS = p.Codec === "jpeg-ls";
      const r = wasmDecode(await (isLS ? charLS() : openJPEG()), isLS ? "JpegLSDecoder" : "J2KDecoder", bytes);
      if (r.width !== p.Columns || r.height !== p.Rows) throw new Error("the codestream is " + r.width + "×" + r.height + ", the image says " + p.Columns + "×" + p.Rows);
      const raw = samples(r.bytes, r.bits > 8 ? 16 : 8);
      if (spp === 1) return mono(p, raw);
      // JPEG 2000 undoes its own component transform (YBR_RCT/ICT): RGB.
      return color(p, raw, r.planar, ybrFull, r.bits > 8 ? r.bits - 8 : 0);
    }
  }
  throw new Error("no decoder for " + p.Codec);
}

self.onmessage = async function (ev) {
  const m = ev.data;
  try {
    const r = await fetch(m.url, { credentials: "same-origin" });
    if (!r.ok) throw new Error((await r.text()).trim() || "HTTP " + r.status);
    const bytes = new Uint8Array(await r.arrayBuffer());
    const d = await decode(m.pixel, bytes);
    const buf = d.kind === "mono" ? d.values.buffer : d.rgb.buffer;
    self.postMessage({ id: m.id, decoded: d }, [buf]);
  } catch (e) {
    self.postMessage({ id: m.id, error: String(e && e.message || e) });
  }
};
})();
