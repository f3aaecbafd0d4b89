package iso9660

import (
	"bytes"
	"io"
	"io/fs"
	"testing"
)

// The fuzz input is a sparse image: from sector 16 on, each sector is a
// 2-byte big-endian length L followed by its first L bytes; the system
// area and the rest of every sector read as zeros. Seeds made from real
// images stay about 1 KiB (a small image's structures live in the first
// bytes of their sectors), so the fuzzer's input minimization is quick.
type sparseImage struct {
	sectors [][]byte
}

func parseSparse(b []byte) sparseImage {
	var s sparseImage
	for len(b) >= 2 {
		n := min(int(b[0])<<8|int(b[1]), sectorSize, len(b)-2)
		s.sectors = append(s.sectors, b[2:2+n])
		b = b[2+n:]
	}
	return s
}

func (s sparseImage) size() int64 { return int64(16+len(s.sectors)) * sectorSize }

func (s sparseImage) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off >= s.size() {
		return 0, io.EOF
	}
	n := 0
	for n < len(p) && off < s.size() {
		sector, in := off/sectorSize, off%sectorSize
		chunk := p[n:min(len(p), n+int(sectorSize-in))]
		clear(chunk)
		if sector >= 16 {
			if data := s.sectors[sector-16]; in < int64(len(data)) {
				copy(chunk, data[in:])
			}
		}
		n, off = n+len(chunk), off+int64(len(chunk))
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// sparse encodes img (from sector 16) in the sparse format, dropping the
// trailing zeros of every sector.
func sparse(img []byte) []byte {
	var out []byte
	for s := 16 * sectorSize; s < len(img); s += sectorSize {
		data := bytes.TrimRight(img[s:s+sectorSize], "\x00")
		out = append(out, byte(len(data)>>8), byte(len(data)))
		out = append(out, data...)
	}
	return out
}

// FuzzOpen feeds arbitrary images to the reader and to CompareNames: they
// must return errors, never panic, and finish a bounded walk quickly.
func FuzzOpen(f *testing.F) {
	files := []File{memFile(0, "DICOMDIR", 40), memFile(1, "A/B/F.TXT", 5), memFile(2, "A/X", 3), memFile(3, "E", 0)}
	for _, o := range []Options{{RockRidge: true}, {Joliet: true}, {RockRidge: true, Joliet: true}} {
		var b bytes.Buffer
		o.VolumeID, o.ModTime = "V", testTime
		if err := Write(&b, files, o); err != nil {
			f.Fatal(err)
		}
		f.Add(sparse(b.Bytes()))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		img := parseSparse(b)
		CompareNames(img, img.size())
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
				io.Copy(io.Discard, io.LimitReader(r, 4<<10))
				r.Close()
			}
			return nil
		})
	})
}

// TestSparseSeedsAreReadable makes sure the seeds exercise the reader,
// not just its error paths.
func TestSparseSeedsAreReadable(t *testing.T) {
	files := []File{memFile(0, "DICOMDIR", 40), memFile(1, "A/B/F.TXT", 5)}
	_, b := buildImage(t, files, Options{RockRidge: true})
	img := parseSparse(sparse(b))
	fsys, err := Open(img, img.size())
	if err != nil {
		t.Fatal(err)
	}
	checkContents(t, fsys, files)
}
