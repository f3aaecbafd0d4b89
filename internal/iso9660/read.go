package iso9660

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf16"
)

// Limits that keep a hostile image from exhausting memory or time. They
// are far above anything a real disc holds.
const (
	maxDescriptors = 64      // volume descriptors scanned after sector 16
	maxDepth       = 64      // path components accepted by Open
	maxDirEntries  = 1 << 16 // records per directory
	maxDirBytes    = 1 << 26 // bytes of one directory extent
	maxExtents     = 1024    // extents of one multi-extent file (ECMA-119 6.5.1)
	maxSUBytes     = 1 << 16 // System Use bytes per record, continuations included
	maxCEHops      = 32      // continuation areas per record
	maxNameLen     = 1024
)

// maxImageWork bounds the directory bytes (extents and Rock Ridge
// continuation areas) read from one image over its life: each directory's
// limits above still let a hostile image point a million records at
// directories of 64 MiB. A real disc's directories are megabytes; this is
// a var so tests can lower it.
var maxImageWork int64 = 1 << 30

// ErrFormat reports an image that is not valid ISO 9660.
var ErrFormat = errors.New("iso9660: invalid image")

// ErrOutside reports data that a directory record places, wholly or in
// part, past the end of the image, as on a truncated image or a disc read
// only up to a damaged area. Opening such a file, or listing such a
// directory, fails with an error that wraps ErrOutside; the rest of the
// image reads normally.
var ErrOutside = errors.New("iso9660: data lies outside the image (truncated image?)")

func formatErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrFormat, fmt.Sprintf(format, args...))
}

// image is an opened volume; it implements fs.FS.
type image struct {
	r      io.ReaderAt
	size   int64
	bs     int64 // logical block size (ECMA-119 8.4.12)
	root   *dirent
	rr     bool // Rock Ridge found in the primary tree (SUSP SP in root ".")
	rrSkip int  // SUSP SP LEN_SKP
	joliet bool // names are UCS-2 (Joliet supplementary tree)
	idents bool // keep recorded identifiers (dirent.ident), for CompareNames

	// cache keeps parsed directories so that a lookup does not re-read
	// every directory on its path; it stops growing at maxCached entries.
	mu     sync.Mutex
	cache  map[int64][]*dirent
	cached int

	work atomic.Int64 // directory bytes read so far (maxImageWork)
}

// spend counts n more directory bytes read, refusing past maxImageWork.
func (img *image) spend(n int64) error {
	if img.work.Add(n) > maxImageWork {
		return formatErr("its directories add up to more than %d MiB read: not a disc's", maxImageWork>>20)
	}
	return nil
}

const maxCached = 1 << 18

// dirent is one directory record as the reader sees it.
type dirent struct {
	name    string
	isDir   bool
	extents []extent
	size    int64
	mode    fs.FileMode
	modTime time.Time
	// err, for a directory, is why it cannot be listed (its relocation
	// target could not be read); the entry itself still shows.
	err error
	// ident is the recorded file identifier and nm whether name came
	// from a Rock Ridge NM entry; both are kept for CompareNames only.
	ident string
	nm    bool
}

type extent struct{ off, n int64 }

// Open reads the ISO 9660 image r of the given size as an fs.FS. Names are
// Rock Ridge names when the primary tree has them, else Joliet names when
// a Joliet tree exists, else the ISO 9660 identifiers without ";1" and a
// trailing ".". Files implement io.ReaderAt and io.Seeker and are read
// from r on demand.
//
// A damaged or truncated image degrades per file: Open needs only the
// volume descriptors and the start of the root directory. A directory that
// cannot be read fails when it is listed or walked through, with an error
// naming it, and the others still list. A regular file whose data runs
// past the end of the image is still listed with its recorded size, but
// opening it fails with an error wrapping ErrOutside; a read that the
// underlying r cannot satisfy in full fails too (ErrOutside with
// io.ErrUnexpectedEOF, or r's own error), never a silent short read.
func Open(r io.ReaderAt, size int64) (fs.FS, error) {
	img := &image{r: r, size: size}
	pvd, svd, err := img.descriptors()
	if err != nil {
		return nil, err
	}
	if err := img.usePVD(pvd); err != nil {
		return nil, err
	}
	if !img.rr && svd != nil {
		// Joliet names are better than 8.3 ones when there is no Rock Ridge.
		if root, err := img.rootOf(svd); err == nil {
			img.root, img.joliet = root, true
		}
	}
	return img, nil
}

