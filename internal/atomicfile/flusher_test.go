package atomicfile

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"testing"
)

// TestFlushAhead: a file longer than flushAhead is flushed in the
// background while it is written, and what Commit publishes is exactly
// what was written; Abort in the middle of it leaves nothing.
func TestFlushAhead(t *testing.T) {
	dir := t.TempDir()
	chunk := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	write := func(name string) *File {
		f, err := Create(filepath.Join(dir, name), 0o644, false)
		if err != nil {
			t.Fatal(err)
		}
		for range 3 * flushAhead / len(chunk) {
			if _, err := f.Write(chunk); err != nil {
				t.Fatal(err)
			}
		}
		return f
	}
	f := write("image")
	if err := f.Commit(); err != nil {
		t.Fatal(err)
	}
	if f.ahead == nil || f.ahead.runs.Load() == 0 {
		t.Error("no background flush ran while 3 × flushAhead bytes were written")
	}
	st, err := os.Stat(filepath.Join(dir, "image"))
	if err != nil || st.Size() != 3*flushAhead {
		t.Fatalf("published %v, %v; want %d bytes", st, err, 3*flushAhead)
	}

	write("aborted").Abort()
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Fatalf("Abort during background flushes left %d entries", len(ents))
	}
}

// TestDirFileDone: writers reporting files from several goroutines (as
// extract's workers do) start background flushes of the tree, and Commit
// publishes every file.
func TestDirFileDone(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("trees are flushed ahead only on Linux (syncfs)")
	}
	final := filepath.Join(t.TempDir(), "out")
	d, err := CreateDir(final, false)
	if err != nil {
		t.Fatal(err)
	}
	data := bytes.Repeat([]byte{7}, 4<<20)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 10 {
				f, err := os.Create(filepath.Join(d.Path, strconv.Itoa(w*10+i)))
				if err != nil {
					t.Error(err)
					return
				}
				f.Write(data)
				d.FileDone(f, int64(len(data)))
				f.Close()
			}
		}()
	}
	wg.Wait()
	if err := d.Commit(); err != nil {
		t.Fatal(err)
	}
	if d.ahead.runs.Load() == 0 {
		t.Error("no background flush ran for 160 MiB of files")
	}
	if ents, _ := os.ReadDir(final); len(ents) != 40 {
		t.Fatalf("published %d files, want 40", len(ents))
	}
}
