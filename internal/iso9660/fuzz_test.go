package iso9660

import (
	"bytes"
	"io"
	"io/fs"
	"testing"
)

// The fuzz input is a compact image: the first compactBytes bytes of each
// sector from 16 on; the system area and the rest of every sector read as
// zeros. Real seeds stay a few KiB (every structure of a small image lives
// in the first bytes of its sector), which keeps the fuzzer fast, and
// minimizing an interesting input does not take minutes.
const compactBytes = 512

type compactImage []byte

func (c compactImage) size() int64 {
	return (16 + (int64(len(c))+compactBytes-1)/compactBytes) * sectorSize
}

func (c compactImage) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, io.EOF
	}
	n := 0
	for ; n < len(p) && off < c.size(); n, off = n+1, off+1 {
		p[n] = 0
		sector, in := off/sectorSize-16, off%sectorSize
		if sector >= 0 && in < compactBytes {
			if i := sector*compactBytes + in; i < int64(len(c)) {
				p[n] = c[i]
			}
		}
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func compact(img []byte) []byte {
	var out []byte
	for s := 16 * sectorSize; s < len(img); s += sectorSize {
		out = append(out, img[s:s+compactBytes]...)
	}
	return out
}

// FuzzOpen feeds arbitrary images to the reader: it must return errors,
// never panic, and finish a bounded walk quickly.
func FuzzOpen(f *testing.F) {
	files := []File{memFile(0, "DICOMDIR", 40), memFile(1, "A/B/F.TXT", 5), memFile(2, "A/X", 3)}
	for _, rr := range []bool{false, true} {
		var b bytes.Buffer
		if err := Write(&b, files, Options{VolumeID: "V", ModTime: testTime, RockRidge: rr}); err != nil {
			f.Fatal(err)
		}
		f.Add(compact(b.Bytes()))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		img := compactImage(b)
		fsys, err := Open(img, img.size())
		if err != nil {
			return
		}
		n := 0
		fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
			if n++; n > 1000 {
				return fs.SkipAll
			}
			if err != nil || d.IsDir() {
				return nil
			}
			if r, err := fsys.Open(p); err == nil {
				io.Copy(io.Discard, io.LimitReader(r, 64<<10))
				r.Close()
			}
			return nil
		})
	})
}

// TestCompactSeedsAreReadable makes sure the seeds exercise the reader,
// not just its error paths.
func TestCompactSeedsAreReadable(t *testing.T) {
	files := []File{memFile(0, "DICOMDIR", 40), memFile(1, "A/B/F.TXT", 5)}
	_, b := buildImage(t, files, Options{RockRidge: true})
	img := compactImage(compact(b))
	fsys, err := Open(img, img.size())
	if err != nil {
		t.Fatal(err)
	}
	checkContents(t, fsys, files)
}
