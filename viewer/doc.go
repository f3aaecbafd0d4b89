// Package viewer is the on-disc reader: a local web UI that decrypts in
// memory, displays and exports the studies of an encrypted DICOM medium.
//
// New binds 127.0.0.1 on a random (or given) port and makes a random
// 256-bit token for this launch. The browser gets the token once, in the
// start URL (Server.URL), and from then on in an HttpOnly SameSite=Strict
// cookie named after the port. Every request must carry it, name the
// server's own Host (127.0.0.1:port; DNS rebinding) and come from its own
// origin (Origin and Sec-Fetch-Site; CSRF, and other 127.0.0.1 ports, which
// SameSite treats as the same site). Every response has a strict
// Content-Security-Policy (no other origin, no inline script), no-store
// caching and same-origin resource policy.
//
// New with a nil disc (the program on the disc started away from any
// disc) first shows a page that asks for the path of a disc, folder or ISO
// image, in plain words when it is not one; the disc chosen there belongs
// to the Server, which closes it when Serve returns.
//
// Pages are rendered on the server (html/template, embedded): unlock
// (password, or certificate and key files when Options.LoadKey is set),
// the study list, a series view and "Save a copy" (Disc.Extract into a
// folder the user names). The series view asks the server for each frame as
// a PNG: native (uncompressed) explicit or implicit VR little endian pixel
// data, 8 or 16 bits, signed or unsigned, MONOCHROME1/2 with Rescale
// Slope/Intercept and a linear VOI window (the file's, the full range, or
// ?wc=&ww=), RGB and YBR_FULL. Compressed transfer syntaxes get a plain
// message instead. Frames are decoded one at a time from the decrypted
// stream, after the whole file's integrity check has passed, within
// MaxSide and MaxFrameBytes; nothing decrypted is written to disk except by
// "Save a copy".
package viewer