// descriptors scans the volume descriptor set (ECMA-119 8.1) for the
// Primary and a Joliet Supplementary Volume Descriptor.
func (img *image) descriptors() (pvd, svd []byte, err error) {
	for i := int64(16); i < 16+maxDescriptors; i++ {
		b := make([]byte, sectorSize)
		if err := img.readAt(b, i*sectorSize); err != nil {
			return nil, nil, fmt.Errorf("iso9660: volume descriptor at sector %d: %w", i, err)
		}
		if string(b[1:6]) != "CD001" {
			return nil, nil, formatErr("no CD001 at sector %d", i)
		}
		switch b[0] {
		case 1:
			if pvd == nil {
				pvd = b
			}
		case 2:
			if esc := string(b[88:91]); esc == "%/@" || esc == "%/C" || esc == "%/E" {
				svd = b
			}
		case 255:
			if pvd == nil {
				return nil, nil, formatErr("no primary volume descriptor")
			}
			return pvd, svd, nil
		}
	}
	return nil, nil, formatErr("no volume descriptor set terminator")
}

func (img *image) usePVD(pvd []byte) error {
	bs := int64(binary.LittleEndian.Uint16(pvd[128:]))
	if bs != 512 && bs != 1024 && bs != 2048 {
		return formatErr("logical block size %d", bs)
	}
	img.bs = bs
	root, err := img.rootOf(pvd)
	if err != nil {
		return err
	}
	img.root = root
	return img.detectRockRidge()
}

func (img *image) rootOf(vd []byte) (*dirent, error) {
	rec, err := parseRecord(vd[156:190])
	if err != nil || rec.flags&flagDir == 0 {
		return nil, formatErr("root directory record")
	}
	d := &dirent{isDir: true, mode: fs.ModeDir | 0o555, modTime: rec.time}
	d.extents = []extent{{int64(rec.extent) * img.bs, int64(rec.size)}}
	d.size = int64(rec.size)
	if err := img.outside(d.extents[0]); err != nil {
		return nil, fmt.Errorf("iso9660: root directory: %w", err)
	}
	return d, nil
}

// detectRockRidge looks for the SUSP SP entry at the start of the System
// Use field of the root's "." record (SUSP 5.3). It fails only when the
// root directory cannot be read.
func (img *image) detectRockRidge() error {
	root := img.root.extents[0]
	b := make([]byte, min(255, root.n))
	if err := img.readAt(b, root.off); err != nil {
		return fmt.Errorf("iso9660: root directory: %w", err)
	}
	if len(b) == 0 || int(b[0]) > len(b) {
		return nil // no "." record that fits the root's extent: no Rock Ridge
	}
	rec, err := parseRecord(b[:b[0]])
	if err != nil || len(rec.su) < 7 {
		return nil
	}
	su := rec.su
	if string(su[:2]) == "SP" && su[2] == 7 && su[4] == 0xBE && su[5] == 0xEF {
		img.rr, img.rrSkip = true, int(su[6])
	}
	return nil
}

// outside reports an extent that does not lie wholly inside the image.
func (img *image) outside(e extent) error {
	if e.off < 0 || e.n < 0 || e.off > img.size || e.n > img.size-e.off {
		return fmt.Errorf("%w: %d bytes at byte %d of the %d-byte image", ErrOutside, e.n, e.off, img.size)
	}
	return nil
}

// readAt fills p from offset off, which must lie inside the image. An
// error of r is returned as is (wrapped); a short read without one means
// the image ends before its declared size: ErrOutside.
func (img *image) readAt(p []byte, off int64) error {
	if err := img.outside(extent{off, int64(len(p))}); err != nil {
		return err
	}
	n, err := img.r.ReadAt(p, off)
	if n == len(p) {
		return nil // io.ReaderAt may return io.EOF with the last bytes
	}
	return shortRead(n, len(p), off, err)
}

// shortRead is the error of a read of n instead of want bytes at off.
func shortRead(n, want int, off int64, err error) error {
	if err == nil || err == io.EOF {
		return fmt.Errorf("%w: %w: %d of %d bytes at byte %d", ErrOutside, io.ErrUnexpectedEOF, n, want, off)
	}
	return fmt.Errorf("iso9660: reading %d bytes at byte %d: %w", want, off, err)
}

