package mediatest

import (
	"archive/zip"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/securemedia/securemedia/media"
)

// Unlocked opens the medium at path with Password, closed at the end of t.
func Unlocked(t testing.TB, path string) *media.Disc {
	t.Helper()
	d, err := media.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	id, err := media.Password([]byte(Password))
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Unlock(id); err != nil {
		t.Fatal(err)
	}
	return d
}

// CompareZipWithFolder fails t unless the zip holds exactly the files of
// dir, with the same names and bytes.
func CompareZipWithFolder(t testing.TB, zipData []byte, dir string) {
	t.Helper()
	want := map[string][]byte{}
	filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		if !e.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			want[filepath.ToSlash(rel)] = b
		}
		return nil
	})
	zr, err := zip.NewReader(bytes.NewReader(zipData), int64(len(zipData)))
	if err != nil {
		t.Fatal(err)
	}
	if len(zr.File) != len(want) {
		t.Errorf("the zip holds %d files, the folder %d", len(zr.File), len(want))
	}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		w, ok := want[f.Name]
		switch {
		case !ok:
			t.Errorf("the zip holds %s, the folder does not", f.Name)
		case !bytes.Equal(got, w):
			t.Errorf("%s: %d bytes in the zip differ from the folder's %d", f.Name, len(got), len(w))
		}
	}
}
