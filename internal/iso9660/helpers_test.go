package iso9660

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"testing"
	"time"
)

var testTime = time.Date(2026, 11, 22, 12, 34, 56, 0, time.UTC)

// content is the deterministic content of file i of size n.
func content(i int, n int64) []byte {
	b := make([]byte, n)
	for j := range b {
		b[j] = byte(i*7 + j*13 + j>>8)
	}
	return b
}

// memFile is a File whose content comes from content(i, size).
func memFile(i int, path string, size int64) File {
	return File{Path: path, Size: size, Open: func() (io.Reader, error) {
		return bytes.NewReader(content(i, size)), nil
	}}
}

// sampleFiles is a DICOM-disc-like tree.
func sampleFiles() []File {
	fs := []File{
		memFile(0, "DICOMDIR", 3000),
		memFile(1, "README.TXT", 100),
		memFile(2, "VIEWER/LINUX/SMVIEW", 5000),
		memFile(3, "EMPTY.DAT", 0),
	}
	fs[2].Mode = 0o555
	for i := 0; i < 5; i++ {
		fs = append(fs, memFile(10+i, fmt.Sprintf("DICOM/P0000001/ST000001/SE000001/IM%06d", i+1), int64(2048*i+17)))
	}
	fs = append(fs, memFile(20, "A/B/C/D/E/F/G/DEEP", 10))
	return fs
}

// buildImage writes files to a temporary image and returns its path.
func buildImage(t testing.TB, files []File, opts Options) (string, []byte) {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, files, opts); err != nil {
		t.Fatal(err)
	}
	path := t.TempDir() + "/img.iso"
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, buf.Bytes()
}

func readAllFile(f File) ([]byte, error) {
	r, err := f.Open()
	if err != nil {
		return nil, err
	}
	return io.ReadAll(r)
}