// rawRecord is a parsed directory record (ECMA-119 9.1).
type rawRecord struct {
	extent, size uint32
	time         time.Time
	flags        byte
	ident        []byte
	su           []byte
}

const (
	flagHidden     = 0x01
	flagDir        = 0x02
	flagAssociated = 0x04
	flagMulti      = 0x80
)

func parseRecord(b []byte) (rawRecord, error) {
	if len(b) < 34 || int(b[0]) > len(b) || b[0] < 34 {
		return rawRecord{}, formatErr("directory record too short")
	}
	b = b[:b[0]]
	n := int(b[32])
	if n == 0 || 33+n > len(b) {
		return rawRecord{}, formatErr("file identifier length %d", n)
	}
	suStart := 33 + n + (n+1)%2
	if suStart > len(b) {
		suStart = len(b)
	}
	return rawRecord{
		extent: binary.LittleEndian.Uint32(b[2:]),
		size:   binary.LittleEndian.Uint32(b[10:]),
		time:   parseDate7(b[18:25]),
		flags:  b[25],
		ident:  b[33 : 33+n],
		su:     b[suStart:],
	}, nil
}

// parseDate7 decodes the ECMA-119 9.1.5 date; all zeros means unknown.
func parseDate7(b []byte) time.Time {
	if b[1] == 0 || b[1] > 12 || b[2] == 0 || b[2] > 31 {
		return time.Time{}
	}
	loc := time.FixedZone("", int(int8(b[6]))*15*60)
	return time.Date(1900+int(b[0]), time.Month(b[1]), int(b[2]), int(b[3]), int(b[4]), int(b[5]), 0, loc)
}

// isoName turns a recorded identifier into a name: "NAME.EXT;1" becomes
// "NAME.EXT", "NAME.;1" becomes "NAME".
func (img *image) isoName(id []byte) string {
	if !img.joliet {
		return stripVersion(string(id))
	}
	u := make([]uint16, len(id)/2)
	for i := range u {
		u[i] = binary.BigEndian.Uint16(id[2*i:])
	}
	return stripVersion(string(utf16.Decode(u)))
}

// stripVersion drops the ";1" version and then a trailing "." of an
// identifier (ECMA-119 7.5.1).
func stripVersion(s string) string {
	if i := strings.LastIndexByte(s, ';'); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSuffix(s, ".")
}

// readDir reads a directory extent one block at a time, so memory does
// not depend on the declared directory size. ancestors holds the extent
// offsets of d and the directories above it.
func (img *image) readDir(d *dirent, ancestors []int64) ([]*dirent, error) {
	list, err := img.entries(d)
	if err != nil {
		return nil, err
	}
	out := make([]*dirent, 0, len(list))
	for _, de := range list {
		if !isAncestor(de, ancestors) {
			out = append(out, de)
		}
	}
	return out, nil
}

// entries returns the records of directory d, parsed once and cached,
// ancestors included: the caller must not modify the list.
func (img *image) entries(d *dirent) ([]*dirent, error) {
	if d.err != nil {
		return nil, d.err
	}
	img.mu.Lock()
	list, ok := img.cache[d.extents[0].off]
	img.mu.Unlock()
	if ok {
		return list, nil
	}
	list, _, err := img.parseDir(d)
	if err != nil {
		return nil, err
	}
	img.remember(d.extents[0].off, list)
	return list, nil
}

func (img *image) remember(off int64, list []*dirent) {
	img.mu.Lock()
	defer img.mu.Unlock()
	if img.cached+len(list) > maxCached {
		return
	}
	if img.cache == nil {
		img.cache = map[int64][]*dirent{}
	}
	img.cache[off], img.cached = list, img.cached+len(list)+1
}

