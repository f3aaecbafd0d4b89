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
// folder the user names).
//
// The viewer reaches the disc through package media only (unlocking,
// listing, decrypting, classifying errors) and reads images with package
// pixeldata. Pixels are decoded and rendered in the browser, not here.
// /info/{series}/{i} describes an instance's pixel module (size, samples,
// bits, signedness, photometric interpretation, planar configuration,
// frames, rescale, every window, transfer syntax and codec) and
// /frame/{series}/{i}?n= returns one frame's bytes as pixeldata gives them:
// native pixel data little endian, RLE decoded, the other codecs' frames as
// their compressed bitstream. A Web Worker
// (static/decode-worker.js) decodes them with vendored, pinned decoders
// (static/codecs, README.md there; scripts/vendor-codecs.sh re-fetches and
// checks them) and static/render.js applies rescale, the linear VOI window
// (PS3.3 C.11.2.1.2.1) and MONOCHROME1 inversion, or converts colour, onto a
// canvas; window/level, zoom, cine and previews need no further request.
// WebAssembly needs 'wasm-unsafe-eval' in script-src; the policy is
// otherwise unchanged (no other origin, no inline script).
//
// Frames are read one at a time from the decrypted stream, and served only
// after the whole file's integrity check has passed, within MaxSide and
// MaxFrameBytes; nothing decrypted is written to disk except by "Save a
// copy", and decoded pixels stay in the page's memory.
//
// A damaged or altered medium opens with what can be read
// (media.Disc.Salvage). Above the study list, an amber panel names every
// file that is wrong (problems.go): the medium's Problems (a manifest
// missing or replaced, files added that its manifest does not list), the
// files the DICOMDIR references that are missing, an unreadable DICOMDIR,
// and files found lost since while reading them; a line says how many
// images were found by scanning because the DICOMDIR does not list them
// (or there is none), and those patients are tagged "not in the
// DICOMDIR". Files that are not images (a report, a vendor's program) are
// listed below it, collapsed when there are many. The lines name files and
// say what is wrong in plain words; they carry no patient data. An
// instance whose file is missing, damaged (a plain file cut short, a
// sealed one that fails its check) or holds another instance than its
// record names (media.ErrMismatch, refused before any byte) is a marked
// placeholder on the series page, never an image: /info answers 422 with
// Lost and the reason, /frame 422 with the reason and no pixels.
//
// "Send to PACS" (send.go; GET /send for the whole disc, from the header;
// ?study=P-S from each study in the list or ?series=KEY from the series
// page for less) stores the images in a PACS with the same code as
// "securemedia send" (package importer): every instance is decrypted and
// its integrity checked before it is offered (a damaged one is reported,
// never offered), the optional new Patient ID and issuer are applied as
// IHE IRWF asks, and the instances go over one association in their own
// transfer syntax, never transcoded. The form (called and calling AE
// title, host, port; validated on the server) posts to POST /send, which
// starts one background job at a time and redirects to the progress page
// GET /send/job. Its script (static/send.js) polls GET /send/status?since=N
// (JSON: state, counts, result rows from N on) every 300 ms and can POST
// /send/cancel; POST /send/echo is "Test connection" (C-ECHO; JSON when the
// request accepts it, the form again otherwise). Both pages work without
// script. Results and problems are explained in plain words (transfer
// syntax not accepted, association rejected with the AE title to check,
// connection refused or timed out naming host:port, damaged file). These
// POSTs pass the same token, host and origin checks as every other request;
// the job runs until it ends, is cancelled, or the viewer stops, and logs
// nothing.
package viewer
