//go:build js && wasm

package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"
	"syscall/js"
	"time"

	"github.com/securemedia/securemedia/media"
)

// browserFS is the medium as the browser gives it: the File objects of the
// folder the user picked (or dropped), each read a slice at a time through
// Blob.slice().arrayBuffer() when a reader asks (File API, §4 "The Blob
// Interface"; https://w3c.github.io/FileAPI/#dfn-slice). Nothing is read
// ahead of need, so a disc larger than the browser's memory still opens.
type browserFS struct{ root *node }

type node struct {
	name     string
	file     js.Value // the File, for a regular file
	size     int64
	mod      time.Time
	children map[string]*node // nil for a file
}

// maxPicked bounds the files taken from the browser: a disc has far
// fewer; a user who picked their whole home folder is told so.
const maxPicked = 1 << 18

// newBrowserFS builds the tree from [relativePath, File] pairs. The
// medium's root is the folder that holds the DICOMDIR (the shallowest one),
// else the folder all the paths share: a picked folder's files come with
// that folder's own name first (HTML, "webkitdirectory";
// https://wicg.github.io/entries-api/#dom-file-webkitrelativepath).
func newBrowserFS(entries js.Value) (*browserFS, error) {
	n := entries.Length()
	if n == 0 {
		return nil, errors.New("the folder is empty")
	}
	if n > maxPicked {
		return nil, fmt.Errorf("the folder holds more than %d files: pick the disc itself, not a folder above it", maxPicked)
	}
	paths := make([]string, n)
	for i := range n {
		paths[i] = strings.Trim(strings.ReplaceAll(entries.Index(i).Index(0).String(), `\`, "/"), "/")
	}
	prefix := rootOf(paths)
	fsys := &browserFS{root: &node{name: ".", children: map[string]*node{}}}
	for i, p := range paths {
		if prefix != "" {
			if !strings.HasPrefix(p, prefix+"/") {
				continue
			}
			p = p[len(prefix)+1:]
		}
		if !fs.ValidPath(p) || p == "." {
			continue
		}
		f := entries.Index(i).Index(1)
		parts := strings.Split(p, "/")
		dir := fsys.root
		for _, part := range parts[:len(parts)-1] {
			c := dir.children[part]
			if c == nil {
				c = &node{name: part, children: map[string]*node{}}
				dir.children[part] = c
			}
			if c.children == nil { // a file and a folder of one name
				return nil, fmt.Errorf("%s is both a file and a folder", p)
			}
			dir = c
		}
		leaf := parts[len(parts)-1]
		dir.children[leaf] = &node{name: leaf, file: f, size: int64(f.Get("size").Float()),
			mod: time.UnixMilli(int64(f.Get("lastModified").Float()))}
	}
	return fsys, nil
}

// rootOf returns the folder (slash path, "" for the top) of the shallowest
// DICOMDIR, or else the first path element every path shares.
func rootOf(paths []string) string {
	best, depth := "", -1
	for _, p := range paths {
		if media.SameName(path.Base(p), "DICOMDIR") {
			if d := strings.Count(p, "/"); depth < 0 || d < depth {
				best, depth = path.Dir(p), d
			}
		}
	}
	if depth >= 0 {
		if best == "." {
			return ""
		}
		return best
	}
	first, _, ok := strings.Cut(paths[0], "/")
	if !ok {
		return ""
	}
	for _, p := range paths {
		if !strings.HasPrefix(p, first+"/") {
			return ""
		}
	}
	return first
}

func (b *browserFS) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	n := b.root
	if name != "." {
		for _, part := range strings.Split(name, "/") {
			if n.children == nil || n.children[part] == nil {
				return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
			}
			n = n.children[part]
		}
	}
	if n.children != nil {
		return &openDir{n: n}, nil
	}
	return &openFile{n: n}, nil
}

func (n *node) Name() string { return n.name }
func (n *node) Size() int64  { return n.size }
func (n *node) Mode() fs.FileMode {
	if n.children != nil {
		return fs.ModeDir | 0o555
	}
	return 0o444
}
func (n *node) ModTime() time.Time         { return n.mod }
func (n *node) IsDir() bool                { return n.children != nil }
func (n *node) Sys() any                   { return nil }
func (n *node) Type() fs.FileMode          { return n.Mode().Type() }
func (n *node) Info() (fs.FileInfo, error) { return n, nil }

type openDir struct {
	n    *node
	ents []fs.DirEntry
	read bool
}

func (d *openDir) Stat() (fs.FileInfo, error) { return d.n, nil }
func (d *openDir) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: d.n.name, Err: errors.New("is a directory")}
}
func (d *openDir) Close() error { return nil }

func (d *openDir) ReadDir(count int) ([]fs.DirEntry, error) {
	if !d.read {
		d.read = true
		for _, c := range d.n.children {
			d.ents = append(d.ents, c)
		}
		sort.Slice(d.ents, func(i, j int) bool { return d.ents[i].Name() < d.ents[j].Name() })
	}
	if count <= 0 {
		out := d.ents
		d.ents = nil
		return out, nil
	}
	if len(d.ents) == 0 {
		return nil, io.EOF
	}
	count = min(count, len(d.ents))
	out := d.ents[:count]
	d.ents = d.ents[count:]
	return out, nil
}

// A Read asks the browser for at least chunk bytes: each slice is one
// promise round trip, and readers ask for a few bytes at a time. The first
// is small (the survey reads only each file's envelope, on every file),
// each further one twice the last, up to maxChunk (a whole image's file is
// read in a few round trips).
const (
	firstChunk = 8 << 10
	maxChunk   = 1 << 20
)

type openFile struct {
	n      *node
	off    int64
	buf    []byte // bytes from bufOff on, read ahead of the last Read
	bufOff int64
	chunk  int64 // the next read-ahead, growing
}

func (f *openFile) Stat() (fs.FileInfo, error) { return f.n, nil }
func (f *openFile) Close() error               { return nil }

func (f *openFile) Read(p []byte) (int, error) {
	if f.off >= f.n.size {
		return 0, io.EOF
	}
	if f.off < f.bufOff || f.off >= f.bufOff+int64(len(f.buf)) {
		f.chunk = min(max(2*f.chunk, firstChunk), maxChunk)
		want := max(int64(len(p)), f.chunk)
		b, err := f.slice(f.off, want)
		if err != nil {
			return 0, err
		}
		f.buf, f.bufOff = b, f.off
	}
	n := copy(p, f.buf[f.off-f.bufOff:])
	f.off += int64(n)
	return n, nil
}

func (f *openFile) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, &fs.PathError{Op: "read", Path: f.n.name, Err: fs.ErrInvalid}
	}
	if off >= f.n.size {
		return 0, io.EOF
	}
	b, err := f.slice(off, int64(len(p)))
	if err != nil {
		return 0, err
	}
	n := copy(p, b)
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (f *openFile) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekCurrent:
		offset += f.off
	case io.SeekEnd:
		offset += f.n.size
	}
	if offset < 0 {
		return 0, &fs.PathError{Op: "seek", Path: f.n.name, Err: fs.ErrInvalid}
	}
	f.off = offset
	return offset, nil
}

// slice reads up to n bytes at off from the File, waiting for the
// browser's promise (from a goroutine: never inside a js.FuncOf).
func (f *openFile) slice(off, n int64) ([]byte, error) {
	end := min(off+n, f.n.size)
	ab, err := await(f.n.file.Call("slice", off, end).Call("arrayBuffer"))
	if err != nil {
		// The browser's reason (NotReadableError: the disc was taken out,
		// the file changed since it was picked).
		return nil, &fs.PathError{Op: "read", Path: f.n.name, Err: err}
	}
	u8 := js.Global().Get("Uint8Array").New(ab)
	b := make([]byte, u8.Length())
	js.CopyBytesToGo(b, u8)
	return b, nil
}