// parseDir reads all records of directory d. moved counts the records
// hidden as relocated directories (Rock Ridge RE).
func (img *image) parseDir(d *dirent) (out []*dirent, moved int, err error) {
	if d.err != nil {
		return nil, 0, d.err
	}
	e := d.extents[0]
	if e.n > maxDirBytes {
		return nil, 0, formatErr("directory of %d bytes", e.n)
	}
	if err := img.outside(e); err != nil {
		return nil, 0, err
	}
	if err := img.spend(e.n); err != nil {
		return nil, 0, err
	}
	var multi *dirent
	block := make([]byte, img.bs)
	records := 0
	for off := int64(0); off < e.n; off += img.bs {
		b := block[:min(img.bs, e.n-off)]
		if err := img.readAt(b, e.off+off); err != nil {
			return nil, 0, err
		}
		for p := 0; p < len(b) && b[p] != 0; p += int(b[p]) {
			if records++; records > maxDirEntries {
				return nil, 0, formatErr("more than %d directory records", maxDirEntries)
			}
			rec, err := parseRecord(b[p:])
			if err != nil {
				return nil, 0, err
			}
			de, keep, hidden, err := img.entry(rec, multi)
			if err != nil {
				return nil, 0, err
			}
			multi = nil
			if rec.flags&flagMulti != 0 && de != nil {
				multi = de
			}
			if keep {
				out = append(out, de)
			}
			if hidden {
				moved++
			}
		}
	}
	return out, moved, nil
}

// isAncestor drops directories that point back up the path, so a cyclic
// image cannot make a walk endless.
func isAncestor(de *dirent, ancestors []int64) bool {
	if !de.isDir {
		return false
	}
	for _, a := range ancestors {
		if a == de.extents[0].off {
			return true
		}
	}
	return false
}

// entry turns a record into a dirent. Records of a multi-extent file
// (ECMA-119 6.5.1, flag bit 7) are merged into prev; keep reports whether
// de is a new entry of the directory, hidden whether it is a relocated
// directory (Rock Ridge RE). Extents are not checked here: a directory is
// checked when it is listed, a file when it is opened.
func (img *image) entry(rec rawRecord, prev *dirent) (de *dirent, keep, hidden bool, err error) {
	if len(rec.ident) == 1 && rec.ident[0] <= 1 {
		return nil, false, false, nil // "." and ".."
	}
	ext := extent{int64(rec.extent) * img.bs, int64(rec.size)}
	if prev != nil {
		if len(prev.extents) >= maxExtents {
			return nil, false, false, formatErr("file with more than %d extents", maxExtents)
		}
		prev.extents = append(prev.extents, ext)
		prev.size += ext.n
		return prev, false, false, nil
	}
	de = &dirent{name: img.isoName(rec.ident), isDir: rec.flags&flagDir != 0, modTime: rec.time}
	if img.idents {
		de.ident = string(rec.ident)
	}
	de.extents, de.size = []extent{ext}, ext.n
	de.mode = 0o444
	if de.isDir {
		de.mode = fs.ModeDir | 0o555
	}
	keep = rec.flags&flagAssociated == 0
	if img.rr && !img.joliet {
		if hidden, err = img.applyRockRidge(de, rec); err != nil {
			return nil, false, false, err
		}
		keep = keep && !hidden
	}
	// Trust the directory flag (or CL) over a contradicting PX type.
	if de.isDir {
		de.mode = de.mode&^fs.ModeType | fs.ModeDir
	} else {
		de.mode &^= fs.ModeDir
	}
	if !validName(de.name) {
		keep = false
	}
	return de, keep, hidden, nil
}

func validName(s string) bool {
	return s != "" && s != "." && s != ".." && len(s) <= maxNameLen && !strings.ContainsAny(s, "/\x00")
}

// ---- fs.FS ----

func (img *image) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	d, ancestors, err := img.lookup(name)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	if d.isDir {
		return &dirFile{img: img, d: d, path: name, ancestors: ancestors}, nil
	}
	for _, x := range d.extents {
		// An empty extent holds no data that could be missing.
		if x.n == 0 {
			continue
		}
		if err := img.outside(x); err != nil {
			return nil, &fs.PathError{Op: "open", Path: name, Err: err}
		}
	}
	return &file{d: d, SectionReader: io.NewSectionReader(&extentReader{img.r, d.extents, name}, 0, d.size)}, nil
}

// Stat implements fs.StatFS: it needs only the directories above name, so
// a file whose data lies outside the image still shows its recorded size.
func (img *image) Stat(name string) (fs.FileInfo, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "stat", Path: name, Err: fs.ErrInvalid}
	}
	d, _, err := img.lookup(name)
	if err != nil {
		return nil, &fs.PathError{Op: "stat", Path: name, Err: err}
	}
	return info{d}, nil
}

