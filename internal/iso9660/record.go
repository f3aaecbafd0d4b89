package iso9660

import (
	"io/fs"
	"slices"
	"time"
)

// record is one directory record (ECMA-119 9.1) before encoding.
type record struct {
	ident   string // file identifier: "\x00", "\x01", "NAME", "NAME.EXT;1"
	extent  uint32
	size    uint32
	isDir   bool
	modTime time.Time
	su      []byte // System Use field (SUSP entries)
}

// length is the record length: 33 fixed bytes, the identifier, a padding
// byte when the identifier length is even (ECMA-119 9.1.12), System Use.
func (r record) length() int {
	n := 33 + len(r.ident)
	if len(r.ident)%2 == 0 {
		n++
	}
	return n + len(r.su)
}

// encode writes the record into b, which has at least r.length() bytes.
func (r record) encode(b []byte) int {
	n := r.length()
	clear(b[:n])
	b[0] = byte(n)
	putBoth32(b[2:], r.extent)
	putBoth32(b[10:], r.size)
	putDate7(b[18:], r.modTime)
	if r.isDir {
		b[25] = 0x02 // File Flags bit 1: Directory (ECMA-119 9.1.6)
	}
	putBoth16(b[28:], 1) // Volume Sequence Number
	b[32] = byte(len(r.ident))
	copy(b[33:], r.ident)
	copy(b[n-len(r.su):], r.su)
	return n
}

// fileIdent is the recorded Level 1 file identifier: "NAME.EXT;1", or
// "NAME.;1" without an extension (ECMA-119 7.5.1 keeps the separator; PS3.12
// F.1.2.1 expects "DICOMDIR.;1").
func fileIdent(name, ext string, t tree) string {
	if t == jolietTree {
		// Joliet has no 8.3 separator rule, and genisoimage and xorriso
		// record no version either: "README.TXT", "DICOMDIR".
		if ext != "" {
			name += "." + ext
		}
		return encodeName(name, t)
	}
	return name + "." + ext + ";1"
}

// encodeName returns s as recorded in tree t: unchanged (d-characters) in
// the ISO tree, UCS-2 big-endian in the Joliet tree (Joliet spec 1995).
func encodeName(s string, t tree) string {
	if t == isoTree {
		return s
	}
	b := make([]byte, 0, 2*len(s))
	for i := 0; i < len(s); i++ {
		b = append(b, 0, s[i]) // names are ASCII here
	}
	return string(b)
}

// eachRecord calls fn with every record of directory d in recorded order:
// ".", "..", then the sorted children.
func (p *plan) eachRecord(d *dirNode, t tree, fn func(record)) {
	rr := p.opts.RockRidge && t == isoTree
	parent := d.parent
	if parent == nil {
		parent = d // the root's ".." is the root itself (ECMA-119 6.8.2.2)
	}
	dot := p.dirRecord(d, "\x00", t)
	if d.parent == nil && rr {
		// SUSP 5.3 requires SP first in the root's "." record; ER (5.5)
		// names the extension. ER does not fit beside PX and TF in 255
		// bytes, so it goes to the continuation area (SUSP 5.1, CE).
		dot.su = append(append(spEntry(), dot.su...), p.ceEntry()...)
	}
	fn(dot)
	fn(p.dirRecord(parent, "\x01", t))
	for _, e := range d.entries {
		if e.dir != nil {
			r := p.dirRecord(e.dir, encodeName(e.name, t), t)
			if rr {
				r.su = append(r.su, nmEntry(e.name)...)
				r.su[4] |= rrNM
			}
			fn(r)
			continue
		}
		fn(p.fileRecord(e, t))
	}
}

func (p *plan) dirRecord(d *dirNode, ident string, t tree) record {
	r := record{ident: ident, extent: d.extent[t], size: d.size[t], isDir: true, modTime: p.opts.ModTime}
	if p.opts.RockRidge && t == isoTree {
		r.su = slices.Concat(rrEntry(rrPX|rrTF), pxEntry(fs.ModeDir|0o555, uint32(2+len(d.subdirs))), tfEntry(r.modTime))
	}
	return r
}

func (p *plan) fileRecord(e entry, t tree) record {
	f := e.file.f
	r := record{ident: fileIdent(e.name, e.ext, t), extent: e.file.extent, size: uint32(f.Size), modTime: f.ModTime}
	if r.modTime.IsZero() {
		r.modTime = p.opts.ModTime
	}
	if p.opts.RockRidge && t == isoTree {
		mode := f.Mode.Perm()
		if mode == 0 {
			mode = 0o444
		}
		name := e.name
		if e.ext != "" {
			name += "." + e.ext
		}
		r.su = slices.Concat(rrEntry(rrPX|rrTF|rrNM), pxEntry(mode, 1), tfEntry(r.modTime), nmEntry(name))
	}
	return r
}
