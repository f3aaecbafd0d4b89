package media

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// writerFiles are files of assorted sizes, sector-sized ones included.
func writerFiles() ([]File, map[string][]byte) {
	var files []File
	data := map[string][]byte{}
	for i, size := range []int{0, 1, 2047, 2048, 2049, 70000, 300000} {
		p := fmt.Sprintf("DIR%d/FILE%d.DAT", i%3, i)
		b := bytes.Repeat([]byte{byte(i + 1)}, size)
		files = append(files, File{Path: p, Size: int64(size), Mode: 0o444})
		data[p] = b
	}
	return files, data
}

// Files written at once from several goroutines, in reverse order, come
// out whole on an image and in a folder, and pass the read-back check.
func TestWriterConcurrentFiles(t *testing.T) {
	files, data := writerFiles()
	for _, image := range []bool{true, false} {
		out := filepath.Join(t.TempDir(), "out")
		var w *Writer
		var err error
		if image {
			w, err = CreateImage(out, files, ImageOptions{Label: "WRITER"}, false, nil)
		} else {
			w, err = CreateFolder(out, files, false, nil)
		}
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for i := len(files) - 1; i >= 0; i-- {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ew, err := w.Create(files[i].Path)
				if err != nil {
					t.Error(err)
					return
				}
				b := data[files[i].Path]
				for len(b) > 0 { // in pieces, as a codec writes
					n := min(len(b), 1000)
					if _, err := ew.Write(b[:n]); err != nil {
						t.Error(err)
					}
					b = b[n:]
				}
				if err := ew.Close(); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		d, err := Open(out)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			got, err := fs.ReadFile(d, f.Path)
			if err != nil || !bytes.Equal(got, data[f.Path]) {
				t.Errorf("image=%v %s: %d bytes, %v", image, f.Path, len(got), err)
			}
		}
		d.Close()
		if n, err := w.CheckWritten(out); err != nil || n != len(files) {
			t.Errorf("image=%v: check %d, %v", image, n, err)
		}
	}
}

// A file shorter or longer than declared, a file never written, or one
// not declared at all: Close fails and nothing appears.
func TestWriterRefusesWhatWasNotDeclared(t *testing.T) {
	files, data := writerFiles()
	for name, wrong := range map[string]func(w *Writer, f File) error{
		"short": func(w *Writer, f File) error {
			ew, _ := w.Create(f.Path)
			ew.Write(data[f.Path][:f.Size-1])
			return ew.Close()
		},
		"long": func(w *Writer, f File) error {
			ew, _ := w.Create(f.Path)
			ew.Write(append(data[f.Path], 0))
			return ew.Close()
		},
		"missing": func(*Writer, File) error { return nil },
	} {
		out := filepath.Join(t.TempDir(), "disc.iso")
		w, err := CreateImage(out, files, ImageOptions{}, false, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i, f := range files {
			if i == 5 {
				wrong(w, f)
				continue
			}
			ew, _ := w.Create(f.Path)
			ew.Write(data[f.Path])
			if err := ew.Close(); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err == nil {
			t.Errorf("%s: Close accepted it", name)
		}
		if _, err := os.Stat(out); err == nil {
			t.Errorf("%s: the image was published", name)
		}
		if left, _ := filepath.Glob(filepath.Join(filepath.Dir(out), "*")); len(left) != 0 {
			t.Errorf("%s: left behind %v", name, left)
		}
	}
	w, err := CreateFolder(filepath.Join(t.TempDir(), "usb"), files, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	if _, err := w.Create("NOT/DECLARED"); err == nil || !strings.Contains(err.Error(), "not declared") {
		t.Errorf("undeclared file: %v", err)
	}
	if _, err := w.Create(files[0].Path); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Create(files[0].Path); err == nil {
		t.Error("a file created twice")
	}
}