// lookup walks name from the root, returning the entry and the extent
// offsets of the directories above it.
func (img *image) lookup(name string) (*dirent, []int64, error) {
	d := img.root
	if name == "." {
		return d, nil, nil
	}
	ancestors := []int64{d.extents[0].off}
	parts := strings.Split(name, "/")
	if len(parts) > maxDepth {
		return nil, nil, formatErr("path deeper than %d", maxDepth)
	}
	for i, p := range parts {
		if !d.isDir {
			return nil, nil, fs.ErrNotExist
		}
		// Look the name up in the cached list, without readDir's copy: a
		// lookup per file in a folder of hundreds of files made extract
		// copy the whole list each time.
		list, err := img.entries(d)
		if err != nil {
			return nil, nil, dirErr(strings.Join(parts[:i], "/"), err)
		}
		d = find(list, p)
		if d == nil || isAncestor(d, ancestors) {
			return nil, nil, fs.ErrNotExist
		}
		if d.isDir {
			ancestors = append(ancestors, d.extents[0].off)
		}
	}
	if d.isDir {
		ancestors = ancestors[:len(ancestors)-1] // d itself
	}
	return d, ancestors, nil
}

// dirErr names the directory that could not be read ("" is the root).
func dirErr(dir string, err error) error {
	if dir == "" {
		dir = "."
	}
	return fmt.Errorf("directory %s: %w", dir, err)
}

func find(list []*dirent, name string) *dirent {
	for _, d := range list {
		if d.name == name {
			return d
		}
	}
	return nil
}

// extentReader reads the concatenated extents of a file; its errors other
// than io.EOF name the file.
type extentReader struct {
	r       io.ReaderAt
	extents []extent
	path    string
}

func (e *extentReader) ReadAt(p []byte, off int64) (int, error) {
	n := 0
	for _, x := range e.extents {
		if len(p) == 0 {
			break
		}
		if off >= x.n {
			off -= x.n
			continue
		}
		k := min(int64(len(p)), x.n-off)
		m, err := e.r.ReadAt(p[:k], x.off+off)
		n += m
		if m < int(k) {
			return n, &fs.PathError{Op: "read", Path: e.path, Err: shortRead(m, int(k), x.off+off, err)}
		}
		p, off = p[k:], 0
	}
	if len(p) > 0 {
		return n, io.EOF
	}
	return n, nil
}

// file is an open regular file.
type file struct {
	d *dirent
	*io.SectionReader
}

func (f *file) Stat() (fs.FileInfo, error) { return info{f.d}, nil }
func (f *file) Close() error               { return nil }

// dirFile is an open directory.
type dirFile struct {
	img       *image
	d         *dirent
	path      string // as given to Open
	ancestors []int64
	list      []*dirent
	loaded    bool
	pos       int
}

func (f *dirFile) Stat() (fs.FileInfo, error) { return info{f.d}, nil }
func (f *dirFile) Close() error               { return nil }
func (f *dirFile) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: f.path, Err: errors.New("is a directory")}
}

func (f *dirFile) ReadDir(n int) ([]fs.DirEntry, error) {
	if !f.loaded {
		list, err := f.img.readDir(f.d, append(f.ancestors, f.d.extents[0].off))
		if err != nil {
			return nil, &fs.PathError{Op: "readdir", Path: f.path, Err: err}
		}
		f.list, f.loaded = list, true
	}
	rest := f.list[f.pos:]
	if n > 0 && len(rest) == 0 {
		return nil, io.EOF
	}
	if n > 0 && n < len(rest) {
		rest = rest[:n]
	}
	f.pos += len(rest)
	out := make([]fs.DirEntry, len(rest))
	for i, d := range rest {
		out[i] = fs.FileInfoToDirEntry(info{d})
	}
	return out, nil
}

// info is the fs.FileInfo of an entry.
type info struct{ d *dirent }

func (i info) Name() string {
	if i.d.name == "" {
		return "."
	}
	return i.d.name
}
func (i info) Size() int64        { return i.d.size }
func (i info) Mode() fs.FileMode  { return i.d.mode }
func (i info) ModTime() time.Time { return i.d.modTime }
func (i info) IsDir() bool        { return i.d.isDir }
func (i info) Sys() any           { return nil }
