// SecureMedia viewer: the one rendering function. It turns a decoded frame
// (from decode-worker.js) into canvas pixels: for grey images the modality
// rescale (PS3.3 C.11.1: value × Rescale Slope + Rescale Intercept), the
// linear VOI window (C.11.2.1.2.1), MONOCHROME1 inversion; colour images
// arrive as 8-bit RGB and are copied.
"use strict";
const SMRender = (function () {
  // windowF is the linear VOI function of PS3.3 C.11.2.1.2.1 onto 0..255,
  // truncated to an integer as dcmtk's dcm2pnm does.
  function windowF(x, c, w) {
    if (w < 1) w = 1;
    if (x <= c - 0.5 - (w - 1) / 2) return 0;
    if (x > c - 0.5 + (w - 1) / 2) return 255;
    const y = ((x - (c - 0.5)) / (w - 1) + 0.5) * 255;
    return y < 0 ? 0 : y > 255 ? 255 : Math.floor(y);
  }

  // fullRange is the window spanning every modality value of the frame.
  function fullRange(p, d) {
    const a = d.min * p.RescaleSlope + p.RescaleIntercept, b = d.max * p.RescaleSlope + p.RescaleIntercept;
    const lo = Math.min(a, b), hi = Math.max(a, b);
    return { c: (lo + hi + 1) / 2, w: Math.max(hi - lo + 1, 1) };
  }

  // defaultWindow: the file's first window, else the full range.
  function defaultWindow(p, d) {
    if (p.WindowWidth && p.WindowWidth.length > 0) return { c: p.WindowCenter[0], w: p.WindowWidth[0] };
    return fullRange(p, d);
  }

  // render draws decoded frame d of an image with pixel module p into
  // ImageData img (p.Columns × p.Rows), in window win ({c, w}; null: the
  // default). It returns the window used.
  function render(p, d, win, img) {
    const px = img.data, n = p.Rows * p.Columns;
    if (d.kind === "rgb") {
      const rgb = d.rgb;
      for (let i = 0, o = 0; i < n; i++, o += 4) {
        px[o] = rgb[3 * i]; px[o + 1] = rgb[3 * i + 1]; px[o + 2] = rgb[3 * i + 2]; px[o + 3] = 255;
      }
      return null;
    }
    win = win || defaultWindow(p, d);
    // One grey level per stored value present: a lookup table of at most
    // 65536 entries, so a window drag costs one pass over the pixels.
    const lut = new Uint8Array(d.max - d.min + 1), inv = p.PhotometricInterpretation === "MONOCHROME1";
    for (let v = d.min; v <= d.max; v++) {
      const y = windowF(v * p.RescaleSlope + p.RescaleIntercept, win.c, win.w);
      lut[v - d.min] = inv ? 255 - y : y;
    }
    const vals = d.values, min = d.min;
    for (let i = 0, o = 0; i < n; i++, o += 4) {
      const g = lut[vals[i] - min];
      px[o] = g; px[o + 1] = g; px[o + 2] = g; px[o + 3] = 255;
    }
    return win;
  }

  return { render: render, defaultWindow: defaultWindow, fullRange: fullRange, windowF: windowF };
})();
