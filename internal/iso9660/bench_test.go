package iso9660

import (
	"fmt"
	"io"
	"os"
	"testing"
)

// zeroReader yields zeros without allocating, so the benchmark measures
// the writer, not a data source.
type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// benchTree is the ecosystem.md comparison tree: 2048 files of 1 MiB
// (2 GiB) in a DICOM-like layout.
func benchTree() []File {
	files := make([]File, 2048)
	for i := range files {
		files[i] = File{
			Path: fmt.Sprintf("DICOM/P%07d/ST000001/SE%06d/IM%06d", i/512, i/128, i),
			Size: 1 << 20,
			Open: func() (io.Reader, error) { return io.LimitReader(zeroReader{}, 1<<20), nil },
		}
	}
	return append(files, File{Path: "DICOMDIR", Size: 100, Open: func() (io.Reader, error) { return io.LimitReader(zeroReader{}, 100), nil }})
}

// BenchmarkWrite2GiB writes the 2 GiB tree to a writer that only counts
// (no io.ReaderFrom shortcut), and to /dev/null.
func BenchmarkWrite2GiB(b *testing.B) {
	files := benchTree()
	size, err := Size(files, Options{VolumeID: "BENCH", RockRidge: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("counter", func(b *testing.B) {
		b.SetBytes(size)
		b.ReportAllocs()
		for b.Loop() {
			var c countWriter
			if err := Write(&c, files, Options{VolumeID: "BENCH", RockRidge: true}); err != nil || c.n != size {
				b.Fatal(err, c.n, size)
			}
		}
	})
	b.Run("devnull", func(b *testing.B) {
		null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
		if err != nil {
			b.Skip(err)
		}
		defer null.Close()
		b.SetBytes(size)
		b.ReportAllocs()
		for b.Loop() {
			if err := Write(null, files, Options{VolumeID: "BENCH", RockRidge: true}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestBigTreeSize checks Size on the 2 GiB tree without writing it: 2048
// files of 512 sectors each plus metadata.
func TestBigTreeSize(t *testing.T) {
	size, err := Size(benchTree(), Options{RockRidge: true})
	if err != nil {
		t.Fatal(err)
	}
	if data := int64(2048) << 20; size <= data || size > data+1<<20 {
		t.Errorf("Size %d for %d bytes of data", size, data)
	}
}
