package iso9660

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"
)

// Write writes the image to w in one pass; w need not seek. The order is:
// system area, Primary Volume Descriptor, terminator, L and M path tables,
// Rock Ridge continuation area, directories, then the data of each file in
// the order of the files slice, calling each File.Open once. Errors name
// the file.
func Write(w io.Writer, files []File, opts Options) error {
	p, err := newPlan(files, opts)
	if err != nil {
		return err
	}
	for _, f := range files {
		if f.Open == nil {
			return fmt.Errorf("iso9660: %s: no Open function", f.Path)
		}
	}
	// Hide w's io.ReaderFrom: bufio would hand it each file's reader, and
	// os.File.ReadFrom falls back to io.Copy with a fresh 32 KiB buffer per
	// file when the source is not a file. One fixed buffer keeps Write's
	// allocations independent of the data size.
	bw := bufio.NewWriterSize(writerOnly{w}, 64<<10)
	if err := p.writeMeta(bw); err != nil {
		return err
	}
	buf := make([]byte, 64<<10)
	for _, f := range p.files {
		if err := writeFile(bw, f.f, buf); err != nil {
			return err
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("iso9660: %w", err)
	}
	return nil
}

type writerOnly struct{ io.Writer }

// writeMeta writes every sector before the first file.
func (p *plan) writeMeta(w *bufio.Writer) error {
	sector := make([]byte, sectorSize)
	for i := 0; i < 16; i++ { // system area (ECMA-119 6.2.1)
		w.Write(sector)
	}
	for _, t := range p.trees {
		w.Write(p.volumeDescriptor(t))
	}
	w.Write(terminator())
	for _, t := range p.trees {
		w.Write(p.pathTable(binary.LittleEndian, t))
		w.Write(p.pathTable(binary.BigEndian, t))
	}
	if p.opts.RockRidge {
		clear(sector)
		copy(sector, erEntry())
		w.Write(sector)
	}
	for _, t := range p.trees {
		for _, d := range p.dirs {
			w.Write(p.dirBytes(d, t))
		}
	}
	// bufio.Writer keeps the first error and returns it from Flush.
	if err := w.Flush(); err != nil {
		return fmt.Errorf("iso9660: %w", err)
	}
	return nil
}

// volumeDescriptor encodes the Primary Volume Descriptor (ECMA-119 8.4)
// or, for the Joliet tree, the Supplementary one (8.5) with the UCS-2
// Level 3 escape sequence "%/E" and UCS-2 identifiers.
func (p *plan) volumeDescriptor(t tree) []byte {
	b := make([]byte, sectorSize)
	b[0] = 1
	if t == jolietTree {
		b[0] = 2
		copy(b[88:], "%/E")
	}
	copy(b[1:], "CD001")
	b[6] = 1
	putField(b[8:40], "", t)               // System Identifier (PS3.12 F.1.1: spaces)
	putField(b[40:72], p.opts.VolumeID, t) // Volume Identifier, bytes 41-72
	putBoth32(b[80:], p.sectors)           // Volume Space Size
	putBoth16(b[120:], 1)                  // Volume Set Size
	putBoth16(b[124:], 1)                  // Volume Sequence Number
	putBoth16(b[128:], sectorSize)         // Logical Block Size
	putBoth32(b[132:], p.ptSize[t])
	binary.LittleEndian.PutUint32(b[140:], p.lPath[t])
	binary.BigEndian.PutUint32(b[148:], p.mPath[t])
	root := p.dirRecord(p.root, "\x00", t)
	root.su = nil // the PVD copy has no System Use (34 bytes, 8.4.18)
	root.encode(b[156:190])
	putField(b[190:318], "", t) // Volume Set Identifier
	putField(b[318:446], p.opts.Publisher, t)
	putField(b[446:574], "", t) // Data Preparer
	putField(b[574:702], p.opts.Application, t)
	putField(b[702:739], "", t) // Copyright File Identifier
	putField(b[739:776], "", t) // Abstract File Identifier
	putField(b[776:813], "", t) // Bibliographic File Identifier
	putDate17(b[813:], p.opts.ModTime)
	putDate17(b[830:], p.opts.ModTime)
	putDate17(b[847:], time.Time{}) // expiration: not specified
	putDate17(b[864:], time.Time{}) // effective: not specified
	b[881] = 1                      // File Structure Version
	return b
}

// terminator is the Volume Descriptor Set Terminator (ECMA-119 8.3).
func terminator() []byte {
	b := make([]byte, sectorSize)
	b[0] = 255
	copy(b[1:], "CD001")
	b[6] = 1
	return b
}

// pathTable encodes one path table (ECMA-119 9.4) in byte order bo,
// padded to whole sectors.
func (p *plan) pathTable(bo binary.ByteOrder, t tree) []byte {
	b := make([]byte, sectorsFor(uint64(p.ptSize[t]))*sectorSize)
	off := 0
	for _, d := range p.dirs {
		id := d.ident(t)
		b[off] = byte(len(id))
		bo.PutUint32(b[off+2:], d.extent[t])
		parent := d.parent
		if parent == nil {
			parent = d
		}
		bo.PutUint16(b[off+6:], uint16(parent.number))
		copy(b[off+8:], id)
		off += 8 + len(id) + len(id)%2
	}
	return b
}

// dirBytes encodes directory d's extent.
func (p *plan) dirBytes(d *dirNode, t tree) []byte {
	b := make([]byte, d.size[t])
	off := 0
	p.eachRecord(d, t, func(r record) {
		if n := r.length(); off%sectorSize+n > sectorSize {
			off += sectorSize - off%sectorSize // records never straddle sectors
		}
		off += r.encode(b[off:])
	})
	return b
}

// writeFile copies exactly f.Size bytes of f and pads to a whole sector.
// The size limit sits on the writer side, so a reader that is an
// io.WriterTo (an in-memory sealed file) hands over its bytes in one write
// instead of being copied through buf.
func writeFile(w *bufio.Writer, f *File, buf []byte) error {
	r, err := f.Open()
	if err != nil {
		return fmt.Errorf("iso9660: %s: %w", f.Path, err)
	}
	if c, ok := r.(io.Closer); ok {
		defer c.Close()
	}
	ew := &exactWriter{w: w, left: f.Size}
	n, err := io.CopyBuffer(ew, r, buf)
	if errors.Is(err, errTooLong) {
		return fmt.Errorf("iso9660: %s: %w: more than %d bytes", f.Path, ErrSize, f.Size)
	}
	if err != nil {
		return fmt.Errorf("iso9660: %s: %w", f.Path, err)
	}
	if ew.left > 0 {
		return fmt.Errorf("iso9660: %s: %w: got %d bytes, want %d", f.Path, ErrSize, n, f.Size)
	}
	if pad := (sectorSize - f.Size%sectorSize) % sectorSize; pad > 0 {
		if _, err := w.Write(zeros[:pad]); err != nil {
			return fmt.Errorf("iso9660: %s: %w", f.Path, err)
		}
	}
	return nil
}

var errTooLong = errors.New("too long")

// exactWriter passes on at most left bytes and refuses a write that would
// go past them, writing none of it.
type exactWriter struct {
	w    io.Writer
	left int64
}

func (e *exactWriter) Write(p []byte) (int, error) {
	if int64(len(p)) > e.left {
		return 0, errTooLong
	}
	n, err := e.w.Write(p)
	e.left -= int64(n)
	return n, err
}

// ErrSize reports a file whose content does not match its declared Size.
var ErrSize = errors.New("content size differs from File.Size")

var zeros [sectorSize]byte
